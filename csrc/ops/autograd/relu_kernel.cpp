// relu, relu_ and relu_backward under autograd (see common/autograd.h).
// The derivative is relu_backward(grad, result): 1 where the result is
// positive (or NaN), 0 elsewhere, torch's threshold_backward.
#include "../../common/autograd.h"
#include "../../rectifiers.h"

namespace rectifiers::autograd {
namespace {

variable_list relu_derivative(const Backward& b) {
  return {rectifiers::relu_backward(b.grads[0], b.saved[0])};
}

Tensor relu(const Tensor& x) {
  check_inputs("relu", {{"input", x}});
  Graph graph("ReluBackward", {x}, relu_derivative);
  auto y = below_autograd([&] { return rectifiers::relu(x); });
  graph.set_outputs({y});
  graph.save_output(y);
  if (any_tangent(x)) set_tangent(y, rectifiers::relu_backward(tangent(x), y));
  return y;
}

void relu_(Tensor& x) {
  check_inputs("relu_", {{"input", x}});
  check_can_mutate("relu_", x);
  Graph graph("ReluBackward", {x}, relu_derivative);
  in_place_below_autograd([&] { rectifiers::relu_(x); });
  graph.rebase_and_save(x);
  if (any_tangent(x)) {
    const auto t = tangent(x);
    set_tangent_in_place(x, t, rectifiers::relu_backward(t, primal(x)));
  }
}

// Linear in grad; the mask is piecewise constant in result (zeros, as
// torch's threshold_backward gives).
Tensor relu_backward(const Tensor& g, const Tensor& y) {
  check_inputs("relu_backward", {{"grad_output", g}, {"result", y}});
  Graph graph("ReluBackwardBackward", {g, y}, [](const Backward& b) -> variable_list {
    const auto& gg = b.grads[0];
    return {rectifiers::relu_backward(gg, b.saved[0]), b.needed[1] ? zeros_for(gg) : Tensor()};
  });
  graph.save_input(y);
  auto out = below_autograd([&] { return rectifiers::relu_backward(g, y); });
  graph.set_outputs({out});
  if (any_tangent(g, y)) {
    // zeros + ..., as torch's formula for threshold_backward, which turns -0 into +0
    const auto tg = tangent(g);
    const auto zeros = zeros_for(out);
    set_tangent(out, tg.defined() ? zeros + rectifiers::relu_backward(tg, primal(y)) : zeros);
  }
  return out;
}

void relu__bumping_version(Tensor& x) {
  in_place_bumping_version(x, [&] { rectifiers::relu_(x); });
}

}  // namespace
}  // namespace rectifiers::autograd

TORCH_LIBRARY_IMPL(rectifiers, Autograd, m) {
  using namespace rectifiers::autograd;
  m.impl("relu", &relu);
  m.impl("relu_", &relu_);
  m.impl("relu_backward", &relu_backward);
}

TORCH_LIBRARY_IMPL(rectifiers, ADInplaceOrView, m) {
  m.impl("relu_", &rectifiers::autograd::relu__bumping_version);
}
