// maxout, maxout_with_indices and maxout_backward: the loops each device
// supplies. `dim` is wrapped and checked; pool_size divides its size.
#pragma once

#include <optional>

#include "../common/stub.h"

// maxout's argument checks and output shapes (the kernel of every device
// and the autograd kernel use them).
namespace rectifiers::checks {

// The largest pool_size: positions inside a group are saved as int32.
constexpr int64_t kMaxPoolSize = 2147483647;

// Checks x (named `arg`) has a dim, `dim` is in range and
// 1 <= pool_size <= kMaxPoolSize; returns the wrapped dim.
int64_t maxout_dim(const char* op, const at::Tensor& x, int64_t pool_size, int64_t dim,
                   const char* arg = "input");

// The gradient of maxout's input (grad_output's sizes with `dim` times
// pool_size) has a number of elements and bytes that fit in int64.
void maxout_grad_input_fits(const char* op, const at::Tensor& grad, int64_t pool_size,
                            int64_t dim);

// maxout_dim, and `pool_size` divides the size of `dim`. Returns the wrapped dim.
int64_t maxout_args(const char* op, const at::Tensor& x, int64_t pool_size, int64_t dim);

}  // namespace rectifiers::checks

namespace rectifiers::shapes {

// The index dtype maxout saves for backward: 1 byte per output element while
// the position in a group fits (pool_size <= 256), else int32.
at::ScalarType maxout_index_dtype(int64_t pool_size);

// Maxout's output: `dim` shrinks by pool_size; channels_last inputs keep
// channels_last, everything else is contiguous. `dtype` defaults to x's.
at::Tensor maxout_empty_output(const at::Tensor& x, int64_t pool_size, int64_t dim,
                               std::optional<at::ScalarType> dtype = std::nullopt);

// Maxout's input gradient: `dim` grows by pool_size, in grad_output's layout.
at::Tensor maxout_empty_grad_input(const at::Tensor& grad_output, int64_t pool_size,
                                   int64_t dim);

}  // namespace rectifiers::shapes

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
