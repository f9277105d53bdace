// relu's CPU loops, compiled once per instruction set (see common/stub.h).
#include "../../cpu/loops.h"
#include "../relu.h"

namespace rectifiers::cpu {
inline namespace CPU_CAPABILITY {
namespace {

void relu_kernel(at::TensorIteratorBase& iter) {
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::relu", [&] {
    unary_loop<scalar_t>(
        iter, [](auto x) { return math::relu(x); },
        [](auto x) {
          using V = decltype(x);
          return V::blendv(x, V(0), x < V(0));
        });
  });
}

void relu_backward_kernel(at::TensorIteratorBase& iter) {
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::relu_backward", [&] {
    binary_loop<scalar_t>(
        iter, [](auto g, auto y) { return math::relu_backward(g, y); },
        [](auto g, auto y) {
          using V = decltype(g);
          return V::blendv(g, V(0), y <= V(0));
        });
  });
}

}  // namespace
}  // namespace CPU_CAPABILITY
}  // namespace rectifiers::cpu

RECTIFIERS_REGISTER_CPU_KERNEL_AS_ATEN(relu_stub, &rectifiers::cpu::relu_kernel)
RECTIFIERS_REGISTER_CPU_KERNEL_AS_ATEN(relu_backward_stub, &rectifiers::cpu::relu_backward_kernel)
