// Meta kernels: the same checks and output allocation as the real kernels,
// no loops. They read only SymInt sizes, so FakeTensor, torch.compile and
// torch.export trace the ops with symbolic shapes.
#include <torch/library.h>

#include "../common/checks.h"
#include "../common/frontend.h"
#include "../common/shapes.h"

namespace rectifiers::meta {
namespace {

at::Tensor unary(const char* op, const at::Tensor& x) {
  checks::floating(op, x);
  return shapes::empty_elementwise(x);
}


at::Tensor relu(const at::Tensor& x) { return unary("relu", x); }
void relu_(at::Tensor& x) { frontend::check_in_place("relu_", x); }
at::Tensor leaky_relu(const at::Tensor& x, double slope) {
  auto out = unary("leaky_relu", x);
  checks::negative_slope("leaky_relu", x, slope);
  return out;
}
void leaky_relu_(at::Tensor& x, double slope) {
  frontend::check_in_place("leaky_relu_", x);
  checks::negative_slope("leaky_relu_", x, slope);
}
at::Tensor abs_rectifier(const at::Tensor& x) { return unary("abs_rectifier", x); }

at::Tensor relu_backward(const at::Tensor& grad, const at::Tensor& result) {
  frontend::check_grad("relu_backward", grad, result, "result");
  return shapes::empty_elementwise(result);
}

at::Tensor leaky_relu_backward(const at::Tensor& grad, const at::Tensor& x, double slope,
                               bool self_is_result) {
  frontend::check_leaky_relu_backward(slope, self_is_result);
  frontend::check_grad("leaky_relu_backward", grad, x, "self");
  checks::negative_slope("leaky_relu_backward", x, slope);
  return shapes::empty_elementwise(x);
}

at::Tensor abs_rectifier_backward(const at::Tensor& grad, const at::Tensor& x) {
  frontend::check_grad("abs_rectifier_backward", grad, x, "self");
  return shapes::empty_elementwise(x);
}

at::Tensor prelu(const at::Tensor& x, const at::Tensor& weight) {
  checks::prelu_weight("prelu", x, weight);
  return shapes::empty_elementwise(x);
}

std::tuple<at::Tensor, at::Tensor> prelu_backward(const at::Tensor& grad, const at::Tensor& x,
                                                  const at::Tensor& weight) {
  checks::prelu_weight("prelu_backward", x, weight);
  frontend::check_grad("prelu_backward", grad, x, "self");
  return {shapes::empty_elementwise(x), at::empty_like(weight, at::MemoryFormat::Contiguous)};
}

at::Tensor maxout(const at::Tensor& x, int64_t pool_size, int64_t dim) {
  dim = checks::maxout_args("maxout", x, pool_size, dim);
  return shapes::maxout_empty_output(x, pool_size, dim);
}

std::tuple<at::Tensor, at::Tensor> maxout_with_indices(const at::Tensor& x, int64_t pool_size,
                                                       int64_t dim) {
  dim = checks::maxout_args("maxout_with_indices", x, pool_size, dim);
  return {shapes::maxout_empty_output(x, pool_size, dim),
          shapes::maxout_empty_output(x, pool_size, dim, shapes::maxout_index_dtype(pool_size))};
}

at::Tensor maxout_backward(const at::Tensor& grad, const at::Tensor& indices, int64_t pool_size,
                           int64_t dim) {
  dim = frontend::check_maxout_backward(grad, indices, pool_size, dim);
  return shapes::maxout_empty_grad_input(grad, pool_size, dim);
}

}  // namespace
}  // namespace rectifiers::meta

TORCH_LIBRARY_IMPL(rectifiers, Meta, m) {
  using namespace rectifiers::meta;
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
