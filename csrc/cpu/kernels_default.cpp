// Baseline build of the CPU loops: runs on any CPU.
#define CPU_CAPABILITY DEFAULT
#define CPU_CAPABILITY_DEFAULT
#define RECTIFIERS_CPU_NS default_isa
#define RECTIFIERS_CPU_TABLE table_default
#include "kernels_impl.h"
