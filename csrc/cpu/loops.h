// The CPU elementwise loops every op's CPU kernel runs on. Included only by
// the kernel files (ops/cpu/<op>_kernel.cpp), each compiled once per
// instruction set: everything here lives in the namespace named after that
// set (CPU_CAPABILITY), as ATen's vectorised code does, so the builds never
// share a definition.
#pragma once

#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/TensorIterator.h>
#include <ATen/core/Tensor.h>
#include <ATen/cpu/vec/functional.h>
#include <ATen/cpu/vec/vec.h>
#include <ATen/native/cpu/Loops.h>

#include <algorithm>
#include <atomic>
#include <type_traits>

#include "../common/dispatch.h"
#include "../common/rectifier_math.h"
#include "../common/stub.h"

#ifndef CPU_CAPABILITY
#error "cpu/loops.h is for the kernel files compiled per instruction set (CPU_CAPABILITY)"
#endif

namespace rectifiers::cpu {
inline namespace CPU_CAPABILITY {

using at::vec::Vectorized;

#if defined(CPU_CAPABILITY_AVX2) || defined(CPU_CAPABILITY_AVX512)
constexpr bool kSimd = true;
#else
constexpr bool kSimd = false;
#endif

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

// `op` / `vec_op` (of one or two arguments) on op-math values: float16 and
// bfloat16 are widened to float (a vector to two) and the result rounded
// once, as ATen's kernels do. ATen's loops read the argument types, so each
// arity is written out.
template <typename scalar_t, int arity, typename Op>
auto scalar_on_opmath(Op op) {
  using opmath_t = at::opmath_type<scalar_t>;
  static_assert(arity == 1 || arity == 2);
  if constexpr (arity == 1) {
    return [op](scalar_t a) -> scalar_t { return scalar_t(op(opmath_t(a))); };
  } else {
    return [op](scalar_t a, scalar_t b) -> scalar_t { return scalar_t(op(opmath_t(a), opmath_t(b))); };
  }
}

template <typename scalar_t, int arity, typename VecOp>
auto vec_on_opmath(VecOp vec_op) {
  using Vec = Vectorized<scalar_t>;
  static_assert(arity == 1 || arity == 2);
  if constexpr (std::is_same_v<scalar_t, at::opmath_type<scalar_t>>) {
    if constexpr (arity == 1) {
      return [vec_op](Vec a) -> Vec { return vec_op(a); };
    } else {
      return [vec_op](Vec a, Vec b) -> Vec { return vec_op(a, b); };
    }
  } else if constexpr (arity == 1) {
    return [vec_op](Vec a) -> Vec {
      auto [a0, a1] = at::vec::convert_to_float<scalar_t>(a);
      return at::vec::convert_from_float<scalar_t>(vec_op(a0), vec_op(a1));
    };
  } else {
    return [vec_op](Vec a, Vec b) -> Vec {
      auto [a0, a1] = at::vec::convert_to_float<scalar_t>(a);
      auto [b0, b1] = at::vec::convert_to_float<scalar_t>(b);
      return at::vec::convert_from_float<scalar_t>(vec_op(a0, b0), vec_op(a1, b1));
    };
  }
}

// ATen's own loop (cpu_kernel_vec: `vec_op` on whole vectors, `op` on the
// rest) on op-math values. The ops whose ATen kernel gives different results
// in its SIMD body and its scalar tail (elu's NaN, expm1's rounding) call it
// in every build: only the same loop with the same split matches PyTorch
// bit for bit.
template <typename scalar_t, typename Op, typename VecOp>
void aten_unary_loop(at::TensorIteratorBase& iter, Op op, VecOp vec_op) {
  at::native::cpu_kernel_vec(iter, scalar_on_opmath<scalar_t, 1>(op),
                             vec_on_opmath<scalar_t, 1>(vec_op));
}

template <typename scalar_t, typename Op, typename VecOp>
void aten_binary_loop(at::TensorIteratorBase& iter, Op op, VecOp vec_op) {
  at::native::cpu_kernel_vec(iter, scalar_on_opmath<scalar_t, 2>(op),
                             vec_on_opmath<scalar_t, 2>(vec_op));
}

// The loop of an op whose SIMD and scalar forms agree on every input: ATen's
// loop in the AVX2/AVX-512 builds; in the baseline build ATen's Vectorized
// emulates compares and blends lane by lane, far slower than the plain loop
// the compiler vectorises itself, so that build runs `op` in a plain loop.
template <typename scalar_t, typename Op, typename VecOp>
void unary_loop(at::TensorIteratorBase& iter, Op op, VecOp vec_op) {
  if constexpr (!kSimd) {
    plain_unary<scalar_t>(iter, scalar_on_opmath<scalar_t, 1>(op));
  } else {
    aten_unary_loop<scalar_t>(iter, op, vec_op);
  }
}

template <typename scalar_t, typename Op, typename VecOp>
void binary_loop(at::TensorIteratorBase& iter, Op op, VecOp vec_op) {
  if constexpr (!kSimd) {
    plain_binary<scalar_t>(iter, scalar_on_opmath<scalar_t, 2>(op));
  } else {
    aten_binary_loop<scalar_t>(iter, op, vec_op);
  }
}

// An out-of-place float16/bfloat16 forward over a dense input, out laid out
// as the input (the dense stubs): one pass through float in this build's
// instruction set, vec_value on float vectors. Its values are any loop's but
// a NaN's, whose bits torch's loops give by where they run vectorised (the
// vector body and the scalar tail encode it differently): where a value is
// NaN, values(iter) runs the op's own loop through its stub (which runs the
// instruction set torch's twin runs) once more. ATen registers no AVX-512
// kernel for these ops' twins, so on such a CPU torch's own loop is the AVX2
// one; this pass is not. The baseline build runs values(iter) alone.
template <typename scalar_t, typename VecValue, typename Values>
void dense_forward_through_float(const at::Tensor& x, const at::Tensor& out, VecValue vec_value,
                                 Values values) {
  const auto values_through_stub = [&] {
    auto iter = at::TensorIteratorConfig().add_output(out).add_const_input(x).build();
    values(iter);
  };
  if constexpr (!kSimd || !at::is_reduced_floating_point_v<scalar_t>) {
    values_through_stub();
  } else {
    using Vec = Vectorized<scalar_t>;
    using FloatVec = Vectorized<float>;
    constexpr int lanes = Vec::size();
    const auto* in = x.const_data_ptr<scalar_t>();
    auto* o = out.mutable_data_ptr<scalar_t>();
    std::atomic<bool> any_nan{false};
    at::parallel_for(0, x.numel(), at::internal::GRAIN_SIZE, [&](int64_t begin, int64_t end) {
      FloatVec nan(0);
      const auto run = [&](int64_t i, int64_t count) {
        const auto [low, high] = at::vec::convert_to_float<scalar_t>(Vec::loadu(in + i, count));
        const auto low_value = vec_value(low);
        const auto high_value = vec_value(high);
        at::vec::convert_from_float<scalar_t>(low_value, high_value).store(o + i, count);
        nan = nan | low_value.isnan() | high_value.isnan();
      };
      int64_t i = begin;
      for (; i + lanes <= end; i += lanes) run(i, lanes);
      if (i < end) run(i, end - i);  // the lanes past the end hold 0, whose value is not NaN here
      if (nan.zero_mask() != (1 << FloatVec::size()) - 1) any_nan.store(true, std::memory_order_relaxed);
    });
    if (any_nan.load()) values_through_stub();
  }
}

}  // namespace CPU_CAPABILITY
}  // namespace rectifiers::cpu
