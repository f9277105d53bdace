// What the CUDA kernel files (ops/cuda/<op>_kernel.cu) share: the launch
// shape of the kernels of their own (the elementwise ops run on ATen's
// gpu_kernel, which chooses its own).
#pragma once

#include <ATen/cuda/CUDAContext.h>

#include <algorithm>
#include <cstdint>
#include <limits>

#include "../common/dispatch.h"
#include "../common/rectifier_math.h"
#include "../common/stub.h"

namespace rectifiers::cuda {

constexpr int kThreads = 256;

inline int64_t blocks_for(int64_t n) { return (n + kThreads - 1) / kThreads; }

// A grid-stride launch: enough blocks to fill the device, no more.
inline int grid_for(int64_t n) {
  const int64_t max_blocks =
      static_cast<int64_t>(at::cuda::getCurrentDeviceProperties()->multiProcessorCount) * 32;
  return static_cast<int>(std::max<int64_t>(1, std::min(blocks_for(n), max_blocks)));
}

// Whether offsets up to n fit index_t (kernels index in 32 bits when they can).
template <typename index_t>
bool fits(int64_t n) {
  return n <= static_cast<int64_t>(std::numeric_limits<index_t>::max());
}

}  // namespace rectifiers::cuda
