// elu, celu, selu, their in-place forms and elu_backward: schemas, the
// kernels every device runs, and the C++ API.
#include "elu.h"

#include <c10/util/TypeCast.h>

#include <cmath>

#include "../common/elementwise.h"
#include "../common/register.h"
#include "../rectifiers.h"

namespace rectifiers {

DEFINE_DISPATCH(elu_stub);
DEFINE_DISPATCH(elu_backward_stub);

namespace {

// ATen computes with any alpha; ours refuses a non-finite one (its result is
// NaN or inf on the whole negative side), and, as ATen, one that overflows
// the compute type of t (float for float16/bfloat16/float32).
void check_coefficient(const char* op, const at::Tensor& t, const char* name, double value) {
  TORCH_CHECK(std::isfinite(value), "rectifiers::", op, ": ", name, " must be finite, but got ",
              value);
  checks::fits_compute_type(op, t, name, value);
}

struct Coefficients {
  double alpha, scale, input_scale;
};

void check_coefficients(const char* op, const at::Tensor& t, const Coefficients& c) {
  check_coefficient(op, t, "alpha", c.alpha);
  check_coefficient(op, t, "scale", c.scale);
  check_coefficient(op, t, "input_scale", c.input_scale);
}

// celu divides by alpha, as ATen does (which refuses 0 too).
Coefficients celu_coefficients(const char* op, const at::Tensor& x, double alpha) {
  TORCH_CHECK(alpha != 0.0, "rectifiers::", op, ": alpha must not be 0 (celu divides by it)");
  if (std::isfinite(alpha) && x.scalar_type() != at::kDouble) {
    const bool overflows = c10::overflows<float, double>(1.0 / alpha);
    TORCH_CHECK(!overflows, "rectifiers::", op, ": alpha ", alpha, " is too small: 1 / alpha ",
                "cannot be converted to float (the compute type of ", x.scalar_type(),
                " tensors) without overflow");
  }
  return {alpha, 1.0, 1.0 / alpha};
}

constexpr Coefficients kSelu{kSeluAlpha, kSeluScale, 1.0};

at::Tensor elu_forward(const char* op, const at::Tensor& x, const Coefficients& c) {
  checks::floating(op, x);
  check_coefficients(op, x, c);
  return elementwise::unary_as_aten(elu_stub, x, c.alpha, c.scale, c.input_scale);
}

void elu_in_place(const char* op, at::Tensor& x, const Coefficients& c) {
  elementwise::check_in_place(op, x);
  check_coefficients(op, x, c);
  elementwise::run_unary(elu_stub, x, x, c.alpha, c.scale, c.input_scale);
}

at::Tensor elu_kernel(const at::Tensor& x, double alpha) {
  return elu_forward("elu", x, {alpha, 1.0, 1.0});
}
void elu_in_place_kernel(at::Tensor& x, double alpha) { elu_in_place("elu_", x, {alpha, 1.0, 1.0}); }

at::Tensor celu_kernel(const at::Tensor& x, double alpha) {
  return elu_forward("celu", x, celu_coefficients("celu", x, alpha));
}
void celu_in_place_kernel(at::Tensor& x, double alpha) {
  elu_in_place("celu_", x, celu_coefficients("celu_", x, alpha));
}

at::Tensor selu_kernel(const at::Tensor& x) { return elu_forward("selu", x, kSelu); }
void selu_in_place_kernel(at::Tensor& x) { elu_in_place("selu_", x, kSelu); }

at::Tensor elu_backward_kernel(const at::Tensor& grad, const at::Tensor& x_or_result,
                               double alpha, double scale, double input_scale, bool is_result) {
  checks::grad_like("elu_backward", grad, x_or_result, "self_or_result");
  check_coefficients("elu_backward", x_or_result, {alpha, scale, input_scale});
  // As ATen: from the result, the negative side is told by the sign, which a
  // negative alpha flips.
  TORCH_CHECK(!is_result || alpha >= 0.0,
              "rectifiers::elu_backward: cannot differentiate an in-place elu_/celu_ with a "
              "negative alpha (alpha = ",
              alpha,
              "): the input was overwritten and the result's sign no longer tells which side "
              "of 0 it was on; use the out-of-place op");
  return elementwise::binary_as_aten(elu_backward_stub, grad, x_or_result, alpha, scale,
                                     input_scale, is_result);
}

void register_elu_kernels(torch::Library& m) {
  m.impl("elu", &elu_kernel);
  m.impl("elu_", &elu_in_place_kernel);
  m.impl("celu", &celu_kernel);
  m.impl("celu_", &celu_in_place_kernel);
  m.impl("selu", &selu_kernel);
  m.impl("selu_", &selu_in_place_kernel);
  m.impl("elu_backward", &elu_backward_kernel);
}

}  // namespace

at::Tensor elu(const at::Tensor& input, double alpha) {
  checks::defined("elu", input, "input");
  static const auto op = op_handle<at::Tensor(const at::Tensor&, double)>("rectifiers::elu");
  return op.call(input, alpha);
}

at::Tensor& elu_(at::Tensor& input, double alpha) {
  checks::defined("elu_", input, "input");
  static const auto op = op_handle<void(at::Tensor&, double)>("rectifiers::elu_");
  op.call(input, alpha);
  return input;
}

at::Tensor celu(const at::Tensor& input, double alpha) {
  checks::defined("celu", input, "input");
  static const auto op = op_handle<at::Tensor(const at::Tensor&, double)>("rectifiers::celu");
  return op.call(input, alpha);
}

at::Tensor& celu_(at::Tensor& input, double alpha) {
  checks::defined("celu_", input, "input");
  static const auto op = op_handle<void(at::Tensor&, double)>("rectifiers::celu_");
  op.call(input, alpha);
  return input;
}

at::Tensor selu(const at::Tensor& input) {
  checks::defined("selu", input, "input");
  static const auto op = op_handle<at::Tensor(const at::Tensor&)>("rectifiers::selu");
  return op.call(input);
}

at::Tensor& selu_(at::Tensor& input) {
  checks::defined("selu_", input, "input");
  static const auto op = op_handle<void(at::Tensor&)>("rectifiers::selu_");
  op.call(input);
  return input;
}

at::Tensor elu_backward(const at::Tensor& grad_output, const at::Tensor& self_or_result,
                        double alpha, double scale, double input_scale, bool is_result) {
  checks::defined("elu_backward", grad_output, "grad_output");
  checks::defined("elu_backward", self_or_result, "self_or_result");
  static const auto op = op_handle<at::Tensor(const at::Tensor&, const at::Tensor&, double,
                                              double, double, bool)>("rectifiers::elu_backward");
  return op.call(grad_output, self_or_result, alpha, scale, input_scale, is_result);
}

}  // namespace rectifiers

TORCH_LIBRARY_FRAGMENT(rectifiers, m) {
  m.def("elu(Tensor self, float alpha=1.0) -> Tensor", {at::Tag::pointwise});
  m.def("elu_(Tensor(a!) self, float alpha=1.0) -> ()", {at::Tag::pointwise});
  m.def("celu(Tensor self, float alpha=1.0) -> Tensor", {at::Tag::pointwise});
  m.def("celu_(Tensor(a!) self, float alpha=1.0) -> ()", {at::Tag::pointwise});
  m.def("selu(Tensor self) -> Tensor", {at::Tag::pointwise});
  m.def("selu_(Tensor(a!) self) -> ()", {at::Tag::pointwise});
  m.def(
      "elu_backward(Tensor grad_output, Tensor self_or_result, float alpha, float scale, "
      "float input_scale, bool is_result) -> Tensor",
      {at::Tag::pointwise});
}

RECTIFIERS_DEVICE_KERNELS(rectifiers::register_elu_kernels)
