// abs_rectifier and abs_rectifier_backward: schemas, the kernel every device
// runs, and the C++ API.
#include "abs_rectifier.h"

#include "../common/elementwise.h"
#include "../common/mask.h"
#include "../common/register.h"
#include "../rectifiers.h"

namespace rectifiers {

DEFINE_DISPATCH(abs_rectifier_stub);
DEFINE_DISPATCH(abs_rectifier_backward_stub);
DEFINE_DISPATCH(abs_rectifier_with_mask_stub);
DEFINE_DISPATCH(abs_rectifier_mask_backward_stub);

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

// Two planes, torch's sgn: x > 0 and x < 0 (neither for zeros and NaN).
std::tuple<at::Tensor, at::Tensor> abs_rectifier_with_mask_kernel(const at::Tensor& x) {
  checks::floating("abs_rectifier_with_mask", x);
  auto [result, bits] = mask::outputs_for(x, 2);
  if (!x.is_meta() && x.numel() > 0) {
    abs_rectifier_with_mask_stub(x.device().type(), x, result, bits);
  }
  return {result, bits};
}

at::Tensor abs_rectifier_mask_backward_kernel(const at::Tensor& grad, const at::Tensor& bits,
                                              at::IntArrayRef mask_sizes,
                                              at::IntArrayRef mask_strides) {
  auto out = mask::grad_output_for("abs_rectifier_mask_backward", grad, bits, mask_sizes,
                                   mask_strides, 2, /*as_grad_output=*/true);
  if (!grad.is_meta() && grad.numel() > 0) {
    mask::run_in_mask_order(out, mask_strides, [&](const at::Tensor& ordered) {
      abs_rectifier_mask_backward_stub(grad.device().type(), grad, bits, ordered);
    });
  }
  return out;
}

void register_abs_rectifier_kernels(torch::Library& m) {
  m.impl("abs_rectifier", &abs_rectifier_kernel);
  m.impl("abs_rectifier_backward", &abs_rectifier_backward_kernel);
  m.impl("abs_rectifier_with_mask", &abs_rectifier_with_mask_kernel);
  m.impl("abs_rectifier_mask_backward", &abs_rectifier_mask_backward_kernel);
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

std::tuple<at::Tensor, at::Tensor> abs_rectifier_with_mask(const at::Tensor& input) {
  checks::defined("abs_rectifier_with_mask", input, "input");
  static const auto op = op_handle<std::tuple<at::Tensor, at::Tensor>(const at::Tensor&)>(
      "rectifiers::abs_rectifier_with_mask");
  return op.call(input);
}

at::Tensor abs_rectifier_mask_backward(const at::Tensor& grad_output, const at::Tensor& mask,
                                       at::IntArrayRef mask_sizes,
                                       at::IntArrayRef mask_strides) {
  checks::defined("abs_rectifier_mask_backward", grad_output, "grad_output");
  checks::defined("abs_rectifier_mask_backward", mask, "mask");
  static const auto op = op_handle<at::Tensor(const at::Tensor&, const at::Tensor&,
                                              at::IntArrayRef, at::IntArrayRef)>(
      "rectifiers::abs_rectifier_mask_backward");
  return op.call(grad_output, mask, mask_sizes, mask_strides);
}

}  // namespace rectifiers

TORCH_LIBRARY_FRAGMENT(rectifiers, m) {
  m.def("abs_rectifier(Tensor self) -> Tensor", {at::Tag::pointwise});
  m.def("abs_rectifier_backward(Tensor grad_output, Tensor self) -> Tensor",
        {at::Tag::pointwise});
  // what abs_rectifier saves for its backward under autograd (see
  // common/mask.h)
  m.def("abs_rectifier_with_mask(Tensor self) -> (Tensor, Tensor)");
  m.def(
      "abs_rectifier_mask_backward(Tensor grad_output, Tensor mask, int[] mask_sizes, "
      "int[] mask_strides) -> Tensor");
}

RECTIFIERS_DEVICE_KERNELS(rectifiers::register_abs_rectifier_kernels)
