// relu6, relu6_ and relu6_backward: the loops each device supplies.
#pragma once

#include "../common/stub.h"

namespace rectifiers {

DECLARE_DISPATCH(elementwise_fn, relu6_stub);           // out = relu6(x)
DECLARE_DISPATCH(elementwise_fn, relu6_backward_stub);  // out = relu6'(x) * grad
DECLARE_DISPATCH(dense_forward_fn, relu6_dense_stub);   // out = relu6(x), CPU float16/bfloat16
// out = relu6(x); planes: 0 < x < 6, x is NaN
DECLARE_DISPATCH(mask_forward_fn, relu6_with_mask_stub);
// out = either bit ? g : 0 (NaN passes, as hardtanh_backward's scalar form)
DECLARE_DISPATCH(mask_backward_fn, relu6_mask_backward_stub);

}  // namespace rectifiers
