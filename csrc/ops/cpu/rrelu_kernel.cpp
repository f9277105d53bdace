// rrelu's CPU loops, compiled once per instruction set (see common/stub.h):
// over the dense memory of tensors that share one layout, so that an
// element's index is its position (see ops/rrelu.cpp).
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>

#include <c10/util/bit_cast.h>

#include <mutex>
#include <type_traits>

#include "../../common/mask.h"
#include "../../cpu/loops.h"
#include "../rrelu.h"

namespace rectifiers::cpu {
inline namespace CPU_CAPABILITY {
namespace {

RReLUState read_state(const at::Tensor& state) {
  const auto* s = state.const_data_ptr<int64_t>();
  return {static_cast<uint64_t>(s[0]), static_cast<uint64_t>(s[1])};
}

// The positions whose slopes are computed together: whole Philox blocks.
constexpr int64_t kChunk = 64;

// c10::BFloat16's rounding from float (to nearest even, NaN to its one
// quiet NaN) written without a branch, so that the bfloat16 loops vectorise.
inline uint16_t bfloat16_bits(float f) {
  const auto u = c10::bit_cast<uint32_t>(f);
  const auto rounded = static_cast<uint16_t>((u + ((u >> 16) & 1) + 0x7FFF) >> 16);
  return f != f ? uint16_t{0x7FC0} : rounded;
}

inline float bfloat16_value(uint16_t bits) { return c10::bit_cast<float>(uint32_t{bits} << 16); }

// Philox4x32-10 of `n` consecutive blocks from `first_block`, as
// at::Philox4_32 computes one (RReLUSlopes on CUDA), with the blocks side by
// side so that the compiler vectorises across them: words[k][j] is the k-th
// word of block first_block + j.
template <int n>
void philox_blocks(RReLUState state, uint64_t first_block, uint32_t (&words)[4][n]) {
  uint32_t* c0 = words[0];
  uint32_t* c1 = words[1];
  uint32_t* c2 = words[2];
  uint32_t* c3 = words[3];
  for (int j = 0; j < n; ++j) {
    const uint64_t block = first_block + j;
    c0[j] = static_cast<uint32_t>(state.offset);
    c1[j] = static_cast<uint32_t>(state.offset >> 32);
    c2[j] = static_cast<uint32_t>(block);
    c3[j] = static_cast<uint32_t>(block >> 32);
  }
  uint32_t key0 = static_cast<uint32_t>(state.seed);
  uint32_t key1 = static_cast<uint32_t>(state.seed >> 32);
  for (int round = 0; round < 10; ++round) {
    for (int j = 0; j < n; ++j) {
      const uint64_t product0 = uint64_t{0xD2511F53} * c0[j];
      const uint64_t product1 = uint64_t{0xCD9E8D57} * c2[j];
      const uint32_t next0 = static_cast<uint32_t>(product1 >> 32) ^ c1[j] ^ key0;
      const uint32_t next2 = static_cast<uint32_t>(product0 >> 32) ^ c3[j] ^ key1;
      c0[j] = next0;
      c1[j] = static_cast<uint32_t>(product1);
      c2[j] = next2;
      c3[j] = static_cast<uint32_t>(product0);
    }
    key0 += 0x9E3779B9;
    key1 += 0xBB67AE85;
  }
}

// Calls f(lo, hi, first, chunk) for consecutive stretches [lo, hi) of
// [begin, end), with chunk[i - first] the slope at position i.
template <typename opmath_t, typename F>
void for_each_chunk(const RReLUSlopes<opmath_t>& slopes, int64_t begin, int64_t end, const F& f) {
  constexpr int per_block = RReLUSlopes<opmath_t>::kPerBlock;
  constexpr int blocks = kChunk / per_block;
  uint32_t words[4][blocks];
  opmath_t chunk[kChunk];
  for (int64_t first = begin - begin % per_block; first < end; first += kChunk) {
    philox_blocks(slopes.state(), static_cast<uint64_t>(first / per_block), words);
    for (int lane = 0; lane < per_block; ++lane) {
      for (int j = 0; j < blocks; ++j) {
        const uint32_t block_words[4] = {words[0][j], words[1][j], words[2][j], words[3][j]};
        chunk[j * per_block + lane] = slopes.from_words(block_words, lane);
      }
    }
    f(std::max(first, begin), std::min(first + kChunk, end), first, chunk);
  }
}

// The seed of one call, drawn from the generator and written to `state`.
RReLUState draw_state(const at::Tensor& state, std::optional<at::Generator> generator) {
  auto* gen = at::get_generator_or_default<at::CPUGeneratorImpl>(
      generator, at::detail::getDefaultCPUGenerator());
  RReLUState s{};
  {
    std::lock_guard<std::mutex> lock(gen->mutex_);
    s.seed = gen->random64();
  }
  auto* st = state.mutable_data_ptr<int64_t>();
  st[0] = static_cast<int64_t>(s.seed);
  st[1] = static_cast<int64_t>(s.offset);
  return s;
}

// The bits of !(x <= 0) of the chunk [lo, hi) (lo a multiple of 32: the
// tasks below start on mask words) into its one or two mask words.
inline void store_chunk_bits(const uint32_t* positive, int64_t lo, int64_t hi, uint32_t* words) {
  uint64_t bits = 0;
  for (int64_t i = 0; i < hi - lo; ++i) bits |= uint64_t{positive[i]} << i;
  words[lo / mask::kBitsPerWord] = static_cast<uint32_t>(bits);
  if (hi - lo > mask::kBitsPerWord) words[lo / mask::kBitsPerWord + 1] = static_cast<uint32_t>(bits >> 32);
}

static_assert(kChunk == 2 * mask::kBitsPerWord, "a chunk's bits are two mask words");

// f(begin, end) in parallel over stretches of positions [0, n) that start on
// a mask word (a multiple of 32), as the loops that write or read a mask
// need; the slopes are the same whatever the stretches.
template <typename F>
void for_each_task(int64_t n, const F& f) {
  constexpr int64_t words_per_task = at::internal::GRAIN_SIZE / mask::kBitsPerWord;
  at::parallel_for(0, mask::words_for(n), words_per_task, [&](int64_t first, int64_t last) {
    f(first * mask::kBitsPerWord, std::min(last * mask::kBitsPerWord, n));
  });
}

// out = x <= 0 ? x * slope : x, and, where `words` is given, the mask of
// !(x <= 0).
void rrelu_forward(const at::Tensor& out, const at::Tensor& x, RReLUState s, double lower,
                   double upper, uint32_t* words) {
  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::rrelu_with_state", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const RReLUSlopes<opmath_t> slopes(s, lower, upper);
    const auto* in = x.const_data_ptr<scalar_t>();
    auto* o = out.mutable_data_ptr<scalar_t>();
    for_each_task(x.numel(), [&](int64_t begin, int64_t end) {
      for_each_chunk(slopes, begin, end,
                     [&](int64_t lo, int64_t hi, int64_t first, const opmath_t* chunk) {
                       uint32_t positive[kChunk];  // as wide as a float lane
                       if constexpr (std::is_same_v<scalar_t, at::BFloat16>) {
                         const auto* in_bits = reinterpret_cast<const uint16_t*>(in);
                         auto* o_bits = reinterpret_cast<uint16_t*>(o);
                         for (int64_t i = lo; i < hi; ++i) {
                           const float v = bfloat16_value(in_bits[i]);
                           const uint16_t scaled = bfloat16_bits(v * chunk[i - first]);
                           o_bits[i] = v <= 0.0f ? scaled : in_bits[i];
                           positive[i - lo] = !(v <= 0.0f);
                         }
                       } else {
                         for (int64_t i = lo; i < hi; ++i) {
                           const opmath_t v = in[i];
                           const auto scaled = static_cast<scalar_t>(v * chunk[i - first]);
                           o[i] = v <= opmath_t(0) ? scaled : in[i];
                           positive[i - lo] = !(v <= opmath_t(0));
                         }
                       }
                       if (words != nullptr) store_chunk_bits(positive, lo, hi, words);
                     });
    });
  });
}

void rrelu_kernel(const at::Tensor& out, const at::Tensor& x, const at::Tensor& state,
                  double lower, double upper, std::optional<at::Generator> generator) {
  rrelu_forward(out, x, draw_state(state, generator), lower, upper, nullptr);
}

void rrelu_with_mask_kernel(const at::Tensor& out, const at::Tensor& x, const at::Tensor& state,
                            const at::Tensor& mask, double lower, double upper,
                            std::optional<at::Generator> generator) {
  rrelu_forward(out, x, draw_state(state, generator), lower, upper,
                reinterpret_cast<uint32_t*>(mask.mutable_data_ptr<int32_t>()));
}

// grad_input = positive ? grad : grad * slope, the slopes those of `s`;
// sides(lo, hi, positive) gives the chunk [lo, hi)'s sides first, so that
// the loop that blends stays one the compiler vectorises.
template <typename scalar_t, typename Sides>
void rrelu_backward_loop(const at::Tensor& grad_input, const at::Tensor& grad, RReLUState s,
                         double lower, double upper, Sides sides) {
  using opmath_t = at::opmath_type<scalar_t>;
  const RReLUSlopes<opmath_t> slopes(s, lower, upper);
  const auto* g = grad.const_data_ptr<scalar_t>();
  auto* o = grad_input.mutable_data_ptr<scalar_t>();
  for_each_task(grad.numel(), [&](int64_t begin, int64_t end) {
    for_each_chunk(slopes, begin, end,
                   [&](int64_t lo, int64_t hi, int64_t first, const opmath_t* chunk) {
                     uint32_t positive[kChunk];  // as wide as a float lane
                     sides(lo, hi, positive);
                     if constexpr (std::is_same_v<scalar_t, at::BFloat16>) {
                       const auto* g_bits = reinterpret_cast<const uint16_t*>(g);
                       auto* o_bits = reinterpret_cast<uint16_t*>(o);
                       for (int64_t i = lo; i < hi; ++i) {
                         const uint16_t scaled =
                             bfloat16_bits(bfloat16_value(g_bits[i]) * chunk[i - first]);
                         o_bits[i] = positive[i - lo] ? g_bits[i] : scaled;
                       }
                     } else {
                       for (int64_t i = lo; i < hi; ++i) {
                         const auto scaled = static_cast<scalar_t>(opmath_t(g[i]) * chunk[i - first]);
                         o[i] = positive[i - lo] ? g[i] : scaled;
                       }
                     }
                   });
  });
}

void rrelu_backward_kernel(const at::Tensor& grad_input, const at::Tensor& grad,
                           const at::Tensor& x, const at::Tensor& state, double lower,
                           double upper) {
  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::rrelu_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const auto* in = x.const_data_ptr<scalar_t>();
    rrelu_backward_loop<scalar_t>(
        grad_input, grad, read_state(state), lower, upper,
        [in](int64_t lo, int64_t hi, uint32_t* positive) {
          if constexpr (std::is_same_v<scalar_t, at::BFloat16>) {
            const auto* in_bits = reinterpret_cast<const uint16_t*>(in);
            for (int64_t i = lo; i < hi; ++i) positive[i - lo] = !(bfloat16_value(in_bits[i]) <= 0.0f);
          } else {
            for (int64_t i = lo; i < hi; ++i) positive[i - lo] = !(opmath_t(in[i]) <= opmath_t(0));
          }
        });
  });
}

