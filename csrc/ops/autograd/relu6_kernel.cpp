// relu6, relu6_ and relu6_backward under autograd (see common/autograd.h).
// The derivative is relu6_backward, torch's hardtanh_backward(.., 0, 6): 1
// strictly between 0 and 6, 0 elsewhere (both kinks included).
#include "../../common/autograd.h"
#include "../../common/mask.h"
#include "../../rectifiers.h"

namespace rectifiers::autograd {
namespace {

variable_list relu6_derivative(const Backward& b) {
  return {rectifiers::relu6_backward(b.grads[0], b.saved[0])};
}

// From the mask's two planes (attributes: the result's sizes and strides).
Tensor relu6_from_mask(const Tensor& g, const Tensor& mask, const Backward& b) {
  return rectifiers::relu6_mask_backward(g, mask, b.integers(0), b.integers(1));
}

variable_list relu6_mask_double_backward(const Backward& b) {
  return linear_with_zero_for_input(
      b, [&](const Tensor& gg) { return relu6_from_mask(gg, b.saved[0], b); });
}

// torch's tangent is a where on 0 < x < 6, which gives 0 at NaN: the mask
// without its NaN plane
variable_list relu6_mask_derivative(const Backward& b) {
  return gradient_from_mask(
      "Relu6BackwardBackward", b, relu6_mask_double_backward,
      [&](const Tensor& g) { return relu6_from_mask(g, b.saved[0], b); },
      [&](const Tensor& t) { return relu6_from_mask(t, mask::without_plane(b.saved[0], 2, 1), b); });
}

void record_mask_graph(const Tensor& x, const Tensor& y, const Tensor& mask) {
  Graph graph("Relu6Backward", {x}, relu6_mask_derivative,
              {c10::IValue(y.sizes().vec()), c10::IValue(y.strides().vec())});
  graph.set_outputs({y});
  graph.save_input(mask);  // not an output of the graph: the mask is not differentiable
  if (any_tangent(x)) set_tangent(y, rectifiers::relu6_backward(tangent(x), primal(x)));
}

void record_input_graph(const Tensor& x, const Tensor& y) {
  Graph graph("Relu6Backward", {x}, relu6_derivative);
  graph.save_input(x);
  graph.set_outputs({y});
  if (any_tangent(x)) set_tangent(y, rectifiers::relu6_backward(tangent(x), primal(x)));
}

// relu6 and its mask (common/mask.h): all its node saves, 1/16 of a float32
// input.
std::tuple<Tensor, Tensor> relu6_with_mask(const Tensor& x) {
  check_inputs("relu6_with_mask", {{"input", x}});
  auto [y, mask] = below_autograd([&] { return rectifiers::relu6_with_mask(x); });
  record_mask_graph(x, y, mask);
  return {y, mask};
}

// Saves the mask where it may (saves_mask), except for a CPU input holding a
// NaN: there torch's gradient of a NaN depends on where ATen's loop runs
// vectorised, which the input saved as torch saves it reproduces.
Tensor relu6(const Tensor& x) {
  check_inputs("relu6", {{"input", x}});
  if (at::GradMode::is_enabled() && x.requires_grad() && saves_mask(x)) {
    auto [y, mask] = below_autograd([&] { return rectifiers::relu6_with_mask(x); });
    if (x.is_cpu() && mask::any_in_plane(mask, 2, 1)) {
      record_input_graph(x, y);
    } else {
      record_mask_graph(x, y, mask);
    }
    return y;
  }
  // recorded before the op runs, so that it sees the input as it is now
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

// Linear in grad; the mask is not differentiable.
Tensor relu6_mask_backward(const Tensor& g, const Tensor& mask, at::IntArrayRef sizes,
                           at::IntArrayRef strides) {
  check_inputs("relu6_mask_backward", {{"grad_output", g}, {"mask", mask}});
  Graph graph("Relu6MaskBackwardBackward", {g}, [](const Backward& b) -> variable_list {
    return {rectifiers::relu6_mask_backward(b.grads[0], b.saved[0], b.integers(0),
                                            b.integers(1))};
  }, {c10::IValue(sizes.vec()), c10::IValue(strides.vec())});
  graph.save_input(mask);
  auto out = below_autograd([&] { return rectifiers::relu6_mask_backward(g, mask, sizes, strides); });
  graph.set_outputs({out});
  if (any_tangent(g)) {
    set_tangent(out, rectifiers::relu6_mask_backward(tangent(g), mask, sizes, strides));
  }
  return out;
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
  m.impl("relu6_with_mask", &relu6_with_mask);
  m.impl("relu6_mask_backward", &relu6_mask_backward);
}

TORCH_LIBRARY_IMPL(rectifiers, ADInplaceOrView, m) {
  m.impl("relu6_", &rectifiers::autograd::relu6__bumping_version);
}
