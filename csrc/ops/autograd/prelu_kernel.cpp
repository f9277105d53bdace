// prelu and prelu_backward under autograd (see common/autograd.h).
#include "../../common/autograd.h"
#include "../../rectifiers.h"
#include "../prelu.h"

namespace rectifiers::autograd {
namespace {

struct Prelu : Function<Prelu> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& weight) {
    ctx->save_for_backward({x, weight});
    at::AutoDispatchBelowADInplaceOrView guard;
    return rectifiers::prelu(x, weight);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    auto [grad_input, grad_weight] = rectifiers::prelu_backward(grads[0], saved[0], saved[1]);
    return {grad_input, grad_weight};
  }
};

// grad_input = x > 0 ? g : w * g;  grad_weight = sum(x > 0 ? 0 : x * g).
// Their derivatives, with gi, gw the incoming gradients of the two outputs:
//   d/dg = prelu_backward(gi, x, w).grad_input + (x > 0 ? 0 : x * gw)
//   d/dx = x > 0 ? 0 : g * gw
//   d/dw = sum(x > 0 ? 0 : g * gi)
struct PreluBackward : Function<PreluBackward> {
  static variable_list forward(AutogradContext* ctx, const Tensor& grad, const Tensor& x,
                               const Tensor& weight) {
    ctx->save_for_backward({grad, x, weight});
    at::AutoDispatchBelowADInplaceOrView guard;
    auto [grad_input, grad_weight] = rectifiers::prelu_backward(grad, x, weight);
    return {grad_input, grad_weight};
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &grad = saved[0], &x = saved[1], &weight = saved[2];
    const Tensor &gi = grads[0], &gw = grads[1];
    const auto positive = x > 0;
    Tensor d_grad, d_x, d_weight;
    if (gi.defined()) {
      d_grad = std::get<0>(rectifiers::prelu_backward(gi, x, weight));
      d_weight = shapes::prelu_reduce_to_weight(at::where(positive, at::zeros_like(grad), grad * gi), x, weight);
    }
    if (gw.defined()) {
      const auto gw_b = shapes::prelu_broadcast_weight(x, gw);
      const auto from_gw = at::where(positive, at::zeros_like(x), x * gw_b);
      d_grad = d_grad.defined() ? d_grad + from_gw : from_gw;
      d_x = at::where(positive, at::zeros_like(grad), grad * gw_b);
    }
    return {d_grad, d_x, d_weight};
  }
};

Tensor prelu(const Tensor& x, const Tensor& w) {
  check_inputs("prelu", {{"input", x}, {"weight", w}});
  if (!records(x, w)) return below_autograd([&] { return rectifiers::prelu(x, w); });
  return Prelu::apply(x, w);
}
std::tuple<Tensor, Tensor> prelu_backward(const Tensor& g, const Tensor& x, const Tensor& w) {
  check_inputs("prelu_backward", {{"grad_output", g}, {"self", x}, {"weight", w}});
  if (!records(g, x, w)) return below_autograd([&] { return rectifiers::prelu_backward(g, x, w); });
  auto out = PreluBackward::apply(g, x, w);
  return {out[0], out[1]};
}

}  // namespace
}  // namespace rectifiers::autograd

TORCH_LIBRARY_IMPL(rectifiers, Autograd, m) {
  using namespace rectifiers::autograd;
  m.impl("prelu", &prelu);
  m.impl("prelu_backward", &prelu_backward);
}
