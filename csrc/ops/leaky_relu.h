// leaky_relu, leaky_relu_ and leaky_relu_backward: the loops each device
// supplies; the double is negative_slope.
#pragma once

#include "../common/stub.h"

namespace rectifiers::checks {

// A negative_slope that converts to the op-math type of t without overflow
// (float for float16/bfloat16/float32), as ATen requires; inf and NaN pass.
void negative_slope(const char* op, const at::Tensor& t, double slope);

}  // namespace rectifiers::checks

namespace rectifiers {

DECLARE_DISPATCH(elementwise_scalar_fn, leaky_relu_stub);           // out = leaky(x)
DECLARE_DISPATCH(elementwise_scalar_fn, leaky_relu_backward_stub);  // out = leaky'(x) * grad

}  // namespace rectifiers
