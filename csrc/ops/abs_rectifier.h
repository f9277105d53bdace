// abs_rectifier and abs_rectifier_backward: the loops each device supplies.
#pragma once

#include "../common/stub.h"

namespace rectifiers {

DECLARE_DISPATCH(elementwise_fn, abs_rectifier_stub);           // out = |x|
DECLARE_DISPATCH(elementwise_fn, abs_rectifier_backward_stub);  // out = sign(x) * grad
DECLARE_DISPATCH(mask_forward_fn, abs_rectifier_with_mask_stub);        // out; x > 0, x < 0
DECLARE_DISPATCH(mask_backward_fn, abs_rectifier_mask_backward_stub);   // out = (b0 - b1) * g

}  // namespace rectifiers
