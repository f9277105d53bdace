// leaky_relu, leaky_relu_ and leaky_relu_backward: schemas, the kernel every
// device runs, and the C++ API.
#include "leaky_relu.h"

#include "../common/elementwise.h"
#include "../common/mask.h"
#include "../common/register.h"
#include "../rectifiers.h"

namespace rectifiers {

DEFINE_DISPATCH(leaky_relu_stub);
DEFINE_DISPATCH(leaky_relu_dense_stub);
DEFINE_DISPATCH(leaky_relu_backward_stub);
DEFINE_DISPATCH(leaky_relu_with_mask_stub);
DEFINE_DISPATCH(leaky_relu_mask_backward_stub);

namespace {

at::Tensor leaky_relu_kernel(const at::Tensor& x, double slope) {
  auto out = elementwise::output_for("leaky_relu", x);
  checks::fits_compute_type("leaky_relu", x, "negative_slope", slope);
  if (elementwise::runs_dense(out, x)) {
    leaky_relu_dense_stub(at::kCPU, x, out, slope);
  } else {
    elementwise::run_unary(leaky_relu_stub, out, x, slope);
  }
  return out;
}

void leaky_relu_in_place_kernel(at::Tensor& x, double slope) {
  elementwise::check_in_place("leaky_relu_", x);
  checks::fits_compute_type("leaky_relu_", x, "negative_slope", slope);
  elementwise::run_unary(leaky_relu_stub, x, x, slope);
}

// Same rule and reason as ATen: after an in-place leaky_relu_ with a negative
// slope, the sign of the result no longer tells which side of 0 the input was.
void check_self_is_result(double slope, bool self_is_result) {
  TORCH_CHECK(!self_is_result || slope >= 0.0,
              "rectifiers::leaky_relu_backward: cannot differentiate in-place leaky_relu_ with "
              "a negative slope (negative_slope = ",
              slope,
              "): the input was overwritten and the result's sign no longer tells which side "
              "of 0 it was on; use the out-of-place leaky_relu");
}

at::Tensor leaky_relu_backward_kernel(const at::Tensor& grad, const at::Tensor& x, double slope,
                                      bool self_is_result) {
  check_self_is_result(slope, self_is_result);
  auto out = elementwise::grad_output_for("leaky_relu_backward", grad, x, "self");
  checks::fits_compute_type("leaky_relu_backward", x, "negative_slope", slope);
  elementwise::run_binary(leaky_relu_backward_stub, out, grad, x, slope);
  return out;
}

std::tuple<at::Tensor, at::Tensor> leaky_relu_with_mask_kernel(const at::Tensor& x, double slope) {
  checks::floating("leaky_relu_with_mask", x);
  checks::fits_compute_type("leaky_relu_with_mask", x, "negative_slope", slope);
  auto [result, bits] = mask::outputs_for(x);
  if (!x.is_meta() && x.numel() > 0) {
    leaky_relu_with_mask_stub(x.device().type(), x, result, bits, slope);
  }
  return {result, bits};
}

at::Tensor leaky_relu_mask_backward_kernel(const at::Tensor& grad, const at::Tensor& bits,
                                           at::IntArrayRef mask_sizes,
                                           at::IntArrayRef mask_strides, double slope) {
  auto out =
      mask::grad_output_for("leaky_relu_mask_backward", grad, bits, mask_sizes, mask_strides, 1,
                            /*as_grad_output=*/false);
  checks::fits_compute_type("leaky_relu_mask_backward", grad, "negative_slope", slope);
  if (!grad.is_meta() && grad.numel() > 0) {
    mask::run_in_mask_order(out, mask_strides, [&](const at::Tensor& ordered) {
      leaky_relu_mask_backward_stub(grad.device().type(), grad, bits, ordered, slope);
    });
  }
  return out;
}

void register_leaky_relu_kernels(torch::Library& m) {
  m.impl("leaky_relu", &leaky_relu_kernel);
  m.impl("leaky_relu_", &leaky_relu_in_place_kernel);
  m.impl("leaky_relu_backward", &leaky_relu_backward_kernel);
  m.impl("leaky_relu_with_mask", &leaky_relu_with_mask_kernel);
  m.impl("leaky_relu_mask_backward", &leaky_relu_mask_backward_kernel);
}

}  // namespace

at::Tensor leaky_relu(const at::Tensor& input, double negative_slope) {
  checks::defined("leaky_relu", input, "input");
  static const auto op =
      op_handle<at::Tensor(const at::Tensor&, double)>("rectifiers::leaky_relu");
  return op.call(input, negative_slope);
}

at::Tensor& leaky_relu_(at::Tensor& input, double negative_slope) {
  checks::defined("leaky_relu_", input, "input");
  static const auto op = op_handle<void(at::Tensor&, double)>("rectifiers::leaky_relu_");
  op.call(input, negative_slope);
  return input;
}

at::Tensor leaky_relu_backward(const at::Tensor& grad_output, const at::Tensor& input,
                               double negative_slope, bool self_is_result) {
  checks::defined("leaky_relu_backward", grad_output, "grad_output");
  checks::defined("leaky_relu_backward", input, "self");
  static const auto op = op_handle<at::Tensor(const at::Tensor&, const at::Tensor&, double, bool)>(
      "rectifiers::leaky_relu_backward");
  return op.call(grad_output, input, negative_slope, self_is_result);
}

std::tuple<at::Tensor, at::Tensor> leaky_relu_with_mask(const at::Tensor& input,
                                                        double negative_slope) {
  checks::defined("leaky_relu_with_mask", input, "input");
  static const auto op = op_handle<std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, double)>(
      "rectifiers::leaky_relu_with_mask");
  return op.call(input, negative_slope);
}

at::Tensor leaky_relu_mask_backward(const at::Tensor& grad_output, const at::Tensor& mask,
                                    at::IntArrayRef mask_sizes, at::IntArrayRef mask_strides,
                                    double negative_slope) {
  checks::defined("leaky_relu_mask_backward", grad_output, "grad_output");
  checks::defined("leaky_relu_mask_backward", mask, "mask");
  static const auto op =
      op_handle<at::Tensor(const at::Tensor&, const at::Tensor&, at::IntArrayRef,
                           at::IntArrayRef, double)>("rectifiers::leaky_relu_mask_backward");
  return op.call(grad_output, mask, mask_sizes, mask_strides, negative_slope);
}

}  // namespace rectifiers

TORCH_LIBRARY_FRAGMENT(rectifiers, m) {
  m.def("leaky_relu(Tensor self, float negative_slope=0.01) -> Tensor", {at::Tag::pointwise});
  m.def("leaky_relu_(Tensor(a!) self, float negative_slope=0.01) -> ()", {at::Tag::pointwise});
  m.def(
      "leaky_relu_backward(Tensor grad_output, Tensor self, float negative_slope, "
      "bool self_is_result) -> Tensor",
      {at::Tag::pointwise});
  // what the out-of-place leaky_relu saves for its backward under autograd
  // (see common/mask.h)
  m.def("leaky_relu_with_mask(Tensor self, float negative_slope=0.01) -> (Tensor, Tensor)");
  m.def(
      "leaky_relu_mask_backward(Tensor grad_output, Tensor mask, int[] mask_sizes, "
      "int[] mask_strides, "
      "float negative_slope) -> Tensor");
}

RECTIFIERS_DEVICE_KERNELS(rectifiers::register_leaky_relu_kernels)
