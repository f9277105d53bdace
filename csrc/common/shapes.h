// Output allocation shared by the real kernels and the Meta kernels, so that
// FakeTensor sees the sizes, strides and dtypes the real op produces.
#pragma once

#include <ATen/core/Tensor.h>

#include <initializer_list>
#include <optional>

namespace rectifiers::shapes {

// Elementwise outputs follow the input's layout (contiguous, channels_last,
// transposed, ...) via empty_like's preserve_format.
at::Tensor empty_elementwise(const at::Tensor& like);

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

// PReLU's weight as a tensor that broadcasts against x along dim 1.
at::Tensor prelu_broadcast_weight(const at::Tensor& x, const at::Tensor& weight);

// Sums a tensor shaped like x over every dim but 1, to weight's shape.
at::Tensor prelu_reduce_to_weight(const at::Tensor& full, const at::Tensor& x,
                                  const at::Tensor& weight);

// The dense memory format (contiguous, channels_last or channels_last_3d)
// that every one of `tensors` (undefined ones aside) is laid out in, if any.
std::optional<at::MemoryFormat> shared_dense_format(std::initializer_list<at::Tensor> tensors);

// A tensor dense in `format` seen around `dim` as [outer, size, inner] in
// memory order: element (o, d, i) lives at (o * size + d) * inner + i, with
// size = t.size(dim) and inner the product of the sizes of the dims that
// come after dim in the format's memory order.
struct AroundDim {
  int64_t outer, size, inner;
};
AroundDim around_dim(const at::Tensor& t, int64_t dim, at::MemoryFormat format);

}  // namespace rectifiers::shapes
