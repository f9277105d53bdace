// The CPU loops, compiled once per instruction set: kernels_default.cpp,
// kernels_avx2.cpp and kernels_avx512.cpp include this file after choosing
// RECTIFIERS_CPU_NS and ATen's CPU_CAPABILITY, and kernels.cpp picks one at
// run time for the CPU at hand (ATen's own choice, so ATEN_CPU_CAPABILITY
// applies too). Nothing here may be defined outside RECTIFIERS_CPU_NS.
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

// Fused PReLU backward for operands that share one dense memory order: one
// pass reads grad and x once, writes grad_input and sums the weight gradient.
// The work is cut into pieces whose boundaries depend only on the shape (not
// on the thread count); each piece sums in a fixed order into its own slot of
// `partial`, and the slots are added in order. Same bits for any threads.
//
// Sums are cascaded, as ATen's reductions are: short runs go into fresh
// lanes, and the runs' totals into a Cascade, so a partial sum never grows
// far beyond the values added to it and the error stays logarithmic in the
// number of elements (a single running sum over a large plane loses the
// small values entirely).
namespace fused_prelu {

// Lanes of independent partial sums in a row reduction: enough for the
// compiler to vectorise the loop, fixed so the summation order is too.
constexpr int64_t kLanes = 16;
// Elements a row reduction sums into fresh lanes before the cascade.
constexpr int64_t kRun = kLanes * 16;
// Rows of channels-innermost data summed per channel before the cascade.
constexpr int64_t kRowRun = 16;
// Elements per piece.
constexpr int64_t kPieceElements = 1 << 14;

// `width` independent sums (one per channel) on one schedule: each value
// goes into level 0, and every kFan additions a level is added into the next
// and cleared.
template <typename T>
class Cascade {
 public:
  explicit Cascade(int64_t width) : width_(width), levels_(kLevels * width, T(0)) {}

  void reset() {
    std::fill(levels_.begin(), levels_.end(), T(0));
    std::fill(std::begin(counts_), std::end(counts_), 0);
  }

  void add(const T* values) {
    T* level0 = levels_.data();
    for (int64_t c = 0; c < width_; ++c) level0[c] += values[c];
    for (int l = 0; l + 1 < kLevels && ++counts_[l] == kFan; ++l) {
      T* from = levels_.data() + l * width_;
      T* to = from + width_;
      for (int64_t c = 0; c < width_; ++c) {
        to[c] += from[c];
        from[c] = T(0);
      }
      counts_[l] = 0;
    }
  }

  void add(T value) { add(&value); }

  void total(T* out) const {
    for (int64_t c = 0; c < width_; ++c) {
      T sum = levels_[(kLevels - 1) * width_ + c];
      for (int l = kLevels - 2; l >= 0; --l) sum += levels_[l * width_ + c];
      out[c] = sum;
    }
  }

  T total() const {
    T sum;
    total(&sum);
    return sum;
  }

