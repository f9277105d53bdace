// What the ops that save a packed mask for their backward share (leaky_relu
// out of place): the backward needs only which side of a threshold each
// input was on, so the forward writes one bit per element instead of
// keeping the input.
//
// The mask is an int32 tensor of ceil(n / 32) words for n elements. Bit j of
// word w (least significant first) belongs to element 32 * w + j in the
// memory order of the forward's result: the input's order when the input is
// dense (contiguous, channels_last, transposed, ...), the contiguous order
// otherwise. The backward op takes the result's sizes and strides
// (`mask_sizes`, `mask_strides`) with the mask, so it refuses a gradient of
// another shape and reads the right bit for a gradient of any layout.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace rectifiers::mask {

constexpr int64_t kBitsPerWord = 32;

inline int64_t words_for(int64_t n) { return (n + kBitsPerWord - 1) / kBitsPerWord; }

// The forward's result, laid out as the input when dense, else contiguous,
// and an empty mask for it.
struct Outputs {
  at::Tensor result, mask;
};
Outputs outputs_for(const at::Tensor& x);

// The input seen in the result's memory order: x itself when dense, else a
// contiguous copy.
at::Tensor dense(const at::Tensor& x);

// The checks of a mask backward op: grad_output floating, mask an int32
// vector of the right length on grad_output's device, mask_sizes
// grad_output's sizes and mask_strides a dense layout of them. Returns the
// gradient's output, laid out by mask_strides.
at::Tensor grad_output_for(const char* op, const at::Tensor& grad, const at::Tensor& mask,
                           at::IntArrayRef mask_sizes, at::IntArrayRef mask_strides);

// grad_output in the mask's memory order (a copy only if its layout differs).
at::Tensor in_mask_order(const at::Tensor& grad, at::IntArrayRef mask_strides);

}  // namespace rectifiers::mask
