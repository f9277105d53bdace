// rrelu's CUDA loops: grid-stride kernels over the dense memory of tensors
// that share one layout (see ops/rrelu.cpp). The generator state comes from
// the CUDA generator as ATen's dropout takes it, unpacked on the device (so
// that a CUDA graph replays with fresh offsets); the forward writes it to
// the state tensor, the backward reads it from there.
#include <ATen/OpMathType.h>
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <ATen/cuda/detail/UnpackRaw.cuh>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include <mutex>

#include "../../common/mask.h"
#include "../../cuda/loops.cuh"
#include "../rrelu.h"

namespace rectifiers::cuda {
namespace {

// The offsets one call takes from the generator: a Philox block per counter.
constexpr uint64_t kOffsetIncrement = 4;

// The call's generator state, unpacked on the device and written to `state`
// (by one thread) for the backward.
__device__ inline RReLUState unpack_state(at::PhiloxCudaState philox, int64_t* state) {
  const auto [seed, offset] = at::cuda::philox::unpack(philox);
  if (blockIdx.x == 0 && threadIdx.x == 0) {
    state[0] = static_cast<int64_t>(seed);
    state[1] = static_cast<int64_t>(offset);
  }
  return RReLUState{seed, offset};
}

template <typename scalar_t, typename index_t>
__global__ void rrelu_forward(scalar_t* out, const scalar_t* x, index_t n, double lower,
                              double upper, at::PhiloxCudaState philox, int64_t* state) {
  using opmath_t = at::opmath_type<scalar_t>;
  RReLUSlopes<opmath_t> slope(unpack_state(philox, state), lower, upper);
  const index_t stride = static_cast<index_t>(blockDim.x) * gridDim.x;
  for (index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    const opmath_t v = x[i];
    if (v <= opmath_t(0)) {
      out[i] = static_cast<scalar_t>(v * slope(i));
    } else {
      out[i] = x[i];
    }
  }
}

// grad_input = positive(i) ? grad : grad * slope, the slopes those of `state`.
template <typename scalar_t, typename index_t, typename Positive>
__global__ void rrelu_backward(scalar_t* grad_input, const scalar_t* grad, index_t n,
                               double lower, double upper, const int64_t* state,
                               Positive positive) {
  using opmath_t = at::opmath_type<scalar_t>;
  RReLUSlopes<opmath_t> slope(
      RReLUState{static_cast<uint64_t>(state[0]), static_cast<uint64_t>(state[1])}, lower, upper);
  const index_t stride = static_cast<index_t>(blockDim.x) * gridDim.x;
  for (index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    if (positive(i)) {
      grad_input[i] = grad[i];
    } else {
      grad_input[i] = static_cast<scalar_t>(opmath_t(grad[i]) * slope(i));
    }
  }
}

// rrelu_backward of grad_input, grad and state over n elements, with
// 32-bit indices where they fit.
template <typename scalar_t, typename Positive>
void launch_backward(const at::Tensor& grad_input, const at::Tensor& grad, double lower,
                     double upper, const at::Tensor& state, Positive positive) {
  const int64_t n = grad.numel();
  const auto stream = at::cuda::getCurrentCUDAStream();
  auto launch = [&](auto index) {
    using index_t = decltype(index);
    rrelu_backward<scalar_t, index_t><<<grid_for(n), kThreads, 0, stream>>>(
        grad_input.mutable_data_ptr<scalar_t>(), grad.const_data_ptr<scalar_t>(),
        static_cast<index_t>(n), lower, upper, state.const_data_ptr<int64_t>(), positive);
  };
  fits<int32_t>(n) ? launch(int32_t{}) : launch(int64_t{});
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

// As rrelu_forward, with the mask of !(x <= 0): the grid strides by whole
// warps and the bound is a whole number of words, so that every lane of a
// warp takes part in each ballot.
template <typename scalar_t>
__global__ void rrelu_forward_with_mask(scalar_t* out, const scalar_t* x, int64_t n,
                                        int64_t n_words, double lower, double upper,
                                        at::PhiloxCudaState philox, int64_t* state,
                                        uint32_t* words) {
  using opmath_t = at::opmath_type<scalar_t>;
  RReLUSlopes<opmath_t> slope(unpack_state(philox, state), lower, upper);
  const int64_t bound = n_words * mask::kBitsPerWord;
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < bound;
       i += stride) {
    bool positive = false;
    if (i < n) {
      const opmath_t v = x[i];
      positive = !(v <= opmath_t(0));
      out[i] = positive ? x[i] : static_cast<scalar_t>(v * slope(i));
    }
    const uint32_t word = __ballot_sync(0xffffffffu, positive);
    if ((threadIdx.x & 31) == 0) words[i / mask::kBitsPerWord] = word;
  }
}

at::PhiloxCudaState philox_state(std::optional<at::Generator> generator) {
  auto* gen = at::get_generator_or_default<at::CUDAGeneratorImpl>(
      generator, at::cuda::detail::getDefaultCUDAGenerator());
  std::lock_guard<std::mutex> lock(gen->mutex_);
  return gen->philox_cuda_state(kOffsetIncrement);
}

void rrelu_kernel(const at::Tensor& out, const at::Tensor& x, const at::Tensor& state,
                  double lower, double upper, std::optional<at::Generator> generator) {
  const c10::cuda::CUDAGuard guard(x.device());
  const auto philox = philox_state(generator);
  const int64_t n = x.numel();
  const auto stream = at::cuda::getCurrentCUDAStream();
  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::rrelu_with_state", [&] {
    auto launch = [&](auto index) {
      using index_t = decltype(index);
      rrelu_forward<scalar_t, index_t><<<grid_for(n), kThreads, 0, stream>>>(
          out.mutable_data_ptr<scalar_t>(), x.const_data_ptr<scalar_t>(),
          static_cast<index_t>(n), lower, upper, philox, state.mutable_data_ptr<int64_t>());
    };
    fits<int32_t>(n) ? launch(int32_t{}) : launch(int64_t{});
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
}

void rrelu_backward_kernel(const at::Tensor& grad_input, const at::Tensor& grad,
                           const at::Tensor& x, const at::Tensor& state, double lower,
                           double upper) {
  const c10::cuda::CUDAGuard guard(x.device());
  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::rrelu_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const scalar_t* in = x.const_data_ptr<scalar_t>();
    launch_backward<scalar_t>(grad_input, grad, lower, upper, state,
                              [in] GPU_LAMBDA(int64_t i) { return !(opmath_t(in[i]) <= opmath_t(0)); });
  });
}

