// abs_rectifier's CPU loops, compiled once per instruction set (see
// common/stub.h).
#include "../../cpu/loops.h"
#include "../../cpu/mask_loops.h"
#include "../abs_rectifier.h"

namespace rectifiers::cpu {
inline namespace CPU_CAPABILITY {
namespace {

void abs_rectifier_kernel(at::TensorIteratorBase& iter) {
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::abs_rectifier", [&] {
    if constexpr (kSimd) {
      // |x| is exact in every dtype: clear the sign bits in the storage type,
      // as ATen's abs does, rather than round-trip float16/bfloat16 through
      // float (measurably slower than native that way).
      at::native::cpu_kernel_vec(
          iter, [](scalar_t x) -> scalar_t { return math::abs_rectifier(x); },
          [](Vectorized<scalar_t> x) { return x.abs(); });
    } else {
      unary_loop<scalar_t>(
          iter, [](auto x) { return math::abs_rectifier(x); }, [](auto x) { return x.abs(); });
    }
  });
}

void abs_rectifier_backward_kernel(at::TensorIteratorBase& iter) {
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::abs_rectifier_backward", [&] {
    binary_loop<scalar_t>(
        iter, [](auto g, auto x) { return math::abs_rectifier_backward(g, x); },
        [](auto g, auto x) {
          using V = decltype(g);
          const V zero(0), one(1);
          return g * (V::blendv(zero, one, zero < x) - V::blendv(zero, one, x < zero));
        });
  });
}

void abs_rectifier_with_mask_kernel(const at::Tensor& x, const at::Tensor& result,
                                    const at::Tensor& mask) {
  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::abs_rectifier_with_mask", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    forward_with_mask<scalar_t, 2, /*value_in_storage=*/true>(
        x, result, mask, [](at::TensorIteratorBase& iter) { abs_rectifier_stub(at::kCPU, iter); },
        [](auto v) { return v.abs(); },
        [](scalar_t v) -> uint32_t {
          const opmath_t f = v;
          return static_cast<uint32_t>(f > opmath_t(0)) | static_cast<uint32_t>(f < opmath_t(0)) << 1;
        },
        [](auto v) {
          using W = decltype(v);
          return std::array{v > W(0), v < W(0)};
        });
  });
}

// grad * sgn(x), sgn from the two planes: a product, as torch's, so that
// the zeros carry grad's sign and a NaN's sign survives.
void abs_rectifier_mask_backward_kernel(const at::Tensor& grad, const at::Tensor& mask,
                                        const at::Tensor& out) {
  RECTIFIERS_DISPATCH_FLOATING(grad.scalar_type(), "rectifiers::abs_rectifier_mask_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const bool nan = backward_from_mask<scalar_t, 2>(
        grad, mask, out,
        [](scalar_t g, uint32_t bits) -> scalar_t {
          const opmath_t sign = opmath_t(bits & 1u) - opmath_t(bits >> 1);
          return static_cast<opmath_t>(g) * sign;
        },
        [](auto g, auto sides) {
          using W = decltype(g);
          const W one(1);
          return g * ((sides[0] & one) - (sides[1] & one));
        });
    if (nan) {
      backward_as_aten<scalar_t, 2>(
          grad, mask, out, /*grad_leads=*/true,
          [](uint32_t bits) { return scalar_t(float(bits & 1u) - float(bits >> 1)); },
          [](at::TensorIteratorBase& iter) { abs_rectifier_backward_stub(at::kCPU, iter); });
    }
  });
}

}  // namespace
}  // namespace CPU_CAPABILITY
}  // namespace rectifiers::cpu

RECTIFIERS_REGISTER_CPU_KERNEL_AS_ATEN(abs_rectifier_stub, &rectifiers::cpu::abs_rectifier_kernel)
RECTIFIERS_REGISTER_CPU_KERNEL_AS_ATEN(abs_rectifier_backward_stub,
                               &rectifiers::cpu::abs_rectifier_backward_kernel)
RECTIFIERS_REGISTER_CPU_KERNEL(abs_rectifier_with_mask_stub,
                               &rectifiers::cpu::abs_rectifier_with_mask_kernel)
RECTIFIERS_REGISTER_CPU_KERNEL(abs_rectifier_mask_backward_stub,
                               &rectifiers::cpu::abs_rectifier_mask_backward_kernel)
