// The public C++ API: thin typed calls through the dispatcher, so autograd,
// device dispatch and tracing all apply.
#include "rectifiers.h"

#include <ATen/core/dispatch/Dispatcher.h>

#include "common/checks.h"

namespace rectifiers {
namespace {

using at::Tensor;
using TensorPair = std::tuple<Tensor, Tensor>;

template <typename Signature>
c10::TypedOperatorHandle<Signature> op(const char* name) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, "").typed<Signature>();
}

}  // namespace

// An undefined tensor would otherwise fail inside the dispatcher or autograd
// with a message that names neither the op nor the argument.

Tensor relu(const Tensor& input) {
  checks::defined("relu", input, "input");
  static const auto h = op<Tensor(const Tensor&)>("rectifiers::relu");
  return h.call(input);
}

Tensor& relu_(Tensor& input) {
  checks::defined("relu_", input, "input");
  static const auto h = op<void(Tensor&)>("rectifiers::relu_");
  h.call(input);
  return input;
}

Tensor leaky_relu(const Tensor& input, double negative_slope) {
  checks::defined("leaky_relu", input, "input");
  static const auto h = op<Tensor(const Tensor&, double)>("rectifiers::leaky_relu");
  return h.call(input, negative_slope);
}

Tensor& leaky_relu_(Tensor& input, double negative_slope) {
  checks::defined("leaky_relu_", input, "input");
  static const auto h = op<void(Tensor&, double)>("rectifiers::leaky_relu_");
  h.call(input, negative_slope);
  return input;
}

Tensor prelu(const Tensor& input, const Tensor& weight) {
  checks::defined("prelu", input, "input");
  checks::defined("prelu", weight, "weight");
  static const auto h = op<Tensor(const Tensor&, const Tensor&)>("rectifiers::prelu");
  return h.call(input, weight);
}

Tensor abs_rectifier(const Tensor& input) {
  checks::defined("abs_rectifier", input, "input");
  static const auto h = op<Tensor(const Tensor&)>("rectifiers::abs_rectifier");
  return h.call(input);
}

Tensor maxout(const Tensor& input, int64_t pool_size, int64_t dim) {
  checks::defined("maxout", input, "input");
  static const auto h = op<Tensor(const Tensor&, int64_t, int64_t)>("rectifiers::maxout");
  return h.call(input, pool_size, dim);
}

TensorPair maxout_with_indices(const Tensor& input, int64_t pool_size, int64_t dim) {
  checks::defined("maxout_with_indices", input, "input");
  static const auto h =
      op<TensorPair(const Tensor&, int64_t, int64_t)>("rectifiers::maxout_with_indices");
  return h.call(input, pool_size, dim);
}

Tensor relu_backward(const Tensor& grad_output, const Tensor& result) {
  checks::defined("relu_backward", grad_output, "grad_output");
  checks::defined("relu_backward", result, "result");
  static const auto h = op<Tensor(const Tensor&, const Tensor&)>("rectifiers::relu_backward");
  return h.call(grad_output, result);
}

Tensor leaky_relu_backward(const Tensor& grad_output, const Tensor& input, double negative_slope,
                           bool self_is_result) {
  checks::defined("leaky_relu_backward", grad_output, "grad_output");
  checks::defined("leaky_relu_backward", input, "self");
  static const auto h = op<Tensor(const Tensor&, const Tensor&, double, bool)>(
      "rectifiers::leaky_relu_backward");
  return h.call(grad_output, input, negative_slope, self_is_result);
}

TensorPair prelu_backward(const Tensor& grad_output, const Tensor& input, const Tensor& weight) {
  checks::defined("prelu_backward", grad_output, "grad_output");
  checks::defined("prelu_backward", input, "self");
  checks::defined("prelu_backward", weight, "weight");
  static const auto h =
      op<TensorPair(const Tensor&, const Tensor&, const Tensor&)>("rectifiers::prelu_backward");
  return h.call(grad_output, input, weight);
}

Tensor abs_rectifier_backward(const Tensor& grad_output, const Tensor& input) {
  checks::defined("abs_rectifier_backward", grad_output, "grad_output");
  checks::defined("abs_rectifier_backward", input, "self");
  static const auto h =
      op<Tensor(const Tensor&, const Tensor&)>("rectifiers::abs_rectifier_backward");
  return h.call(grad_output, input);
}

Tensor maxout_backward(const Tensor& grad_output, const Tensor& indices, int64_t pool_size,
                       int64_t dim) {
  checks::defined("maxout_backward", grad_output, "grad_output");
  checks::defined("maxout_backward", indices, "indices");
  static const auto h = op<Tensor(const Tensor&, const Tensor&, int64_t, int64_t)>(
      "rectifiers::maxout_backward");
  return h.call(grad_output, indices, pool_size, dim);
}

}  // namespace rectifiers
