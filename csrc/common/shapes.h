// Output allocation and memory-order views shared by the ops (each op's own
// shapes are declared in its ops/<op>.h).
#pragma once

#include <ATen/core/Tensor.h>

#include <initializer_list>
#include <optional>

namespace rectifiers::shapes {

// Elementwise outputs follow the input's layout (contiguous, channels_last,
// transposed, ...) via empty_like's preserve_format.
at::Tensor empty_elementwise(const at::Tensor& like);

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
