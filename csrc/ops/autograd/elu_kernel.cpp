// elu, celu, selu, their in-place forms and elu_backward under autograd (see
// common/autograd.h), with torch's formulas: every forward op's derivative
// is elu_backward from the input, every in-place op's from the result.
#include <c10/util/TypeCast.h>

#include <cmath>

#include "../../common/autograd.h"
#include "../../ops/elu.h"
#include "../../rectifiers.h"

namespace rectifiers::autograd {
namespace {

struct Coefficients {
  double alpha, scale, input_scale;
};

Coefficients elu_coefficients(double alpha) { return {alpha, 1.0, 1.0}; }
// torch's derivative of celu takes 1 / alpha with alpha rounded to float
// (derivatives.yaml: 1.0 / alpha.toFloat()), its forward without rounding;
// celu's kernel refuses alpha = 0 before any derivative is taken.
Coefficients celu_coefficients(double alpha) {
  return {alpha, 1.0, 1.0 / static_cast<double>(static_cast<float>(alpha))};
}
constexpr Coefficients kSelu{kSeluAlpha, kSeluScale, 1.0};

Tensor elu_derivative(const Tensor& g, const Tensor& x_or_result, const Coefficients& c,
                      bool is_result) {
  return rectifiers::elu_backward(g, x_or_result, c.alpha, c.scale, c.input_scale, is_result);
}

// The attributes of an ELU node: alpha, scale, input_scale, is_result.
Attributes elu_attributes(const Coefficients& c, bool is_result) {
  return {c.alpha, c.scale, c.input_scale, is_result};
}
Coefficients coefficients_of(const Backward& b) { return {b.real(0), b.real(1), b.real(2)}; }

variable_list elu_node_derivative(const Backward& b) {
  return {elu_derivative(b.grads[0], b.saved[0], coefficients_of(b), b.flag(3))};
}

template <typename Forward>
Tensor elu_forward(const char* op, const Tensor& x, const Coefficients& c, Forward forward) {
  check_inputs(op, {{"input", x}});
  Graph graph("EluBackward", {x}, elu_node_derivative, elu_attributes(c, false));
  graph.save_input(x);
  auto y = below_autograd([&] { return forward(x); });
  graph.set_outputs({y});
  if (any_tangent(x)) set_tangent(y, elu_derivative(tangent(x), primal(x), c, false));
  return y;
}

template <typename InPlace>
void elu_in_place(const char* op, Tensor& x, const Coefficients& c, InPlace in_place) {
  check_inputs(op, {{"input", x}});
  check_can_mutate(op, x);
  if (any_tangent(x)) {
    // Refused before writing, as elu_backward from the result refuses it.
    TORCH_CHECK(c.alpha >= 0.0, "rectifiers::", op, ": cannot differentiate in-place ", op,
                " with a negative alpha (alpha = ", c.alpha,
                ") in forward mode: the result's sign no longer tells which side of 0 the "
                "input was on; use the out-of-place op");
  }
  Graph graph("EluBackward", {x}, elu_node_derivative, elu_attributes(c, true));
  in_place_below_autograd([&] { in_place(x); });
  graph.rebase_and_save(x);
  if (any_tangent(x)) {
    const auto t = tangent(x);
    set_tangent_in_place(x, t, elu_derivative(t, primal(x), c, true));
  }
}

Tensor elu(const Tensor& x, double alpha) {
  return elu_forward("elu", x, elu_coefficients(alpha),
                     [alpha](const Tensor& t) { return rectifiers::elu(t, alpha); });
}
void elu_(Tensor& x, double alpha) {
  elu_in_place("elu_", x, elu_coefficients(alpha),
               [alpha](Tensor& t) { rectifiers::elu_(t, alpha); });
}
// torch's derivative fails on an alpha that float cannot hold; ours before
// the forward runs.
void check_celu_differentiable(const char* op, const Tensor& x, double alpha) {
  const bool differentiates = (at::GradMode::is_enabled() && x.requires_grad()) || any_tangent(x);
  const bool overflows = std::isfinite(alpha) && c10::overflows<float, double>(alpha);
  TORCH_CHECK(!differentiates || !overflows,
              "rectifiers::", op, ": cannot differentiate with alpha ", alpha,
              ": the derivative (as torch's) rounds alpha to float, which cannot hold it");
}

Tensor celu(const Tensor& x, double alpha) {
  check_celu_differentiable("celu", x, alpha);
  return elu_forward("celu", x, celu_coefficients(alpha),
                     [alpha](const Tensor& t) { return rectifiers::celu(t, alpha); });
}
void celu_(Tensor& x, double alpha) {
  check_celu_differentiable("celu_", x, alpha);
  elu_in_place("celu_", x, celu_coefficients(alpha),
               [alpha](Tensor& t) { rectifiers::celu_(t, alpha); });
}
Tensor selu(const Tensor& x) {
  return elu_forward("selu", x, kSelu, [](const Tensor& t) { return rectifiers::selu(t); });
}
void selu_(Tensor& x) {
  elu_in_place("selu_", x, kSelu, [](Tensor& t) { rectifiers::selu_(t); });
}

// torch's elu_double_backward: elu_backward's derivative in self_or_result,
// nonzero only on the negative side (where the slope is exponential).
Tensor elu_double_backward(const Tensor& grad, const Tensor& grad_output, const Coefficients& c,
                           bool is_result, const Tensor& x_or_result) {
  const auto negative = (x_or_result < 0).type_as(grad);
  if (is_result) return grad * grad_output * c.input_scale * negative;
  return elu_derivative(grad * grad_output * c.input_scale, x_or_result, c, false) * negative;
}

Tensor elu_backward(const Tensor& g, const Tensor& x, double alpha, double scale,
                    double input_scale, bool is_result) {
  check_inputs("elu_backward", {{"grad_output", g}, {"self_or_result", x}});
  const Coefficients c{alpha, scale, input_scale};
  Graph graph("EluBackwardBackward", {g, x}, [](const Backward& b) -> variable_list {
    const auto& gg = b.grads[0];
    const auto c = coefficients_of(b);
    const bool is_result = b.flag(3);
    return {b.needed[0] ? elu_derivative(gg, b.saved[1], c, is_result) : Tensor(),
            b.needed[1] ? elu_double_backward(gg, b.saved[0], c, is_result, b.saved[1])
                        : Tensor()};
  }, elu_attributes(c, is_result));
  graph.save_input(g);
  graph.save_input(x);
  auto out = below_autograd(
      [&] { return rectifiers::elu_backward(g, x, alpha, scale, input_scale, is_result); });
  graph.set_outputs({out});
  if (any_tangent(g, x)) {
    const auto gp = primal(g);
    const auto xp = primal(x);
    const auto tg = tangent(g);
    const auto tx = tangent(x);
    // torch's formula, where an input without a tangent has a ZeroTensor one:
    // it passes through elu_backward as real zeros, so that without
    // self_or_result's tangent zeros are added from the input (which turns -0
    // into +0), but not from the result, where the term stays a ZeroTensor
    const auto from_grad = elu_derivative(tg.defined() ? tg : zeros_for(gp), xp, c, is_result);
    if (tx.defined()) {
      set_tangent(out, from_grad + elu_double_backward(tx, gp, c, is_result, xp));
    } else {
      set_tangent(out, is_result ? from_grad : from_grad + zeros_for(out));
    }
  }
  return out;
}

void elu__bumping_version(Tensor& x, double alpha) {
  in_place_bumping_version(x, [&] { rectifiers::elu_(x, alpha); });
}
void celu__bumping_version(Tensor& x, double alpha) {
  in_place_bumping_version(x, [&] { rectifiers::celu_(x, alpha); });
}
void selu__bumping_version(Tensor& x) {
  in_place_bumping_version(x, [&] { rectifiers::selu_(x); });
}

}  // namespace
}  // namespace rectifiers::autograd

TORCH_LIBRARY_IMPL(rectifiers, Autograd, m) {
  using namespace rectifiers::autograd;
  m.impl("elu", &elu);
  m.impl("elu_", &elu_);
  m.impl("celu", &celu);
  m.impl("celu_", &celu_);
  m.impl("selu", &selu);
  m.impl("selu_", &selu_);
  m.impl("elu_backward", &elu_backward);
}

TORCH_LIBRARY_IMPL(rectifiers, ADInplaceOrView, m) {
  using namespace rectifiers::autograd;
  m.impl("elu_", &elu__bumping_version);
  m.impl("celu_", &celu__bumping_version);
  m.impl("selu_", &selu__bumping_version);
}
