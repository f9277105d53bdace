// maxout, maxout_with_indices and maxout_backward under autograd (see
// common/autograd.h).
#include "../../common/autograd.h"
#include "../../rectifiers.h"
#include "../maxout.h"

namespace rectifiers::autograd {
namespace {

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
    ctx->saved_data["dim"] = checks::maxout_dim("maxout_backward", grad, pool_size, dim,
                                                "grad_output");
    ctx->save_for_backward({indices});
    at::AutoDispatchBelowADInplaceOrView guard;
    return rectifiers::maxout_backward(grad, indices, pool_size, dim);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto indices = ctx->get_saved_variables()[0];
    const int64_t pool_size = ctx->saved_data["pool_size"].toInt();
    const int64_t dim = ctx->saved_data["dim"].toInt();
    const auto& gg = grads[0];
    auto grouped = gg.unflatten_symint(dim, {gg.sym_size(dim) / pool_size, pool_size});
    auto picked = grouped.gather(dim + 1, indices.to(at::kLong).unsqueeze(dim + 1)).squeeze(dim + 1);
    return {picked, kNoGrad, kNoGrad, kNoGrad};
  }
};

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
  m.impl("maxout", &maxout);
  m.impl("maxout_with_indices", &maxout_with_indices);
  m.impl("maxout_backward", &maxout_backward);
}
