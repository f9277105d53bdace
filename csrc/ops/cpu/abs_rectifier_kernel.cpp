// abs_rectifier's CPU loops, compiled once per instruction set (see
// common/stub.h).
#include "../../cpu/loops.h"
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

}  // namespace
}  // namespace CPU_CAPABILITY
}  // namespace rectifiers::cpu

RECTIFIERS_REGISTER_CPU_KERNEL(abs_rectifier_stub, &rectifiers::cpu::abs_rectifier_kernel)
RECTIFIERS_REGISTER_CPU_KERNEL(abs_rectifier_backward_stub,
                               &rectifiers::cpu::abs_rectifier_backward_kernel)
