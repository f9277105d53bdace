// The CPU loops of the ops that save a packed mask (common/mask.h), for the
// kernel files compiled per instruction set (see cpu/loops.h), in parallel
// over stretches of mask words.
#pragma once

#include <ATen/ATen.h>
#include <ATen/NumericUtils.h>
#include <ATen/Parallel.h>
#include <ATen/TensorIterator.h>
#include <ATen/cpu/vec/functional.h>
#include <ATen/cpu/vec/vec.h>

#if defined(CPU_CAPABILITY_AVX2) || defined(CPU_CAPABILITY_AVX512)
#include <immintrin.h>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <type_traits>

#include "../common/mask.h"

#ifndef CPU_CAPABILITY
#error "cpu/mask_loops.h is for the kernel files compiled per instruction set (CPU_CAPABILITY)"
#endif

namespace rectifiers::cpu {
inline namespace CPU_CAPABILITY {

// A parallel task's share of the mask: enough to amortise handing it out.
constexpr int64_t kMaskWordsPerTask = 1024;

// Whether this build packs a vector's comparison into bits with one
// instruction: AVX2 and AVX-512, for float and double.
template <typename scalar_t>
constexpr bool kPacksVectors =
#if defined(CPU_CAPABILITY_AVX2) || defined(CPU_CAPABILITY_AVX512)
    std::is_same_v<scalar_t, float> || std::is_same_v<scalar_t, double>;
#else
    false;
#endif

// The lanes of a comparison (all-ones where set, as at::vec's comparisons
// give) as bits, lane 0 lowest.
template <typename scalar_t>
uint32_t lane_bits(at::vec::Vectorized<scalar_t> set) {
#if defined(CPU_CAPABILITY_AVX512)
  if constexpr (std::is_same_v<scalar_t, float>) {
    return _mm512_movepi32_mask(_mm512_castps_si512(set));
  } else if constexpr (std::is_same_v<scalar_t, double>) {
    return _mm512_movepi64_mask(_mm512_castpd_si512(set));
  }
#elif defined(CPU_CAPABILITY_AVX2)
  if constexpr (std::is_same_v<scalar_t, float>) {
    return static_cast<uint32_t>(_mm256_movemask_ps(set));
  } else if constexpr (std::is_same_v<scalar_t, double>) {
    return static_cast<uint32_t>(_mm256_movemask_pd(set));
  }
#endif
  TORCH_INTERNAL_ASSERT(false, "lane_bits: no vector packing in this build");
  return 0;
}

// The inverse of lane_bits: lane k all-ones where bit k of `bits` is set,
// as a comparison gives it (the bits above the vector's lanes ignored).
template <typename scalar_t>
at::vec::Vectorized<scalar_t> lane_mask(uint32_t bits) {
#if defined(CPU_CAPABILITY_AVX512)
  if constexpr (std::is_same_v<scalar_t, float>) {
    return _mm512_castsi512_ps(_mm512_movm_epi32(static_cast<__mmask16>(bits)));
  } else if constexpr (std::is_same_v<scalar_t, double>) {
    return _mm512_castsi512_pd(_mm512_movm_epi64(static_cast<__mmask8>(bits)));
  }
#elif defined(CPU_CAPABILITY_AVX2)
  if constexpr (std::is_same_v<scalar_t, float>) {
    const __m256i lane_bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const __m256i set = _mm256_and_si256(_mm256_set1_epi32(static_cast<int>(bits)), lane_bit);
    return _mm256_castsi256_ps(_mm256_cmpeq_epi32(set, lane_bit));
  } else if constexpr (std::is_same_v<scalar_t, double>) {
    const __m256i lane_bit = _mm256_setr_epi64x(1, 2, 4, 8);
    const __m256i set = _mm256_and_si256(_mm256_set1_epi64x(bits), lane_bit);
    return _mm256_castsi256_pd(_mm256_cmpeq_epi64(set, lane_bit));
  }
#endif
  TORCH_INTERNAL_ASSERT(false, "lane_mask: no vector packing in this build");
  return {};
}

// Words [begin, end) of each of the mask's `planes` planes (n_words words
// apart) for a dense input in memory order, element by element: bit p of
// side(x) is an element's bit in plane p.
template <int planes, typename scalar_t, typename Side>
void pack_words(const scalar_t* in, int64_t n, uint32_t* words, int64_t n_words, int64_t begin,
                int64_t end, Side side) {
  for (int64_t w = begin; w < end; ++w) {
    const int64_t base = w * mask::kBitsPerWord;
    const int64_t bits = std::min(mask::kBitsPerWord, n - base);
    uint32_t word[planes] = {};
    for (int64_t j = 0; j < bits; ++j) {
      const uint32_t sides = side(in[base + j]);
      for (int p = 0; p < planes; ++p) word[p] |= ((sides >> p) & 1u) << j;
    }
    for (int p = 0; p < planes; ++p) words[p * n_words + w] = word[p];
  }
}

// The forward of an op that saves a mask of `planes` planes, where the build
// packs vectors: one pass in memory order over the dense input, each vector
// giving its values (vec_value) and its bits (vec_side) from the registers,
// float16 and bfloat16 through float as torch's vector loops, or, where the
// op's value is a sign-bit operation (value_in_storage), on their own
// vectors, NaN exactly where the input is. Their values
// are then torch's unless a value is NaN: torch encodes a float16 or
// bfloat16 NaN by where its loop runs vectorised, so then values(iter) runs
// the op's own elementwise loop through its stub (which runs the instruction
// set torch's twin runs) once more. In the baseline build values(iter) gives
// the values and the bits are packed from the dense input.
template <typename scalar_t, int planes = 1, bool value_in_storage = false, typename Values,
          typename VecValue, typename Side, typename VecSide>
void forward_with_mask(const at::Tensor& x, const at::Tensor& result, const at::Tensor& mask,
                       Values values, VecValue vec_value, Side side, VecSide vec_side) {
  const auto dense = mask::dense(x);
  const int64_t n = x.numel();
  const int64_t n_words = mask::words_for(n);
  const auto* in = dense.const_data_ptr<scalar_t>();
  auto* words = reinterpret_cast<uint32_t*>(mask.mutable_data_ptr<int32_t>());
  const auto values_through_stub = [&] {
    auto iter = at::TensorIteratorConfig().add_output(result).add_const_input(x).build();
    values(iter);
  };
  if constexpr (!kPacksVectors<at::opmath_type<scalar_t>>) {
    values_through_stub();
    at::parallel_for(0, n_words, kMaskWordsPerTask, [&](int64_t begin, int64_t end) {
      pack_words<planes>(in, n, words, n_words, begin, end, side);
    });
  } else if constexpr (!at::is_reduced_floating_point_v<scalar_t>) {
    using Vec = at::vec::Vectorized<scalar_t>;
    auto* out = result.mutable_data_ptr<scalar_t>();
    constexpr int lanes = Vec::size();
    at::parallel_for(0, n_words, kMaskWordsPerTask, [&](int64_t begin, int64_t end) {
      const int64_t full = std::min(end, n / mask::kBitsPerWord);  // words of 32 elements
      for (int64_t w = begin; w < full; ++w) {
        const int64_t base = w * mask::kBitsPerWord;
        uint32_t word[planes] = {};
        for (int k = 0; k < 32 / lanes; ++k) {
          const auto v = Vec::loadu(in + base + k * lanes);
          vec_value(v).store(out + base + k * lanes);
          const auto sides = vec_side(v);
          for (int p = 0; p < planes; ++p) word[p] |= lane_bits<scalar_t>(sides[p]) << (k * lanes);
        }
        for (int p = 0; p < planes; ++p) words[p * n_words + w] = word[p];
      }
      if (full < end) {  // the last word, part filled
        const int64_t base = full * mask::kBitsPerWord;
        at::vec::map(vec_value, out + base, in + base, n - base);
        pack_words<planes>(in, n, words, n_words, full, end, side);
      }
    });
  } else {
    using Vec = at::vec::Vectorized<scalar_t>;
    using FloatVec = at::vec::Vectorized<float>;
    auto* out = result.mutable_data_ptr<scalar_t>();
    constexpr int lanes = Vec::size();
    constexpr int float_lanes = FloatVec::size();
    std::atomic<bool> any_nan{false};
    at::parallel_for(0, n_words, kMaskWordsPerTask, [&](int64_t begin, int64_t end) {
      const int64_t full = std::min(end, n / mask::kBitsPerWord);
      FloatVec nan(0);
      for (int64_t w = begin; w < full; ++w) {
        const int64_t base = w * mask::kBitsPerWord;
        uint32_t word[planes] = {};
        for (int k = 0; k < 32 / lanes; ++k) {
          const auto v = Vec::loadu(in + base + k * lanes);
          const auto [low, high] = at::vec::convert_to_float<scalar_t>(v);
          if constexpr (value_in_storage) {
            vec_value(v).store(out + base + k * lanes);
            nan = nan | low.isnan() | high.isnan();
          } else {
            const auto low_value = vec_value(low);
            const auto high_value = vec_value(high);
            at::vec::convert_from_float<scalar_t>(low_value, high_value).store(out + base + k * lanes);
            nan = nan | low_value.isnan() | high_value.isnan();
          }
          const auto low_sides = vec_side(low);
          const auto high_sides = vec_side(high);
          for (int p = 0; p < planes; ++p) {
            word[p] |= (lane_bits<float>(low_sides[p]) | lane_bits<float>(high_sides[p]) << float_lanes)
                       << (k * lanes);
          }
        }
        for (int p = 0; p < planes; ++p) words[p * n_words + w] = word[p];
      }
      bool seen = lane_bits<float>(nan) != 0;
      if (full < end) {
        const int64_t base = full * mask::kBitsPerWord;
        if constexpr (value_in_storage) {
          for (int64_t i = base; i < n; i += lanes) {
            const int64_t count = std::min<int64_t>(lanes, n - i);
            vec_value(Vec::loadu(in + i, count)).store(out + i, count);
          }
        } else {
          at::vec::map([&](FloatVec v) { return vec_value(v); }, out + base, in + base, n - base);
        }
        pack_words<planes>(in, n, words, n_words, full, end, side);
        for (int64_t i = base; i < n; ++i) seen |= at::_isnan(out[i]);
      }
      if (seen) any_nan.store(true, std::memory_order_relaxed);
    });
    if (any_nan.load()) values_through_stub();
  }
}

// grad_input[i] = op(grad[i], bits i) (bit p of the unsigned bits from
// plane p), grad_input laid out in the mask's order, grad in any layout;
// where the build packs vectors, vec_op(g, sides) on whole vectors, sides a
// comparison-like vector per plane, float16 and bfloat16 through float as
// torch's vector loops.
// Returns whether a bfloat16 grad_input holds a NaN (a NaN gradient, or
// infinity times zero): torch encodes one by where its loop runs vectorised,
// which backward_as_aten then follows.
template <typename scalar_t, int planes = 1, typename Op, typename VecOp>
bool backward_from_mask(const at::Tensor& grad, const at::Tensor& mask, const at::Tensor& out,
                        Op op, VecOp vec_op) {
  using Vec = at::vec::Vectorized<scalar_t>;
  using FloatVec = at::vec::Vectorized<float>;
  constexpr bool kBFloat16 = std::is_same_v<scalar_t, at::BFloat16>;
  const auto ordered = mask::in_mask_order(grad, out.strides());
  const int64_t n = grad.numel();
  const int64_t n_words = mask::words_for(n);
  const auto* g = ordered.const_data_ptr<scalar_t>();
  auto* o = out.mutable_data_ptr<scalar_t>();
  const auto* words = reinterpret_cast<const uint32_t*>(mask.const_data_ptr<int32_t>());
  std::atomic<bool> any_nan{false};
  at::parallel_for(0, n_words, kMaskWordsPerTask, [&](int64_t begin, int64_t end) {
    int64_t w = begin;
    bool seen = false;
    if constexpr (kPacksVectors<at::opmath_type<scalar_t>>) {
      constexpr int lanes = Vec::size();
      const int64_t full = std::min(end, n / mask::kBitsPerWord);
      FloatVec nan(0);
      for (; w < full; ++w) {
        const int64_t base = w * mask::kBitsPerWord;
        for (int k = 0; k < 32 / lanes; ++k) {
          if constexpr (!at::is_reduced_floating_point_v<scalar_t>) {
            std::array<Vec, planes> sides;
            for (int p = 0; p < planes; ++p) {
              sides[p] = lane_mask<scalar_t>(words[p * n_words + w] >> (k * lanes));
            }
            vec_op(Vec::loadu(g + base + k * lanes), sides).store(o + base + k * lanes);
          } else {
            constexpr int float_lanes = FloatVec::size();
            std::array<FloatVec, planes> low_sides, high_sides;
            for (int p = 0; p < planes; ++p) {
              const uint32_t bits = words[p * n_words + w] >> (k * lanes);
              low_sides[p] = lane_mask<float>(bits);
              high_sides[p] = lane_mask<float>(bits >> float_lanes);
            }
            const auto [low, high] = at::vec::convert_to_float<scalar_t>(Vec::loadu(g + base + k * lanes));
            const auto low_value = vec_op(low, low_sides);
            const auto high_value = vec_op(high, high_sides);
            if constexpr (kBFloat16) nan = nan | low_value.isnan() | high_value.isnan();
            at::vec::convert_from_float<scalar_t>(low_value, high_value).store(o + base + k * lanes);
          }
        }
      }
      seen = lane_bits<float>(nan) != 0;
    }
    for (; w < end; ++w) {  // every word in the baseline build, else the last, part filled
      const int64_t base = w * mask::kBitsPerWord;
      uint32_t word[planes];
      for (int p = 0; p < planes; ++p) word[p] = words[p * n_words + w];
      for (int64_t j = 0; j < std::min(mask::kBitsPerWord, n - base); ++j) {
        uint32_t bits = 0;
        for (int p = 0; p < planes; ++p) bits |= ((word[p] >> j) & 1u) << p;
        o[base + j] = op(g[base + j], bits);
        if constexpr (kBFloat16) seen |= at::_isnan(o[base + j]);
      }
    }
    if (seen) any_nan.store(true, std::memory_order_relaxed);
  });
  return any_nan.load();
}

// The backward of a bfloat16 grad_input holding a NaN (see backward_from_mask):
// runs the op's own backward through its stub, run(iter) (which runs the
// instruction set torch's twin runs), over (grad_input, grad as it is, a
// stand-in for a dense input, laid out in the mask's order, whose sides are
// the mask's: stand_in(bits)), which splits as torch's loop over
// (grad_input, grad, input) does. grad_input is out, laid out as the input,
// where torch's iterator takes the input first, else (`grad_leads`) one laid
// out as TensorIterator lays it out, then copied into out.
template <typename scalar_t, int planes = 1, typename StandIn, typename Run>
void backward_as_aten(const at::Tensor& grad, const at::Tensor& mask, const at::Tensor& out,
                      bool grad_leads, StandIn stand_in, Run run) {
  const int64_t n = grad.numel();
  const int64_t n_words = mask::words_for(n);
  const auto* words = reinterpret_cast<const uint32_t*>(mask.const_data_ptr<int32_t>());
  auto input = at::empty_like(out);
  auto* in = input.mutable_data_ptr<scalar_t>();
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits = 0;
    for (int p = 0; p < planes; ++p) {
      bits |= ((words[p * n_words + i / mask::kBitsPerWord] >> (i % mask::kBitsPerWord)) & 1u) << p;
    }
    in[i] = stand_in(bits);
  }
  const at::Tensor grad_input = grad_leads ? at::Tensor() : out;
  auto iter = at::TensorIteratorConfig()
                  .add_output(grad_input)
                  .add_const_input(grad)
                  .add_const_input(input)
                  .build();
  run(iter);
  if (grad_leads) out.copy_(iter.output());
}

}  // namespace CPU_CAPABILITY
}  // namespace rectifiers::cpu
