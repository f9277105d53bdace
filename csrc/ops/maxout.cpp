// maxout, maxout_with_indices and maxout_backward: schemas, the kernel every
// device runs, and the C++ API.
#include "maxout.h"

#include <ATen/ATen.h>
#include <c10/util/safe_numerics.h>

#include "../common/checks.h"
#include "../common/register.h"
#include "../common/shapes.h"
#include "../rectifiers.h"

namespace rectifiers::checks {

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

namespace rectifiers::shapes {

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

}  // namespace rectifiers::shapes

namespace rectifiers {

DEFINE_DISPATCH(maxout_stub);
DEFINE_DISPATCH(maxout_backward_stub);

namespace {

at::Tensor maxout_kernel(const at::Tensor& x, int64_t pool_size, int64_t dim) {
  dim = checks::maxout_args("maxout", x, pool_size, dim);
  auto values = shapes::maxout_empty_output(x, pool_size, dim);
  if (!x.is_meta()) maxout_stub(x.device().type(), x, pool_size, dim, values, at::Tensor());
  return values;
}

std::tuple<at::Tensor, at::Tensor> maxout_with_indices_kernel(const at::Tensor& x,
                                                              int64_t pool_size, int64_t dim) {
  dim = checks::maxout_args("maxout_with_indices", x, pool_size, dim);
  auto values = shapes::maxout_empty_output(x, pool_size, dim);
  auto indices =
      shapes::maxout_empty_output(x, pool_size, dim, shapes::maxout_index_dtype(pool_size));
  if (!x.is_meta()) maxout_stub(x.device().type(), x, pool_size, dim, values, indices);
  return {values, indices};
}

// Returns the wrapped dim. pool_size and dim come first: the index dtype
// and the gradient's size both depend on them.
int64_t check_backward_args(const at::Tensor& grad, const at::Tensor& indices, int64_t pool_size,
                            int64_t dim) {
  constexpr const char* op = "maxout_backward";
  checks::floating(op, grad, "grad_output");
  dim = checks::maxout_dim(op, grad, pool_size, dim, "grad_output");
  checks::strided(op, indices, "indices");
  TORCH_CHECK(indices.scalar_type() == shapes::maxout_index_dtype(pool_size),
              "rectifiers::", op, ": indices must have dtype ",
              shapes::maxout_index_dtype(pool_size), " for pool_size ", pool_size, ", but got ",
              indices.scalar_type());
  TORCH_CHECK(indices.device() == grad.device(), "rectifiers::", op,
              ": expected indices and grad_output on the same device, but indices is on ",
              indices.device(), " and grad_output is on ", grad.device());
  checks::same_sizes(op, grad, "grad_output", indices, "indices");
  checks::maxout_grad_input_fits(op, grad, pool_size, dim);
  return dim;
}

// The size comes from pool_size, an argument: a failed allocation says which
// op asked for it.
at::Tensor allocate_grad_input(const at::Tensor& grad, int64_t pool_size, int64_t dim) {
  try {
    return shapes::maxout_empty_grad_input(grad, pool_size, dim);
  } catch (const c10::OutOfMemoryError& e) {
    TORCH_CHECK_WITH(OutOfMemoryError, false, "rectifiers::maxout_backward: cannot allocate ",
                     "the input gradient for pool_size ", pool_size, " (grad_output shape ",
                     grad.sym_sizes(), "): ", e.what_without_backtrace());
  } catch (const c10::Error& e) {  // the CPU allocator's failure is a plain error
    TORCH_CHECK(false, "rectifiers::maxout_backward: cannot allocate the input gradient for ",
                "pool_size ", pool_size, " (grad_output shape ", grad.sym_sizes(), "): ",
                e.what_without_backtrace());
  }
}

at::Tensor maxout_backward_kernel(const at::Tensor& grad, const at::Tensor& indices,
                                  int64_t pool_size, int64_t dim) {
  dim = check_backward_args(grad, indices, pool_size, dim);
  auto grad_input = allocate_grad_input(grad, pool_size, dim);
  if (!grad.is_meta()) {
    maxout_backward_stub(grad.device().type(), grad, indices, pool_size, dim, grad_input);
  }
  return grad_input;
}

void register_maxout_kernels(torch::Library& m) {
  m.impl("maxout", &maxout_kernel);
  m.impl("maxout_with_indices", &maxout_with_indices_kernel);
  m.impl("maxout_backward", &maxout_backward_kernel);
}

}  // namespace

at::Tensor maxout(const at::Tensor& input, int64_t pool_size, int64_t dim) {
  checks::defined("maxout", input, "input");
  static const auto op =
      op_handle<at::Tensor(const at::Tensor&, int64_t, int64_t)>("rectifiers::maxout");
  return op.call(input, pool_size, dim);
}

std::tuple<at::Tensor, at::Tensor> maxout_with_indices(const at::Tensor& input,
                                                       int64_t pool_size, int64_t dim) {
  checks::defined("maxout_with_indices", input, "input");
  using Signature = std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, int64_t, int64_t);
  static const auto op = op_handle<Signature>("rectifiers::maxout_with_indices");
  return op.call(input, pool_size, dim);
}

at::Tensor maxout_backward(const at::Tensor& grad_output, const at::Tensor& indices,
                           int64_t pool_size, int64_t dim) {
  checks::defined("maxout_backward", grad_output, "grad_output");
  checks::defined("maxout_backward", indices, "indices");
  static const auto op = op_handle<at::Tensor(const at::Tensor&, const at::Tensor&, int64_t,
                                              int64_t)>("rectifiers::maxout_backward");
  return op.call(grad_output, indices, pool_size, dim);
}

}  // namespace rectifiers

TORCH_LIBRARY_FRAGMENT(rectifiers, m) {
  m.def("maxout(Tensor self, int pool_size, int dim=1) -> Tensor");
  // Values and the position of each maximum inside its group (uint8 while
  // pool_size <= 256, else int32): all that backward needs.
  m.def("maxout_with_indices(Tensor self, int pool_size, int dim=1) -> (Tensor, Tensor)");
  m.def("maxout_backward(Tensor grad_output, Tensor indices, int pool_size, int dim) -> Tensor");
}

RECTIFIERS_DEVICE_KERNELS(rectifiers::register_maxout_kernels)
