// maxout, maxout_with_indices and maxout_backward under autograd (see
// common/autograd.h). The values are differentiable, the indices are not:
// the gradient goes to each group's chosen member (maxout_backward), the
// tangent comes from it (pick_chosen). Only the compact indices are saved,
// never the input.
#include "../../common/autograd.h"
#include "../../rectifiers.h"
#include "../maxout.h"

namespace rectifiers::autograd {
namespace {

// Each group's chosen member of t (shaped like maxout's input): the adjoint
// of maxout_backward's scatter.
Tensor pick_chosen(const Tensor& t, const Tensor& indices, int64_t pool_size, int64_t dim) {
  // reshape, not unflatten: functorch batches the one, not the other
  auto shape = t.sym_sizes().vec();
  shape[dim] = shape[dim] / pool_size;
  shape.insert(shape.begin() + dim + 1, c10::SymInt(pool_size));
  auto grouped = t.reshape_symint(shape);
  return grouped.gather(dim + 1, indices.to(at::kLong).unsqueeze(dim + 1)).squeeze(dim + 1);
}

std::tuple<Tensor, Tensor> maxout_recorded(const char* op, const Tensor& x, int64_t pool_size,
                                           int64_t dim) {
  const int64_t wrapped = checks::maxout_args(op, x, pool_size, dim);
  // attributes: pool_size, dim (wrapped)
  Graph graph("MaxoutBackward", {x}, [](const Backward& b) -> variable_list {
    return {rectifiers::maxout_backward(b.grads[0], b.saved[0], b.integer(0), b.integer(1))};
  }, {pool_size, wrapped});
  auto [values, indices] =
      below_autograd([&] { return rectifiers::maxout_with_indices(x, pool_size, dim); });
  graph.set_outputs({values});
  graph.save_input(indices);  // not an output of the graph: indices are not differentiable
  if (any_tangent(x)) set_tangent(values, pick_chosen(tangent(x), indices, pool_size, wrapped));
  return {values, indices};
}

bool differentiates(const Tensor& x) {
  return (at::GradMode::is_enabled() && x.requires_grad()) || any_tangent(x);
}

Tensor maxout(const Tensor& x, int64_t pool_size, int64_t dim) {
  check_inputs("maxout", {{"input", x}});
  // Nothing to differentiate: skip computing and saving the indices.
  if (!differentiates(x)) return below_autograd([&] { return rectifiers::maxout(x, pool_size, dim); });
  return std::get<0>(maxout_recorded("maxout", x, pool_size, dim));
}

std::tuple<Tensor, Tensor> maxout_with_indices(const Tensor& x, int64_t pool_size, int64_t dim) {
  check_inputs("maxout_with_indices", {{"input", x}});
  return maxout_recorded("maxout_with_indices", x, pool_size, dim);
}

// Linear in grad; the indices are not differentiable.
Tensor maxout_backward(const Tensor& g, const Tensor& indices, int64_t pool_size, int64_t dim) {
  check_inputs("maxout_backward", {{"grad_output", g}, {"indices", indices}});
  const int64_t wrapped = checks::maxout_dim("maxout_backward", g, pool_size, dim, "grad_output");
  Graph graph("MaxoutBackwardBackward", {g}, [](const Backward& b) -> variable_list {
    return {pick_chosen(b.grads[0], b.saved[0], b.integer(0), b.integer(1))};
  }, {pool_size, wrapped});
  graph.save_input(indices);
  auto out = below_autograd([&] { return rectifiers::maxout_backward(g, indices, pool_size, dim); });
  graph.set_outputs({out});
  if (any_tangent(g)) set_tangent(out, rectifiers::maxout_backward(tangent(g), indices, pool_size, dim));
  return out;
}

}  // namespace
}  // namespace rectifiers::autograd

TORCH_LIBRARY_IMPL(rectifiers, Autograd, m) {
  using namespace rectifiers::autograd;
  m.impl("maxout", &maxout);
  m.impl("maxout_with_indices", &maxout_with_indices);
  m.impl("maxout_backward", &maxout_backward);
}