// A chunk starts on a mask word (for_each_task) and spans one or two.
void rrelu_mask_backward_kernel(const at::Tensor& grad_input, const at::Tensor& grad,
                                const at::Tensor& mask, const at::Tensor& state, double lower,
                                double upper) {
  const auto* words = reinterpret_cast<const uint32_t*>(mask.const_data_ptr<int32_t>());
  RECTIFIERS_DISPATCH_FLOATING(grad.scalar_type(), "rectifiers::rrelu_mask_backward", [&] {
    rrelu_backward_loop<scalar_t>(
        grad_input, grad, read_state(state), lower, upper,
        [words](int64_t lo, int64_t hi, uint32_t* positive) {
          const int64_t w = lo / mask::kBitsPerWord;
          uint64_t bits = words[w];
          if (hi - lo > mask::kBitsPerWord) bits |= uint64_t{words[w + 1]} << 32;
          for (int64_t j = 0; j < hi - lo; ++j) positive[j] = (bits >> j) & 1u;
        });
  });
}

}  // namespace
}  // namespace CPU_CAPABILITY
}  // namespace rectifiers::cpu

RECTIFIERS_REGISTER_CPU_KERNEL(rrelu_stub, &rectifiers::cpu::rrelu_kernel)
RECTIFIERS_REGISTER_CPU_KERNEL(rrelu_backward_stub, &rectifiers::cpu::rrelu_backward_kernel)
RECTIFIERS_REGISTER_CPU_KERNEL(rrelu_with_mask_stub, &rectifiers::cpu::rrelu_with_mask_kernel)
RECTIFIERS_REGISTER_CPU_KERNEL(rrelu_mask_backward_stub,
                               &rectifiers::cpu::rrelu_mask_backward_kernel)
