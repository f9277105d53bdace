#include "../common/register.h"
#include "kernels.h"

TORCH_LIBRARY_IMPL(rectifiers, CUDA, m) {
  rectifiers::register_backend<rectifiers::cuda::Kernels>(m);
}
