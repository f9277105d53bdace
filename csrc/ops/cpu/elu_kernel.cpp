// The ELU family's CPU loops, compiled once per instruction set (see
// common/stub.h). The forward is ATen's own (ATen/native/cpu/Elu.h); the
// backward is written as ATen's. Both run ATen's loop in every build: the
// SIMD body (Sleef's expm1 and exp, NaN on the negative side) and the
// scalar tail may differ in the last bit, and only the same split matches.
#include <ATen/native/cpu/Elu.h>

#include "../../cpu/loops.h"
#include "../elu.h"

namespace rectifiers::cpu {
inline namespace CPU_CAPABILITY {
namespace {

// The coefficients rounded to the op-math type, as ATen's Scalar::to does;
// negcoef = alpha * scale in that type.
template <typename T>
struct EluCoefficients {
  T alpha, scale, input_scale, negcoef;
  EluCoefficients(double alpha_, double scale_, double input_scale_)
      : alpha(static_cast<T>(alpha_)),
        scale(static_cast<T>(scale_)),
        input_scale(static_cast<T>(input_scale_)),
        negcoef(alpha * scale) {}
};

void elu_kernel(at::TensorIteratorBase& iter, double alpha, double scale, double input_scale) {
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::elu", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const EluCoefficients<opmath_t> c(alpha, scale, input_scale);
    at::native::cpu_kernel_vec(
        iter,
        at::native::get_scalar_elu_elementwise_func<scalar_t, opmath_t>(c.alpha, c.scale,
                                                                        c.input_scale),
        at::native::get_vectorized_elu_elementwise_func<scalar_t>(c.alpha, c.scale,
                                                                  c.input_scale));
  });
}

void elu_backward_kernel(at::TensorIteratorBase& iter, double alpha, double scale,
                         double input_scale, bool is_result) {
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::elu_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    using V = Vectorized<opmath_t>;
    const EluCoefficients<opmath_t> c(alpha, scale, input_scale);
    const auto scalar = [c, is_result](opmath_t g, opmath_t b) {
      return math::elu_backward(g, b, c.negcoef, c.scale, c.input_scale, is_result);
    };
    if (is_result) {
      aten_binary_loop<scalar_t>(iter, scalar, [c](V g, V y) {
        return V::blendv(g * V(c.input_scale) * (y + V(c.negcoef)), g * V(c.scale), y > V(0));
      });
    } else {
      aten_binary_loop<scalar_t>(iter, scalar, [c](V g, V x) {
        return V::blendv(g * V(c.input_scale) * V(c.negcoef) * (x * V(c.input_scale)).exp(),
                         g * V(c.scale), x > V(0));
      });
    }
  });
}

}  // namespace
}  // namespace CPU_CAPABILITY
}  // namespace rectifiers::cpu

RECTIFIERS_REGISTER_CPU_KERNEL(elu_stub, &rectifiers::cpu::elu_kernel)
RECTIFIERS_REGISTER_CPU_KERNEL(elu_backward_stub, &rectifiers::cpu::elu_backward_kernel)
