// relu6's CPU loops, compiled once per instruction set (see common/stub.h).
// ATen's clamp and hardtanh_backward run their scalar form on the tensor's
// own type, not widened: it returns one of its operands, so a float16 or
// bfloat16 NaN keeps its payload there (widening and rounding would not).
#include "../../cpu/loops.h"
#include "../../cpu/mask_loops.h"
#include "../relu6.h"

namespace rectifiers::cpu {
inline namespace CPU_CAPABILITY {
namespace {

// The SIMD clamp keeps -0 and NaN as the scalar form does, so the baseline
// build may run the scalar form alone.
void relu6_kernel(at::TensorIteratorBase& iter) {
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::relu6", [&] {
    using V = Vectorized<scalar_t>;
    const auto op = [](scalar_t x) -> scalar_t { return math::relu6(x); };
    if constexpr (!kSimd) {
      plain_unary<scalar_t>(iter, op);
    } else {
      at::native::cpu_kernel_vec(
          iter, op, [](V x) -> V { return at::vec::clamp(x, V(scalar_t(0)), V(scalar_t(6))); });
    }
  });
}

// hardtanh_backward's SIMD body gives 0 for NaN, its scalar tail grad: ATen's
// loop in every build.
void relu6_backward_kernel(at::TensorIteratorBase& iter) {
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::relu6_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    using V = Vectorized<opmath_t>;
    at::native::cpu_kernel_vec(
        iter, [](scalar_t g, scalar_t x) -> scalar_t { return math::relu6_backward(g, x); },
        vec_on_opmath<scalar_t, 2>(
            [](V g, V x) { return ((x > V(0)) & (x < V(6))) & g; }));
  });
}

void relu6_dense_kernel(const at::Tensor& x, const at::Tensor& out) {
  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::relu6", [&] {
    using V = Vectorized<float>;
    dense_forward_through_float<scalar_t>(
        x, out, [](V v) { return at::vec::clamp(v, V(0), V(6)); },
        [](at::TensorIteratorBase& iter) { relu6_stub(at::kCPU, iter); });
  });
}

void relu6_with_mask_kernel(const at::Tensor& x, const at::Tensor& result,
                            const at::Tensor& mask) {
  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::relu6_with_mask", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    forward_with_mask<scalar_t, 2>(
        x, result, mask, [](at::TensorIteratorBase& iter) { relu6_stub(at::kCPU, iter); },
        [](auto v) {
          using W = decltype(v);
          return at::vec::clamp(v, W(0), W(6));
        },
        [](scalar_t v) -> uint32_t {
          const opmath_t f = v;
          return static_cast<uint32_t>((f > opmath_t(0)) & (f < opmath_t(6))) |
                 static_cast<uint32_t>(f != f) << 1;
        },
        [](auto v) {
          using W = decltype(v);
          return std::array{(v > W(0)) & (v < W(6)), v.isnan()};
        });
  });
}

void relu6_mask_backward_kernel(const at::Tensor& grad, const at::Tensor& mask,
                                const at::Tensor& out) {
  RECTIFIERS_DISPATCH_FLOATING(grad.scalar_type(), "rectifiers::relu6_mask_backward", [&] {
    const bool nan = backward_from_mask<scalar_t, 2>(
        grad, mask, out,
        [](scalar_t g, uint32_t bits) -> scalar_t { return bits != 0 ? g : scalar_t(0); },
        [](auto g, auto sides) { return (sides[0] | sides[1]) & g; });
    if (nan) {
      backward_as_aten<scalar_t, 2>(
          grad, mask, out, /*grad_leads=*/true,
          // a NaN's gradient passes, as for the other dtypes (inside (0, 6))
          [](uint32_t bits) { return scalar_t(bits != 0 ? 1.0f : -1.0f); },
          [](at::TensorIteratorBase& iter) { relu6_backward_stub(at::kCPU, iter); });
    }
  });
}

}  // namespace
}  // namespace CPU_CAPABILITY
}  // namespace rectifiers::cpu

RECTIFIERS_REGISTER_CPU_KERNEL_AS_ATEN(relu6_stub, &rectifiers::cpu::relu6_kernel)
RECTIFIERS_REGISTER_CPU_KERNEL_AS_ATEN(relu6_backward_stub, &rectifiers::cpu::relu6_backward_kernel)
RECTIFIERS_REGISTER_CPU_KERNEL(relu6_dense_stub, &rectifiers::cpu::relu6_dense_kernel)
RECTIFIERS_REGISTER_CPU_KERNEL(relu6_with_mask_stub, &rectifiers::cpu::relu6_with_mask_kernel)
RECTIFIERS_REGISTER_CPU_KERNEL(relu6_mask_backward_stub,
                               &rectifiers::cpu::relu6_mask_backward_kernel)
