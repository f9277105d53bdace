// maxout, maxout_with_indices and maxout_backward: the loops each device
// supplies. `dim` is wrapped and checked; pool_size divides its size.
#pragma once

#include "../common/stub.h"

namespace rectifiers {

// values = the max of each group; indices, when defined, its position in the
// group (shapes::maxout_index_dtype).
using maxout_fn = void (*)(const at::Tensor& x, int64_t pool_size, int64_t dim,
                           at::Tensor& values, const at::Tensor& indices);
DECLARE_DISPATCH(maxout_fn, maxout_stub);

// grad_input: each group's gradient at its chosen member, 0 elsewhere; every
// element is written. Indices outside [0, pool_size) are an error.
using maxout_backward_fn = void (*)(const at::Tensor& grad, const at::Tensor& indices,
                                    int64_t pool_size, int64_t dim, at::Tensor& grad_input);
DECLARE_DISPATCH(maxout_backward_fn, maxout_backward_stub);

}  // namespace rectifiers
