#include "checks.h"

#include <ATen/MemoryOverlap.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace rectifiers::checks {

void defined(const char* op, const at::Tensor& t, const char* arg) {
  TORCH_CHECK(t.defined(), "rectifiers::", op, ": ", arg, " is an undefined tensor");
}

void floating(const char* op, const at::Tensor& t, const char* arg) {
  defined(op, t, arg);
  const auto dtype = t.scalar_type();
  TORCH_CHECK(dtype == at::kFloat || dtype == at::kDouble || dtype == at::kHalf ||
                  dtype == at::kBFloat16,
              "rectifiers::", op, ": ", arg,
              " must be a floating-point tensor (float16, bfloat16, float32 or float64), but "
              "got dtype ",
              dtype);
}

void like(const char* op, const at::Tensor& ref, const char* ref_arg, const at::Tensor& t,
          const char* arg) {
  TORCH_CHECK(t.defined(), "rectifiers::", op, ": ", arg, " is an undefined tensor");
  TORCH_CHECK(t.device() == ref.device(), "rectifiers::", op, ": expected ", arg, " and ",
              ref_arg, " on the same device, but ", arg, " is on ", t.device(), " and ", ref_arg,
              " is on ", ref.device());
  TORCH_CHECK(t.scalar_type() == ref.scalar_type(), "rectifiers::", op, ": expected ", arg,
              " to have the dtype of ", ref_arg, " (", ref.scalar_type(), "), but got ",
              t.scalar_type());
}

void same_sizes(const char* op, const at::Tensor& ref, const char* ref_arg, const at::Tensor& t,
                const char* arg) {
  TORCH_CHECK(t.sym_sizes() == ref.sym_sizes(), "rectifiers::", op, ": expected ", arg,
              " to have the shape of ", ref_arg, " ", ref.sym_sizes(), ", but got ",
              t.sym_sizes());
}

namespace {

// True when no two elements can share memory: with dims sorted by stride,
// each stride exceeds the furthest offset the smaller dims reach. Sliced and
// permuted views pass; stride-0 and other self-overlapping views do not.
bool provably_non_overlapping(const at::Tensor& t) {
  if (t.is_non_overlapping_and_dense()) return true;
  std::vector<std::pair<int64_t, int64_t>> dims;  // (|stride|, size)
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (t.size(d) == 0) return true;
    if (t.size(d) > 1) dims.emplace_back(std::abs(t.stride(d)), t.size(d));
  }
  std::sort(dims.begin(), dims.end());
  int64_t reach = 0;
  for (const auto& [stride, size] : dims) {
    if (stride <= reach) return false;
    reach += (size - 1) * stride;
  }
  return true;
}

}  // namespace

void writable_in_place(const char* op, const at::Tensor& t) {
  TORCH_CHECK(provably_non_overlapping(t), "rectifiers::", op,
              ": cannot write in place to a tensor whose elements overlap in memory (sizes ",
              t.sym_sizes(), ", strides ", t.sym_strides(),
              "); call .clone() first or use the out-of-place op");
}

void prelu_weight(const char* op, const at::Tensor& x, const at::Tensor& weight) {
  floating(op, x, "input");
  TORCH_CHECK(weight.defined(), "rectifiers::", op, ": weight is an undefined tensor");
  TORCH_CHECK(weight.dim() <= 1, "rectifiers::", op,
              ": weight must be a 0-dim or 1-D tensor, but got ", weight.dim(),
              " dims (shape ", weight.sym_sizes(), ")");
  like(op, x, "input", weight, "weight");
  const c10::SymInt channels = x.dim() >= 2 ? x.sym_size(1) : c10::SymInt(1);
  const c10::SymInt count = weight.sym_numel();
  TORCH_CHECK(count == 1 || count == channels, "rectifiers::", op, ": weight has ", count,
              " elements, but it must have 1 or one per channel (input has ", channels,
              " channels in dim 1, input shape ", x.sym_sizes(), ")");
}

int64_t maxout_dim(const char* op, const at::Tensor& x, int64_t pool_size, int64_t dim) {
  const int64_t ndim = x.dim();
  TORCH_CHECK(ndim >= 1, "rectifiers::", op, ": input must have at least 1 dimension, but got a ",
              "0-dim tensor");
  TORCH_CHECK(dim >= -ndim && dim < ndim, "rectifiers::", op, ": dim ", dim,
              " is out of range for a ", ndim, "-dim input (expected in [", -ndim, ", ", ndim - 1,
              "])");
  const int64_t wrapped = dim < 0 ? dim + ndim : dim;
  TORCH_CHECK(pool_size >= 1, "rectifiers::", op, ": pool_size must be >= 1, but got ",
              pool_size);
  return wrapped;
}

int64_t maxout_args(const char* op, const at::Tensor& x, int64_t pool_size, int64_t dim) {
  floating(op, x, "input");
  const int64_t wrapped = maxout_dim(op, x, pool_size, dim);
  const c10::SymInt size = x.sym_size(wrapped);
  TORCH_CHECK(size % pool_size == 0, "rectifiers::", op, ": pool_size ", pool_size,
              " does not divide the size of dim ", wrapped, " (", size, ", input shape ",
              x.sym_sizes(), ")");
  return wrapped;
}

}  // namespace rectifiers::checks
