// relu6, relu6_ and relu6_backward: schemas, the kernel every device runs,
// and the C++ API.
#include "relu6.h"

#include "../common/elementwise.h"
#include "../common/mask.h"
#include "../common/register.h"
#include "../rectifiers.h"

namespace rectifiers {

DEFINE_DISPATCH(relu6_stub);
DEFINE_DISPATCH(relu6_dense_stub);
DEFINE_DISPATCH(relu6_backward_stub);
DEFINE_DISPATCH(relu6_with_mask_stub);
DEFINE_DISPATCH(relu6_mask_backward_stub);

namespace {

at::Tensor relu6_kernel(const at::Tensor& x) {
  auto out = elementwise::output_for("relu6", x);
  if (elementwise::runs_dense(out, x)) {
    relu6_dense_stub(at::kCPU, x, out);
  } else {
    elementwise::run_unary(relu6_stub, out, x);
  }
  return out;
}

void relu6_in_place_kernel(at::Tensor& x) {
  elementwise::check_in_place("relu6_", x);
  elementwise::run_unary(relu6_stub, x, x);
}

// `self` may be relu6's input or its result (after relu6_): both give the
// same gradient, as for torch's hardtanh_backward.
at::Tensor relu6_backward_kernel(const at::Tensor& grad, const at::Tensor& x) {
  checks::grad_like("relu6_backward", grad, x, "self");
  return elementwise::binary_as_aten(relu6_backward_stub, grad, x);
}

// Two planes: strictly inside (0, 6), and NaN. hardtanh_backward passes a
// NaN's gradient in its scalar form and on CUDA, but its CPU SIMD body gives
// 0, so which one a CPU element gets depends on where ATen's loop runs
// vectorised; the NaN plane lets autograd keep the input where that matters.
std::tuple<at::Tensor, at::Tensor> relu6_with_mask_kernel(const at::Tensor& x) {
  checks::floating("relu6_with_mask", x);
  auto [result, bits] = mask::outputs_for(x, 2);
  if (!x.is_meta() && x.numel() > 0) relu6_with_mask_stub(x.device().type(), x, result, bits);
  return {result, bits};
}

at::Tensor relu6_mask_backward_kernel(const at::Tensor& grad, const at::Tensor& bits,
                                      at::IntArrayRef mask_sizes, at::IntArrayRef mask_strides) {
  auto out =
      mask::grad_output_for("relu6_mask_backward", grad, bits, mask_sizes, mask_strides, 2,
                            /*as_grad_output=*/true);
  if (!grad.is_meta() && grad.numel() > 0) {
    mask::run_in_mask_order(out, mask_strides, [&](const at::Tensor& ordered) {
      relu6_mask_backward_stub(grad.device().type(), grad, bits, ordered);
    });
  }
  return out;
}

void register_relu6_kernels(torch::Library& m) {
  m.impl("relu6", &relu6_kernel);
  m.impl("relu6_", &relu6_in_place_kernel);
  m.impl("relu6_backward", &relu6_backward_kernel);
  m.impl("relu6_with_mask", &relu6_with_mask_kernel);
  m.impl("relu6_mask_backward", &relu6_mask_backward_kernel);
}

}  // namespace

at::Tensor relu6(const at::Tensor& input) {
  checks::defined("relu6", input, "input");
  static const auto op = op_handle<at::Tensor(const at::Tensor&)>("rectifiers::relu6");
  return op.call(input);
}

at::Tensor& relu6_(at::Tensor& input) {
  checks::defined("relu6_", input, "input");
  static const auto op = op_handle<void(at::Tensor&)>("rectifiers::relu6_");
  op.call(input);
  return input;
}

at::Tensor relu6_backward(const at::Tensor& grad_output, const at::Tensor& input) {
  checks::defined("relu6_backward", grad_output, "grad_output");
  checks::defined("relu6_backward", input, "self");
  static const auto op =
      op_handle<at::Tensor(const at::Tensor&, const at::Tensor&)>("rectifiers::relu6_backward");
  return op.call(grad_output, input);
}

std::tuple<at::Tensor, at::Tensor> relu6_with_mask(const at::Tensor& input) {
  checks::defined("relu6_with_mask", input, "input");
  static const auto op = op_handle<std::tuple<at::Tensor, at::Tensor>(const at::Tensor&)>(
      "rectifiers::relu6_with_mask");
  return op.call(input);
}

at::Tensor relu6_mask_backward(const at::Tensor& grad_output, const at::Tensor& mask,
                               at::IntArrayRef mask_sizes, at::IntArrayRef mask_strides) {
  checks::defined("relu6_mask_backward", grad_output, "grad_output");
  checks::defined("relu6_mask_backward", mask, "mask");
  static const auto op = op_handle<at::Tensor(const at::Tensor&, const at::Tensor&,
                                              at::IntArrayRef, at::IntArrayRef)>(
      "rectifiers::relu6_mask_backward");
  return op.call(grad_output, mask, mask_sizes, mask_strides);
}

}  // namespace rectifiers

TORCH_LIBRARY_FRAGMENT(rectifiers, m) {
  m.def("relu6(Tensor self) -> Tensor", {at::Tag::pointwise});
  m.def("relu6_(Tensor(a!) self) -> ()", {at::Tag::pointwise});
  m.def("relu6_backward(Tensor grad_output, Tensor self) -> Tensor", {at::Tag::pointwise});
  // what the out-of-place relu6 saves for its backward under autograd (see
  // common/mask.h)
  m.def("relu6_with_mask(Tensor self) -> (Tensor, Tensor)");
  m.def(
      "relu6_mask_backward(Tensor grad_output, Tensor mask, int[] mask_sizes, "
      "int[] mask_strides) -> Tensor");
}

RECTIFIERS_DEVICE_KERNELS(rectifiers::register_relu6_kernels)
