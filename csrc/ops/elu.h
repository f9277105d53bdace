// The ELU family: elu, celu and selu (and their in-place forms) are ATen's
// one elu with three coefficients (see common/rectifier_math.h), so they
// share one loop per device and one backward op, elu_backward, as in ATen.
#pragma once

#include "../common/stub.h"

namespace rectifiers {

// selu's fixed coefficients, as ATen's.
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

using elu_fn = void (*)(at::TensorIteratorBase&, double alpha, double scale, double input_scale);
using elu_backward_fn = void (*)(at::TensorIteratorBase&, double alpha, double scale,
                                 double input_scale, bool is_result);

DECLARE_DISPATCH(elu_fn, elu_stub);                    // out = elu(x)
DECLARE_DISPATCH(elu_backward_fn, elu_backward_stub);  // out = elu'(x or result) * grad

}  // namespace rectifiers
