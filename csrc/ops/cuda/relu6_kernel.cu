// relu6's CUDA loops, on ATen's gpu_kernel.
#include <ATen/native/cuda/Loops.cuh>
#include <c10/cuda/CUDAGuard.h>

#include "../../cuda/loops.cuh"
#include "../../cuda/mask.cuh"
#include "../relu6.h"

namespace rectifiers::cuda {
namespace {

void relu6_kernel(at::TensorIteratorBase& iter) {
  const c10::cuda::CUDAGuard guard(iter.device(0));
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::relu6", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    // ATen's CUDA clamp: NaN passes, else fmin(fmax(x, 0), 6), which gives
    // +0 for -0 (the CPU kernel keeps -0, as ATen's CPU kernel does).
    at::native::gpu_kernel(iter, [] GPU_LAMBDA(scalar_t x) -> scalar_t {
      const opmath_t v = x;
      return v != v ? v : ::min(::max(v, opmath_t(0)), opmath_t(6));
    });
  });
}

void relu6_backward_kernel(at::TensorIteratorBase& iter) {
  const c10::cuda::CUDAGuard guard(iter.device(0));
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::relu6_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    at::native::gpu_kernel(iter, [] GPU_LAMBDA(scalar_t g, scalar_t x) -> scalar_t {
      return math::relu6_backward<opmath_t>(g, x);
    });
  });
}

void relu6_with_mask_kernel(const at::Tensor& x, const at::Tensor& result,
                            const at::Tensor& mask) {
  const c10::cuda::CUDAGuard guard(x.device());
  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::relu6_with_mask", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    forward_with_mask<scalar_t, 2>(
        x, result, mask,
        [] GPU_LAMBDA(scalar_t x) -> scalar_t {
          const opmath_t v = x;
          return v != v ? v : ::min(::max(v, opmath_t(0)), opmath_t(6));
        },
        [] GPU_LAMBDA(scalar_t x) -> uint32_t {
          const opmath_t v = x;
          return static_cast<uint32_t>(v > opmath_t(0) && v < opmath_t(6)) |
                 static_cast<uint32_t>(v != v) << 1;
        });
  });
}

void relu6_mask_backward_kernel(const at::Tensor& grad, const at::Tensor& mask,
                                const at::Tensor& out) {
  const c10::cuda::CUDAGuard guard(grad.device());
  RECTIFIERS_DISPATCH_FLOATING(grad.scalar_type(), "rectifiers::relu6_mask_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    backward_from_mask<scalar_t, 2>(grad, mask, out,
                                    [] GPU_LAMBDA(scalar_t g, uint32_t bits) -> scalar_t {
                                      return bits != 0 ? static_cast<opmath_t>(g) : opmath_t(0);
                                    });
  });
}

}  // namespace
}  // namespace rectifiers::cuda

RECTIFIERS_REGISTER_CUDA_KERNEL(relu6_stub, &cuda::relu6_kernel)
RECTIFIERS_REGISTER_CUDA_KERNEL(relu6_backward_stub, &cuda::relu6_backward_kernel)
RECTIFIERS_REGISTER_CUDA_KERNEL(relu6_with_mask_stub, &cuda::relu6_with_mask_kernel)
RECTIFIERS_REGISTER_CUDA_KERNEL(relu6_mask_backward_stub, &cuda::relu6_mask_backward_kernel)
