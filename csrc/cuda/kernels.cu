// CUDA kernels. Elementwise ops run through ATen's gpu_kernel (vectorised
// loads/stores for contiguous and channels_last operands, 64-bit-safe
// splitting of huge tensors, launch on the current stream); PReLU's backward
// and maxout have kernels of their own.
#include "kernels.h"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/native/cuda/Loops.cuh>
#include <c10/cuda/CUDAGuard.h>

#include <limits>

#include "../common/rectifier_math.h"

namespace rectifiers::cuda {
namespace {

#define RECTIFIERS_DISPATCH_FLOATING(TYPE, NAME, ...) \
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, TYPE, NAME, __VA_ARGS__)

constexpr int kThreads = 256;

int64_t blocks_for(int64_t n) { return (n + kThreads - 1) / kThreads; }

// A dense tensor seen as [outer, size, inner] around one dim, in memory order:
// element (o, d, i) lives at (o * size + d) * inner + i.
struct AroundDim {
  int64_t outer, size, inner;
};

AroundDim around(const at::Tensor& dense, int64_t dim) {
  const int64_t inner = dense.stride(dim);
  const int64_t size = dense.size(dim);
  const int64_t outer = size * inner == 0 ? 0 : dense.numel() / (size * inner);
  return {outer, size, inner};
}

// The memory format the op's outputs were allocated in (shapes.cpp), so that
// inputs brought to it share their memory order.
at::MemoryFormat layout_of(const at::Tensor& t) { return t.suggest_memory_format(); }

template <typename index_t>
bool fits(int64_t n) {
  return n <= static_cast<int64_t>(std::numeric_limits<index_t>::max());
}

// ---------------------------------------------------------------- maxout

template <typename scalar_t, typename pos_t, typename index_t>
__global__ void maxout_forward_kernel(const scalar_t* __restrict__ x, scalar_t* __restrict__ out,
                                      pos_t* __restrict__ positions, index_t n_out,
                                      index_t groups_inner, index_t inner, int pool_size) {
  using opmath_t = at::opmath_type<scalar_t>;
  for (index_t e = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; e < n_out;
       e += static_cast<index_t>(gridDim.x) * blockDim.x) {
    const index_t o = e / groups_inner;
    const index_t rest = e - o * groups_inner;  // g * inner + i
    const index_t g = rest / inner;
    const index_t i = rest - g * inner;
    const scalar_t* group = x + (o * groups_inner * pool_size) + (g * pool_size) * inner + i;
    scalar_t best = group[0];
    int best_j = 0;
    for (int j = 1; j < pool_size; ++j) {
      const scalar_t v = group[static_cast<index_t>(j) * inner];
      if (math::maxout_takes<opmath_t>(v, best)) {
        best = v;
        best_j = j;
      }
    }
    out[e] = best;
    if (positions != nullptr) positions[e] = static_cast<pos_t>(best_j);
  }
}

template <typename scalar_t, typename pos_t, typename index_t>
__global__ void maxout_backward_kernel(const scalar_t* __restrict__ grad,
                                       const pos_t* __restrict__ positions,
                                       scalar_t* __restrict__ grad_input, index_t n_out,
                                       index_t groups_inner, index_t inner, int pool_size) {
  for (index_t e = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; e < n_out;
       e += static_cast<index_t>(gridDim.x) * blockDim.x) {
    const index_t o = e / groups_inner;
    const index_t rest = e - o * groups_inner;
    const index_t g = rest / inner;
    const index_t i = rest - g * inner;
    scalar_t* group = grad_input + (o * groups_inner * pool_size) + (g * pool_size) * inner + i;
    const scalar_t gv = grad[e];
    const int64_t chosen = static_cast<int64_t>(positions[e]);
    // Indices come from the caller of maxout_backward: out of range is a
    // device-side assert, as in ATen's gather and scatter.
    CUDA_KERNEL_ASSERT(chosen >= 0 && chosen < pool_size);
    for (int j = 0; j < pool_size; ++j) {
      group[static_cast<index_t>(j) * inner] = j == chosen ? gv : scalar_t(0);
    }
  }
}

int grid_for(int64_t n) {
  const int64_t max_blocks =
      static_cast<int64_t>(at::cuda::getCurrentDeviceProperties()->multiProcessorCount) * 32;
  return static_cast<int>(std::max<int64_t>(1, std::min(blocks_for(n), max_blocks)));
}

// A thread's running sum of the weight gradient, in runs: each run starts
// fresh and is then added to the total, so a total that has grown large
// does not swallow the small values added to it (the CPU kernels cascade).
template <typename T>
struct RunSum {
  static constexpr int kRun = 64;
  T total = 0, run = 0;
  int count = 0;
  __device__ void add(T v) {
    run += v;
    if (++count == kRun) {
      total += run;
      run = 0;
      count = 0;
    }
  }
  __device__ T value() const { return total + run; }
};

// -------------------------------------------------------------- prelu bwd

// One block reduces a slice of one channel; partial sums land in
// partial[channel * slices + slice] and are added in slice order afterwards,
// so the weight gradient has the same bits on every run.
template <typename scalar_t, typename index_t>
__global__ void prelu_backward_kernel(const scalar_t* __restrict__ grad,
                                      const scalar_t* __restrict__ x,
                                      const scalar_t* __restrict__ weight,
                                      scalar_t* __restrict__ grad_input,
                                      at::opmath_type<scalar_t>* __restrict__ partial,
                                      index_t per_channel, index_t inner, index_t outer_stride,
                                      index_t channel_stride, bool shared_weight) {
  using opmath_t = at::opmath_type<scalar_t>;
  __shared__ opmath_t sums[kThreads];
  const index_t c = blockIdx.x;
  const index_t slice = blockIdx.y;
  const opmath_t w = weight[shared_weight ? 0 : c];
  RunSum<opmath_t> acc;
  for (index_t k = slice * static_cast<index_t>(blockDim.x) + threadIdx.x; k < per_channel;
       k += static_cast<index_t>(gridDim.y) * blockDim.x) {
    const index_t o = k / inner;
    const index_t i = k - o * inner;
    const index_t pos = o * outer_stride + c * channel_stride + i;
    const opmath_t g = grad[pos];
    const opmath_t xv = x[pos];
    grad_input[pos] = static_cast<scalar_t>(math::prelu_backward(g, xv, w));
    acc.add(math::prelu_weight_grad(g, xv));
  }
  sums[threadIdx.x] = acc.value();
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) sums[threadIdx.x] += sums[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[c * gridDim.y + slice] = sums[0];
}

// The same for channels innermost in memory (channels_last, or [N, C]):
// a warp covers 32 neighbouring channels of one row, so loads coalesce.
constexpr int kTileChannels = 32;
constexpr int kTileRows = 8;

template <typename scalar_t, typename index_t>
__global__ void prelu_backward_channels_last_kernel(
    const scalar_t* __restrict__ grad, const scalar_t* __restrict__ x,
    const scalar_t* __restrict__ weight, scalar_t* __restrict__ grad_input,
    at::opmath_type<scalar_t>* __restrict__ partial, index_t rows, index_t channels) {
  using opmath_t = at::opmath_type<scalar_t>;
  __shared__ opmath_t sums[kTileRows][kTileChannels];
  const index_t c = static_cast<index_t>(blockIdx.x) * kTileChannels + threadIdx.x;
  const index_t slice = blockIdx.y;
  RunSum<opmath_t> acc;
  if (c < channels) {
    const opmath_t w = weight[c];
    for (index_t r = slice * kTileRows + threadIdx.y; r < rows;
         r += static_cast<index_t>(gridDim.y) * kTileRows) {
      const index_t pos = r * channels + c;
      const opmath_t g = grad[pos];
      const opmath_t xv = x[pos];
      grad_input[pos] = static_cast<scalar_t>(math::prelu_backward(g, xv, w));
      acc.add(math::prelu_weight_grad(g, xv));
    }
  }
  sums[threadIdx.y][threadIdx.x] = acc.value();
  __syncthreads();
  if (threadIdx.y == 0 && c < channels) {
    opmath_t total = 0;
    for (int row = 0; row < kTileRows; ++row) total += sums[row][threadIdx.x];
    partial[c * gridDim.y + slice] = total;
  }
}

template <typename scalar_t>
__global__ void sum_slices_kernel(const at::opmath_type<scalar_t>* __restrict__ partial,
                                  scalar_t* __restrict__ grad_weight, int64_t channels,
                                  int slices) {
  const int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (c >= channels) return;
  at::opmath_type<scalar_t> total = 0;
  for (int s = 0; s < slices; ++s) total += partial[c * slices + s];
  grad_weight[c] = static_cast<scalar_t>(total);
}

}  // namespace

