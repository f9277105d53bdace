// Autograd for every op, in C++ so that a model loaded from C++ trains
// without Python. Each Function's forward calls the op below autograd; its
// backward calls the backward op through the dispatcher, so with
// create_graph=True the backward op's own Function (below) records the graph
// for the second derivative.
#include <ATen/ATen.h>
#include <torch/autograd.h>
#include <torch/csrc/autograd/VariableTypeUtils.h>
#include <torch/library.h>

#include "../common/checks.h"
#include "../common/shapes.h"
#include "../rectifiers.h"

namespace rectifiers::autograd {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::Function;
using torch::autograd::variable_list;
using at::Tensor;

// A zero gradient for an input the backward formula does not depend on.
const Tensor kNoGrad;

// The checks of VariableType's in-place kernels (can_mutate_inplace), made
// before writing so that a refused call leaves the input as it was.
void check_in_place(const char* op, const Tensor& x) {
  using torch::autograd::can_mutate_inplace_result;
  switch (torch::autograd::can_mutate_inplace(x, x.requires_grad())) {
    case can_mutate_inplace_result::success:
      return;
    case can_mutate_inplace_result::is_leaf:
      TORCH_CHECK(false, "rectifiers::", op,
                  ": a leaf Variable that requires grad is being used in an in-place operation");
    case can_mutate_inplace_result::view_of_leaf:
      TORCH_CHECK(false, "rectifiers::", op,
                  ": a view of a leaf Variable that requires grad is being used in an in-place "
                  "operation");
    case can_mutate_inplace_result::non_default_backward_view:
      // A view from a multi-output op, no_grad or a custom Function: the
      // error (or warning) is autograd's own, prefixed with the op.
      try {
        torch::autograd::handle_view_on_rebase(torch::autograd::impl::get_view_autograd_meta(x));
      } catch (const c10::Error& e) {
        TORCH_CHECK(false, "rectifiers::", op, ": ", e.what_without_backtrace());
      }
      return;
  }
}

struct Relu : Function<Relu> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    Tensor y;
    {
      at::AutoDispatchBelowADInplaceOrView guard;
      y = rectifiers::relu(x);
    }
    ctx->save_for_backward({y});
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return {rectifiers::relu_backward(grads[0], ctx->get_saved_variables()[0])};
  }
};

struct ReluInPlace : Function<ReluInPlace> {
  static Tensor forward(AutogradContext* ctx, Tensor x) {
    {
      at::AutoDispatchBelowADInplaceOrView guard;
      rectifiers::relu_(x);
    }
    ctx->mark_dirty({x});
    ctx->save_for_backward({x});
    return x;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return {rectifiers::relu_backward(grads[0], ctx->get_saved_variables()[0])};
  }
};

struct ReluBackward : Function<ReluBackward> {
  static Tensor forward(AutogradContext* ctx, const Tensor& grad, const Tensor& result) {
    ctx->save_for_backward({result});
    at::AutoDispatchBelowADInplaceOrView guard;
    return rectifiers::relu_backward(grad, result);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    // Linear in grad; the mask is piecewise constant in result.
    return {rectifiers::relu_backward(grads[0], ctx->get_saved_variables()[0]), kNoGrad};
  }
};

struct LeakyRelu : Function<LeakyRelu> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, double slope) {
    ctx->saved_data["slope"] = slope;
    ctx->save_for_backward({x});
    at::AutoDispatchBelowADInplaceOrView guard;
    return rectifiers::leaky_relu(x, slope);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const double slope = ctx->saved_data["slope"].toDouble();
    return {rectifiers::leaky_relu_backward(grads[0], ctx->get_saved_variables()[0], slope, false),
            kNoGrad};
  }
};

struct LeakyReluInPlace : Function<LeakyReluInPlace> {
  static Tensor forward(AutogradContext* ctx, Tensor x, double slope) {
    {
      at::AutoDispatchBelowADInplaceOrView guard;
      rectifiers::leaky_relu_(x, slope);
    }
    ctx->saved_data["slope"] = slope;
    ctx->mark_dirty({x});
    ctx->save_for_backward({x});
    return x;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const double slope = ctx->saved_data["slope"].toDouble();
    return {rectifiers::leaky_relu_backward(grads[0], ctx->get_saved_variables()[0], slope, true),
            kNoGrad};
  }
};

