// PReLU's CPU loops, compiled once per instruction set (see common/stub.h):
// the forward, and the fused backward with its any-strides fallback.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "../../common/shapes.h"
#include "../../cpu/loops.h"
#include "../prelu.h"

namespace rectifiers::cpu {
inline namespace CPU_CAPABILITY {
namespace {

// The SIMD twin of math::prelu; blendv(a, b, mask) takes b where mask.
template <typename V>
V vec_prelu(V x, V weight) {
  return V::blendv(weight * x, x, x > V(0));
}

void prelu_kernel(at::TensorIteratorBase& iter) {
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

}  // namespace fused_prelu

// The fused pass, for operands dense in one memory format.
void prelu_backward_dense(const at::Tensor& grad, const at::Tensor& x, const at::Tensor& weight_b,
                          at::Tensor& grad_input, at::Tensor& grad_weight,
                          at::MemoryFormat format) {
  const bool shared_weight = weight_b.numel() == 1;
  const auto w = weight_b.contiguous();
  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::prelu_backward", [&] {
    const auto* g = grad.const_data_ptr<scalar_t>();
    const auto* xp = x.const_data_ptr<scalar_t>();
    const auto* wp = w.const_data_ptr<scalar_t>();
    auto* gi = grad_input.mutable_data_ptr<scalar_t>();
    auto* gw = grad_weight.mutable_data_ptr<scalar_t>();
    const int64_t n = x.numel();
    if (shared_weight) {
      fused_prelu::one_channel<scalar_t>(g, xp, wp, gi, gw, n);
      return;
    }
    const auto shape = shapes::around_dim(x, 1, format);
    if (shape.inner == 1) {
      fused_prelu::channels_innermost<scalar_t>(g, xp, wp, gi, gw, shape.outer, shape.size);
    } else {
      fused_prelu::rows_per_channel<scalar_t>(g, xp, wp, gi, gw, shape.outer, shape.size,
                                              shape.inner);
    }
  });
}

// Any other strides: per-element weight gradient, then a reduction.
void prelu_backward_strided(const at::Tensor& grad, const at::Tensor& x,
                            const at::Tensor& weight_b, at::Tensor& grad_input,
                            at::Tensor& grad_weight) {
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

void prelu_backward_kernel(const at::Tensor& grad, const at::Tensor& x,
                           const at::Tensor& weight_b, at::Tensor& grad_input,
                           at::Tensor& grad_weight) {
  const auto format = shapes::shared_dense_format({grad, x, grad_input});
  if (format && x.numel() > 0) {
    prelu_backward_dense(grad, x, weight_b, grad_input, grad_weight, *format);
  } else {
    prelu_backward_strided(grad, x, weight_b, grad_input, grad_weight);
  }
}

}  // namespace
}  // namespace CPU_CAPABILITY
}  // namespace rectifiers::cpu

RECTIFIERS_REGISTER_CPU_KERNEL_AS_ATEN(prelu_stub, &rectifiers::cpu::prelu_kernel)
RECTIFIERS_REGISTER_CPU_KERNEL(prelu_backward_stub, &rectifiers::cpu::prelu_backward_kernel)
