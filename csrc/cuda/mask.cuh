// The CUDA loops of the ops that save a packed mask (common/mask.h): one
// thread per element; a warp's 32 elements are one word of each plane,
// written by its first lane from a ballot. side(x) gives an element's bits,
// bit p for plane p; the backward's op gets them so.
#pragma once

#include <cstdint>

#include "loops.cuh"
#include "../common/mask.h"

namespace rectifiers::cuda {

// The grid strides by whole warps and the bound is a whole number of words,
// so every lane of a warp takes part in each ballot.
template <int planes, typename scalar_t, typename Value, typename Side>
__global__ void forward_with_mask_kernel(const scalar_t* x, scalar_t* result, uint32_t* words,
                                         int64_t n, int64_t n_words, Value value, Side side) {
  const int64_t bound = n_words * mask::kBitsPerWord;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < bound;
       i += stride) {
    uint32_t sides = 0;
    if (i < n) {
      const scalar_t v = x[i];
      result[i] = value(v);
      sides = side(v);
    }
#pragma unroll
    for (int p = 0; p < planes; ++p) {
      const uint32_t word = __ballot_sync(0xffffffffu, (sides >> p) & 1u);
      if ((threadIdx.x & 31) == 0) words[p * n_words + i / mask::kBitsPerWord] = word;
    }
  }
}

template <int planes, typename scalar_t, typename Op>
__global__ void backward_from_mask_kernel(const scalar_t* grad, const uint32_t* words,
                                          scalar_t* out, int64_t n, int64_t n_words, Op op) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    uint32_t bits = 0;
#pragma unroll
    for (int p = 0; p < planes; ++p) {
      const uint32_t word = words[p * n_words + i / mask::kBitsPerWord];
      bits |= ((word >> (i % mask::kBitsPerWord)) & 1u) << p;
    }
    out[i] = op(grad[i], bits);
  }
}

template <typename scalar_t, int planes = 1, typename Value, typename Side>
void forward_with_mask(const at::Tensor& input, const at::Tensor& result, const at::Tensor& mask,
                       Value value, Side side) {
  const auto x = mask::dense(input);
  const int64_t n = x.numel();
  if (n == 0) return;
  const int64_t n_words = mask::words_for(n);
  forward_with_mask_kernel<planes><<<grid_for(n_words * mask::kBitsPerWord), kThreads, 0,
                             at::cuda::getCurrentCUDAStream()>>>(
      x.const_data_ptr<scalar_t>(), result.mutable_data_ptr<scalar_t>(),
      reinterpret_cast<uint32_t*>(mask.mutable_data_ptr<int32_t>()), n, n_words, value, side);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

template <typename scalar_t, int planes = 1, typename Op>
void backward_from_mask(const at::Tensor& grad, const at::Tensor& mask, const at::Tensor& out,
                        Op op) {
  const int64_t n = grad.numel();
  if (n == 0) return;
  const auto ordered = mask::in_mask_order(grad, out.strides());
  backward_from_mask_kernel<planes>
      <<<grid_for(n), kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(
          ordered.const_data_ptr<scalar_t>(),
          reinterpret_cast<const uint32_t*>(mask.const_data_ptr<int32_t>()),
          out.mutable_data_ptr<scalar_t>(), n, mask::words_for(n), op);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

}  // namespace rectifiers::cuda
