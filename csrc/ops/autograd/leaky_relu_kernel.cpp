// leaky_relu, leaky_relu_ and leaky_relu_backward under autograd (see
// common/autograd.h). The derivative is leaky_relu_backward: 1 where the
// input is positive, negative_slope elsewhere (0 and NaN included).
#include "../../common/autograd.h"
#include "../../rectifiers.h"

namespace rectifiers::autograd {
namespace {

// attributes: negative_slope, self_is_result
variable_list leaky_relu_derivative(const Backward& b) {
  return {rectifiers::leaky_relu_backward(b.grads[0], b.saved[0], b.real(0), b.flag(1))};
}

// From the mask (attributes: negative_slope, the result's sizes and strides).
Tensor leaky_relu_from_mask(const Tensor& g, const Backward& b) {
  return rectifiers::leaky_relu_mask_backward(g, b.saved[0], b.integers(1), b.integers(2),
                                              b.real(0));
}

variable_list leaky_relu_mask_double_backward(const Backward& b) {
  return linear_with_zero_for_input(b, [&](const Tensor& gg) { return leaky_relu_from_mask(gg, b); });
}

variable_list leaky_relu_mask_derivative(const Backward& b) {
  const auto from_mask = [&](const Tensor& g) { return leaky_relu_from_mask(g, b); };
  return gradient_from_mask("LeakyReluBackwardBackward", b, leaky_relu_mask_double_backward,
                            from_mask, from_mask);
}

// leaky_relu and the mask of x > 0 (common/mask.h), which is all its node
// saves: 1/32 of a float32 input. The out-of-place leaky_relu runs this
// where it may (saves_mask).
std::tuple<Tensor, Tensor> leaky_relu_with_mask(const Tensor& x, double slope) {
  check_inputs("leaky_relu_with_mask", {{"input", x}});
  auto [y, mask] = below_autograd([&] { return rectifiers::leaky_relu_with_mask(x, slope); });
  Graph graph("LeakyReluBackward", {x}, leaky_relu_mask_derivative,
              {slope, c10::IValue(y.sizes().vec()), c10::IValue(y.strides().vec())});
  graph.set_outputs({y});
  graph.save_input(mask);  // not an output of the graph: the mask is not differentiable
  if (any_tangent(x)) {
    set_tangent(y, rectifiers::leaky_relu_backward(tangent(x), primal(x), slope, false));
  }
  return {y, mask};
}

Tensor leaky_relu(const Tensor& x, double slope) {
  check_inputs("leaky_relu", {{"input", x}});
  if (at::GradMode::is_enabled() && x.requires_grad() && saves_mask(x)) {
    return std::get<0>(leaky_relu_with_mask(x, slope));
  }
  Graph graph("LeakyReluBackward", {x}, leaky_relu_derivative, {slope, false});
  graph.save_input(x);
  auto y = below_autograd([&] { return rectifiers::leaky_relu(x, slope); });
  graph.set_outputs({y});
  if (any_tangent(x)) set_tangent(y, rectifiers::leaky_relu_backward(tangent(x), primal(x), slope, false));
  return y;
}

void leaky_relu_(Tensor& x, double slope) {
  check_inputs("leaky_relu_", {{"input", x}});
  check_can_mutate("leaky_relu_", x);
  if (any_tangent(x)) {
    // Refused before writing (torch writes, then fails): the tangent of the
    // result needs the input's sign, which a negative slope overwrites. The
    // backward fails the same way, as torch's does, when it runs.
    TORCH_CHECK(slope >= 0.0, "rectifiers::leaky_relu_: cannot differentiate in-place "
                "leaky_relu_ with a negative slope (negative_slope = ", slope,
                ") in forward mode: the result's sign no longer tells which side of 0 the "
                "input was on; use the out-of-place leaky_relu");
  }
  Graph graph("LeakyReluBackward", {x}, leaky_relu_derivative, {slope, true});
  in_place_below_autograd([&] { rectifiers::leaky_relu_(x, slope); });
  graph.rebase_and_save(x);
  if (any_tangent(x)) {
    const auto t = tangent(x);
    set_tangent_in_place(x, t, rectifiers::leaky_relu_backward(t, primal(x), slope, true));
  }
}

// Linear in grad; piecewise constant in self (zeros, as torch gives).
Tensor leaky_relu_backward(const Tensor& g, const Tensor& x, double slope, bool self_is_result) {
  check_inputs("leaky_relu_backward", {{"grad_output", g}, {"self", x}});
  Graph graph("LeakyReluBackwardBackward", {g, x}, [](const Backward& b) -> variable_list {
    const auto& gg = b.grads[0];
    return {rectifiers::leaky_relu_backward(gg, b.saved[0], b.real(0), b.flag(1)),
            b.needed[1] ? zeros_for(gg) : Tensor()};
  }, {slope, self_is_result});
  graph.save_input(x);
  auto out = below_autograd(
      [&] { return rectifiers::leaky_relu_backward(g, x, slope, self_is_result); });
  graph.set_outputs({out});
  // Only grad_output's tangent matters (torch leaves none for self's alone).
  if (any_tangent(g)) {
    set_tangent(out, rectifiers::leaky_relu_backward(tangent(g), primal(x), slope, self_is_result));
  }
  return out;
}

// Linear in grad; the mask is not differentiable.
Tensor leaky_relu_mask_backward(const Tensor& g, const Tensor& mask, at::IntArrayRef sizes,
                                at::IntArrayRef strides, double slope) {
  check_inputs("leaky_relu_mask_backward", {{"grad_output", g}, {"mask", mask}});
  Graph graph("LeakyReluMaskBackwardBackward", {g}, [](const Backward& b) -> variable_list {
    return {rectifiers::leaky_relu_mask_backward(b.grads[0], b.saved[0], b.integers(1),
                                                 b.integers(2), b.real(0))};
  }, {slope, c10::IValue(sizes.vec()), c10::IValue(strides.vec())});
  graph.save_input(mask);
  auto out = below_autograd(
      [&] { return rectifiers::leaky_relu_mask_backward(g, mask, sizes, strides, slope); });
  graph.set_outputs({out});
  if (any_tangent(g)) {
    set_tangent(out,
                rectifiers::leaky_relu_mask_backward(tangent(g), mask, sizes, strides, slope));
  }
  return out;
}

void leaky_relu__bumping_version(Tensor& x, double slope) {
  in_place_bumping_version(x, [&] { rectifiers::leaky_relu_(x, slope); });
}

}  // namespace
}  // namespace rectifiers::autograd

TORCH_LIBRARY_IMPL(rectifiers, Autograd, m) {
  using namespace rectifiers::autograd;
  m.impl("leaky_relu", &leaky_relu);
  m.impl("leaky_relu_", &leaky_relu_);
  m.impl("leaky_relu_backward", &leaky_relu_backward);
  m.impl("leaky_relu_with_mask", &leaky_relu_with_mask);
  m.impl("leaky_relu_mask_backward", &leaky_relu_mask_backward);
}

TORCH_LIBRARY_IMPL(rectifiers, ADInplaceOrView, m) {
  m.impl("leaky_relu_", &rectifiers::autograd::leaky_relu__bumping_version);
}
