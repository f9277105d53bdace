// relu, relu_ and relu_backward: the loops each device supplies.
#pragma once

#include "../common/stub.h"

namespace rectifiers {

DECLARE_DISPATCH(elementwise_fn, relu_stub);           // out = relu(x)
DECLARE_DISPATCH(elementwise_fn, relu_backward_stub);  // out = relu'(result) * grad

}  // namespace rectifiers
