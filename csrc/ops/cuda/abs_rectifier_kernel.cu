// abs_rectifier's CUDA loops, on ATen's gpu_kernel.
#include <ATen/native/cuda/Loops.cuh>
#include <c10/cuda/CUDAGuard.h>

#include "../../cuda/loops.cuh"
#include "../../cuda/mask.cuh"
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

void abs_rectifier_with_mask_kernel(const at::Tensor& x, const at::Tensor& result,
                                    const at::Tensor& mask) {
  const c10::cuda::CUDAGuard guard(x.device());
  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::abs_rectifier_with_mask", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    forward_with_mask<scalar_t, 2>(
        x, result, mask,
        [] GPU_LAMBDA(scalar_t x) -> scalar_t { return math::abs_rectifier<opmath_t>(x); },
        [] GPU_LAMBDA(scalar_t x) -> uint32_t {
          const opmath_t v = x;
          return static_cast<uint32_t>(v > opmath_t(0)) | static_cast<uint32_t>(v < opmath_t(0)) << 1;
        });
  });
}

void abs_rectifier_mask_backward_kernel(const at::Tensor& grad, const at::Tensor& mask,
                                        const at::Tensor& out) {
  const c10::cuda::CUDAGuard guard(grad.device());
  RECTIFIERS_DISPATCH_FLOATING(grad.scalar_type(), "rectifiers::abs_rectifier_mask_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    backward_from_mask<scalar_t, 2>(grad, mask, out,
                                    [] GPU_LAMBDA(scalar_t g, uint32_t bits) -> scalar_t {
                                      const opmath_t sign = opmath_t(bits & 1u) - opmath_t(bits >> 1);
                                      return static_cast<opmath_t>(g) * sign;
                                    });
  });
}

}  // namespace
}  // namespace rectifiers::cuda

RECTIFIERS_REGISTER_CUDA_KERNEL(abs_rectifier_stub, &cuda::abs_rectifier_kernel)
RECTIFIERS_REGISTER_CUDA_KERNEL(abs_rectifier_backward_stub,
                                &cuda::abs_rectifier_backward_kernel)
RECTIFIERS_REGISTER_CUDA_KERNEL(abs_rectifier_with_mask_stub,
                                &cuda::abs_rectifier_with_mask_kernel)
RECTIFIERS_REGISTER_CUDA_KERNEL(abs_rectifier_mask_backward_stub,
                                &cuda::abs_rectifier_mask_backward_kernel)
