#include "shapes.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <vector>

namespace rectifiers::shapes {

at::Tensor empty_elementwise(const at::Tensor& like) {
  return at::empty_like(like, at::MemoryFormat::Preserve);
}

at::ScalarType maxout_index_dtype(int64_t pool_size) {
  return pool_size <= 256 ? at::kByte : at::kInt;
}

namespace {
at::Tensor empty_resized_along(const at::Tensor& like, int64_t dim, const c10::SymInt& size,
                               at::ScalarType dtype) {
  auto sizes = like.sym_sizes().vec();
  sizes[dim] = size;
  const auto format = like.suggest_memory_format();
  return at::empty_symint(sizes, like.options().dtype(dtype).memory_format(format));
}
}  // namespace

at::Tensor maxout_empty_output(const at::Tensor& x, int64_t pool_size, int64_t dim,
                               std::optional<at::ScalarType> dtype) {
  return empty_resized_along(x, dim, x.sym_size(dim) / pool_size,
                             dtype.value_or(x.scalar_type()));
}

at::Tensor maxout_empty_grad_input(const at::Tensor& grad_output, int64_t pool_size,
                                   int64_t dim) {
  return empty_resized_along(grad_output, dim, grad_output.sym_size(dim) * pool_size,
                             grad_output.scalar_type());
}

at::Tensor prelu_broadcast_weight(const at::Tensor& x, const at::Tensor& weight) {
  if (x.dim() < 2 || weight.sym_numel() == 1) {
    return weight.reshape_symint({});
  }
  std::vector<c10::SymInt> shape(x.dim(), c10::SymInt(1));
  shape[1] = weight.sym_numel();
  return weight.reshape_symint(shape);
}

at::Tensor prelu_reduce_to_weight(const at::Tensor& full, const at::Tensor& x,
                                  const at::Tensor& weight) {
  if (x.dim() < 2 || weight.sym_numel() == 1) {
    return full.sum().reshape_symint(weight.sym_sizes());
  }
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (d != 1) dims.push_back(d);
  }
  return full.sum(dims).reshape_symint(weight.sym_sizes());
}

std::optional<at::MemoryFormat> shared_dense_format(std::initializer_list<at::Tensor> tensors) {
  const int64_t dims = tensors.begin()->dim();
  for (auto format : {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast,
                      at::MemoryFormat::ChannelsLast3d}) {
    if (format == at::MemoryFormat::ChannelsLast && dims != 4) continue;
    if (format == at::MemoryFormat::ChannelsLast3d && dims != 5) continue;
    if (std::all_of(tensors.begin(), tensors.end(), [format](const at::Tensor& t) {
          return !t.defined() || t.is_contiguous(format);
        })) {
      return format;
    }
  }
  return std::nullopt;
}

AroundDim around_dim(const at::Tensor& t, int64_t dim, at::MemoryFormat format) {
  std::vector<int64_t> order(t.dim());
  for (int64_t d = 0; d < t.dim(); ++d) order[d] = d;
  if (format != at::MemoryFormat::Contiguous) {
    // N, C, *spatial in memory as N, *spatial, C.
    order.erase(order.begin() + 1);
    order.push_back(1);
  }
  int64_t inner = 1;
  for (auto it = std::find(order.begin(), order.end(), dim) + 1; it != order.end(); ++it) {
    inner *= t.size(*it);
  }
  const int64_t size = t.size(dim);
  return {size * inner == 0 ? 0 : t.numel() / (size * inner), size, inner};
}

}  // namespace rectifiers::shapes
