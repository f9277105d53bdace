// abs_rectifier and abs_rectifier_backward: schemas, the kernel every device
// runs, and the C++ API.
#include "abs_rectifier.h"

#include "../common/elementwise.h"
#include "../common/register.h"
#include "../rectifiers.h"

namespace rectifiers {

DEFINE_DISPATCH(abs_rectifier_stub);
DEFINE_DISPATCH(abs_rectifier_backward_stub);

namespace {

at::Tensor abs_rectifier_kernel(const at::Tensor& x) {
  auto out = elementwise::output_for("abs_rectifier", x);
  elementwise::run_unary(abs_rectifier_stub, out, x);
  return out;
}

at::Tensor abs_rectifier_backward_kernel(const at::Tensor& grad, const at::Tensor& x) {
  auto out = elementwise::grad_output_for("abs_rectifier_backward", grad, x, "self");
  elementwise::run_binary(abs_rectifier_backward_stub, out, grad, x);
  return out;
}

void register_abs_rectifier_kernels(torch::Library& m) {
  m.impl("abs_rectifier", &abs_rectifier_kernel);
  m.impl("abs_rectifier_backward", &abs_rectifier_backward_kernel);
}

}  // namespace

at::Tensor abs_rectifier(const at::Tensor& input) {
  checks::defined("abs_rectifier", input, "input");
  static const auto op = op_handle<at::Tensor(const at::Tensor&)>("rectifiers::abs_rectifier");
  return op.call(input);
}

at::Tensor abs_rectifier_backward(const at::Tensor& grad_output, const at::Tensor& input) {
  checks::defined("abs_rectifier_backward", grad_output, "grad_output");
  checks::defined("abs_rectifier_backward", input, "self");
  static const auto op = op_handle<at::Tensor(const at::Tensor&, const at::Tensor&)>(
      "rectifiers::abs_rectifier_backward");
  return op.call(grad_output, input);
}

}  // namespace rectifiers

TORCH_LIBRARY_FRAGMENT(rectifiers, m) {
  m.def("abs_rectifier(Tensor self) -> Tensor", {at::Tag::pointwise});
  m.def("abs_rectifier_backward(Tensor grad_output, Tensor self) -> Tensor",
        {at::Tag::pointwise});
}

RECTIFIERS_DEVICE_KERNELS(rectifiers::register_abs_rectifier_kernels)
