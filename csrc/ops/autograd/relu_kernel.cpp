// relu, relu_ and relu_backward under autograd (see common/autograd.h).
#include "../../common/autograd.h"
#include "../../rectifiers.h"

namespace rectifiers::autograd {
namespace {

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

Tensor relu(const Tensor& x) {
  check_inputs("relu", {{"input", x}});
  if (!records(x)) return below_autograd([&] { return rectifiers::relu(x); });
  return Relu::apply(x);
}
void relu_(Tensor& x) {
  check_inputs("relu_", {{"input", x}});
  check_can_mutate("relu_", x);
  ReluInPlace::apply(x);
}
Tensor relu_backward(const Tensor& g, const Tensor& y) {
  check_inputs("relu_backward", {{"grad_output", g}, {"result", y}});
  if (!records(g, y)) return below_autograd([&] { return rectifiers::relu_backward(g, y); });
  return ReluBackward::apply(g, y);
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