struct LeakyReluBackward : Function<LeakyReluBackward> {
  static Tensor forward(AutogradContext* ctx, const Tensor& grad, const Tensor& x, double slope,
                        bool self_is_result) {
    ctx->saved_data["slope"] = slope;
    ctx->saved_data["self_is_result"] = self_is_result;
    ctx->save_for_backward({x});
    at::AutoDispatchBelowADInplaceOrView guard;
    return rectifiers::leaky_relu_backward(grad, x, slope, self_is_result);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return {rectifiers::leaky_relu_backward(grads[0], ctx->get_saved_variables()[0],
                                            ctx->saved_data["slope"].toDouble(),
                                            ctx->saved_data["self_is_result"].toBool()),
            kNoGrad, kNoGrad, kNoGrad};
  }
};

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

// Values are differentiable; the indices are not. Only the compact indices
// are saved, never the input.
struct MaxoutWithIndices : Function<MaxoutWithIndices> {
  static variable_list forward(AutogradContext* ctx, const Tensor& x, int64_t pool_size,
                               int64_t dim) {
    Tensor values, indices;
    {
      at::AutoDispatchBelowADInplaceOrView guard;
      std::tie(values, indices) = rectifiers::maxout_with_indices(x, pool_size, dim);
    }
    ctx->saved_data["pool_size"] = pool_size;
    ctx->saved_data["dim"] = dim;
    ctx->save_for_backward({indices});
    ctx->mark_non_differentiable({indices});
    return {values, indices};
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return {rectifiers::maxout_backward(grads[0], ctx->get_saved_variables()[0],
                                        ctx->saved_data["pool_size"].toInt(),
                                        ctx->saved_data["dim"].toInt()),
            kNoGrad, kNoGrad};
  }
};

// maxout_backward scatters each gradient to the chosen member of its group;
// its adjoint gathers from the same member.
struct MaxoutBackward : Function<MaxoutBackward> {
  static Tensor forward(AutogradContext* ctx, const Tensor& grad, const Tensor& indices,
                        int64_t pool_size, int64_t dim) {
    ctx->saved_data["pool_size"] = pool_size;
    ctx->saved_data["dim"] = dim;
    ctx->save_for_backward({indices});
    at::AutoDispatchBelowADInplaceOrView guard;
    return rectifiers::maxout_backward(grad, indices, pool_size, dim);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto indices = ctx->get_saved_variables()[0];
    const int64_t pool_size = ctx->saved_data["pool_size"].toInt();
    int64_t dim = ctx->saved_data["dim"].toInt();
    const auto& gg = grads[0];
    dim = dim < 0 ? dim + gg.dim() : dim;
    auto grouped = gg.unflatten_symint(dim, {gg.sym_size(dim) / pool_size, pool_size});
    auto picked = grouped.gather(dim + 1, indices.to(at::kLong).unsqueeze(dim + 1)).squeeze(dim + 1);
    return {picked, kNoGrad, kNoGrad, kNoGrad};
  }
};

// Autograd reads every input's device before the op's own checks run, so
// undefined and non-strided tensors are refused here, by name. Forward-mode
// AD is not implemented yet: a call whose input carries a tangent is refused
// rather than returning a result without one.
struct Input {
  const char* name;
  const Tensor& tensor;
};

void check_inputs(const char* op, std::initializer_list<Input> inputs) {
  for (const auto& input : inputs) checks::strided(op, input.tensor, input.name);
  for (const auto& input : inputs) {
    TORCH_CHECK(!input.tensor._fw_grad(/*level=*/0).defined(), "rectifiers::", op, ": ",
                input.name,
                " carries a forward-mode tangent (torch.func.jvp, jacfwd, "
                "torch.autograd.forward_ad), which this op does not support yet");
  }
}

// Nothing to record: call the kernel directly and skip building a graph node
// (the per-call overhead that dominates small tensors).
template <typename... Tensors>
bool records(const Tensors&... inputs) {
  return at::GradMode::is_enabled() && (inputs.requires_grad() || ...);
}

template <typename Call>
auto below_autograd(Call call) {
  at::AutoDispatchBelowADInplaceOrView guard;
  return call();
}

