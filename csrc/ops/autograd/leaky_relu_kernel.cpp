// leaky_relu, leaky_relu_ and leaky_relu_backward under autograd (see
// common/autograd.h).
#include "../../common/autograd.h"
#include "../../rectifiers.h"

namespace rectifiers::autograd {
namespace {

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

Tensor leaky_relu(const Tensor& x, double slope) {
  check_inputs("leaky_relu", {{"input", x}});
  if (!records(x)) return below_autograd([&] { return rectifiers::leaky_relu(x, slope); });
  return LeakyRelu::apply(x, slope);
}
void leaky_relu_(Tensor& x, double slope) {
  check_inputs("leaky_relu_", {{"input", x}});
  check_can_mutate("leaky_relu_", x);
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
}

TORCH_LIBRARY_IMPL(rectifiers, ADInplaceOrView, m) {
  m.impl("leaky_relu_", &rectifiers::autograd::leaky_relu__bumping_version);
}
