// leaky_relu's CUDA loops, on ATen's gpu_kernel.
#include <ATen/native/cuda/Loops.cuh>
#include <c10/cuda/CUDAGuard.h>

#include "../../cuda/loops.cuh"
#include "../leaky_relu.h"

namespace rectifiers::cuda {
namespace {

void leaky_relu_kernel(at::TensorIteratorBase& iter, double slope) {
  const c10::cuda::CUDAGuard guard(iter.device(0));
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::leaky_relu", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const auto a = static_cast<opmath_t>(slope);
    at::native::gpu_kernel(iter, [a] GPU_LAMBDA(scalar_t x) -> scalar_t {
      return math::leaky<opmath_t>(x, a);
    });
  });
}

void leaky_relu_backward_kernel(at::TensorIteratorBase& iter, double slope) {
  const c10::cuda::CUDAGuard guard(iter.device(0));
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::leaky_relu_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const auto a = static_cast<opmath_t>(slope);
    at::native::gpu_kernel(iter, [a] GPU_LAMBDA(scalar_t g, scalar_t x) -> scalar_t {
      return math::leaky_backward<opmath_t>(g, x, a);
    });
  });
}

}  // namespace
}  // namespace rectifiers::cuda

RECTIFIERS_REGISTER_CUDA_KERNEL(leaky_relu_stub, &cuda::leaky_relu_kernel)
RECTIFIERS_REGISTER_CUDA_KERNEL(leaky_relu_backward_stub, &cuda::leaky_relu_backward_kernel)