 private:
  static constexpr int kLevels = 8;
  static constexpr int kFan = 16;
  int64_t width_;
  std::vector<T> levels_;
  int counts_[kLevels] = {};
};

// grad_input for n elements sharing weight w; returns their weight-gradient sum.
template <typename scalar_t, typename opmath_t>
opmath_t row(const scalar_t* __restrict__ g, const scalar_t* __restrict__ x,
             scalar_t* __restrict__ gi, opmath_t w, int64_t n, Cascade<opmath_t>& sum) {
  sum.reset();
  for (int64_t start = 0; start < n; start += kRun) {
    const int64_t len = std::min(kRun, n - start);
    opmath_t lanes[kLanes] = {};
    int64_t i = start;
    for (; i + kLanes <= start + len; i += kLanes) {
      for (int64_t j = 0; j < kLanes; ++j) {
        const opmath_t gv = g[i + j], xv = x[i + j];
        gi[i + j] = scalar_t(math::prelu_backward(gv, xv, w));
        lanes[j] += math::prelu_weight_grad(gv, xv);
      }
    }
    for (int64_t j = 0; i < start + len; ++i, ++j) {
      const opmath_t gv = g[i], xv = x[i];
      gi[i] = scalar_t(math::prelu_backward(gv, xv, w));
      lanes[j] += math::prelu_weight_grad(gv, xv);
    }
    opmath_t run = 0;
    for (int64_t j = 0; j < kLanes; ++j) run += lanes[j];
    sum.add(run);
  }
  return sum.total();
}

// Adds the per-slot partial sums (laid out [slot][channel]) slot by slot,
// so the result does not depend on how the slots were shared out.
template <typename scalar_t, typename opmath_t>
void sum_slots(const std::vector<opmath_t>& partial, int64_t slots, int64_t channels,
               scalar_t* grad_weight) {
  Cascade<opmath_t> sum(channels);
  for (int64_t slot = 0; slot < slots; ++slot) sum.add(partial.data() + slot * channels);
  std::vector<opmath_t> total(channels);
  sum.total(total.data());
  for (int64_t c = 0; c < channels; ++c) grad_weight[c] = scalar_t(total[c]);
}

// Channels outermost-but-one: rows of `inner` elements share a channel.
// partial has one slot per row; the per-channel sums add rows in order.
template <typename scalar_t>
void rows_per_channel(const scalar_t* g, const scalar_t* x, const scalar_t* w, scalar_t* gi,
                      scalar_t* grad_weight, int64_t outer, int64_t channels, int64_t inner) {
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t rows = outer * channels;
  std::vector<opmath_t> partial(rows);
  const int64_t grain = std::max<int64_t>(1, at::internal::GRAIN_SIZE / std::max<int64_t>(inner, 1));
  at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
    Cascade<opmath_t> sum(1);
    for (int64_t r = begin; r < end; ++r) {
      const int64_t at_row = r * inner;
      partial[r] = row<scalar_t, opmath_t>(g + at_row, x + at_row, gi + at_row,
                                           opmath_t(w[r % channels]), inner, sum);
    }
  });
  sum_slots(partial, outer, channels, grad_weight);
}

// Channels innermost: each row holds one element per channel. Pieces of
// whole rows; each piece keeps one sum per channel.
template <typename scalar_t>
void channels_innermost(const scalar_t* g, const scalar_t* x, const scalar_t* w, scalar_t* gi,
                        scalar_t* grad_weight, int64_t rows, int64_t channels) {
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t rows_per_piece = std::max<int64_t>(1, kPieceElements / channels);
  const int64_t pieces = (rows + rows_per_piece - 1) / rows_per_piece;
  std::vector<opmath_t> partial(pieces * channels, opmath_t(0));
  std::vector<opmath_t> weight(w, w + channels);
  at::parallel_for(0, pieces, 1, [&](int64_t begin, int64_t end) {
    Cascade<opmath_t> sum(channels);
    std::vector<opmath_t> run(channels);
    for (int64_t p = begin; p < end; ++p) {
      sum.reset();
      const int64_t last = std::min(rows, (p + 1) * rows_per_piece);
      for (int64_t r0 = p * rows_per_piece; r0 < last; r0 += kRowRun) {
        std::fill(run.begin(), run.end(), opmath_t(0));
        for (int64_t r = r0; r < std::min(last, r0 + kRowRun); ++r) {
          const int64_t at_row = r * channels;
          for (int64_t c = 0; c < channels; ++c) {
            const opmath_t gv = g[at_row + c], xv = x[at_row + c];
            gi[at_row + c] = scalar_t(math::prelu_backward(gv, xv, weight[c]));
            run[c] += math::prelu_weight_grad(gv, xv);
          }
        }
        sum.add(run.data());
      }
      sum.total(partial.data() + p * channels);
    }
  });
  sum_slots(partial, pieces, channels, grad_weight);
}

// One shared weight: the flat array in pieces of kPieceElements (the last
// one shorter), summed piece by piece in order.
template <typename scalar_t>
void one_channel(const scalar_t* g, const scalar_t* x, const scalar_t* w, scalar_t* gi,
                 scalar_t* grad_weight, int64_t n) {
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t pieces = (n + kPieceElements - 1) / kPieceElements;
  std::vector<opmath_t> partial(pieces);
  const opmath_t weight = w[0];
  at::parallel_for(0, pieces, std::max<int64_t>(1, at::internal::GRAIN_SIZE / kPieceElements),
                   [&](int64_t begin, int64_t end) {
                     Cascade<opmath_t> sum(1);
                     for (int64_t p = begin; p < end; ++p) {
                       const int64_t start = p * kPieceElements;
                       partial[p] = row<scalar_t, opmath_t>(
                           g + start, x + start, gi + start, weight,
                           std::min(kPieceElements, n - start), sum);
                     }
                   });
  sum_slots(partial, pieces, int64_t(1), grad_weight);
}

