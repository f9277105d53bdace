#include "checks.h"

#include "dispatch.h"

#include <ATen/MemoryOverlap.h>
#include <c10/util/Exception.h>
#include <c10/util/TypeCast.h>
#include <c10/util/safe_numerics.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace rectifiers::checks {

void defined(const char* op, const at::Tensor& t, const char* arg) {
  TORCH_CHECK(t.defined(), "rectifiers::", op, ": ", arg, " is an undefined tensor");
}

void strided(const char* op, const at::Tensor& t, const char* arg) {
  defined(op, t, arg);
  TORCH_CHECK(!t.is_nested(), "rectifiers::", op, ": ", arg,
              " is a nested tensor; only strided tensors are supported");
  TORCH_CHECK(t.layout() == at::kStrided, "rectifiers::", op, ": ", arg,
              " must be a strided tensor, but got layout ", t.layout());
}

void floating(const char* op, const at::Tensor& t, const char* arg) {
  strided(op, t, arg);
  const auto dtype = t.scalar_type();
  TORCH_CHECK(is_dispatched(dtype), "rectifiers::", op, ": ", arg,
              " must be a floating-point tensor (float16, bfloat16, float32 or float64), but "
              "got dtype ",
              dtype);
}

void like(const char* op, const at::Tensor& ref, const char* ref_arg, const at::Tensor& t,
          const char* arg) {
  strided(op, t, arg);
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

void grad_like(const char* op, const at::Tensor& grad, const at::Tensor& x, const char* x_arg) {
  floating(op, x, x_arg);
  like(op, x, x_arg, grad, "grad_output");
  same_sizes(op, x, x_arg, grad, "grad_output");
}

namespace {

// Layouts past this many elements that ATen's test cannot decide are not
// enumerated (the offsets would take too much memory); they are written as
// torch's own in-place ops write them.
constexpr int64_t kMaxEnumeratedElements = int64_t(1) << 24;

// No two elements share memory. With dims sorted by stride, a stride that
// exceeds the furthest offset the smaller dims reach proves it; otherwise
// every offset is listed and compared.
bool elements_distinct(c10::IntArrayRef sizes, c10::IntArrayRef strides) {
  std::vector<std::pair<int64_t, int64_t>> dims;  // (stride, size)
  int64_t numel = 1;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] == 0) return true;
    numel *= sizes[d];
    if (sizes[d] > 1) dims.emplace_back(strides[d], sizes[d]);
  }
  std::sort(dims.begin(), dims.end());
  int64_t reach = 0;
  bool proven = true;
  for (const auto& [stride, size] : dims) {
    if (stride <= reach) {
      proven = false;
      break;
    }
    reach += (size - 1) * stride;
  }
  if (proven || numel > kMaxEnumeratedElements) return true;
  std::vector<int64_t> offsets{0};
  offsets.reserve(numel);
  for (const auto& [stride, size] : dims) {
    const size_t before = offsets.size();
    for (int64_t i = 1; i < size; ++i) {
      for (size_t j = 0; j < before; ++j) offsets.push_back(offsets[j] + i * stride);
    }
  }
  std::sort(offsets.begin(), offsets.end());
  return std::adjacent_find(offsets.begin(), offsets.end()) == offsets.end();
}

}  // namespace

void writable_in_place(const char* op, const at::Tensor& t) {
  const auto overlap = at::has_internal_overlap(t);
  bool distinct = overlap == at::MemOverlap::No;
  if (overlap == at::MemOverlap::TooHard) {
    const auto sizes = c10::asIntArrayRefSlowOpt(t.sym_sizes());
    const auto strides = c10::asIntArrayRefSlowOpt(t.sym_strides());
    // Symbolic shapes (FakeTensor) cannot be enumerated; the real kernel checks.
    distinct = !sizes || !strides || elements_distinct(*sizes, *strides);
  }
  TORCH_CHECK(distinct, "rectifiers::", op,
              ": cannot write in place to a tensor whose elements overlap in memory (sizes ",
              t.sym_sizes(), ", strides ", t.sym_strides(),
              "); call .clone() first or use the out-of-place op");
}

void negative_slope(const char* op, const at::Tensor& t, double slope) {
  if (t.scalar_type() == at::kDouble) return;
  const bool overflows = c10::overflows<float, double>(slope);
  TORCH_CHECK(!overflows, "rectifiers::", op, ": negative_slope ",
              slope, " cannot be converted to float (the compute type of ", t.scalar_type(),
              " tensors) without overflow");
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

int64_t maxout_dim(const char* op, const at::Tensor& x, int64_t pool_size, int64_t dim,
                   const char* arg) {
  const int64_t ndim = x.dim();
  TORCH_CHECK(ndim >= 1, "rectifiers::", op, ": ", arg,
              " must have at least 1 dimension, but got a 0-dim tensor");
  TORCH_CHECK(dim >= -ndim && dim < ndim, "rectifiers::", op, ": dim ", dim,
              " is out of range for a ", ndim, "-dim ", arg, " (expected in [", -ndim, ", ",
              ndim - 1, "])");
  TORCH_CHECK(pool_size >= 1, "rectifiers::", op, ": pool_size must be >= 1, but got ",
              pool_size);
  TORCH_CHECK(pool_size <= kMaxPoolSize, "rectifiers::", op, ": pool_size must be <= ",
              kMaxPoolSize, " (positions inside a group are saved as int32), but got ",
              pool_size);
  return dim < 0 ? dim + ndim : dim;
}

void maxout_grad_input_fits(const char* op, const at::Tensor& grad, int64_t pool_size,
                            int64_t dim) {
  const auto sizes = c10::asIntArrayRefSlowOpt(grad.sym_sizes());
  if (!sizes) return;  // symbolic: the real kernel checks
  int64_t numel = 1;
  bool overflow = false;
  for (size_t d = 0; d < sizes->size(); ++d) {
    if (static_cast<int64_t>(d) != dim) overflow |= c10::mul_overflows(numel, (*sizes)[d], &numel);
  }
  int64_t grouped = 0, bytes = 0;
  overflow |= c10::mul_overflows((*sizes)[dim], pool_size, &grouped);
  overflow |= c10::mul_overflows(numel, grouped, &numel);
  overflow |= c10::mul_overflows(numel, static_cast<int64_t>(grad.element_size()), &bytes);
  TORCH_CHECK(!overflow, "rectifiers::", op, ": the input gradient for pool_size ", pool_size,
              " would have ", (*sizes)[dim], " * ", pool_size, " elements in dim ", dim,
              " (grad_output shape ", grad.sym_sizes(), "), more than int64 can count");
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
