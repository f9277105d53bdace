// abs_rectifier and abs_rectifier_backward under autograd (see
// common/autograd.h). The derivative is abs_rectifier_backward: sgn(x),
// 0 at 0, NaN at NaN, as torch.abs's.
#include "../../common/autograd.h"
#include "../../rectifiers.h"

namespace rectifiers::autograd {
namespace {

// From the mask's two planes, x > 0 and x < 0 (attributes: the result's
// sizes and strides).
Tensor abs_rectifier_from_mask(const Tensor& g, const Backward& b) {
  return rectifiers::abs_rectifier_mask_backward(g, b.saved[0], b.integers(0), b.integers(1));
}

variable_list abs_rectifier_mask_double_backward(const Backward& b) {
  return linear_with_zero_for_input(
      b, [&](const Tensor& gg) { return abs_rectifier_from_mask(gg, b); });
}

variable_list abs_rectifier_mask_derivative(const Backward& b) {
  const auto from_mask = [&](const Tensor& g) { return abs_rectifier_from_mask(g, b); };
  return gradient_from_mask("AbsRectifierBackwardBackward", b,
                            abs_rectifier_mask_double_backward, from_mask, from_mask);
}

// abs_rectifier and its mask (common/mask.h): all its node saves, 1/16 of a
// float32 input.
std::tuple<Tensor, Tensor> abs_rectifier_with_mask(const Tensor& x) {
  check_inputs("abs_rectifier_with_mask", {{"input", x}});
  auto [y, mask] = below_autograd([&] { return rectifiers::abs_rectifier_with_mask(x); });
  Graph graph("AbsRectifierBackward", {x}, abs_rectifier_mask_derivative,
              {c10::IValue(y.sizes().vec()), c10::IValue(y.strides().vec())});
  graph.set_outputs({y});
  graph.save_input(mask);  // not an output of the graph: the mask is not differentiable
  if (any_tangent(x)) set_tangent(y, rectifiers::abs_rectifier_backward(tangent(x), primal(x)));
  return {y, mask};
}

// Saves the mask where it may (saves_mask), but not for an input with a
// tangent: forward over reverse then adds grad * 0 for the input's tangent,
// as torch's product rule does, which needs the input's tangent in backward.
Tensor abs_rectifier(const Tensor& x) {
  check_inputs("abs_rectifier", {{"input", x}});
  if (at::GradMode::is_enabled() && x.requires_grad() && saves_mask(x) && !any_tangent(x)) {
    return std::get<0>(abs_rectifier_with_mask(x));
  }
  Graph graph("AbsRectifierBackward", {x}, [](const Backward& b) -> variable_list {
    return {rectifiers::abs_rectifier_backward(b.grads[0], b.saved[0])};
  });
  graph.save_input(x);
  auto y = below_autograd([&] { return rectifiers::abs_rectifier(x); });
  graph.set_outputs({y});
  if (any_tangent(x)) set_tangent(y, rectifiers::abs_rectifier_backward(tangent(x), primal(x)));
  return y;
}

// Linear in grad; piecewise constant in self (zeros, as torch gives).
Tensor abs_rectifier_backward(const Tensor& g, const Tensor& x) {
  check_inputs("abs_rectifier_backward", {{"grad_output", g}, {"self", x}});
  Graph graph("AbsRectifierBackwardBackward", {g, x}, [](const Backward& b) -> variable_list {
    const auto& gg = b.grads[0];
    return {rectifiers::abs_rectifier_backward(gg, b.saved[0]),
            b.needed[1] ? zeros_for(gg) : Tensor()};
  });
  graph.save_input(x);
  auto out = below_autograd([&] { return rectifiers::abs_rectifier_backward(g, x); });
  graph.set_outputs({out});
  if (any_tangent(g, x)) {
    // sgn's tangent is zero, but torch's product rule still adds grad * 0,
    // which carries grad's sign into a zero tangent
    const auto tg = tangent(g);
    const auto from_x = any_tangent(x) ? primal(g) * zeros_for(out) : Tensor();
    set_tangent(out, add_defined(tg.defined() ? rectifiers::abs_rectifier_backward(tg, primal(x))
                                              : Tensor(),
                                 from_x));
  }
  return out;
}

// Linear in grad; the mask is not differentiable.
Tensor abs_rectifier_mask_backward(const Tensor& g, const Tensor& mask, at::IntArrayRef sizes,
                                   at::IntArrayRef strides) {
  check_inputs("abs_rectifier_mask_backward", {{"grad_output", g}, {"mask", mask}});
  Graph graph("AbsRectifierMaskBackwardBackward", {g}, [](const Backward& b) -> variable_list {
    return {rectifiers::abs_rectifier_mask_backward(b.grads[0], b.saved[0], b.integers(0),
                                                    b.integers(1))};
  }, {c10::IValue(sizes.vec()), c10::IValue(strides.vec())});
  graph.save_input(mask);
  auto out = below_autograd(
      [&] { return rectifiers::abs_rectifier_mask_backward(g, mask, sizes, strides); });
  graph.set_outputs({out});
  if (any_tangent(g)) {
    set_tangent(out, rectifiers::abs_rectifier_mask_backward(tangent(g), mask, sizes, strides));
  }
  return out;
}

}  // namespace
}  // namespace rectifiers::autograd

TORCH_LIBRARY_IMPL(rectifiers, Autograd, m) {
  using namespace rectifiers::autograd;
  m.impl("abs_rectifier", &abs_rectifier);
  m.impl("abs_rectifier_backward", &abs_rectifier_backward);
  m.impl("abs_rectifier_with_mask", &abs_rectifier_with_mask);
  m.impl("abs_rectifier_mask_backward", &abs_rectifier_mask_backward);
}
