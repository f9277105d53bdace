// AVX2 build of the CPU loops, chosen at run time only on CPUs that have it.
// The target pragma (not a -mavx2 flag) lets one setup.py extension compile
// each file for its own instruction set.
#include "table.h"

#ifdef RECTIFIERS_CPU_ISA_VARIANTS
// The standard library first, without the target: g++ 13 refuses to inline
// its always_inline members into functions compiled for another target.
#include <bits/stdc++.h>
#pragma GCC target("avx,avx2,fma,f16c,bmi,bmi2,lzcnt,popcnt")
// What -mavx2 would define; the headers (Sleef's among them) test these.
#define __AVX__ 1
#define __AVX2__ 1
#define __FMA__ 1
#define __F16C__ 1
#define CPU_CAPABILITY AVX2
#define CPU_CAPABILITY_AVX2
#define RECTIFIERS_CPU_NS avx2
#define RECTIFIERS_CPU_TABLE table_avx2
#include "kernels_impl.h"
#endif