// The memory order all three tensors share, if any: contiguous or channels_last.
std::optional<at::MemoryFormat> shared_format(const at::Tensor& a, const at::Tensor& b,
                                              const at::Tensor& c) {
  for (auto format : {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast,
                      at::MemoryFormat::ChannelsLast3d}) {
    if (format == at::MemoryFormat::ChannelsLast && a.dim() != 4) continue;
    if (format == at::MemoryFormat::ChannelsLast3d && a.dim() != 5) continue;
    if (a.is_contiguous(format) && b.is_contiguous(format) && c.is_contiguous(format)) {
      return format;
    }
  }
  return std::nullopt;
}

}  // namespace fused_prelu

void prelu_backward(const at::Tensor& grad, const at::Tensor& x,
                             const at::Tensor& weight_b, at::Tensor& grad_input,
                             at::Tensor& grad_weight) {
  const auto format = fused_prelu::shared_format(grad, x, grad_input);
  if (format && x.numel() > 0) {
    const bool shared_weight = weight_b.numel() == 1;
    const auto w = weight_b.contiguous();
    RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::prelu_backward", [&] {
      const auto* g = grad.const_data_ptr<scalar_t>();
      const auto* xp = x.const_data_ptr<scalar_t>();
      auto* gi = grad_input.mutable_data_ptr<scalar_t>();
      auto* gw = grad_weight.mutable_data_ptr<scalar_t>();
      const int64_t n = x.numel();
      if (shared_weight) {
        fused_prelu::one_channel<scalar_t>(g, xp, w.const_data_ptr<scalar_t>(), gi, gw, n);
        return;
      }
      const int64_t channels = x.size(1);
      const int64_t inner = *format == at::MemoryFormat::Contiguous ? x.stride(1) : 1;
      if (inner == 1) {
        fused_prelu::channels_innermost<scalar_t>(g, xp, w.const_data_ptr<scalar_t>(), gi, gw,
                                                  n / channels, channels);
      } else {
        fused_prelu::rows_per_channel<scalar_t>(g, xp, w.const_data_ptr<scalar_t>(), gi, gw,
                                                n / (channels * inner), channels, inner);
      }
    });
    return;
  }
  // Any other strides: per-element weight gradient, then a reduction.
  auto grad_weight_full = at::empty_like(x, at::MemoryFormat::Preserve);
  auto iter = at::TensorIteratorConfig()
                  .add_output(grad_input)
                  .add_output(grad_weight_full)
                  .add_const_input(grad)
                  .add_const_input(x)
                  .add_const_input(weight_b)
                  .build();
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::prelu_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    at::native::cpu_kernel_multiple_outputs(
        iter, [](scalar_t g, scalar_t xv, scalar_t w) -> std::tuple<scalar_t, scalar_t> {
          const opmath_t gf = g, xf = xv, wf = w;
          return {scalar_t(math::prelu_backward(gf, xf, wf)),
                  scalar_t(math::prelu_weight_grad(gf, xf))};
        });
  });
  grad_weight.copy_(shapes::prelu_reduce_to_weight(grad_weight_full, x, grad_weight));
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

namespace {

// Maxout walks the output with a TensorIterator over "plane 0" of the input
// (the first element of every group, a strided view shaped like the output);
// the other k-1 members of a group sit at fixed byte offsets from it. This
// handles any strides with no copy.
at::Tensor group_plane(const at::Tensor& t, int64_t pool_size, int64_t dim, int64_t& step) {
  auto grouped = t.unflatten(dim, {t.size(dim) / pool_size, pool_size});
  step = grouped.stride(dim + 1) * static_cast<int64_t>(t.element_size());
  return grouped.select(dim + 1, 0);
}

}  // namespace

