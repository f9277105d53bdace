// What the ops that save a packed mask for their backward share (leaky_relu,
// relu6 and abs_rectifier out of place, rrelu in training): the backward
// needs only which side of a threshold each input was on, so the forward
// writes one or two bits per element instead of keeping the input.
//
// The mask is an int32 tensor of planes * ceil(n / 32) words for n elements:
// one plane of ceil(n / 32) words per bit an element needs, one after the
// other. Bit j of word w of a plane (least significant first) belongs to
// element 32 * w + j in the memory order of the forward's result: the
// input's order when the input is dense (contiguous, channels_last,
// transposed, ...), the contiguous order otherwise. The backward op takes
// the result's sizes and strides (`mask_sizes`, `mask_strides`) with the
// mask, so it refuses a gradient of another shape and reads the right bit
// for a gradient of any layout.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/FunctionRef.h>

#include <vector>

namespace rectifiers::mask {

constexpr int64_t kBitsPerWord = 32;

inline int64_t words_for(int64_t n) { return (n + kBitsPerWord - 1) / kBitsPerWord; }

// The forward's result, laid out as the input when dense, else contiguous,
// and an empty mask of `planes` planes for it.
struct Outputs {
  at::Tensor result, mask;
};
Outputs outputs_for(const at::Tensor& x, int64_t planes = 1);

// The input seen in the result's memory order: x itself when dense, else a
// contiguous copy.
at::Tensor dense(const at::Tensor& x);

// The checks of a mask backward op: grad_output floating, mask an int32
// vector of `planes` planes for it on grad_output's device, mask_sizes
// grad_output's sizes and mask_strides a dense layout of them. Returns the
// gradient's output, laid out as torch's TensorIterator lays out the op's
// twin's: by mask_strides (the input's layout), or where the twin's iterator
// takes grad_output first (`as_grad_output`), as grad_output when that is
// dense. Downstream loops split by layout, and with them a bfloat16 NaN's
// encoding.
at::Tensor grad_output_for(const char* op, const at::Tensor& grad, const at::Tensor& mask,
                           at::IntArrayRef mask_sizes, at::IntArrayRef mask_strides,
                           int64_t planes, bool as_grad_output);

// Whether t is dense and laid out by `strides` (its size-1 dims aside).
bool laid_out_by(const at::Tensor& t, at::IntArrayRef strides);

// Runs a mask backward's loop, run(output), which writes in the mask's
// order, for grad_output_for's output: into a temporary in the mask's order,
// then copied, where that output is laid out otherwise.
void run_in_mask_order(const at::Tensor& out, at::IntArrayRef mask_strides,
                       c10::function_ref<void(const at::Tensor&)> run);

// Whether any element has its bit set in plane `plane` of a CPU mask of
// `planes` planes (relu6's NaN plane).
bool any_in_plane(const at::Tensor& mask, int64_t planes, int64_t plane);

// A copy of the mask with plane `plane` cleared.
at::Tensor without_plane(const at::Tensor& mask, int64_t planes, int64_t plane);

// grad_output in the mask's memory order (a copy only if its layout differs).
at::Tensor in_mask_order(const at::Tensor& grad, at::IntArrayRef mask_strides);

}  // namespace rectifiers::mask
