// What every op's Autograd kernel (ops/autograd/<op>_kernel.cpp) shares.
// Each Function's forward calls the op below autograd; its backward calls
// the backward op through the dispatcher, so with create_graph=True the
// backward op's own Function records the graph for the second derivative.
// In C++, so that a model loaded from C++ trains without Python.
#pragma once

#include <ATen/ATen.h>
#include <torch/autograd.h>
#include <torch/csrc/autograd/VariableTypeUtils.h>
#include <torch/library.h>

#include <initializer_list>

#include "checks.h"

namespace rectifiers::autograd {

using at::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::Function;
using torch::autograd::variable_list;

// A zero gradient for an input the backward formula does not depend on.
inline const Tensor kNoGrad;

// The checks of VariableType's in-place kernels (can_mutate_inplace), made
// before writing so that a refused call leaves the input as it was.
inline void check_can_mutate(const char* op, const Tensor& x) {
  using torch::autograd::can_mutate_inplace_result;
  switch (torch::autograd::can_mutate_inplace(x, x.requires_grad())) {
    case can_mutate_inplace_result::success:
      return;
    case can_mutate_inplace_result::is_leaf:
      TORCH_CHECK(false, "rectifiers::", op,
                  ": a leaf Variable that requires grad is being used in an in-place operation");
    case can_mutate_inplace_result::view_of_leaf:
      TORCH_CHECK(false, "rectifiers::", op,
                  ": a view of a leaf Variable that requires grad is being used in an in-place "
                  "operation");
    case can_mutate_inplace_result::non_default_backward_view:
      // A view from a multi-output op, no_grad or a custom Function: the
      // error (or warning) is autograd's own, prefixed with the op.
      try {
        torch::autograd::handle_view_on_rebase(torch::autograd::impl::get_view_autograd_meta(x));
      } catch (const c10::Error& e) {
        TORCH_CHECK(false, "rectifiers::", op, ": ", e.what_without_backtrace());
      }
      return;
  }
}

// Autograd reads every input's device before the op's own checks run, so
// undefined and non-strided tensors are refused here, by name. Forward-mode
// AD is not implemented yet: a call whose input carries a tangent is refused
// rather than returning a result without one.
struct Input {
  const char* name;
  const Tensor& tensor;
};

inline void check_inputs(const char* op, std::initializer_list<Input> inputs) {
  for (const auto& input : inputs) checks::strided(op, input.tensor, input.name);
  for (const auto& input : inputs) {
    TORCH_CHECK(!input.tensor._fw_grad(/*level=*/0).defined(), "rectifiers::", op, ": ",
                input.name,
                " carries a forward-mode tangent (torch.func.jvp, jacfwd, "
                "torch.autograd.forward_ad), which this op does not support yet");
  }
}

// Nothing to record: call the kernel directly and skip building a graph node
// (the per-call overhead that dominates small tensors).
template <typename... Tensors>
bool records(const Tensors&... inputs) {
  return at::GradMode::is_enabled() && (inputs.requires_grad() || ...);
}

template <typename Call>
auto below_autograd(Call call) {
  at::AutoDispatchBelowADInplaceOrView guard;
  return call();
}

// The kernel for the ADInplaceOrView key of an in-place op, reached instead
// of the Autograd kernel only where autograd is off but version counters
// still matter (a normal tensor inside inference_mode): bump the version as
// PyTorch's in-place ops do, so a later backward that saved the old values
// fails loudly instead of using the new ones.
template <typename Call>
void in_place_bumping_version(Tensor& x, Call call) {
  {
    at::AutoDispatchBelowADInplaceOrView guard;
    call();
  }
  torch::autograd::impl::bump_version(x);
}

}  // namespace rectifiers::autograd