void Kernels::relu(at::TensorIteratorBase& iter) {
  const c10::cuda::CUDAGuard guard(iter.device(0));
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::relu", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    // ATen's CUDA clamp_min: NaN passes, else fmax, which gives +0 for -0
    // (the CPU kernel keeps -0, as ATen's CPU kernel does).
    at::native::gpu_kernel(iter, [] GPU_LAMBDA(scalar_t x) -> scalar_t {
      const opmath_t v = x;
      return v != v ? v : ::max(v, opmath_t(0));
    });
  });
}

void Kernels::relu_backward(at::TensorIteratorBase& iter) {
  const c10::cuda::CUDAGuard guard(iter.device(0));
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::relu_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    at::native::gpu_kernel(iter, [] GPU_LAMBDA(scalar_t g, scalar_t y) -> scalar_t {
      return math::relu_backward<opmath_t>(g, y);
    });
  });
}

void Kernels::leaky_relu(at::TensorIteratorBase& iter, double slope) {
  const c10::cuda::CUDAGuard guard(iter.device(0));
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::leaky_relu", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const auto a = static_cast<opmath_t>(slope);
    at::native::gpu_kernel(iter, [a] GPU_LAMBDA(scalar_t x) -> scalar_t {
      return math::leaky<opmath_t>(x, a);
    });
  });
}

