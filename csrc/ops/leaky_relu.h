// leaky_relu, leaky_relu_ and leaky_relu_backward: the loops each device
// supplies; the double is negative_slope.
#pragma once

#include "../common/stub.h"

namespace rectifiers {

DECLARE_DISPATCH(elementwise_scalar_fn, leaky_relu_stub);           // out = leaky(x)
DECLARE_DISPATCH(elementwise_scalar_fn, leaky_relu_backward_stub);  // out = leaky'(x) * grad
DECLARE_DISPATCH(dense_forward_scalar_fn, leaky_relu_dense_stub);   // out = leaky(x), CPU float16/bfloat16
DECLARE_DISPATCH(mask_forward_scalar_fn, leaky_relu_with_mask_stub);       // out, bit = x > 0
DECLARE_DISPATCH(mask_backward_scalar_fn, leaky_relu_mask_backward_stub);  // out = bit ? g : g * slope

}  // namespace rectifiers
