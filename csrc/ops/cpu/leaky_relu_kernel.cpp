// leaky_relu's CPU loops, compiled once per instruction set (see common/stub.h).
#include "../../cpu/loops.h"
#include "../leaky_relu.h"

namespace rectifiers::cpu {
inline namespace CPU_CAPABILITY {
namespace {

// The SIMD twins of math::leaky and math::leaky_backward; blendv(a, b, mask)
// takes b where mask.
template <typename V>
V vec_leaky(V x, V slope) {
  return V::blendv(x * slope, x, x > V(0));
}

template <typename V>
V vec_leaky_backward(V grad, V x, V slope) {
  return V::blendv(grad * slope, grad, x > V(0));
}

void leaky_relu_kernel(at::TensorIteratorBase& iter, double slope) {
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::leaky_relu", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const auto a = static_cast<opmath_t>(slope);
    unary_loop<scalar_t>(
        iter, [a](opmath_t x) { return math::leaky(x, a); },
        [a](Vectorized<opmath_t> x) { return vec_leaky(x, Vectorized<opmath_t>(a)); });
  });
}

void leaky_relu_backward_kernel(at::TensorIteratorBase& iter, double slope) {
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::leaky_relu_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const auto a = static_cast<opmath_t>(slope);
    binary_loop<scalar_t>(
        iter, [a](opmath_t g, opmath_t x) { return math::leaky_backward(g, x, a); },
        [a](Vectorized<opmath_t> g, Vectorized<opmath_t> x) {
          return vec_leaky_backward(g, x, Vectorized<opmath_t>(a));
        });
  });
}

}  // namespace
}  // namespace CPU_CAPABILITY
}  // namespace rectifiers::cpu

RECTIFIERS_REGISTER_CPU_KERNEL(leaky_relu_stub, &rectifiers::cpu::leaky_relu_kernel)
RECTIFIERS_REGISTER_CPU_KERNEL(leaky_relu_backward_stub,
                               &rectifiers::cpu::leaky_relu_backward_kernel)
