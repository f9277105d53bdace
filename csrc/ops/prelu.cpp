// prelu and prelu_backward: schemas, the kernel every device runs, and the
// C++ API.
#include "prelu.h"

#include <ATen/ATen.h>

#include "../common/elementwise.h"
#include "../common/register.h"
#include "../rectifiers.h"

namespace rectifiers::checks {

void prelu_weight(const char* op, const at::Tensor& x, const at::Tensor& weight) {
  floating(op, x, "input");
  TORCH_CHECK(weight.defined(), "rectifiers::", op, ": weight is an undefined tensor");
  TORCH_CHECK(weight.dim() <= 1, "rectifiers::", op,
              ": weight must be a 0-dim or 1-D tensor, but got ", weight.dim(),
              " dims (shape ", weight.sym_sizes(), ")");
  like(op, x, "input", weight, "weight");
  const c10::SymInt channels = x.dim() >= 2 ? x.sym_size(1) : c10::SymInt(1);
  const c10::SymInt count = weight.sym_numel();
  TORCH_CHECK(count == 1 || count == channels, "rectifiers::", op, ": weight has ",
              count_of(count, "element", "elements"),
              ", but it must have 1 or one per channel (input has ",
              count_of(channels, "channel", "channels"), " in dim 1, input shape ",
              x.sym_sizes(), ")");
}

}  // namespace rectifiers::checks

namespace rectifiers::shapes {

at::Tensor prelu_broadcast_weight(const at::Tensor& x, const at::Tensor& weight) {
  if (x.dim() < 2 || weight.sym_numel() == 1) {
    return weight.reshape_symint({});
  }
  std::vector<c10::SymInt> shape(x.dim(), c10::SymInt(1));
  shape[1] = weight.sym_numel();
  return weight.reshape_symint(shape);
}

at::Tensor prelu_reduce_to_weight(const at::Tensor& full, const at::Tensor& x,
                                  const at::Tensor& weight) {
  if (x.dim() < 2 || weight.sym_numel() == 1) {
    return full.sum().reshape_symint(weight.sym_sizes());
  }
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (d != 1) dims.push_back(d);
  }
  return full.sum(dims).reshape_symint(weight.sym_sizes());
}

}  // namespace rectifiers::shapes

namespace rectifiers {

DEFINE_DISPATCH(prelu_stub);
DEFINE_DISPATCH(prelu_backward_stub);

namespace {

at::Tensor prelu_kernel(const at::Tensor& x, const at::Tensor& weight) {
  checks::prelu_weight("prelu", x, weight);
  auto out = shapes::empty_elementwise(x);
  elementwise::run_binary(prelu_stub, out, x, shapes::prelu_broadcast_weight(x, weight));
  return out;
}

// Where each weight element covers exactly one input element torch reduces
// nothing, so the product keeps its sign of zero; the kernels' sums do not.
void unreduced_weight_grad(const at::Tensor& grad, const at::Tensor& x, at::Tensor& grad_weight) {
  if (x.numel() == 0 || x.numel() != grad_weight.numel()) return;
  auto product = at::where(x > 0, at::zeros_like(x), x * grad);
  grad_weight.copy_(product.reshape(grad_weight.sizes()));
}

std::tuple<at::Tensor, at::Tensor> prelu_backward_kernel(const at::Tensor& grad,
                                                         const at::Tensor& x,
                                                         const at::Tensor& weight) {
  checks::prelu_weight("prelu_backward", x, weight);
  checks::grad_like("prelu_backward", grad, x, "self");
  auto grad_input = shapes::empty_elementwise(x);
  auto grad_weight = at::empty_like(weight, at::MemoryFormat::Contiguous);
  if (x.is_meta()) return {grad_input, grad_weight};
  prelu_backward_stub(x.device().type(), grad, x, shapes::prelu_broadcast_weight(x, weight),
                      grad_input, grad_weight);
  unreduced_weight_grad(grad, x, grad_weight);
  return {grad_input, grad_weight};
}

void register_prelu_kernels(torch::Library& m) {
  m.impl("prelu", &prelu_kernel);
  m.impl("prelu_backward", &prelu_backward_kernel);
}

}  // namespace

at::Tensor prelu(const at::Tensor& input, const at::Tensor& weight) {
  checks::defined("prelu", input, "input");
  checks::defined("prelu", weight, "weight");
  static const auto op =
      op_handle<at::Tensor(const at::Tensor&, const at::Tensor&)>("rectifiers::prelu");
  return op.call(input, weight);
}

std::tuple<at::Tensor, at::Tensor> prelu_backward(const at::Tensor& grad_output,
                                                  const at::Tensor& input,
                                                  const at::Tensor& weight) {
  checks::defined("prelu_backward", grad_output, "grad_output");
  checks::defined("prelu_backward", input, "self");
  checks::defined("prelu_backward", weight, "weight");
  using Signature = std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&,
                                                       const at::Tensor&);
  static const auto op = op_handle<Signature>("rectifiers::prelu_backward");
  return op.call(grad_output, input, weight);
}

}  // namespace rectifiers

TORCH_LIBRARY_FRAGMENT(rectifiers, m) {
  m.def("prelu(Tensor self, Tensor weight) -> Tensor");
  m.def("prelu_backward(Tensor grad_output, Tensor self, Tensor weight) -> (Tensor, Tensor)");
}

RECTIFIERS_DEVICE_KERNELS(rectifiers::register_prelu_kernels)
