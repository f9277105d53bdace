// The frontend of the elementwise ops (relu, leaky_relu, abs_rectifier, the
// forward of prelu and the backward ops of all of them): check, allocate the
// output in the input's layout, build the TensorIterator (out first, then
// the inputs in schema order) and run the device's loop.
#pragma once

#include <ATen/TensorIterator.h>

#include "checks.h"
#include "shapes.h"

namespace rectifiers::elementwise {

// A forward op's output, after checking its input.
inline at::Tensor output_for(const char* op, const at::Tensor& x) {
  checks::floating(op, x);
  return shapes::empty_elementwise(x);
}

// A backward op's output, after checking grad_output against the tensor
// (named `x_arg`) it is the gradient of.
inline at::Tensor grad_output_for(const char* op, const at::Tensor& grad, const at::Tensor& x,
                                  const char* x_arg) {
  checks::grad_like(op, grad, x, x_arg);
  return shapes::empty_elementwise(x);
}

// The checks of an in-place op, made before anything is written.
inline void check_in_place(const char* op, const at::Tensor& x) {
  checks::floating(op, x);
  checks::writable_in_place(op, x);
}

// Runs `stub`'s loop for out's device; a Meta output has no loop to run.
template <typename Stub, typename... Scalars>
void run_unary(Stub& stub, const at::Tensor& out, const at::Tensor& x, Scalars... scalars) {
  if (out.is_meta()) return;
  auto iter = at::TensorIteratorConfig().add_output(out).add_const_input(x).build();
  stub(iter.device_type(), iter, scalars...);
}

template <typename Stub, typename... Scalars>
void run_binary(Stub& stub, const at::Tensor& out, const at::Tensor& a, const at::Tensor& b,
                Scalars... scalars) {
  if (out.is_meta()) return;
  auto iter =
      at::TensorIteratorConfig().add_output(out).add_const_input(a).add_const_input(b).build();
  stub(iter.device_type(), iter, scalars...);
}

}  // namespace rectifiers::elementwise
