// prelu and prelu_backward under autograd (see common/autograd.h).
//
// Reverse mode: prelu_backward (x > 0 picks the identity side). Forward mode
// and the derivatives of prelu_backward pick it with x >= 0, as torch's
// formulas for _prelu_kernel and _prelu_kernel_backward do, so that every
// result equals torch's, 0 included.
#include "../../common/autograd.h"
#include "../../rectifiers.h"
#include "../prelu.h"

namespace rectifiers::autograd {
namespace {

using shapes::prelu_broadcast_weight;
using shapes::prelu_reduce_to_weight;

Tensor identity_side(const Tensor& x) { return x >= 0; }
// A Scalar, not a 0-dim tensor: a DTensor does not mix with plain tensors.
const at::Scalar kZero(0.0);

// y = x >= 0 ? x : w * x:  dy = x >= 0 ? dx : w * dx + dw * x.
Tensor prelu_tangent(const Tensor& x, const Tensor& w, const Tensor& tx, const Tensor& tw) {
  const auto wb = prelu_broadcast_weight(x, w);
  const auto from_tw = tw.defined() ? prelu_broadcast_weight(x, tw) * x : Tensor();
  if (!tx.defined()) return at::where(identity_side(x), kZero, from_tw);
  return at::where(identity_side(x), tx, add_defined(wb * tx, from_tw));
}

Tensor prelu(const Tensor& x, const Tensor& w) {
  check_inputs("prelu", {{"input", x}, {"weight", w}});
  Graph graph("PreluBackward", {x, w}, [](const Backward& b) -> variable_list {
    auto [grad_input, grad_weight] = rectifiers::prelu_backward(b.grads[0], b.saved[0], b.saved[1]);
    return {grad_input, grad_weight};
  });
  graph.save_input(x);
  graph.save_input(w);
  auto y = below_autograd([&] { return rectifiers::prelu(x, w); });
  graph.set_outputs({y});
  if (any_tangent(x, w)) set_tangent(y, prelu_tangent(primal(x), primal(w), tangent(x), tangent(w)));
  return y;
}

// prelu_backward(g, x, w) = (gi, gw), gi = x > 0 ? g : w * g and
// gw = sum(x > 0 ? 0 : x * g). With dgi, dgw the gradients of gi and gw:
//   d/dg = x >= 0 ? dgi : dgi * w + dgw * x
//   d/dx = x >= 0 ? 0 : g * dgw
//   d/dw = sum(x >= 0 ? 0 : g * dgi)
variable_list prelu_backward_derivative(const Backward& b) {
  const Tensor &g = b.saved[0], &x = b.saved[1], &w = b.saved[2];
  const Tensor &dgi = b.grads[0], &dgw = b.grads[1];
  const auto side = identity_side(x);
  const auto dgw_b = dgw.defined() ? prelu_broadcast_weight(x, dgw) : Tensor();
  Tensor d_grad, d_x, d_weight;
  if (b.needed[0]) {
    const auto from_dgw = dgw.defined() ? dgw_b * x : Tensor();
    d_grad = dgi.defined()
                 ? at::where(side, dgi, add_defined(dgi * prelu_broadcast_weight(x, w), from_dgw))
                 : at::where(side, kZero, from_dgw);
  }
  if (b.needed[1]) d_x = dgw.defined() ? at::where(side, kZero, g * dgw_b) : zeros_for(x);
  if (b.needed[2]) {
    d_weight = dgi.defined() ? prelu_reduce_to_weight(at::where(side, kZero, g * dgi), x, w)
                             : zeros_for(w);
  }
  return {d_grad, d_x, d_weight};
}

//   dgi = x >= 0 ? dg : dg * w + g * dw
//   dgw = sum(x >= 0 ? 0 : g * dx + dg * x)
std::tuple<Tensor, Tensor> prelu_backward_tangents(const Tensor& dual_g, const Tensor& dual_x,
                                                   const Tensor& dual_w) {
  const auto tg = tangent(dual_g), tx = tangent(dual_x), tw = tangent(dual_w);
  const auto g = primal(dual_g), x = primal(dual_x), w = primal(dual_w);
  const auto side = identity_side(x);
  const auto from_tw = tw.defined() ? g * prelu_broadcast_weight(x, tw) : Tensor();
  const auto t_gi = tg.defined()
                        ? at::where(side, tg, add_defined(tg * prelu_broadcast_weight(x, w), from_tw))
                        : (from_tw.defined() ? at::where(side, kZero, from_tw) : at::zeros_like(g));
  const auto terms = add_defined(tx.defined() ? g * tx : Tensor(), tg.defined() ? tg * x : Tensor());
  const auto t_gw = terms.defined() ? prelu_reduce_to_weight(at::where(side, kZero, terms), x, w)
                                    : at::zeros_like(w);
  return {t_gi, t_gw};
}

std::tuple<Tensor, Tensor> prelu_backward(const Tensor& g, const Tensor& x, const Tensor& w) {
  check_inputs("prelu_backward", {{"grad_output", g}, {"self", x}, {"weight", w}});
  Graph graph("PreluBackwardBackward", {g, x, w}, prelu_backward_derivative);
  graph.save_input(g);
  graph.save_input(x);
  graph.save_input(w);
  auto [grad_input, grad_weight] = below_autograd([&] { return rectifiers::prelu_backward(g, x, w); });
  graph.set_outputs({grad_input, grad_weight});
  if (any_tangent(g, x, w)) {
    auto [t_gi, t_gw] = prelu_backward_tangents(g, x, w);
    set_tangent(grad_input, t_gi);
    set_tangent(grad_weight, t_gw);
  }
  return {grad_input, grad_weight};
}

}  // namespace
}  // namespace rectifiers::autograd

TORCH_LIBRARY_IMPL(rectifiers, Autograd, m) {
  using namespace rectifiers::autograd;
  m.impl("prelu", &prelu);
  m.impl("prelu_backward", &prelu_backward);
}
