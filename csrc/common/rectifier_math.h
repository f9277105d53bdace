// Scalar definitions of every rectifier and its derivative, shared by the CPU
// and CUDA kernels. Each follows the seed's unifying form
//   h(z) = max(0, z) + a * min(0, z)
// but is written the way the matching ATen kernel writes it, because the
// contract is bitwise equality with PyTorch: the order of the comparison and
// the multiplication decides the sign of zero and what NaN produces.
//
// All functions take and return `T`, the op-math type (float for
// float16/bfloat16/float32, double for float64), as ATen's kernels do.
// Products are computed unconditionally and then selected: under the default
// -ftrapping-math a compiler will not speculate a multiply that sits inside
// one arm of a branch, so the branchy form cannot be vectorised.
#pragma once

#include <c10/macros/Macros.h>
#include <algorithm>
#include <cmath>

namespace rectifiers::math {

// torch.relu is clamp_min(x, 0): -0 stays -0, NaN stays NaN, negatives give +0.
template <typename T>
C10_HOST_DEVICE inline T relu(T x) {
  return x < T(0) ? T(0) : x;
}

// threshold_backward(grad, result, 0): the derivative at 0 is 0; NaN passes.
template <typename T>
C10_HOST_DEVICE inline T relu_backward(T grad, T result) {
  return result <= T(0) ? T(0) : grad;
}

// F.leaky_relu and F.prelu (slope = a): `x > 0 ? x : x * a`.
template <typename T>
C10_HOST_DEVICE inline T leaky(T x, T slope) {
  const T scaled = x * slope;
  return x > T(0) ? x : scaled;
}

// d/dx at 0 (and for NaN) is the slope, as in ATen.
template <typename T>
C10_HOST_DEVICE inline T leaky_backward(T grad, T x, T slope) {
  const T scaled = grad * slope;
  return x > T(0) ? grad : scaled;
}

// F.prelu: the same form with the product written `weight * x`, as ATen's
// kernel writes it. Where both are NaN, x86 returns the first operand's NaN,
// so the result carries the weight's sign.
template <typename T>
C10_HOST_DEVICE inline T prelu(T x, T weight) {
  const T scaled = weight * x;
  return x > T(0) ? x : scaled;
}

// PReLU's input gradient: `weight * grad` for x <= 0 (and NaN), as ATen.
template <typename T>
C10_HOST_DEVICE inline T prelu_backward(T grad, T x, T weight) {
  const T scaled = weight * grad;
  return x > T(0) ? grad : scaled;
}

// Per-element contribution to PReLU's weight gradient (summed by the caller).
template <typename T>
C10_HOST_DEVICE inline T prelu_weight_grad(T grad, T x) {
  const T product = x * grad;
  return x > T(0) ? T(0) : product;
}

// The absolute-value rectifier: a = -1. Clearing the sign bit, as torch.abs
// does, gives +0 for -0 and a NaN without its sign.
template <typename T>
C10_HOST_DEVICE inline T abs_rectifier(T x) {
  return std::abs(x);
}

// torch.abs backward is grad * sgn(x), with sgn(0) = sgn(NaN) = 0.
template <typename T>
C10_HOST_DEVICE inline T abs_rectifier_backward(T grad, T x) {
  return grad * (T(T(0) < x) - T(x < T(0)));
}

// torch.max's choice: a NaN wins over everything, the first maximum wins ties.
// Bitwise & and |, not && and ||: under -ftrapping-math the compiler may not
// evaluate a skipped comparison speculatively, so short-circuits become
// branches and the CPU loops are not vectorised.
template <typename T>
C10_HOST_DEVICE inline bool maxout_takes(T candidate, T best) {
  return !(best != best) & ((candidate > best) | (candidate != candidate));
}

// F.relu6 is clamp(x, 0, 6), written as ATen's CPU clamp: -0 and NaN pass.
template <typename T>
C10_HOST_DEVICE inline T relu6(T x) {
  return std::min(std::max(x, T(0)), T(6));
}

// hardtanh_backward(grad, x, 0, 6): 0 at both kinks and outside; NaN passes.
template <typename T>
C10_HOST_DEVICE inline T relu6_backward(T grad, T x) {
  return (x <= T(0) || x >= T(6)) ? T(0) : grad;
}

// The ELU family's derivative, ATen's elu_backward. The family is ATen's one
// elu with three coefficients, x > 0 ? x * scale : expm1(x * input_scale) *
// alpha * scale (elu: scale = input_scale = 1; celu: input_scale = 1 / alpha;
// selu: fixed alpha and scale), whose CPU forward is ATen's own code
// (ATen/native/cpu/Elu.h). The derivative is taken from the input, or after
// an in-place op (is_result) from the result, whose negative side
// expm1(..) * negcoef makes it input_scale * (result + negcoef) there; at 0
// it is the negative side's, as in ATen. The caller passes alpha * scale
// (negcoef), scale (poscoef) and input_scale (negiptcoef), each rounded to T
// first, as ATen does.
template <typename T>
C10_HOST_DEVICE inline T elu_backward(T grad, T x_or_result, T negcoef, T poscoef, T negiptcoef,
                                      bool is_result) {
  if (is_result) {
    return x_or_result <= T(0) ? grad * negiptcoef * (x_or_result + negcoef) : grad * poscoef;
  }
  return x_or_result <= T(0) ? grad * negiptcoef * negcoef * std::exp(x_or_result * negiptcoef)
                             : grad * poscoef;
}

}  // namespace rectifiers::math
