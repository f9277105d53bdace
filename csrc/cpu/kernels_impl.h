// The CPU loops, compiled once per instruction set: kernels_default.cpp,
// kernels_avx2.cpp and kernels_avx512.cpp include this file after choosing
// RECTIFIERS_CPU_NS and ATen's CPU_CAPABILITY, and kernels.cpp picks one at
// run time for the CPU at hand (ATen's own choice, so ATEN_CPU_CAPABILITY
// applies too). Nothing here may be defined outside RECTIFIERS_CPU_NS.
// The elementwise loops are here; PReLU's backward and maxout are in
// prelu_kernel.h and maxout_kernel.h, included below.
#pragma once

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/cpu/vec/functional.h>
#include <ATen/cpu/vec/vec.h>
#include <ATen/native/cpu/Loops.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>
#include <vector>

#include "../common/rectifier_math.h"
#include "../common/shapes.h"
#include "table.h"

namespace rectifiers::cpu {
namespace RECTIFIERS_CPU_NS {
namespace {

using at::vec::Vectorized;

#if defined(CPU_CAPABILITY_AVX2) || defined(CPU_CAPABILITY_AVX512)
constexpr bool kSimd = true;
#else
constexpr bool kSimd = false;
#endif

#define RECTIFIERS_DISPATCH_FLOATING(TYPE, NAME, ...) \
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, TYPE, NAME, __VA_ARGS__)

// Runs `op` (scalar) / `vec_op` (SIMD) on op-math values: float16 and
// bfloat16 lanes are widened to float and the result rounded once, exactly
// as ATen's own kernels do, so results match PyTorch bit for bit.
// The baseline build's loops: where the operands are contiguous in this
// stretch (or the second input of a binary op is broadcast, as PReLU's
// weight is), plain indexed loops the compiler vectorises for the baseline
// ISA; otherwise the same with strides.
template <typename scalar_t, typename Op>
void plain_unary(at::TensorIteratorBase& iter, Op op) {
  iter.for_each([op](char** data, const int64_t* strides, int64_t n) {
    auto* out = reinterpret_cast<scalar_t*>(data[0]);
    const auto* in = reinterpret_cast<const scalar_t*>(data[1]);
    if (strides[0] == sizeof(scalar_t) && strides[1] == sizeof(scalar_t)) {
      for (int64_t i = 0; i < n; ++i) out[i] = op(in[i]);
      return;
    }
    for (int64_t i = 0; i < n; ++i) {
      *reinterpret_cast<scalar_t*>(data[0] + i * strides[0]) =
          op(*reinterpret_cast<const scalar_t*>(data[1] + i * strides[1]));
    }
  });
}

template <typename scalar_t, typename Op>
void plain_binary(at::TensorIteratorBase& iter, Op op) {
  iter.for_each([op](char** data, const int64_t* strides, int64_t n) {
    auto* out = reinterpret_cast<scalar_t*>(data[0]);
    const auto* a = reinterpret_cast<const scalar_t*>(data[1]);
    const auto* b = reinterpret_cast<const scalar_t*>(data[2]);
    constexpr int64_t one = sizeof(scalar_t);
    if (strides[0] == one && strides[1] == one && strides[2] == one) {
      for (int64_t i = 0; i < n; ++i) out[i] = op(a[i], b[i]);
      return;
    }
    if (strides[0] == one && strides[1] == one && strides[2] == 0) {
      const scalar_t b0 = b[0];
      for (int64_t i = 0; i < n; ++i) out[i] = op(a[i], b0);
      return;
    }
    for (int64_t i = 0; i < n; ++i) {
      *reinterpret_cast<scalar_t*>(data[0] + i * strides[0]) =
          op(*reinterpret_cast<const scalar_t*>(data[1] + i * strides[1]),
             *reinterpret_cast<const scalar_t*>(data[2] + i * strides[2]));
    }
  });
}

//
// Only the AVX2/AVX-512 builds take the explicit SIMD path: in the baseline
// build ATen's Vectorized emulates compares and blends lane by lane, far
// slower than the plain loop the compiler vectorises itself.
template <typename scalar_t, typename Op, typename VecOp>
void unary_loop(at::TensorIteratorBase& iter, Op op, VecOp vec_op) {
  using opmath_t = at::opmath_type<scalar_t>;
  using Vec = Vectorized<scalar_t>;
  if constexpr (!kSimd) {
    plain_unary<scalar_t>(iter, [op](scalar_t x) { return scalar_t(op(opmath_t(x))); });
  } else if constexpr (std::is_same_v<scalar_t, opmath_t>) {
    at::native::cpu_kernel_vec(
        iter, [op](scalar_t x) -> scalar_t { return op(x); }, [vec_op](Vec x) { return vec_op(x); });
  } else {
    at::native::cpu_kernel_vec(
        iter, [op](scalar_t x) -> scalar_t { return scalar_t(op(opmath_t(x))); },
        [vec_op](Vec x) {
          auto [x0, x1] = at::vec::convert_to_float<scalar_t>(x);
          return at::vec::convert_from_float<scalar_t>(vec_op(x0), vec_op(x1));
        });
  }
}

template <typename scalar_t, typename Op, typename VecOp>
void binary_loop(at::TensorIteratorBase& iter, Op op, VecOp vec_op) {
  using opmath_t = at::opmath_type<scalar_t>;
  using Vec = Vectorized<scalar_t>;
  if constexpr (!kSimd) {
    plain_binary<scalar_t>(iter, [op](scalar_t a, scalar_t b) {
      return scalar_t(op(opmath_t(a), opmath_t(b)));
    });
  } else if constexpr (std::is_same_v<scalar_t, opmath_t>) {
    at::native::cpu_kernel_vec(
        iter, [op](scalar_t a, scalar_t b) -> scalar_t { return op(a, b); },
        [vec_op](Vec a, Vec b) { return vec_op(a, b); });
  } else {
    at::native::cpu_kernel_vec(
        iter,
        [op](scalar_t a, scalar_t b) -> scalar_t { return scalar_t(op(opmath_t(a), opmath_t(b))); },
        [vec_op](Vec a, Vec b) {
          auto [a0, a1] = at::vec::convert_to_float<scalar_t>(a);
          auto [b0, b1] = at::vec::convert_to_float<scalar_t>(b);
          return at::vec::convert_from_float<scalar_t>(vec_op(a0, b0), vec_op(a1, b1));
        });
  }
}

// The SIMD twins of rectifier_math.h. blendv(a, b, mask) takes b where mask.
template <typename V>
V vec_leaky(V x, V slope) {
  return V::blendv(x * slope, x, x > V(0));
}

template <typename V>
V vec_prelu(V x, V weight) {
  return V::blendv(weight * x, x, x > V(0));
}

template <typename V>
V vec_leaky_backward(V grad, V x, V slope) {
  return V::blendv(grad * slope, grad, x > V(0));
}

}  // namespace

void relu(at::TensorIteratorBase& iter) {
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::relu", [&] {
    unary_loop<scalar_t>(
        iter, [](auto x) { return math::relu(x); },
        [](auto x) {
          using V = decltype(x);
          return V::blendv(x, V(0), x < V(0));
        });
  });
}

