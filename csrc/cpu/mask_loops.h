// The CPU loops of the ops that save a packed mask (common/mask.h), for the
// kernel files compiled per instruction set (see cpu/loops.h), in parallel
// over stretches of mask words.
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/TensorIterator.h>
#include <ATen/cpu/vec/functional.h>
#include <ATen/cpu/vec/vec.h>

#if defined(CPU_CAPABILITY_AVX2) || defined(CPU_CAPABILITY_AVX512)
#include <immintrin.h>
#endif

#include <algorithm>
#include <array>
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

// Words [begin, end) of each of the mask's `planes` planes (n_words words
// apart) for a dense input in memory order: bit p of side(x) is an element's
// bit in plane p, vec_side(v) gives a float vector's comparisons, plane by
// plane (float16 and bfloat16 compare in float, vectorised where the build
// packs vectors).
template <int planes, typename scalar_t, typename Side, typename VecSide>
void pack_words(const scalar_t* in, int64_t n, uint32_t* words, int64_t n_words, int64_t begin,
                int64_t end, Side side, VecSide vec_side) {
  if constexpr (at::is_reduced_floating_point_v<scalar_t> && kPacksVectors<float>) {
    using Vec = at::vec::Vectorized<scalar_t>;
    constexpr int lanes = Vec::size();
    constexpr int float_lanes = at::vec::Vectorized<float>::size();
    const int64_t full = std::min(end, n / mask::kBitsPerWord);
    for (int64_t w = begin; w < full; ++w) {
      const int64_t base = w * mask::kBitsPerWord;
      uint32_t word[planes] = {};
      for (int k = 0; k < 32 / lanes; ++k) {
        const auto [low, high] = at::vec::convert_to_float<scalar_t>(Vec::loadu(in + base + k * lanes));
        const auto low_sides = vec_side(low);
        const auto high_sides = vec_side(high);
        for (int p = 0; p < planes; ++p) {
          word[p] |= (lane_bits<float>(low_sides[p]) | lane_bits<float>(high_sides[p]) << float_lanes)
                     << (k * lanes);
        }
      }
      for (int p = 0; p < planes; ++p) words[p * n_words + w] = word[p];
    }
    begin = std::max(begin, full);
  }
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

// The forward of an op that saves a mask of `planes` planes. Float and
// double, where the build packs vectors: one pass in memory order over the
// dense input, each vector giving its values (vec_value) and its bits
// (vec_side) from the registers. Otherwise values(iter) runs the op's own
// elementwise loop over the input as it is, through its stub (which runs the
// instruction set torch's twin runs), then the bits are packed from the
// dense input: float16 and bfloat16 values then are ATen's, whose NaN
// encoding depends on where its loop runs vectorised.
template <typename scalar_t, int planes = 1, typename Values, typename VecValue, typename Side,
          typename VecSide>
void forward_with_mask(const at::Tensor& x, const at::Tensor& result, const at::Tensor& mask,
                       Values values, VecValue vec_value, Side side, VecSide vec_side) {
  using Vec = at::vec::Vectorized<scalar_t>;
  const auto dense = mask::dense(x);
  const int64_t n = x.numel();
  const int64_t n_words = mask::words_for(n);
  const auto* in = dense.const_data_ptr<scalar_t>();
  auto* words = reinterpret_cast<uint32_t*>(mask.mutable_data_ptr<int32_t>());
  if constexpr (!kPacksVectors<scalar_t>) {
    auto iter = at::TensorIteratorConfig().add_output(result).add_const_input(x).build();
    values(iter);
    at::parallel_for(0, n_words, kMaskWordsPerTask, [&](int64_t begin, int64_t end) {
      pack_words<planes>(in, n, words, n_words, begin, end, side, vec_side);
    });
  } else {
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
        pack_words<planes>(in, n, words, n_words, full, end, side, vec_side);
      }
    });
  }
}

// grad_input[i] = op(grad[i], bits i) (bit p of the unsigned bits from
// plane p), grad in the mask's order.
template <typename scalar_t, int planes = 1, typename Op>
void backward_from_mask(const at::Tensor& grad, const at::Tensor& mask, const at::Tensor& out,
                        Op op) {
  const int64_t n = grad.numel();
  const int64_t n_words = mask::words_for(n);
  const auto* g = grad.const_data_ptr<scalar_t>();
  auto* o = out.mutable_data_ptr<scalar_t>();
  const auto* words = reinterpret_cast<const uint32_t*>(mask.const_data_ptr<int32_t>());
  at::parallel_for(0, n_words, kMaskWordsPerTask, [&](int64_t begin, int64_t end) {
    for (int64_t w = begin; w < end; ++w) {
      const int64_t base = w * mask::kBitsPerWord;
      uint32_t word[planes];
      for (int p = 0; p < planes; ++p) word[p] = words[p * n_words + w];
      const auto bits = [&](int64_t j) {
        uint32_t b = 0;
        for (int p = 0; p < planes; ++p) b |= ((word[p] >> j) & 1u) << p;
        return b;
      };
      if (n - base >= mask::kBitsPerWord) {
        for (int j = 0; j < 32; ++j) o[base + j] = op(g[base + j], bits(j));
      } else {
        for (int64_t j = 0; j < n - base; ++j) o[base + j] = op(g[base + j], bits(j));
      }
    }
  });
}

// A bfloat16 gradient holding a NaN: torch's vectorised and scalar loops
// encode that NaN differently (its vector body rounds through float), so
// which bits an element gets depends on where torch's loop runs vectorised.
// There the backward runs the op's own backward through its stub, run(iter)
// (which runs the instruction set torch's twin runs), over (grad_input,
// grad, a stand-in for the input laid out as grad_input whose sides are the
// mask's: stand_in(bits)), which splits as torch's loop over (grad_input,
// grad, input) does; returns whether it did. Other gradients
// and dtypes get the same bits from backward_from_mask.
template <typename scalar_t, int planes = 1, typename StandIn, typename Run>
bool backward_as_aten_for_nan(const at::Tensor& grad, const at::Tensor& mask,
                              const at::Tensor& out, StandIn stand_in, Run run) {
  if constexpr (!std::is_same_v<scalar_t, at::BFloat16>) {
    return false;
  } else {
    const int64_t n = grad.numel();
    // a magnitude's bits above infinity's (0x7F80) carry into the sign bit
    // when 0x7F is added
    using V = at::vec::Vectorized<int16_t>;
    const auto* g = reinterpret_cast<const int16_t*>(grad.const_data_ptr<scalar_t>());
    const V magnitude(0x7FFF), carry(0x007F);
    V carried(0);
    int64_t i = 0;
    for (; i + V::size() <= n; i += V::size()) carried = carried | ((V::loadu(g + i) & magnitude) + carry);
    int16_t lanes[V::size()];
    carried.store(lanes);
    bool nan = false;
    for (const int16_t lane : lanes) nan |= lane < 0;
    for (; i < n; ++i) nan |= (g[i] & 0x7FFF) > 0x7F80;
    if (!nan) return false;
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
    auto iter = at::TensorIteratorConfig()
                    .add_output(out)
                    .add_const_input(grad)
                    .add_const_input(input)
                    .build();
    run(iter);
    return true;
  }
}

}  // namespace CPU_CAPABILITY
}  // namespace rectifiers::cpu
