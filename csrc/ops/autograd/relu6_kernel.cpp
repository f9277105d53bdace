// relu6, relu6_ and relu6_backward under autograd (see common/autograd.h).
// The derivative is relu6_backward, torch's hardtanh_backward(.., 0, 6): 1
// strictly between 0 and 6, 0 elsewhere (both kinks included).
#include "../../common/autograd.h"
#include "../../rectifiers.h"

namespace rectifiers::autograd {
namespace {

variable_list relu6_derivative(const Backward& b) {
  return {rectifiers::relu6_backward(b.grads[0], b.saved[0])};
}

Tensor relu6(const Tensor& x) {
  check_inputs("relu6", {{"input", x}});
  Graph graph("Relu6Backward", {x}, relu6_derivative);
  graph.save_input(x);
  auto y = below_autograd([&] { return rectifiers::relu6(x); });
  graph.set_outputs({y});
  if (any_tangent(x)) set_tangent(y, rectifiers::relu6_backward(tangent(x), primal(x)));
  return y;
}

// From the result, as torch's hardtanh_: it is 0 or 6 exactly where the
// input was at or beyond a kink, so the gradient is the same.
void relu6_(Tensor& x) {
  check_inputs("relu6_", {{"input", x}});
  check_can_mutate("relu6_", x);
  Graph graph("Relu6Backward", {x}, relu6_derivative);
  in_place_below_autograd([&] { rectifiers::relu6_(x); });
  graph.rebase_and_save(x);
  if (any_tangent(x)) {
    const auto t = tangent(x);
    set_tangent_in_place(x, t, rectifiers::relu6_backward(t, primal(x)));
  }
}

// Linear in grad; piecewise constant in self (zeros, as torch gives).
Tensor relu6_backward(const Tensor& g, const Tensor& x) {
  check_inputs("relu6_backward", {{"grad_output", g}, {"self", x}});
  Graph graph("Relu6BackwardBackward", {g, x}, [](const Backward& b) -> variable_list {
    const auto& gg = b.grads[0];
    return {rectifiers::relu6_backward(gg, b.saved[0]), b.needed[1] ? zeros_for(gg) : Tensor()};
  });
  graph.save_input(x);
  auto out = below_autograd([&] { return rectifiers::relu6_backward(g, x); });
  graph.set_outputs({out});
  // torch's formula for hardtanh_backward reads only grad_output's tangent (none
  // for self's alone), in a where, which gives 0 at NaN (the backward itself
  // passes NaN's gradient through)
  if (any_tangent(g)) {
    const auto xp = primal(x);
    const auto zero = at::zeros({}, out.options()).expand_as(out);
    set_tangent(out, at::where(xp.gt(0).logical_and(xp.lt(6)), tangent(g), zero));
  }
  return out;
}

void relu6__bumping_version(Tensor& x) {
  in_place_bumping_version(x, [&] { rectifiers::relu6_(x); });
}

}  // namespace
}  // namespace rectifiers::autograd

TORCH_LIBRARY_IMPL(rectifiers, Autograd, m) {
  using namespace rectifiers::autograd;
  m.impl("relu6", &relu6);
  m.impl("relu6_", &relu6_);
  m.impl("relu6_backward", &relu6_backward);
}

TORCH_LIBRARY_IMPL(rectifiers, ADInplaceOrView, m) {
  m.impl("relu6_", &rectifiers::autograd::relu6__bumping_version);
}