void rrelu_with_mask_kernel(const at::Tensor& out, const at::Tensor& x, const at::Tensor& state,
                            const at::Tensor& mask, double lower, double upper,
                            std::optional<at::Generator> generator) {
  const c10::cuda::CUDAGuard guard(x.device());
  const auto philox = philox_state(generator);
  const int64_t n = x.numel();
  const int64_t n_words = mask::words_for(n);
  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::rrelu_with_mask", [&] {
    rrelu_forward_with_mask<scalar_t>
        <<<grid_for(n_words * mask::kBitsPerWord), kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(
            out.mutable_data_ptr<scalar_t>(), x.const_data_ptr<scalar_t>(), n, n_words, lower,
            upper, philox, state.mutable_data_ptr<int64_t>(),
            reinterpret_cast<uint32_t*>(mask.mutable_data_ptr<int32_t>()));
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
}

void rrelu_mask_backward_kernel(const at::Tensor& grad_input, const at::Tensor& grad,
                                const at::Tensor& mask, const at::Tensor& state, double lower,
                                double upper) {
  const c10::cuda::CUDAGuard guard(grad.device());
  const auto* words = reinterpret_cast<const uint32_t*>(mask.const_data_ptr<int32_t>());
  RECTIFIERS_DISPATCH_FLOATING(grad.scalar_type(), "rectifiers::rrelu_mask_backward", [&] {
    launch_backward<scalar_t>(grad_input, grad, lower, upper, state,
                              [words] GPU_LAMBDA(int64_t i) {
                                return ((words[i / mask::kBitsPerWord] >> (i % mask::kBitsPerWord)) &
                                        1u) != 0;
                              });
  });
}

}  // namespace
}  // namespace rectifiers::cuda

RECTIFIERS_REGISTER_CUDA_KERNEL(rrelu_stub, &cuda::rrelu_kernel)
RECTIFIERS_REGISTER_CUDA_KERNEL(rrelu_backward_stub, &cuda::rrelu_backward_kernel)
RECTIFIERS_REGISTER_CUDA_KERNEL(rrelu_with_mask_stub, &cuda::rrelu_with_mask_kernel)
RECTIFIERS_REGISTER_CUDA_KERNEL(rrelu_mask_backward_stub, &cuda::rrelu_mask_backward_kernel)
