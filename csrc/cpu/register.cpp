#include "../common/register.h"
#include "kernels.h"

TORCH_LIBRARY_IMPL(rectifiers, CPU, m) {
  rectifiers::register_backend<rectifiers::cpu::Kernels>(m);
}