void Kernels::leaky_relu_backward(at::TensorIteratorBase& iter, double slope) {
  const c10::cuda::CUDAGuard guard(iter.device(0));
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::leaky_relu_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const auto a = static_cast<opmath_t>(slope);
    at::native::gpu_kernel(iter, [a] GPU_LAMBDA(scalar_t g, scalar_t x) -> scalar_t {
      return math::leaky_backward<opmath_t>(g, x, a);
    });
  });
}

void Kernels::prelu(at::TensorIteratorBase& iter) {
  const c10::cuda::CUDAGuard guard(iter.device(0));
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::prelu", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    at::native::gpu_kernel(iter, [] GPU_LAMBDA(scalar_t x, scalar_t w) -> scalar_t {
      return math::prelu<opmath_t>(x, w);
    });
  });
}

void Kernels::abs_rectifier(at::TensorIteratorBase& iter) {
  const c10::cuda::CUDAGuard guard(iter.device(0));
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::abs_rectifier", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    at::native::gpu_kernel(iter, [] GPU_LAMBDA(scalar_t x) -> scalar_t {
      return math::abs_rectifier<opmath_t>(x);
    });
  });
}

void Kernels::abs_rectifier_backward(at::TensorIteratorBase& iter) {
  const c10::cuda::CUDAGuard guard(iter.device(0));
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::abs_rectifier_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    at::native::gpu_kernel(iter, [] GPU_LAMBDA(scalar_t g, scalar_t x) -> scalar_t {
      return math::abs_rectifier_backward<opmath_t>(g, x);
    });
  });
}

