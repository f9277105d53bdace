#include "checks.h"

#include "dispatch.h"

#include <ATen/MemoryOverlap.h>
#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>
#include <c10/util/TypeCast.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace rectifiers::checks {

std::string count_of(const c10::SymInt& count, const char* singular, const char* plural) {
  const auto known = count.maybe_as_int();
  return c10::str(count, " ", known && *known == 1 ? singular : plural);
}

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

void fits_compute_type(const char* op, const at::Tensor& t, const char* arg, double value) {
  if (t.scalar_type() == at::kDouble) return;
  const bool overflows = c10::overflows<float, double>(value);
  TORCH_CHECK(!overflows, "rectifiers::", op, ": ", arg, " ", value,
              " cannot be converted to float (the compute type of ", t.scalar_type(),
              " tensors) without overflow");
}

}  // namespace rectifiers::checks
