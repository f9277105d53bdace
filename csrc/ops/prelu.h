// prelu and prelu_backward: the loops each device supplies.
#pragma once

#include "../common/stub.h"

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
