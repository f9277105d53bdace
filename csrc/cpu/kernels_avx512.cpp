// AVX-512 build of the CPU loops, chosen at run time only on CPUs that have it.
#include "table.h"

#ifdef RECTIFIERS_CPU_ISA_VARIANTS
// The standard library first, without the target: g++ 13 refuses to inline
// its always_inline members into functions compiled for another target.
#include <bits/stdc++.h>
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx,avx2,fma,f16c,bmi,bmi2,lzcnt,popcnt")
// What -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma would define; the
// headers (Sleef's among them) test these.
#define __AVX__ 1
#define __AVX2__ 1
#define __FMA__ 1
#define __F16C__ 1
#define __AVX512F__ 1
#define __AVX512BW__ 1
#define __AVX512VL__ 1
#define __AVX512DQ__ 1
#define CPU_CAPABILITY AVX512
#define CPU_CAPABILITY_AVX512
#define RECTIFIERS_CPU_NS avx512
#define RECTIFIERS_CPU_TABLE table_avx512
#include "kernels_impl.h"
#endif