// maxout_backward's indices come from the caller, so each must name a member
// of its group: a branch-free scan of a run of them (it vectorises), and the
// first bad one named only when there is one.
template <typename index_t>
[[noreturn]] C10_NOINLINE void bad_position(const index_t* p, int64_t n, int64_t k) {
  int64_t i = 0;
  while (i + 1 < n && static_cast<int64_t>(p[i]) >= 0 && static_cast<int64_t>(p[i]) < k) ++i;
  TORCH_CHECK(false, "rectifiers::maxout_backward: indices must be positions inside a group, in "
              "[0, pool_size) = [0, ", k, "), but got ", static_cast<int64_t>(p[i]));
}

template <typename index_t>
void check_positions(const index_t* p, int64_t n, int64_t k) {
  bool bad = false;
  for (int64_t i = 0; i < n; ++i) {
    bad |= static_cast<uint64_t>(static_cast<int64_t>(p[i])) >= static_cast<uint64_t>(k);
  }
  if (C10_UNLIKELY(bad)) bad_position(p, n, k);
}

// Maxout on dense operands that share a memory order (contiguous or
// channels_last in, the same out): seen as [outer, groups * k, inner] in
// memory, a row of `inner` outputs is the elementwise max of k input rows, a
// loop the compiler vectorises. inner == 1 (channels innermost, or the last
// dim) walks each group's k neighbours instead.
namespace dense_maxout {

struct Shape {
  int64_t outer, groups, inner;
};

// The [outer, groups, inner] view around dim of a tensor laid out in
// `format` (groups = its size at dim): inner is the product of the sizes of
// the dims that come after dim in that format's memory order.
Shape around(const at::Tensor& t, int64_t dim, at::MemoryFormat format) {
  std::vector<int64_t> order(t.dim());
  for (int64_t d = 0; d < t.dim(); ++d) order[d] = d;
  if (format != at::MemoryFormat::Contiguous) {
    // N, C, *spatial in memory as N, *spatial, C.
    order.erase(order.begin() + 1);
    order.push_back(1);
  }
  int64_t inner = 1;
  for (auto it = std::find(order.begin(), order.end(), dim) + 1; it != order.end(); ++it) {
    inner *= t.size(*it);
  }
  const int64_t groups = t.size(dim);
  return {groups * inner == 0 ? 0 : t.numel() / (groups * inner), groups, inner};
}

// x, values (and indices) dense in one memory format, with standard strides
// on `dim` (values is ours, so its strides are the format's own).
std::optional<at::MemoryFormat> format_of(const at::Tensor& x, const at::Tensor& out,
                                          const at::Tensor& extra) {
  for (auto format : {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast,
                      at::MemoryFormat::ChannelsLast3d}) {
    if (format == at::MemoryFormat::ChannelsLast && x.dim() != 4) continue;
    if (format == at::MemoryFormat::ChannelsLast3d && x.dim() != 5) continue;
    if (x.is_contiguous(format) && out.is_contiguous(format) &&
        (!extra.defined() || extra.is_contiguous(format))) {
      return format;
    }
  }
  return std::nullopt;
}

// Groups of k memory neighbours (inner == 1): take the max of member j
// across a block of groups at a time, branch-free (random data would
// mispredict). K > 0 is k as a compile-time constant, which turns the
// stride-k accesses into interleaved vector loads; K == 0 reads k at run time.
template <int64_t K, typename scalar_t, typename index_t>
void forward_neighbours(const scalar_t* x, scalar_t* out, index_t* positions, int64_t rows,
                        int64_t k_runtime) {
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t k = K > 0 ? K : k_runtime;
  at::parallel_for(0, rows, std::max<int64_t>(1, at::internal::GRAIN_SIZE / k),
                   [&](int64_t begin, int64_t end) {
    constexpr int64_t kBlock = 256;
    // The running max in op-math (exact for float16/bfloat16 values) and the
    // chosen member in an integer of the same width, so the loop is plain
    // compares and blends on one lane type for every dtype; the compact
    // index is narrowed once per block.
    using lane_t = std::conditional_t<sizeof(opmath_t) == 8, uint64_t, uint32_t>;
    opmath_t best[kBlock];
    lane_t chosen[kBlock];
    for (int64_t r0 = begin; r0 < end; r0 += kBlock) {
      const int64_t n = std::min(kBlock, end - r0);
      const scalar_t* in = x + r0 * k;
      for (int64_t i = 0; i < n; ++i) best[i] = in[i * k];
      if (positions) {
        for (int64_t i = 0; i < n; ++i) chosen[i] = 0;
        for (int64_t j = 1; j < k; ++j) {
          for (int64_t i = 0; i < n; ++i) {
            const opmath_t candidate = in[i * k + j];
            const bool take = math::maxout_takes<opmath_t>(candidate, best[i]);
            best[i] = take ? candidate : best[i];
            chosen[i] = take ? static_cast<lane_t>(j) : chosen[i];
          }
        }
        for (int64_t i = 0; i < n; ++i) positions[r0 + i] = static_cast<index_t>(chosen[i]);
      } else {
        for (int64_t j = 1; j < k; ++j) {
          for (int64_t i = 0; i < n; ++i) {
            const opmath_t candidate = in[i * k + j];
            best[i] = math::maxout_takes<opmath_t>(candidate, best[i]) ? candidate : best[i];
          }
        }
      }
      for (int64_t i = 0; i < n; ++i) out[r0 + i] = scalar_t(best[i]);
    }
  });
}

template <typename scalar_t, typename index_t>
void forward(const scalar_t* x, scalar_t* out, index_t* positions, Shape s, int64_t k) {
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t rows = s.outer * s.groups;  // one row: `inner` outputs
  const int64_t grain = std::max<int64_t>(1, at::internal::GRAIN_SIZE / std::max<int64_t>(s.inner * k, 1));
  if (s.inner == 1) {
    switch (k) {
      case 2: return forward_neighbours<2>(x, out, positions, rows, k);
      case 3: return forward_neighbours<3>(x, out, positions, rows, k);
      case 4: return forward_neighbours<4>(x, out, positions, rows, k);
      default: return forward_neighbours<0>(x, out, positions, rows, k);
    }
  }
  at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
    std::vector<opmath_t> best;
    for (int64_t r = begin; r < end; ++r) {
      // Output row r = (o, g) reads input rows (o, g*k + j), j < k: in memory
      // those are rows r*k + j of `inner` elements.
      const scalar_t* in = x + r * k * s.inner;
      scalar_t* o = out + r * s.inner;
      index_t* p = positions ? positions + r * s.inner : nullptr;
      if (p) std::fill(p, p + s.inner, index_t(0));
      if constexpr (std::is_same_v<scalar_t, opmath_t>) {
        for (int64_t i = 0; i < s.inner; ++i) o[i] = in[i];
        for (int64_t j = 1; j < k; ++j) {
          const scalar_t* candidate = in + j * s.inner;
          for (int64_t i = 0; i < s.inner; ++i) {
            const bool take = math::maxout_takes<opmath_t>(candidate[i], o[i]);
            o[i] = take ? candidate[i] : o[i];  // vectorises to a blend
            if (p) p[i] = take ? static_cast<index_t>(j) : p[i];
          }
        }
      } else {
        // float16/bfloat16: keep the running max in float (exact for these
        // values) so the loop is plain float compares and blends.
        best.resize(s.inner);
        for (int64_t i = 0; i < s.inner; ++i) best[i] = in[i];
        for (int64_t j = 1; j < k; ++j) {
          const scalar_t* candidate = in + j * s.inner;
          for (int64_t i = 0; i < s.inner; ++i) {
            const opmath_t v = candidate[i];
            const bool take = math::maxout_takes<opmath_t>(v, best[i]);
            best[i] = take ? v : best[i];
            if (p) p[i] = take ? static_cast<index_t>(j) : p[i];
          }
        }
        for (int64_t i = 0; i < s.inner; ++i) o[i] = scalar_t(best[i]);
      }
    }
  });
}

