// Maxout's CUDA loops, forward and backward: one thread per group.
#include <ATen/ATen.h>
#include <ATen/OpMathType.h>
#include <c10/cuda/CUDAGuard.h>

#include "../../common/shapes.h"
#include "../../cuda/loops.cuh"
#include "../maxout.h"

namespace rectifiers::cuda {
namespace {

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

void maxout_kernel(const at::Tensor& x, int64_t pool_size, int64_t dim, at::Tensor& values,
                     const at::Tensor& indices) {
  if (values.numel() == 0) return;
  const c10::cuda::CUDAGuard guard(x.device());
  const auto format = values.suggest_memory_format();
  const auto xc = x.contiguous(format);
  const bool direct = values.is_contiguous(format);
  auto out = direct ? values : at::empty_like(values, format);
  const bool with_indices = indices.defined();
  auto pos = (!with_indices || indices.is_contiguous(format)) ? indices
                                                               : at::empty_like(indices, format);
  const auto shape = shapes::around_dim(out, dim, format);
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

void maxout_backward_kernel(const at::Tensor& grad, const at::Tensor& indices,
                              int64_t pool_size, int64_t dim, at::Tensor& grad_input) {
  if (grad.numel() == 0) return;
  const c10::cuda::CUDAGuard guard(grad.device());
  const auto format = grad_input.suggest_memory_format();
  const auto gc = grad.contiguous(format);
  const auto pc = indices.contiguous(format);
  const bool direct = grad_input.is_contiguous(format);
  auto gi = direct ? grad_input : at::empty_like(grad_input, format);
  // Shape from the tensor we allocated: its strides are the format's own.
  auto shape = shapes::around_dim(gi, dim, format);
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

}  // namespace
}  // namespace rectifiers::cuda

RECTIFIERS_REGISTER_CUDA_KERNEL(maxout_stub, &cuda::maxout_kernel)
RECTIFIERS_REGISTER_CUDA_KERNEL(maxout_backward_stub, &cuda::maxout_backward_kernel)
