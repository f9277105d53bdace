// PReLU's CUDA loops: the forward on ATen's gpu_kernel, the fused backward
// on kernels of its own.
#include <ATen/ATen.h>
#include <ATen/OpMathType.h>
#include <ATen/native/cuda/Loops.cuh>
#include <c10/cuda/CUDAGuard.h>

#include "../../common/shapes.h"
#include "../../cuda/loops.cuh"
#include "../prelu.h"

namespace rectifiers::cuda {
namespace {

void prelu_kernel(at::TensorIteratorBase& iter) {
  const c10::cuda::CUDAGuard guard(iter.device(0));
  RECTIFIERS_DISPATCH_FLOATING(iter.common_dtype(), "rectifiers::prelu", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    at::native::gpu_kernel(iter, [] GPU_LAMBDA(scalar_t x, scalar_t w) -> scalar_t {
      return math::prelu<opmath_t>(x, w);
    });
  });
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

// How the backward is cut: per channel, or channel tiles for channels
// innermost; each block sums one slice of its channels into `partial`.
struct Launch {
  bool channels_innermost;
  int slices;
  dim3 grid, block;
};

Launch plan_launch(const shapes::AroundDim& shape, bool shared_weight) {
  const int64_t channels = shape.size;
  const int64_t per_channel = shape.outer * shape.inner;
  const int64_t sms = at::cuda::getCurrentDeviceProperties()->multiProcessorCount;
  Launch launch{};
  launch.channels_innermost = !shared_weight && shape.inner == 1;
  if (launch.channels_innermost) {
    const int64_t tiles = (channels + kTileChannels - 1) / kTileChannels;
    const int64_t max_slices = std::max<int64_t>(1, sms * 8 / tiles);
    launch.slices = static_cast<int>(std::min<int64_t>(
        {(per_channel + kTileRows - 1) / kTileRows, max_slices, 65535}));
    launch.grid = dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(launch.slices));
    launch.block = dim3(kTileChannels, kTileRows);
  } else {
    const int64_t max_slices = std::max<int64_t>(1, sms * 8 / channels);
    launch.slices =
        static_cast<int>(std::min<int64_t>({blocks_for(per_channel), max_slices, 65535}));
    launch.grid = dim3(static_cast<unsigned>(channels), static_cast<unsigned>(launch.slices));
    launch.block = dim3(kThreads);
  }
  return launch;
}

template <typename scalar_t, typename index_t>
void launch_backward(const Launch& launch, const shapes::AroundDim& shape, bool shared_weight,
                     const at::Tensor& gc, const at::Tensor& xc, const at::Tensor& wc,
                     at::Tensor& gi, at::Tensor& partial) {
  using opmath_t = at::opmath_type<scalar_t>;
  auto stream = at::cuda::getCurrentCUDAStream();
  const int64_t per_channel = shape.outer * shape.inner;
  if (launch.channels_innermost) {
    prelu_backward_channels_last_kernel<scalar_t, index_t>
        <<<launch.grid, launch.block, 0, stream>>>(
            gc.const_data_ptr<scalar_t>(), xc.const_data_ptr<scalar_t>(),
            wc.const_data_ptr<scalar_t>(), gi.mutable_data_ptr<scalar_t>(),
            partial.mutable_data_ptr<opmath_t>(), static_cast<index_t>(per_channel),
            static_cast<index_t>(shape.size));
  } else {
    prelu_backward_kernel<scalar_t, index_t><<<launch.grid, launch.block, 0, stream>>>(
        gc.const_data_ptr<scalar_t>(), xc.const_data_ptr<scalar_t>(),
        wc.const_data_ptr<scalar_t>(), gi.mutable_data_ptr<scalar_t>(),
        partial.mutable_data_ptr<opmath_t>(), static_cast<index_t>(per_channel),
        static_cast<index_t>(shape.inner), static_cast<index_t>(shape.size * shape.inner),
        static_cast<index_t>(shared_weight ? 0 : shape.inner), shared_weight);
  }
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

void prelu_backward_kernel(const at::Tensor& grad, const at::Tensor& x,
                           const at::Tensor& weight_b, at::Tensor& grad_input,
                           at::Tensor& grad_weight) {
  if (x.numel() == 0) {
    grad_weight.zero_();
    return;
  }
  const c10::cuda::CUDAGuard guard(x.device());
  // The kernels work on one dense memory order; bring every operand to it
  // (a no-op for contiguous and channels_last inputs).
  const auto format = grad_input.suggest_memory_format();
  const auto xc = x.contiguous(format);
  const auto gc = grad.contiguous(format);
  const auto wc = weight_b.contiguous();
  const bool direct = grad_input.is_contiguous(format);
  auto gi = direct ? grad_input : at::empty_like(xc, format);
  const bool shared_weight = wc.numel() == 1;
  const auto shape = shared_weight ? shapes::AroundDim{1, 1, xc.numel()}
                                   : shapes::around_dim(xc, 1, format);
  const auto launch = plan_launch(shape, shared_weight);
  auto partial = at::empty({shape.size * launch.slices},
                           x.options().dtype(at::toOpMathType(x.scalar_type())));
  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::prelu_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    if (fits<int32_t>(xc.numel())) {
      launch_backward<scalar_t, int32_t>(launch, shape, shared_weight, gc, xc, wc, gi, partial);
    } else {
      launch_backward<scalar_t, int64_t>(launch, shape, shared_weight, gc, xc, wc, gi, partial);
    }
    sum_slices_kernel<scalar_t>
        <<<blocks_for(shape.size), kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(
            partial.const_data_ptr<opmath_t>(), grad_weight.mutable_data_ptr<scalar_t>(),
            shape.size, launch.slices);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  if (!direct) grad_input.copy_(gi);
}

}  // namespace
}  // namespace rectifiers::cuda

RECTIFIERS_REGISTER_CUDA_KERNEL(prelu_stub, &cuda::prelu_kernel)
RECTIFIERS_REGISTER_CUDA_KERNEL(prelu_backward_stub, &cuda::prelu_backward_kernel)
