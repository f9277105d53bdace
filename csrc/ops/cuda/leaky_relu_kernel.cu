// leaky_relu's CUDA loops, on ATen's gpu_kernel.
#include <ATen/native/cuda/Loops.cuh>
#include <c10/cuda/CUDAGuard.h>

#include "../../cuda/loops.cuh"
#include "../../cuda/mask.cuh"
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

void leaky_relu_with_mask_kernel(const at::Tensor& x, const at::Tensor& result,
                                 const at::Tensor& mask, double slope) {
  const c10::cuda::CUDAGuard guard(x.device());
  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::leaky_relu_with_mask", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const auto a = static_cast<opmath_t>(slope);
    forward_with_mask<scalar_t>(
        x, result, mask,
        [a] GPU_LAMBDA(scalar_t v) -> scalar_t { return math::leaky<opmath_t>(v, a); },
        [] GPU_LAMBDA(scalar_t v) -> uint32_t { return static_cast<opmath_t>(v) > opmath_t(0); });
  });
}

void leaky_relu_mask_backward_kernel(const at::Tensor& grad, const at::Tensor& mask,
                                     const at::Tensor& out, double slope) {
  const c10::cuda::CUDAGuard guard(grad.device());
  RECTIFIERS_DISPATCH_FLOATING(grad.scalar_type(), "rectifiers::leaky_relu_mask_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const auto a = static_cast<opmath_t>(slope);
    backward_from_mask<scalar_t>(grad, mask, out,
                                 [a] GPU_LAMBDA(scalar_t g, uint32_t positive) -> scalar_t {
                                   const opmath_t v = g;
                                   const opmath_t scaled = v * a;
                                   return positive ? v : scaled;
                                 });
  });
}

}  // namespace
}  // namespace rectifiers::cuda

RECTIFIERS_REGISTER_CUDA_KERNEL(leaky_relu_stub, &cuda::leaky_relu_kernel)
RECTIFIERS_REGISTER_CUDA_KERNEL(leaky_relu_backward_stub, &cuda::leaky_relu_backward_kernel)
RECTIFIERS_REGISTER_CUDA_KERNEL(leaky_relu_with_mask_stub, &cuda::leaky_relu_with_mask_kernel)
RECTIFIERS_REGISTER_CUDA_KERNEL(leaky_relu_mask_backward_stub,
                                &cuda::leaky_relu_mask_backward_kernel)