// Groups of k memory neighbours: write them group after group, branch-free;
// K as in forward_neighbours. Positions are compared as lane_t: the values'
// own width where every position fits in it (one vector lane type
// throughout), wider where it does not.
template <int64_t K, typename lane_t, typename bits_t, typename index_t>
void backward_neighbours(const bits_t* gbits, const index_t* positions, bits_t* gibits,
                         int64_t rows, int64_t k_runtime) {
  const int64_t k = K > 0 ? K : k_runtime;
  at::parallel_for(0, rows, std::max<int64_t>(1, at::internal::GRAIN_SIZE / k),
                   [&](int64_t begin, int64_t end) {
    check_positions(positions + begin, end - begin, k);
    for (int64_t r = begin; r < end; ++r) {
      const lane_t chosen = static_cast<lane_t>(positions[r]);
      const bits_t g = gbits[r];
      bits_t* gi = gibits + r * k;
      for (int64_t j = 0; j < k; ++j) gi[j] = static_cast<lane_t>(j) == chosen ? g : bits_t(0);
    }
  });
}

template <typename scalar_t, typename index_t>
void backward(const scalar_t* grad, const index_t* positions, scalar_t* grad_input, Shape s,
              int64_t k) {
  // Backward only moves values: select their bit patterns (an all-zero
  // pattern is +0), which vectorises for float16/bfloat16 too.
  using bits_t = std::conditional_t<sizeof(scalar_t) == 2, uint16_t,
                                    std::conditional_t<sizeof(scalar_t) == 4, uint32_t, uint64_t>>;
  static_assert(sizeof(bits_t) == sizeof(scalar_t));
  const auto* gbits = reinterpret_cast<const bits_t*>(grad);
  auto* gibits = reinterpret_cast<bits_t*>(grad_input);
  const int64_t rows = s.outer * s.groups;
  if (s.inner == 1) {
    switch (k) {
      case 2: return backward_neighbours<2, bits_t>(gbits, positions, gibits, rows, k);
      case 3: return backward_neighbours<3, bits_t>(gbits, positions, gibits, rows, k);
      case 4: return backward_neighbours<4, bits_t>(gbits, positions, gibits, rows, k);
      default:
        if (static_cast<uint64_t>(k - 1) > std::numeric_limits<bits_t>::max()) {
          return backward_neighbours<0, uint64_t>(gbits, positions, gibits, rows, k);
        }
        return backward_neighbours<0, bits_t>(gbits, positions, gibits, rows, k);
    }
  }
  const int64_t grain = std::max<int64_t>(1, at::internal::GRAIN_SIZE / std::max<int64_t>(s.inner * k, 1));
  at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const bits_t* g = gbits + r * s.inner;
      const index_t* p = positions + r * s.inner;
      bits_t* gi = gibits + r * k * s.inner;
      check_positions(p, s.inner, k);
      // Each input gradient is written exactly once.
      for (int64_t j = 0; j < k; ++j) {
        bits_t* row = gi + j * s.inner;
        for (int64_t i = 0; i < s.inner; ++i) {
          row[i] = static_cast<int64_t>(p[i]) == j ? g[i] : bits_t(0);
        }
      }
    }
  });
}

}  // namespace dense_maxout