void Kernels::prelu_backward(const at::Tensor& grad, const at::Tensor& x,
                             const at::Tensor& weight_b, at::Tensor& grad_input,
                             at::Tensor& grad_weight) {
  if (x.numel() == 0) {
    grad_weight.zero_();
    return;
  }
  const c10::cuda::CUDAGuard guard(x.device());
  // Kernel works on one dense memory order; bring every operand to it
  // (a no-op for contiguous and channels_last inputs).
  const auto format = layout_of(grad_input);
  const auto xc = x.contiguous(format);
  const auto gc = grad.contiguous(format);
  const auto wc = weight_b.contiguous();
  const bool direct = grad_input.is_contiguous(format);
  auto gi = direct ? grad_input : at::empty_like(xc, format);

  const bool shared_weight = wc.numel() == 1;
  AroundDim shape{1, 1, xc.numel()};
  if (!shared_weight) shape = around(xc, 1);
  const int64_t channels = shape.size;
  const int64_t per_channel = shape.outer * shape.inner;
  const bool channels_innermost = !shared_weight && shape.inner == 1;
  const int64_t sms = at::cuda::getCurrentDeviceProperties()->multiProcessorCount;
  int slices;
  dim3 grid, block;
  if (channels_innermost) {
    const int64_t tiles = (channels + kTileChannels - 1) / kTileChannels;
    const int64_t max_slices = std::max<int64_t>(1, sms * 8 / tiles);
    slices = static_cast<int>(std::min<int64_t>(
        {(per_channel + kTileRows - 1) / kTileRows, max_slices, 65535}));
    grid = dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(slices));
    block = dim3(kTileChannels, kTileRows);
  } else {
    const int64_t max_slices = std::max<int64_t>(1, sms * 8 / channels);
    slices = static_cast<int>(std::min<int64_t>({blocks_for(per_channel), max_slices, 65535}));
    grid = dim3(static_cast<unsigned>(channels), static_cast<unsigned>(slices));
    block = dim3(kThreads);
  }
  auto partial = at::empty({channels * slices},
                           x.options().dtype(at::toOpMathType(x.scalar_type())));
  auto stream = at::cuda::getCurrentCUDAStream();

  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::prelu_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    auto launch = [&](auto index_tag) {
      using index_t = decltype(index_tag);
      if (channels_innermost) {
        prelu_backward_channels_last_kernel<scalar_t, index_t><<<grid, block, 0, stream>>>(
            gc.const_data_ptr<scalar_t>(), xc.const_data_ptr<scalar_t>(),
            wc.const_data_ptr<scalar_t>(), gi.mutable_data_ptr<scalar_t>(),
            partial.mutable_data_ptr<opmath_t>(), static_cast<index_t>(per_channel),
            static_cast<index_t>(channels));
      } else {
        prelu_backward_kernel<scalar_t, index_t><<<grid, block, 0, stream>>>(
            gc.const_data_ptr<scalar_t>(), xc.const_data_ptr<scalar_t>(),
            wc.const_data_ptr<scalar_t>(), gi.mutable_data_ptr<scalar_t>(),
            partial.mutable_data_ptr<opmath_t>(), static_cast<index_t>(per_channel),
            static_cast<index_t>(shape.inner), static_cast<index_t>(shape.size * shape.inner),
            static_cast<index_t>(shared_weight ? 0 : shape.inner), shared_weight);
      }
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    };
    if (fits<int32_t>(xc.numel())) {
      launch(int32_t{});
    } else {
      launch(int64_t{});
    }
    sum_slices_kernel<scalar_t><<<blocks_for(channels), kThreads, 0, stream>>>(
        partial.const_data_ptr<opmath_t>(), grad_weight.mutable_data_ptr<scalar_t>(), channels,
        slices);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  if (!direct) grad_input.copy_(gi);
}

