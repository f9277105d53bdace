// abs_rectifier's CUDA loops, on ATen's gpu_kernel.
#include <ATen/native/cuda/Loops.cuh>
#include <c10/cuda/CUDAGuard.h>

#include "../../cuda/loops.cuh"
#include "../abs_rectifier.h"

namespace rectifiers::cuda {
namespace {

void abs_rectifier_kernel(at::TensorIteratorBase& iter) {
  const c10::cuda::CUDAGuard guard(iter.device(0));
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::abs_rectifier", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    at::native::gpu_kernel(iter, [] GPU_LAMBDA(scalar_t x) -> scalar_t {
      return math::abs_rectifier<opmath_t>(x);
    });
  });
}

void abs_rectifier_backward_kernel(at::TensorIteratorBase& iter) {
  const c10::cuda::CUDAGuard guard(iter.device(0));
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::abs_rectifier_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    at::native::gpu_kernel(iter, [] GPU_LAMBDA(scalar_t g, scalar_t x) -> scalar_t {
      return math::abs_rectifier_backward<opmath_t>(g, x);
    });
  });
}

}  // namespace
}  // namespace rectifiers::cuda

RECTIFIERS_REGISTER_CUDA_KERNEL(abs_rectifier_stub, &cuda::abs_rectifier_kernel)
RECTIFIERS_REGISTER_CUDA_KERNEL(abs_rectifier_backward_stub,
                                &cuda::abs_rectifier_backward_kernel)
