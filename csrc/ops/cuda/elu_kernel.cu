// The ELU family's CUDA loops, on ATen's gpu_kernel.
#include <ATen/native/cuda/Loops.cuh>
#include <c10/cuda/CUDAGuard.h>

#include "../../cuda/loops.cuh"
#include "../elu.h"

namespace rectifiers::cuda {
namespace {

void elu_kernel(at::TensorIteratorBase& iter, double alpha, double scale, double input_scale) {
  const c10::cuda::CUDAGuard guard(iter.device(0));
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::elu", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const auto negcoef = static_cast<opmath_t>(alpha) * static_cast<opmath_t>(scale);
    const auto poscoef = static_cast<opmath_t>(scale);
    const auto negiptcoef = static_cast<opmath_t>(input_scale);
    // ATen's CUDA elu: expm1 where its CPU kernel has exp - 1, and NaN on
    // the negative side.
    at::native::gpu_kernel(iter, [=] GPU_LAMBDA(scalar_t a) -> scalar_t {
      const opmath_t x = a;
      return x > opmath_t(0) ? x * poscoef : ::expm1(x * negiptcoef) * negcoef;
    });
  });
}

void elu_backward_kernel(at::TensorIteratorBase& iter, double alpha, double scale,
                         double input_scale, bool is_result) {
  const c10::cuda::CUDAGuard guard(iter.device(0));
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::elu_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const auto negcoef = static_cast<opmath_t>(alpha) * static_cast<opmath_t>(scale);
    const auto poscoef = static_cast<opmath_t>(scale);
    const auto negiptcoef = static_cast<opmath_t>(input_scale);
    at::native::gpu_kernel(iter, [=] GPU_LAMBDA(scalar_t g, scalar_t b) -> scalar_t {
      return math::elu_backward<opmath_t>(g, b, negcoef, poscoef, negiptcoef, is_result);
    });
  });
}

}  // namespace
}  // namespace rectifiers::cuda

RECTIFIERS_REGISTER_CUDA_KERNEL(elu_stub, &cuda::elu_kernel)
RECTIFIERS_REGISTER_CUDA_KERNEL(elu_backward_stub, &cuda::elu_backward_kernel)
