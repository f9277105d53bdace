// Registration helpers of the op files (ops/<op>.cpp).
#pragma once

#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/library.h>

// An op's kernel is one function for every device: it checks the arguments,
// allocates the outputs and calls the device's loop through its stub (on
// Meta there is no loop: the checks and the outputs are all of it), so the
// Meta kernel cannot drift from the real ones. This registers the function
// `register_fn(torch::Library&)` fills in for CPU, Meta and, in a CUDA build,
// CUDA.
#ifdef RECTIFIERS_WITH_CUDA
#define RECTIFIERS_DEVICE_KERNELS_CUDA(register_fn) \
  TORCH_LIBRARY_IMPL(rectifiers, CUDA, m) { register_fn(m); }
#else
#define RECTIFIERS_DEVICE_KERNELS_CUDA(register_fn)
#endif

#define RECTIFIERS_DEVICE_KERNELS(register_fn)                  \
  TORCH_LIBRARY_IMPL(rectifiers, CPU, m) { register_fn(m); }    \
  TORCH_LIBRARY_IMPL(rectifiers, Meta, m) { register_fn(m); }   \
  RECTIFIERS_DEVICE_KERNELS_CUDA(register_fn)

namespace rectifiers {

// The typed handle of `rectifiers::<name>` for the public C++ API, which
// calls each op through the dispatcher so that autograd, device dispatch
// and tracing all apply.
template <typename Signature>
c10::TypedOperatorHandle<Signature> op_handle(const char* name) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, "").typed<Signature>();
}

}  // namespace rectifiers
