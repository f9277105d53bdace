// relu's CUDA loops, on ATen's gpu_kernel (vectorised loads and stores,
// 64-bit-safe splitting, the current stream).
#include <ATen/native/cuda/Loops.cuh>
#include <c10/cuda/CUDAGuard.h>

#include "../../cuda/loops.cuh"
#include "../relu.h"

namespace rectifiers::cuda {
namespace {

void relu_kernel(at::TensorIteratorBase& iter) {
  const c10::cuda::CUDAGuard guard(iter.device(0));
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::relu", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    // ATen's CUDA clamp_min: NaN passes, else fmax, which gives +0 for -0
    // (the CPU kernel keeps -0, as ATen's CPU kernel does).
    at::native::gpu_kernel(iter, [] GPU_LAMBDA(scalar_t x) -> scalar_t {
      const opmath_t v = x;
      return v != v ? v : ::max(v, opmath_t(0));
    });
  });
}

void relu_backward_kernel(at::TensorIteratorBase& iter) {
  const c10::cuda::CUDAGuard guard(iter.device(0));
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::relu_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    at::native::gpu_kernel(iter, [] GPU_LAMBDA(scalar_t g, scalar_t y) -> scalar_t {
      return math::relu_backward<opmath_t>(g, y);
    });
  });
}

}  // namespace
}  // namespace rectifiers::cuda

RECTIFIERS_REGISTER_CUDA_KERNEL(relu_stub, &cuda::relu_kernel)
RECTIFIERS_REGISTER_CUDA_KERNEL(relu_backward_stub, &cuda::relu_backward_kernel)
