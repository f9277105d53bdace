// abs_rectifier and abs_rectifier_backward: the loops each device supplies.
#pragma once

#include "../common/stub.h"

namespace rectifiers {

DECLARE_DISPATCH(elementwise_fn, abs_rectifier_stub);           // out = |x|
DECLARE_DISPATCH(elementwise_fn, abs_rectifier_backward_stub);  // out = sign(x) * grad

}  // namespace rectifiers