void maxout(const at::Tensor& x, int64_t pool_size, int64_t dim, at::Tensor& values,
                     const at::Tensor& indices) {
  if (values.numel() == 0) return;
  if (const auto format = dense_maxout::format_of(x, values, indices)) {
    const auto shape = dense_maxout::around(values, dim, *format);
    RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::maxout", [&] {
      const auto* in = x.const_data_ptr<scalar_t>();
      auto* out = values.mutable_data_ptr<scalar_t>();
      if (!indices.defined()) {
        dense_maxout::forward<scalar_t, uint8_t>(in, out, nullptr, shape, pool_size);
      } else if (indices.scalar_type() == at::kByte) {
        dense_maxout::forward<scalar_t, uint8_t>(in, out, indices.mutable_data_ptr<uint8_t>(),
                                                 shape, pool_size);
      } else {
        dense_maxout::forward<scalar_t, int32_t>(in, out, indices.mutable_data_ptr<int32_t>(),
                                                 shape, pool_size);
      }
    });
    return;
  }
  // Any other strides.
  int64_t step = 0;
  auto plane = group_plane(x, pool_size, dim, step);
  const bool with_indices = indices.defined();
  at::TensorIteratorConfig config;
  config.check_all_same_dtype(false).resize_outputs(false).add_output(values);
  if (with_indices) config.add_output(indices);
  config.add_const_input(plane);
  auto iter = config.build();
  const auto index_dtype = with_indices ? indices.scalar_type() : at::kByte;

  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::maxout", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    auto run = [&](auto index_tag) {
      using index_t = decltype(index_tag);
      iter.for_each([&](char** data, const int64_t* strides, int64_t n) {
        char* out = data[0];
        char* idx = with_indices ? data[1] : nullptr;
        const char* in = data[with_indices ? 2 : 1];
        const int64_t out_stride = strides[0];
        const int64_t idx_stride = with_indices ? strides[1] : 0;
        const int64_t in_stride = strides[with_indices ? 2 : 1];
        for (int64_t i = 0; i < n; ++i) {
          const char* group = in + i * in_stride;
          scalar_t best = *reinterpret_cast<const scalar_t*>(group);
          int64_t best_j = 0;
          for (int64_t j = 1; j < pool_size; ++j) {
            const scalar_t v = *reinterpret_cast<const scalar_t*>(group + j * step);
            if (math::maxout_takes<opmath_t>(v, best)) {
              best = v;
              best_j = j;
            }
          }
          *reinterpret_cast<scalar_t*>(out + i * out_stride) = best;
          if (with_indices) {
            *reinterpret_cast<index_t*>(idx + i * idx_stride) = static_cast<index_t>(best_j);
          }
        }
      });
    };
    if (index_dtype == at::kByte) {
      run(uint8_t{});
    } else {
      run(int32_t{});
    }
  });
}

