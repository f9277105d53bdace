// abs_rectifier and abs_rectifier_backward under autograd (see
// common/autograd.h).
#include "../../common/autograd.h"
#include "../../rectifiers.h"

namespace rectifiers::autograd {
namespace {

struct AbsRectifier : Function<AbsRectifier> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    ctx->save_for_backward({x});
    at::AutoDispatchBelowADInplaceOrView guard;
    return rectifiers::abs_rectifier(x);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return {rectifiers::abs_rectifier_backward(grads[0], ctx->get_saved_variables()[0])};
  }
};

struct AbsRectifierBackward : Function<AbsRectifierBackward> {
  static Tensor forward(AutogradContext* ctx, const Tensor& grad, const Tensor& x) {
    ctx->save_for_backward({x});
    at::AutoDispatchBelowADInplaceOrView guard;
    return rectifiers::abs_rectifier_backward(grad, x);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return {rectifiers::abs_rectifier_backward(grads[0], ctx->get_saved_variables()[0]), kNoGrad};
  }
};

Tensor abs_rectifier(const Tensor& x) {
  check_inputs("abs_rectifier", {{"input", x}});
  if (!records(x)) return below_autograd([&] { return rectifiers::abs_rectifier(x); });
  return AbsRectifier::apply(x);
}
Tensor abs_rectifier_backward(const Tensor& g, const Tensor& x) {
  check_inputs("abs_rectifier_backward", {{"grad_output", g}, {"self", x}});
  if (!records(g, x)) {
    return below_autograd([&] { return rectifiers::abs_rectifier_backward(g, x); });
  }
  return AbsRectifierBackward::apply(g, x);
}
}  // namespace
}  // namespace rectifiers::autograd

TORCH_LIBRARY_IMPL(rectifiers, Autograd, m) {
  using namespace rectifiers::autograd;
  m.impl("abs_rectifier", &abs_rectifier);
  m.impl("abs_rectifier_backward", &abs_rectifier_backward);
}
