// The loops a backend supplies to the frontend (common/frontend.h), declared
// once: each backend writes `struct Kernels { RECTIFIERS_BACKEND_LOOPS };`
// and defines these functions for its device.
#pragma once

#include <ATen/TensorIterator.h>
#include <ATen/core/Tensor.h>

#define RECTIFIERS_BACKEND_LOOPS                                                              \
  static void relu(at::TensorIteratorBase& iter);                                            \
  static void relu_backward(at::TensorIteratorBase& iter);                                   \
  static void leaky_relu(at::TensorIteratorBase& iter, double slope);                        \
  static void leaky_relu_backward(at::TensorIteratorBase& iter, double slope);               \
  static void prelu(at::TensorIteratorBase& iter);                                           \
  static void prelu_backward(const at::Tensor& grad, const at::Tensor& x,                    \
                             const at::Tensor& weight_b, at::Tensor& grad_input,             \
                             at::Tensor& grad_weight);                                       \
  static void abs_rectifier(at::TensorIteratorBase& iter);                                   \
  static void abs_rectifier_backward(at::TensorIteratorBase& iter);                          \
  static void maxout(const at::Tensor& x, int64_t pool_size, int64_t dim, at::Tensor& values, \
                     const at::Tensor& indices);                                             \
  static void maxout_backward(const at::Tensor& grad, const at::Tensor& indices,             \
                              int64_t pool_size, int64_t dim, at::Tensor& grad_input);
