// prelu and prelu_backward: the loops each device supplies.
#pragma once

#include "../common/stub.h"

// prelu's argument checks and weight shapes.
namespace rectifiers::checks {

// PReLU's weight: 0-dim or 1-D, one element or one per channel (dim 1;
// inputs with fewer than 2 dims have one channel), same device and dtype.
void prelu_weight(const char* op, const at::Tensor& x, const at::Tensor& weight);

}  // namespace rectifiers::checks

namespace rectifiers::shapes {

// PReLU's weight as a tensor that broadcasts against x along dim 1.
at::Tensor prelu_broadcast_weight(const at::Tensor& x, const at::Tensor& weight);

// Sums a tensor shaped like x over every dim but 1, to weight's shape.
at::Tensor prelu_reduce_to_weight(const at::Tensor& full, const at::Tensor& x,
                                  const at::Tensor& weight);

}  // namespace rectifiers::shapes

namespace rectifiers {

// out = prelu(x, weight), weight broadcast along dim 1.
DECLARE_DISPATCH(elementwise_fn, prelu_stub);

// The fused backward: grad_input and the weight gradient in one pass, from
// grad, x and the weight broadcast against x (shapes::prelu_broadcast_weight).
// The weight gradient is a deterministic sum: same bits on every run.
using prelu_backward_fn = void (*)(const at::Tensor& grad, const at::Tensor& x,
                                   const at::Tensor& weight_broadcast, at::Tensor& grad_input,
                                   at::Tensor& grad_weight);
DECLARE_DISPATCH(prelu_backward_fn, prelu_backward_stub);

}  // namespace rectifiers
