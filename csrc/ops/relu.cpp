// relu, relu_ and relu_backward: schemas, the kernel every device runs, and
// the C++ API.
#include "relu.h"

#include "../common/elementwise.h"
#include "../common/register.h"
#include "../rectifiers.h"

namespace rectifiers {

DEFINE_DISPATCH(relu_stub);
DEFINE_DISPATCH(relu_backward_stub);

namespace {

at::Tensor relu_kernel(const at::Tensor& x) {
  auto out = elementwise::output_for("relu", x);
  elementwise::run_unary(relu_stub, out, x);
  return out;
}

void relu_in_place_kernel(at::Tensor& x) {
  elementwise::check_in_place("relu_", x);
  elementwise::run_unary(relu_stub, x, x);
}

at::Tensor relu_backward_kernel(const at::Tensor& grad, const at::Tensor& result) {
  auto out = elementwise::grad_output_for("relu_backward", grad, result, "result");
  elementwise::run_binary(relu_backward_stub, out, grad, result);
  return out;
}

void register_relu_kernels(torch::Library& m) {
  m.impl("relu", &relu_kernel);
  m.impl("relu_", &relu_in_place_kernel);
  m.impl("relu_backward", &relu_backward_kernel);
}

}  // namespace

// An undefined tensor would otherwise fail inside the dispatcher or autograd
// with a message that names neither the op nor the argument.
at::Tensor relu(const at::Tensor& input) {
  checks::defined("relu", input, "input");
  static const auto op = op_handle<at::Tensor(const at::Tensor&)>("rectifiers::relu");
  return op.call(input);
}

at::Tensor& relu_(at::Tensor& input) {
  checks::defined("relu_", input, "input");
  static const auto op = op_handle<void(at::Tensor&)>("rectifiers::relu_");
  op.call(input);
  return input;
}

at::Tensor relu_backward(const at::Tensor& grad_output, const at::Tensor& result) {
  checks::defined("relu_backward", grad_output, "grad_output");
  checks::defined("relu_backward", result, "result");
  static const auto op =
      op_handle<at::Tensor(const at::Tensor&, const at::Tensor&)>("rectifiers::relu_backward");
  return op.call(grad_output, result);
}

}  // namespace rectifiers

TORCH_LIBRARY_FRAGMENT(rectifiers, m) {
  m.def("relu(Tensor self) -> Tensor", {at::Tag::pointwise});
  // In-place ops return nothing: torch.compile only functionalizes custom
  // mutating ops whose outputs carry no alias annotation.
  m.def("relu_(Tensor(a!) self) -> ()", {at::Tag::pointwise});
  m.def("relu_backward(Tensor grad_output, Tensor result) -> Tensor", {at::Tag::pointwise});
}

RECTIFIERS_DEVICE_KERNELS(rectifiers::register_relu_kernels)
