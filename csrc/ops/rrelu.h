// rrelu (randomized leaky ReLU): the training-mode loops each device
// supplies. Each element's slope comes from a counter-based generator
// (Philox) keyed by the call's seed and the element's position, so backward
// regenerates the slopes instead of saving them (see ops/rrelu.cpp).
#pragma once

#include <ATen/core/PhiloxRNGEngine.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <type_traits>

#include "../common/stub.h"

namespace rectifiers {

// The generator state of one training-mode call: what the result of
// rrelu_with_state holds (int64 [seed, offset]) and backward reads.
struct RReLUState {
  uint64_t seed;
  uint64_t offset;
};

// The slopes of one call: the element at `position` (its offset, in
// elements, from the start of the input) gets lower + (upper - lower) * u,
// u uniform in [0, 1), from Philox4x32-10 keyed by the seed, at counter
// (offset, position / kPerBlock), the bounds rounded to the compute type
// first as torch rounds them. One Philox block is four 32-bit words: a float
// slope takes one (32 random bits), a double slope two (53 bits), so
// consecutive positions share a block, which is computed once for them.
template <typename opmath_t>
class RReLUSlopes {
 public:
  static constexpr int kPerBlock = std::is_same_v<opmath_t, double> ? 2 : 4;

  C10_HOST_DEVICE RReLUSlopes(RReLUState state, double lower, double upper)
      : state_(state),
        lower_(static_cast<opmath_t>(lower)),
        range_(static_cast<double>(static_cast<opmath_t>(upper)) - lower_) {}

  C10_HOST_DEVICE opmath_t operator()(uint64_t position) {
    const uint64_t block = position / kPerBlock;
    if (!filled_ || block != block_) fill(block);
    return from_words(words_, static_cast<int>(position % kPerBlock));
  }

  // The slope at `lane` of a block whose four words are `words`.
  C10_HOST_DEVICE opmath_t from_words(const uint32_t* words, int lane) const {
    double u;
    if constexpr (kPerBlock == 4) {
      u = static_cast<double>(words[lane]) * 0x1.0p-32;
    } else {
      const uint64_t bits = (uint64_t{words[2 * lane]} << 32) | words[2 * lane + 1];
      u = static_cast<double>(bits >> 11) * 0x1.0p-53;
    }
#ifdef __CUDA_ARCH__
    // Unfused, as the CPU loops (built without contraction) compute it.
    return static_cast<opmath_t>(__dadd_rn(lower_, __dmul_rn(range_, u)));
#else
    return static_cast<opmath_t>(lower_ + range_ * u);
#endif
  }

  C10_HOST_DEVICE RReLUState state() const { return state_; }

 private:
  C10_HOST_DEVICE void fill(uint64_t block) {
    at::Philox4_32 engine(state_.seed, block, state_.offset);
    for (auto& word : words_) word = engine();
    block_ = block;
    filled_ = true;
  }

  RReLUState state_;
  double lower_, range_;
  uint64_t block_ = 0;
  bool filled_ = false;
  uint32_t words_[4] = {};
};

// Training forward: out = x <= 0 ? x * slope : x, with the state drawn from
// the generator (written to `state`, an int64 tensor of 2 elements on the
// input's device). `x` and `out` are non-overlapping and dense in one layout.
using rrelu_fn = void (*)(const at::Tensor& out, const at::Tensor& x, const at::Tensor& state,
                          double lower, double upper, std::optional<at::Generator> generator);
// Backward: grad_input = (x or result) <= 0 ? grad * slope : grad, with the
// slopes of `state`; all three tensors in one dense layout.
using rrelu_backward_fn = void (*)(const at::Tensor& grad_input, const at::Tensor& grad,
                                   const at::Tensor& x_or_result, const at::Tensor& state,
                                   double lower, double upper);

// The training forward that also writes the mask of !(x <= 0) (common/mask.h)
// in x's dense order, which is the slopes' positions.
using rrelu_with_mask_fn = void (*)(const at::Tensor& out, const at::Tensor& x,
                                    const at::Tensor& state, const at::Tensor& mask,
                                    double lower, double upper,
                                    std::optional<at::Generator> generator);
// Backward from that mask: grad_input = bit ? grad : grad * slope, grad and
// grad_input in the mask's order.
using rrelu_mask_backward_fn = void (*)(const at::Tensor& grad_input, const at::Tensor& grad,
                                        const at::Tensor& mask, const at::Tensor& state,
                                        double lower, double upper);

DECLARE_DISPATCH(rrelu_fn, rrelu_stub);
DECLARE_DISPATCH(rrelu_backward_fn, rrelu_backward_stub);
DECLARE_DISPATCH(rrelu_with_mask_fn, rrelu_with_mask_stub);
DECLARE_DISPATCH(rrelu_mask_backward_fn, rrelu_mask_backward_stub);

}  // namespace rectifiers
