// relu6, relu6_ and relu6_backward: the loops each device supplies.
#pragma once

#include "../common/stub.h"

namespace rectifiers {

DECLARE_DISPATCH(elementwise_fn, relu6_stub);           // out = relu6(x)
DECLARE_DISPATCH(elementwise_fn, relu6_backward_stub);  // out = relu6'(x) * grad

}  // namespace rectifiers
