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

// Whether an out-of-place CPU forward runs its dense stub (see
// cpu/loops.h, dense_forward_through_float): a float16/bfloat16 input, dense,
// with out laid out as it.
inline bool runs_dense(const at::Tensor& out, const at::Tensor& x) {
  return x.is_cpu() && at::isReducedFloatingType(x.scalar_type()) && x.numel() > 0 &&
         x.is_non_overlapping_and_dense() && out.strides() == x.strides();
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

// For the ops whose result depends on where ATen's loop runs vectorised (see
// cpu/loops.h, aten_unary_loop): the output is the one TensorIterator lays
// out for these inputs, as for torch's own kernels, so that the loop visits
// the elements in torch's order. TensorIterator takes no symbolic shapes:
// there (Meta under torch.compile, nothing to run) the output is laid out
// like the first input, which is TensorIterator's layout for dense inputs of
// one layout. The caller has checked the inputs.
inline bool symbolic(const at::Tensor& t) {
  return t.unsafeGetTensorImpl()->has_symbolic_sizes_strides();
}

template <typename Stub, typename... Scalars>
at::Tensor unary_as_aten(Stub& stub, const at::Tensor& x, Scalars... scalars) {
  if (symbolic(x)) return shapes::empty_elementwise(x);
  auto iter = at::TensorIteratorConfig().add_owned_output(at::Tensor()).add_const_input(x).build();
  if (!x.is_meta()) stub(iter.device_type(), iter, scalars...);
  return iter.output();
}

template <typename Stub, typename... Scalars>
at::Tensor binary_as_aten(Stub& stub, const at::Tensor& a, const at::Tensor& b,
                          Scalars... scalars) {
  if (symbolic(a) || symbolic(b)) return shapes::empty_elementwise(a);
  auto iter = at::TensorIteratorConfig()
                  .add_owned_output(at::Tensor())
                  .add_const_input(a)
                  .add_const_input(b)
                  .build();
  if (!a.is_meta()) stub(iter.device_type(), iter, scalars...);
  return iter.output();
}

}  // namespace rectifiers::elementwise