void relu_backward(at::TensorIteratorBase& iter) {
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::relu_backward", [&] {
    binary_loop<scalar_t>(
        iter, [](auto g, auto y) { return math::relu_backward(g, y); },
        [](auto g, auto y) {
          using V = decltype(g);
          return V::blendv(g, V(0), y <= V(0));
        });
  });
}

void leaky_relu(at::TensorIteratorBase& iter, double slope) {
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::leaky_relu", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const auto a = static_cast<opmath_t>(slope);
    unary_loop<scalar_t>(
        iter, [a](opmath_t x) { return math::leaky(x, a); },
        [a](Vectorized<opmath_t> x) { return vec_leaky(x, Vectorized<opmath_t>(a)); });
  });
}

void leaky_relu_backward(at::TensorIteratorBase& iter, double slope) {
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::leaky_relu_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const auto a = static_cast<opmath_t>(slope);
    binary_loop<scalar_t>(
        iter, [a](opmath_t g, opmath_t x) { return math::leaky_backward(g, x, a); },
        [a](Vectorized<opmath_t> g, Vectorized<opmath_t> x) {
          return vec_leaky_backward(g, x, Vectorized<opmath_t>(a));
        });
  });
}

void prelu(at::TensorIteratorBase& iter) {
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::prelu", [&] {
    binary_loop<scalar_t>(
        iter, [](auto x, auto w) { return math::prelu(x, w); },
        [](auto x, auto w) { return vec_prelu(x, w); });
  });
}

void abs_rectifier(at::TensorIteratorBase& iter) {
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::abs_rectifier", [&] {
    if constexpr (kSimd) {
      // |x| is exact in every dtype: clear the sign bits in the storage type,
      // as ATen's abs does, rather than round-trip float16/bfloat16 through
      // float (0.73x native at 1M bfloat16 elements that way).
      at::native::cpu_kernel_vec(
          iter, [](scalar_t x) -> scalar_t { return math::abs_rectifier(x); },
          [](Vectorized<scalar_t> x) { return x.abs(); });
    } else {
      unary_loop<scalar_t>(
          iter, [](auto x) { return math::abs_rectifier(x); }, [](auto x) { return x.abs(); });
    }
  });
}

void abs_rectifier_backward(at::TensorIteratorBase& iter) {
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::abs_rectifier_backward", [&] {
    binary_loop<scalar_t>(
        iter, [](auto g, auto x) { return math::abs_rectifier_backward(g, x); },
        [](auto g, auto x) {
          using V = decltype(g);
          const V zero(0), one(1);
          return g * (V::blendv(zero, one, zero < x) - V::blendv(zero, one, x < zero));
        });
  });
}

}  // namespace RECTIFIERS_CPU_NS
}  // namespace rectifiers::cpu

#include "maxout_kernel.h"
#include "prelu_kernel.h"

namespace rectifiers::cpu {

const Table& RECTIFIERS_CPU_TABLE() {
  namespace k = RECTIFIERS_CPU_NS;
  static const Table table{&k::relu,
                           &k::relu_backward,
                           &k::leaky_relu,
                           &k::leaky_relu_backward,
                           &k::prelu,
                           &k::prelu_backward,
                           &k::abs_rectifier,
                           &k::abs_rectifier_backward,
                           &k::maxout,
                           &k::maxout_backward};
  return table;
}

}  // namespace rectifiers::cpu
