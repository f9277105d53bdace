// The body of every op, written once for all devices: check the arguments,
// allocate the outputs, build the TensorIterator, hand the loop to the
// backend: a struct of static functions that run the loops (declared once in
// common/backend.h; cpu/kernels.h and cuda/kernels.h use it). maxout's
// `indices` may be undefined: then only the values are computed.
//
// Iterators are built with `out` first, then the inputs in schema order.
#pragma once

#include <ATen/ATen.h>
#include <ATen/TensorIterator.h>

#include "checks.h"
#include "shapes.h"

namespace rectifiers::frontend {

inline at::TensorIterator unary_iter(const at::Tensor& out, const at::Tensor& x) {
  return at::TensorIteratorConfig().add_output(out).add_const_input(x).build();
}

inline at::TensorIterator binary_iter(const at::Tensor& out, const at::Tensor& a,
                                      const at::Tensor& b) {
  return at::TensorIteratorConfig().add_output(out).add_const_input(a).add_const_input(b).build();
}

// grad_output must match the tensor it is the gradient of.
inline void check_grad(const char* op, const at::Tensor& grad, const at::Tensor& x,
                       const char* x_arg) {
  checks::floating(op, x, x_arg);
  checks::like(op, x, x_arg, grad, "grad_output");
  checks::same_sizes(op, x, x_arg, grad, "grad_output");
}

// Same rule and reason as ATen: after an in-place leaky_relu_ with a negative
// slope, the sign of the result no longer tells which side of 0 the input was.
inline void check_leaky_relu_backward(double slope, bool self_is_result) {
  TORCH_CHECK(!self_is_result || slope >= 0.0,
              "rectifiers::leaky_relu_backward: cannot differentiate in-place leaky_relu_ with "
              "a negative slope (negative_slope = ",
              slope,
              "): the input was overwritten and the result's sign no longer tells which side "
              "of 0 it was on; use the out-of-place leaky_relu");
}

// Returns the wrapped dim. pool_size and dim come first: the index dtype
// and the gradient's size both depend on them.
inline int64_t check_maxout_backward(const at::Tensor& grad, const at::Tensor& indices,
                                     int64_t pool_size, int64_t dim) {
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

// The checks of the in-place ops, shared with their Meta kernels.
inline void check_in_place(const char* op, const at::Tensor& x) {
  checks::floating(op, x);
  checks::writable_in_place(op, x);
}

// PReLU's weight gradient where each weight element covers exactly one input
// element: torch reduces nothing there, so the product keeps its sign of zero.
inline void prelu_unreduced_weight_grad(const at::Tensor& grad, const at::Tensor& x,
                                        at::Tensor& grad_weight) {
  if (x.numel() == 0 || x.numel() != grad_weight.numel()) return;
  auto product = at::where(x > 0, at::zeros_like(x), x * grad);
  grad_weight.copy_(product.reshape(grad_weight.sizes()));
}

template <class Backend>
struct Ops {
  static at::Tensor relu(const at::Tensor& x) {
    checks::floating("relu", x);
    auto out = shapes::empty_elementwise(x);
    auto iter = unary_iter(out, x);
    Backend::relu(iter);
    return out;
  }

  static void relu_(at::Tensor& x) {
    check_in_place("relu_", x);
    auto iter = unary_iter(x, x);
    Backend::relu(iter);
  }

  static at::Tensor relu_backward(const at::Tensor& grad, const at::Tensor& result) {
    check_grad("relu_backward", grad, result, "result");
    auto out = shapes::empty_elementwise(result);
    auto iter = binary_iter(out, grad, result);
    Backend::relu_backward(iter);
    return out;
  }

  static at::Tensor leaky_relu(const at::Tensor& x, double slope) {
    checks::floating("leaky_relu", x);
    checks::negative_slope("leaky_relu", x, slope);
    auto out = shapes::empty_elementwise(x);
    auto iter = unary_iter(out, x);
    Backend::leaky_relu(iter, slope);
    return out;
  }

  static void leaky_relu_(at::Tensor& x, double slope) {
    check_in_place("leaky_relu_", x);
    checks::negative_slope("leaky_relu_", x, slope);
    auto iter = unary_iter(x, x);
    Backend::leaky_relu(iter, slope);
  }

  static at::Tensor leaky_relu_backward(const at::Tensor& grad, const at::Tensor& x, double slope,
                                        bool self_is_result) {
    check_leaky_relu_backward(slope, self_is_result);
    check_grad("leaky_relu_backward", grad, x, "self");
    checks::negative_slope("leaky_relu_backward", x, slope);
    auto out = shapes::empty_elementwise(x);
    auto iter = binary_iter(out, grad, x);
    Backend::leaky_relu_backward(iter, slope);
    return out;
  }

  static at::Tensor prelu(const at::Tensor& x, const at::Tensor& weight) {
    checks::prelu_weight("prelu", x, weight);
    auto out = shapes::empty_elementwise(x);
    auto iter = binary_iter(out, x, shapes::prelu_broadcast_weight(x, weight));
    Backend::prelu(iter);
    return out;
  }

  static std::tuple<at::Tensor, at::Tensor> prelu_backward(const at::Tensor& grad,
                                                           const at::Tensor& x,
                                                           const at::Tensor& weight) {
    checks::prelu_weight("prelu_backward", x, weight);
    check_grad("prelu_backward", grad, x, "self");
    auto grad_input = shapes::empty_elementwise(x);
    auto grad_weight = at::empty_like(weight, at::MemoryFormat::Contiguous);
    Backend::prelu_backward(grad, x, shapes::prelu_broadcast_weight(x, weight), grad_input,
                            grad_weight);
    prelu_unreduced_weight_grad(grad, x, grad_weight);
    return {grad_input, grad_weight};
  }

  static at::Tensor abs_rectifier(const at::Tensor& x) {
    checks::floating("abs_rectifier", x);
    auto out = shapes::empty_elementwise(x);
    auto iter = unary_iter(out, x);
    Backend::abs_rectifier(iter);
    return out;
  }

  static at::Tensor abs_rectifier_backward(const at::Tensor& grad, const at::Tensor& x) {
    check_grad("abs_rectifier_backward", grad, x, "self");
    auto out = shapes::empty_elementwise(x);
    auto iter = binary_iter(out, grad, x);
    Backend::abs_rectifier_backward(iter);
    return out;
  }

  static at::Tensor maxout(const at::Tensor& x, int64_t pool_size, int64_t dim) {
    dim = checks::maxout_args("maxout", x, pool_size, dim);
    auto values = shapes::maxout_empty_output(x, pool_size, dim);
    Backend::maxout(x, pool_size, dim, values, at::Tensor());
    return values;
  }

  static std::tuple<at::Tensor, at::Tensor> maxout_with_indices(const at::Tensor& x,
                                                                int64_t pool_size, int64_t dim) {
    dim = checks::maxout_args("maxout_with_indices", x, pool_size, dim);
    auto values = shapes::maxout_empty_output(x, pool_size, dim);
    auto indices =
        shapes::maxout_empty_output(x, pool_size, dim, shapes::maxout_index_dtype(pool_size));
    Backend::maxout(x, pool_size, dim, values, indices);
    return {values, indices};
  }

  static at::Tensor maxout_backward(const at::Tensor& grad, const at::Tensor& indices,
                                    int64_t pool_size, int64_t dim) {
    dim = check_maxout_backward(grad, indices, pool_size, dim);
    at::Tensor grad_input;
    try {
      grad_input = shapes::maxout_empty_grad_input(grad, pool_size, dim);
    } catch (const c10::OutOfMemoryError& e) {
      // The size comes from pool_size, an argument: say which op asked.
      TORCH_CHECK_WITH(OutOfMemoryError, false, "rectifiers::maxout_backward: cannot allocate ",
                       "the input gradient for pool_size ", pool_size, " (grad_output shape ",
                       grad.sym_sizes(), "): ", e.what_without_backtrace());
    } catch (const c10::Error& e) {  // the CPU allocator's failure is a plain error
      TORCH_CHECK(false, "rectifiers::maxout_backward: cannot allocate the input gradient for ",
                  "pool_size ", pool_size, " (grad_output shape ", grad.sym_sizes(), "): ",
                  e.what_without_backtrace());
    }
    Backend::maxout_backward(grad, indices, pool_size, dim, grad_input);
    return grad_input;
  }
};

}  // namespace rectifiers::frontend