void Kernels::maxout(const at::Tensor& x, int64_t pool_size, int64_t dim, at::Tensor& values,
                     const at::Tensor& indices) {
  if (values.numel() == 0) return;
  const c10::cuda::CUDAGuard guard(x.device());
  const auto format = layout_of(values);
  const auto xc = x.contiguous(format);
  const bool direct = values.is_contiguous(format);
  auto out = direct ? values : at::empty_like(values, format);
  const bool with_indices = indices.defined();
  auto pos = (!with_indices || indices.is_contiguous(format)) ? indices
                                                               : at::empty_like(indices, format);
  const auto shape = around(out, dim);
  const int64_t n_out = out.numel();
  auto stream = at::cuda::getCurrentCUDAStream();

  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::maxout", [&] {
    auto launch = [&](auto index_tag, auto pos_tag) {
      using index_t = decltype(index_tag);
      using pos_t = decltype(pos_tag);
      maxout_forward_kernel<scalar_t, pos_t, index_t><<<grid_for(n_out), kThreads, 0, stream>>>(
          xc.const_data_ptr<scalar_t>(), out.mutable_data_ptr<scalar_t>(),
          with_indices ? static_cast<pos_t*>(pos.data_ptr()) : nullptr,
          static_cast<index_t>(n_out), static_cast<index_t>(shape.size * shape.inner),
          static_cast<index_t>(shape.inner), static_cast<int>(pool_size));
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    };
    const bool small = fits<int32_t>(xc.numel());
    const bool byte_positions = !with_indices || pos.scalar_type() == at::kByte;
    if (small && byte_positions) launch(int32_t{}, uint8_t{});
    else if (small) launch(int32_t{}, int32_t{});
    else if (byte_positions) launch(int64_t{}, uint8_t{});
    else launch(int64_t{}, int32_t{});
  });
  if (!direct) values.copy_(out);
  if (with_indices && !pos.is_same(indices)) const_cast<at::Tensor&>(indices).copy_(pos);
}

void Kernels::maxout_backward(const at::Tensor& grad, const at::Tensor& indices,
                              int64_t pool_size, int64_t dim, at::Tensor& grad_input) {
  if (grad.numel() == 0) return;
  const c10::cuda::CUDAGuard guard(grad.device());
  const auto format = layout_of(grad_input);
  const auto gc = grad.contiguous(format);
  const auto pc = indices.contiguous(format);
  const bool direct = grad_input.is_contiguous(format);
  auto gi = direct ? grad_input : at::empty_like(grad_input, format);
  // Shape from the tensor we allocated: its strides are the format's own.
  auto shape = around(gi, dim);
  shape.size = gc.size(dim);
  const int64_t n_out = gc.numel();
  auto stream = at::cuda::getCurrentCUDAStream();

  RECTIFIERS_DISPATCH_FLOATING(grad.scalar_type(), "rectifiers::maxout_backward", [&] {
    auto launch = [&](auto index_tag, auto pos_tag) {
      using index_t = decltype(index_tag);
      using pos_t = decltype(pos_tag);
      maxout_backward_kernel<scalar_t, pos_t, index_t><<<grid_for(n_out), kThreads, 0, stream>>>(
          gc.const_data_ptr<scalar_t>(), static_cast<const pos_t*>(pc.const_data_ptr()),
          gi.mutable_data_ptr<scalar_t>(), static_cast<index_t>(n_out),
          static_cast<index_t>(shape.size * shape.inner), static_cast<index_t>(shape.inner),
          static_cast<int>(pool_size));
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    };
    const bool small = fits<int32_t>(gi.numel());
    const bool byte_positions = pc.scalar_type() == at::kByte;
    if (small && byte_positions) launch(int32_t{}, uint8_t{});
    else if (small) launch(int32_t{}, int32_t{});
    else if (byte_positions) launch(int64_t{}, uint8_t{});
    else launch(int64_t{}, int32_t{});
  });
  if (!direct) grad_input.copy_(gi);
}

}  // namespace rectifiers::cuda