Tensor relu(const Tensor& x) {
  check_inputs("relu", {{"input", x}});
  if (!records(x)) return below_autograd([&] { return rectifiers::relu(x); });
  return Relu::apply(x);
}
void relu_(Tensor& x) {
  check_inputs("relu_", {{"input", x}});
  check_in_place("relu_", x);
  ReluInPlace::apply(x);
}
Tensor relu_backward(const Tensor& g, const Tensor& y) {
  check_inputs("relu_backward", {{"grad_output", g}, {"result", y}});
  if (!records(g, y)) return below_autograd([&] { return rectifiers::relu_backward(g, y); });
  return ReluBackward::apply(g, y);
}
Tensor leaky_relu(const Tensor& x, double slope) {
  check_inputs("leaky_relu", {{"input", x}});
  if (!records(x)) return below_autograd([&] { return rectifiers::leaky_relu(x, slope); });
  return LeakyRelu::apply(x, slope);
}
void leaky_relu_(Tensor& x, double slope) {
  check_inputs("leaky_relu_", {{"input", x}});
  check_in_place("leaky_relu_", x);
  LeakyReluInPlace::apply(x, slope);
}
Tensor leaky_relu_backward(const Tensor& g, const Tensor& x, double slope, bool self_is_result) {
  check_inputs("leaky_relu_backward", {{"grad_output", g}, {"self", x}});
  if (!records(g, x)) {
    return below_autograd(
        [&] { return rectifiers::leaky_relu_backward(g, x, slope, self_is_result); });
  }
  return LeakyReluBackward::apply(g, x, slope, self_is_result);
}
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

Tensor maxout(const Tensor& x, int64_t pool_size, int64_t dim) {
  check_inputs("maxout", {{"input", x}});
  checks::maxout_args("maxout", x, pool_size, dim);  // errors name the op the user called
  if (!records(x)) {
    // Nothing to differentiate: skip computing and saving the indices.
    return below_autograd([&] { return rectifiers::maxout(x, pool_size, dim); });
  }
  return MaxoutWithIndices::apply(x, pool_size, dim)[0];
}

std::tuple<Tensor, Tensor> maxout_with_indices(const Tensor& x, int64_t pool_size, int64_t dim) {
  check_inputs("maxout_with_indices", {{"input", x}});
  if (!records(x)) {
    return below_autograd([&] { return rectifiers::maxout_with_indices(x, pool_size, dim); });
  }
  auto out = MaxoutWithIndices::apply(x, pool_size, dim);
  return {out[0], out[1]};
}

Tensor maxout_backward(const Tensor& g, const Tensor& indices, int64_t pool_size, int64_t dim) {
  check_inputs("maxout_backward", {{"grad_output", g}, {"indices", indices}});
  if (!records(g)) {  // the usual first-order backward
    return below_autograd([&] { return rectifiers::maxout_backward(g, indices, pool_size, dim); });
  }
  return MaxoutBackward::apply(g, indices, pool_size, dim);
}

}  // namespace
}  // namespace rectifiers::autograd

TORCH_LIBRARY_IMPL(rectifiers, Autograd, m) {
  using namespace rectifiers::autograd;
  m.impl("relu", &relu);
  m.impl("relu_", &relu_);
  m.impl("relu_backward", &relu_backward);
  m.impl("leaky_relu", &leaky_relu);
  m.impl("leaky_relu_", &leaky_relu_);
  m.impl("leaky_relu_backward", &leaky_relu_backward);
  m.impl("prelu", &prelu);
  m.impl("prelu_backward", &prelu_backward);
  m.impl("abs_rectifier", &abs_rectifier);
  m.impl("abs_rectifier_backward", &abs_rectifier_backward);
  m.impl("maxout", &maxout);
  m.impl("maxout_with_indices", &maxout_with_indices);
  m.impl("maxout_backward", &maxout_backward);
}

namespace rectifiers::autograd {
namespace {

// Reached instead of the Autograd kernel only where autograd is off but
// version counters still matter (a normal tensor inside inference_mode):
// bump the version as PyTorch's in-place ops do, so a later backward that
// saved the old values fails loudly instead of using the new ones.
void relu_bump_version(Tensor& x) {
  {
    at::AutoDispatchBelowADInplaceOrView guard;
    rectifiers::relu_(x);
  }
  torch::autograd::impl::bump_version(x);
}

void leaky_relu_bump_version(Tensor& x, double slope) {
  {
    at::AutoDispatchBelowADInplaceOrView guard;
    rectifiers::leaky_relu_(x, slope);
  }
  torch::autograd::impl::bump_version(x);
}

}  // namespace
}  // namespace rectifiers::autograd

TORCH_LIBRARY_IMPL(rectifiers, ADInplaceOrView, m) {
  m.impl("relu_", &rectifiers::autograd::relu_bump_version);
  m.impl("leaky_relu_", &rectifiers::autograd::leaky_relu_bump_version);
}
