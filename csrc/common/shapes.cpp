#include "shapes.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <vector>

namespace rectifiers::shapes {

at::Tensor empty_elementwise(const at::Tensor& like) {
  return at::empty_like(like, at::MemoryFormat::Preserve);
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