void maxout_backward(const at::Tensor& grad, const at::Tensor& indices,
                              int64_t pool_size, int64_t dim, at::Tensor& grad_input) {
  if (grad.numel() == 0) return;
  if (const auto format = dense_maxout::format_of(grad_input, grad, indices)) {
    const auto shape = dense_maxout::around(grad, dim, *format);
    RECTIFIERS_DISPATCH_FLOATING(grad.scalar_type(), "rectifiers::maxout_backward", [&] {
      const auto* g = grad.const_data_ptr<scalar_t>();
      auto* gi = grad_input.mutable_data_ptr<scalar_t>();
      if (indices.scalar_type() == at::kByte) {
        dense_maxout::backward<scalar_t, uint8_t>(g, indices.const_data_ptr<uint8_t>(), gi,
                                                  shape, pool_size);
      } else {
        dense_maxout::backward<scalar_t, int32_t>(g, indices.const_data_ptr<int32_t>(), gi,
                                                  shape, pool_size);
      }
    });
    return;
  }
  // Any other strides.
  int64_t step = 0;
  auto plane = group_plane(grad_input, pool_size, dim, step);
  auto iter = at::TensorIteratorConfig()
                  .check_all_same_dtype(false)
                  .resize_outputs(false)
                  .add_output(plane)
                  .add_const_input(grad)
                  .add_const_input(indices)
                  .build();
  RECTIFIERS_DISPATCH_FLOATING(grad.scalar_type(), "rectifiers::maxout_backward", [&] {
    auto run = [&](auto index_tag) {
      using index_t = decltype(index_tag);
      iter.for_each([&](char** data, const int64_t* strides, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
          char* group = data[0] + i * strides[0];
          const scalar_t g = *reinterpret_cast<const scalar_t*>(data[1] + i * strides[1]);
          const int64_t chosen = *reinterpret_cast<const index_t*>(data[2] + i * strides[2]);
          if (C10_UNLIKELY(chosen < 0 || chosen >= pool_size)) {
            const auto bad = static_cast<index_t>(chosen);
            bad_position(&bad, 1, pool_size);
          }
          // Every member of the group is written exactly once.
          for (int64_t j = 0; j < pool_size; ++j) {
            *reinterpret_cast<scalar_t*>(group + j * step) = j == chosen ? g : scalar_t(0);
          }
        }
      });
    };
    if (indices.scalar_type() == at::kByte) {
      run(uint8_t{});
    } else {
      run(int32_t{});
    }
  });
}

}  // namespace RECTIFIERS_CPU_NS
}  // namespace rectifiers::cpu

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
