// rrelu's training-mode ops and rrelu_backward under autograd (see
// common/autograd.h); rrelu and rrelu_ themselves are composites of these
// and of leaky_relu (ops/rrelu.cpp). The derivative is the element's slope
// where the input is <= 0 and 1 elsewhere, regenerated from the saved state
// (two int64s) rather than read from a saved tensor of slopes.
#include "../../common/autograd.h"
#include "../../rectifiers.h"

namespace rectifiers::autograd {
namespace {

// attributes: lower, upper, is_result
variable_list rrelu_derivative(const Backward& b) {
  return {rectifiers::rrelu_backward(b.grads[0], b.saved[0], b.saved[1], b.real(0), b.real(1),
                                     b.flag(2))};
}

// From the mask of !(x <= 0) and the state (attributes: lower, upper, the
// result's sizes and strides).
Tensor rrelu_from_mask(const Tensor& g, const Backward& b) {
  return rectifiers::rrelu_mask_backward(g, b.saved[0], b.saved[1], b.integers(2), b.integers(3),
                                         b.real(0), b.real(1));
}

variable_list rrelu_mask_double_backward(const Backward& b) {
  return linear_with_zero_for_input(b, [&](const Tensor& gg) { return rrelu_from_mask(gg, b); });
}

variable_list rrelu_mask_derivative(const Backward& b) {
  const auto from_mask = [&](const Tensor& g) { return rrelu_from_mask(g, b); };
  return gradient_from_mask("RreluBackwardBackward", b, rrelu_mask_double_backward, from_mask,
                            from_mask);
}

// The training rrelu, its state and the mask of !(x <= 0) (common/mask.h):
// all its node saves besides the state, 1/32 of a float32 input.
std::tuple<Tensor, Tensor, Tensor> rrelu_with_mask(const Tensor& x, double lower, double upper,
                                                   std::optional<at::Generator> gen) {
  check_inputs("rrelu_with_mask", {{"input", x}});
  auto [y, state, mask] =
      below_autograd([&] { return rectifiers::rrelu_with_mask(x, lower, upper, gen); });
  Graph graph("RreluBackward", {x}, rrelu_mask_derivative,
              {lower, upper, c10::IValue(y.sizes().vec()), c10::IValue(y.strides().vec())});
  graph.set_outputs({y});
  // not outputs of the graph: neither is differentiable
  graph.save_input(mask);
  graph.save_input(state);
  if (any_tangent(x)) {
    set_tangent(y, rectifiers::rrelu_backward(tangent(x), primal(x), state, lower, upper, false));
  }
  return {y, state, mask};
}

// Saves the mask and the state where it may (saves_mask), else the input
// and the state.
std::tuple<Tensor, Tensor> rrelu_with_state(const Tensor& x, double lower, double upper,
                                            std::optional<at::Generator> gen) {
  check_inputs("rrelu_with_state", {{"input", x}});
  if (at::GradMode::is_enabled() && x.requires_grad() && saves_mask(x)) {
    auto [y, state, mask] = rrelu_with_mask(x, lower, upper, gen);
    return {y, state};
  }
  Graph graph("RreluBackward", {x}, rrelu_derivative, {lower, upper, false});
  graph.save_input(x);
  auto [y, state] =
      below_autograd([&] { return rectifiers::rrelu_with_state(x, lower, upper, gen); });
  graph.set_outputs({y});
  graph.save_input(state);  // not an output of the graph: the state is not differentiable
  if (any_tangent(x)) {
    set_tangent(y, rectifiers::rrelu_backward(tangent(x), primal(x), state, lower, upper, false));
  }
  return {y, state};
}

Tensor rrelu_with_state_(Tensor& x, double lower, double upper, std::optional<at::Generator> gen) {
  check_inputs("rrelu_with_state_", {{"input", x}});
  check_can_mutate("rrelu_with_state_", x);
  if (any_tangent(x)) {
    // Refused before writing, as the backward from the result refuses it.
    TORCH_CHECK(lower >= 0.0, "rectifiers::rrelu_with_state_: cannot differentiate in-place "
                "rrelu_ with a negative lower bound (lower = ", lower,
                ") in forward mode: the result's sign no longer tells which side of 0 the input "
                "was on; use the out-of-place rrelu");
  }
  Graph graph("RreluBackward", {x}, rrelu_derivative, {lower, upper, true});
  Tensor state;
  in_place_below_autograd([&] { state = rectifiers::rrelu_with_state_(x, lower, upper, gen); });
  graph.rebase_and_save(x);
  graph.save_input(state);
  if (any_tangent(x)) {
    const auto t = tangent(x);
    set_tangent_in_place(x, t,
                         rectifiers::rrelu_backward(t, primal(x), state, lower, upper, true));
  }
  return state;
}

// Linear in grad; piecewise constant in self (zeros, as for leaky_relu).
Tensor rrelu_backward(const Tensor& g, const Tensor& x, const Tensor& state, double lower,
                      double upper, bool is_result) {
  check_inputs("rrelu_backward", {{"grad_output", g}, {"self_or_result", x}, {"state", state}});
  Graph graph("RreluBackwardBackward", {g, x}, [](const Backward& b) -> variable_list {
    const auto& gg = b.grads[0];
    return {rectifiers::rrelu_backward(gg, b.saved[0], b.saved[1], b.real(0), b.real(1),
                                       b.flag(2)),
            b.needed[1] ? zeros_for(gg) : Tensor()};
  }, {lower, upper, is_result});
  graph.save_input(x);
  graph.save_input(state);
  auto out = below_autograd(
      [&] { return rectifiers::rrelu_backward(g, x, state, lower, upper, is_result); });
  graph.set_outputs({out});
  if (any_tangent(g)) {
    set_tangent(out, rectifiers::rrelu_backward(tangent(g), primal(x), state, lower, upper,
                                                is_result));
  }
  return out;
}

// Linear in grad; the mask and the state are not differentiable.
Tensor rrelu_mask_backward(const Tensor& g, const Tensor& mask, const Tensor& state,
                           at::IntArrayRef sizes, at::IntArrayRef strides, double lower,
                           double upper) {
  check_inputs("rrelu_mask_backward", {{"grad_output", g}, {"mask", mask}, {"state", state}});
  Graph graph("RreluMaskBackwardBackward", {g}, [](const Backward& b) -> variable_list {
    return {rectifiers::rrelu_mask_backward(b.grads[0], b.saved[0], b.saved[1], b.integers(2),
                                            b.integers(3), b.real(0), b.real(1))};
  }, {lower, upper, c10::IValue(sizes.vec()), c10::IValue(strides.vec())});
  graph.save_input(mask);
  graph.save_input(state);
  auto out = below_autograd([&] {
    return rectifiers::rrelu_mask_backward(g, mask, state, sizes, strides, lower, upper);
  });
  graph.set_outputs({out});
  if (any_tangent(g)) {
    set_tangent(out, rectifiers::rrelu_mask_backward(tangent(g), mask, state, sizes, strides,
                                                     lower, upper));
  }
  return out;
}

Tensor rrelu_with_state__bumping_version(Tensor& x, double lower, double upper,
                                         std::optional<at::Generator> gen) {
  Tensor state;
  in_place_bumping_version(x, [&] { state = rectifiers::rrelu_with_state_(x, lower, upper, gen); });
  return state;
}

}  // namespace
}  // namespace rectifiers::autograd

TORCH_LIBRARY_IMPL(rectifiers, Autograd, m) {
  using namespace rectifiers::autograd;
  m.impl("rrelu_with_state", &rrelu_with_state);
  m.impl("rrelu_with_state_", &rrelu_with_state_);
  m.impl("rrelu_backward", &rrelu_backward);
  m.impl("rrelu_with_mask", &rrelu_with_mask);
  m.impl("rrelu_mask_backward", &rrelu_mask_backward);
}

TORCH_LIBRARY_IMPL(rectifiers, ADInplaceOrView, m) {
  m.impl("rrelu_with_state_", &rectifiers::autograd::rrelu_with_state__bumping_version);
}
