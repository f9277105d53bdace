// leaky_relu's CPU loops, compiled once per instruction set (see common/stub.h).
#include "../../cpu/loops.h"
#include "../../cpu/mask_loops.h"
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

void leaky_relu_dense_kernel(const at::Tensor& x, const at::Tensor& out, double slope) {
  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::leaky_relu", [&] {
    const auto a = static_cast<float>(slope);
    dense_forward_through_float<scalar_t>(
        x, out, [a](Vectorized<float> v) { return vec_leaky(v, Vectorized<float>(a)); },
        [slope](at::TensorIteratorBase& iter) { leaky_relu_stub(at::kCPU, iter, slope); });
  });
}

void leaky_relu_with_mask_kernel(const at::Tensor& x, const at::Tensor& result,
                                 const at::Tensor& mask, double slope) {
  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::leaky_relu_with_mask", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    forward_with_mask<scalar_t>(
        x, result, mask, [slope](at::TensorIteratorBase& iter) { leaky_relu_stub(at::kCPU, iter, slope); },
        [slope](auto v) {
          using W = decltype(v);
          return vec_leaky(v, W(static_cast<typename W::value_type>(slope)));
        },
        [](scalar_t v) -> uint32_t { return static_cast<opmath_t>(v) > opmath_t(0); },
        [](auto v) { return std::array{v > decltype(v)(0)}; });
  });
}

void leaky_relu_mask_backward_kernel(const at::Tensor& grad, const at::Tensor& mask,
                                     const at::Tensor& out, double slope) {
  RECTIFIERS_DISPATCH_FLOATING(grad.scalar_type(), "rectifiers::leaky_relu_mask_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const auto a = static_cast<opmath_t>(slope);
    const bool nan = backward_from_mask<scalar_t>(
        grad, mask, out,
        [a](scalar_t g, uint32_t positive) -> scalar_t {
          const opmath_t v = g;
          const opmath_t scaled = v * a;
          return positive ? v : scaled;
        },
        [a](auto g, auto sides) {
          using W = decltype(g);
          return W::blendv(g * W(a), g, sides[0]);
        });
    if (nan) {
      backward_as_aten<scalar_t>(
          grad, mask, out, /*grad_leads=*/false,
          [](uint32_t positive) { return scalar_t(positive ? 1.0f : -1.0f); },
          [slope](at::TensorIteratorBase& iter) { leaky_relu_backward_stub(at::kCPU, iter, slope); });
    }
  });
}

}  // namespace
}  // namespace CPU_CAPABILITY
}  // namespace rectifiers::cpu

RECTIFIERS_REGISTER_CPU_KERNEL_AS_ATEN(leaky_relu_stub, &rectifiers::cpu::leaky_relu_kernel)
RECTIFIERS_REGISTER_CPU_KERNEL_AS_ATEN(leaky_relu_backward_stub,
                               &rectifiers::cpu::leaky_relu_backward_kernel)
RECTIFIERS_REGISTER_CPU_KERNEL(leaky_relu_dense_stub, &rectifiers::cpu::leaky_relu_dense_kernel)
RECTIFIERS_REGISTER_CPU_KERNEL(leaky_relu_with_mask_stub,
                               &rectifiers::cpu::leaky_relu_with_mask_kernel)
RECTIFIERS_REGISTER_CPU_KERNEL(leaky_relu_mask_backward_stub,
                               &rectifiers::cpu::leaky_relu_mask_backward_kernel)
