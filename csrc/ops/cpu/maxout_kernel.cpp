// Maxout's CPU loops, forward and backward, compiled once per instruction
// set (see common/stub.h).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "../../common/shapes.h"
#include "../../cpu/loops.h"
#include "../maxout.h"

namespace rectifiers::cpu {
inline namespace CPU_CAPABILITY {
namespace {

// Maxout walks the output with a TensorIterator over "plane 0" of the input
// (the first element of every group, a strided view shaped like the output);
// the other k-1 members of a group sit at fixed byte offsets from it. This
// handles any strides with no copy.
at::Tensor group_plane(const at::Tensor& t, int64_t pool_size, int64_t dim, int64_t& step) {
  auto grouped = t.unflatten(dim, {t.size(dim) / pool_size, pool_size});
  step = grouped.stride(dim + 1) * static_cast<int64_t>(t.element_size());
  return grouped.select(dim + 1, 0);
}

// maxout_backward's indices come from the caller, so each must name a member
// of its group: a branch-free scan of a run of them (it vectorises), and the
// first bad one named only when there is one.
template <typename index_t>
[[noreturn]] C10_NOINLINE void bad_position(const index_t* p, int64_t n, int64_t k) {
  int64_t i = 0;
  while (i + 1 < n && static_cast<int64_t>(p[i]) >= 0 && static_cast<int64_t>(p[i]) < k) ++i;
  TORCH_CHECK(false, "rectifiers::maxout_backward: indices must be positions inside a group, in "
              "[0, pool_size) = [0, ", k, "), but got ", static_cast<int64_t>(p[i]));
}

template <typename index_t>
void check_positions(const index_t* p, int64_t n, int64_t k) {
  bool bad = false;
  for (int64_t i = 0; i < n; ++i) {
    bad |= static_cast<uint64_t>(static_cast<int64_t>(p[i])) >= static_cast<uint64_t>(k);
  }
  if (C10_UNLIKELY(bad)) bad_position(p, n, k);
}

// Maxout on dense operands that share a memory order (contiguous or
// channels_last in, the same out): seen as [outer, groups * k, inner] in
// memory, a row of `inner` outputs is the elementwise max of k input rows, a
// loop the compiler vectorises. inner == 1 (channels innermost, or the last
// dim) walks each group's k neighbours instead.
namespace dense_maxout {

// The output (or grad_output) around dim: its size there is the number of groups.
using Shape = shapes::AroundDim;

template <int64_t K, bool kPositions, typename scalar_t, typename index_t>
void forward_neighbours_block(const scalar_t* in, scalar_t* out, index_t* positions, int64_t n,
                              int64_t k) {
  using opmath_t = at::opmath_type<scalar_t>;
  // The running max in op-math (exact for float16/bfloat16 values) and the
  // chosen member in an integer of the same width, so the loop is plain
  // compares and blends on one lane type for every dtype; the compact index
  // is narrowed once per block.
  using lane_t = std::conditional_t<sizeof(opmath_t) == 8, uint64_t, uint32_t>;
  constexpr int64_t kBlock = 256;
  opmath_t best[kBlock];
  lane_t chosen[kBlock];
  for (int64_t i = 0; i < n; ++i) best[i] = in[i * k];
  if constexpr (kPositions) {
    for (int64_t i = 0; i < n; ++i) chosen[i] = 0;
  }
  for (int64_t j = 1; j < k; ++j) {
    for (int64_t i = 0; i < n; ++i) {
      const opmath_t candidate = in[i * k + j];
      const bool take = math::maxout_takes<opmath_t>(candidate, best[i]);
      best[i] = take ? candidate : best[i];
      if constexpr (kPositions) chosen[i] = take ? static_cast<lane_t>(j) : chosen[i];
    }
  }
  for (int64_t i = 0; i < n; ++i) out[i] = scalar_t(best[i]);
  if constexpr (kPositions) {
    for (int64_t i = 0; i < n; ++i) positions[i] = static_cast<index_t>(chosen[i]);
  }
}

// Groups of k memory neighbours (inner == 1): take the max of member j
// across a block of groups at a time, branch-free (random data would
// mispredict). K > 0 is k as a compile-time constant, which turns the
// stride-k accesses into interleaved vector loads; K == 0 reads k at run time.
template <int64_t K, typename scalar_t, typename index_t>
void forward_neighbours(const scalar_t* x, scalar_t* out, index_t* positions, int64_t rows,
                        int64_t k_runtime) {
  const int64_t k = K > 0 ? K : k_runtime;
  at::parallel_for(0, rows, std::max<int64_t>(1, at::internal::GRAIN_SIZE / k),
                   [&](int64_t begin, int64_t end) {
    constexpr int64_t kBlock = 256;
    for (int64_t r0 = begin; r0 < end; r0 += kBlock) {
      const int64_t n = std::min(kBlock, end - r0);
      if (positions) {
        forward_neighbours_block<K, true>(x + r0 * k, out + r0, positions + r0, n, k);
      } else {
        forward_neighbours_block<K, false>(x + r0 * k, out + r0, positions, n, k);
      }
    }
  });
}

// Rows of `inner` > 1 outputs: each the elementwise max of k input rows.
template <typename scalar_t, typename index_t>
void forward_rows(const scalar_t* x, scalar_t* out, index_t* positions, Shape s, int64_t k) {
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t rows = s.outer * s.size;  // one row: `inner` outputs
  const int64_t grain = std::max<int64_t>(1, at::internal::GRAIN_SIZE / std::max<int64_t>(s.inner * k, 1));
  at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
    std::vector<opmath_t> best;
    for (int64_t r = begin; r < end; ++r) {
      // Output row r = (o, g) reads input rows (o, g*k + j), j < k: in memory
      // those are rows r*k + j of `inner` elements.
      const scalar_t* in = x + r * k * s.inner;
      scalar_t* o = out + r * s.inner;
      index_t* p = positions ? positions + r * s.inner : nullptr;
      if (p) std::fill(p, p + s.inner, index_t(0));
      if constexpr (std::is_same_v<scalar_t, opmath_t>) {
        for (int64_t i = 0; i < s.inner; ++i) o[i] = in[i];
        for (int64_t j = 1; j < k; ++j) {
          const scalar_t* candidate = in + j * s.inner;
          for (int64_t i = 0; i < s.inner; ++i) {
            const bool take = math::maxout_takes<opmath_t>(candidate[i], o[i]);
            o[i] = take ? candidate[i] : o[i];  // vectorises to a blend
            if (p) p[i] = take ? static_cast<index_t>(j) : p[i];
          }
        }
      } else {
        // float16/bfloat16: keep the running max in float (exact for these
        // values) so the loop is plain float compares and blends.
        best.resize(s.inner);
        for (int64_t i = 0; i < s.inner; ++i) best[i] = in[i];
        for (int64_t j = 1; j < k; ++j) {
          const scalar_t* candidate = in + j * s.inner;
          for (int64_t i = 0; i < s.inner; ++i) {
            const opmath_t v = candidate[i];
            const bool take = math::maxout_takes<opmath_t>(v, best[i]);
            best[i] = take ? v : best[i];
            if (p) p[i] = take ? static_cast<index_t>(j) : p[i];
          }
        }
        for (int64_t i = 0; i < s.inner; ++i) o[i] = scalar_t(best[i]);
      }
    }
  });
}

template <typename scalar_t, typename index_t>
void forward(const scalar_t* x, scalar_t* out, index_t* positions, Shape s, int64_t k) {
  if (s.inner > 1) return forward_rows(x, out, positions, s, k);
  const int64_t rows = s.outer * s.size;
  switch (k) {
    case 2: return forward_neighbours<2>(x, out, positions, rows, k);
    case 3: return forward_neighbours<3>(x, out, positions, rows, k);
    case 4: return forward_neighbours<4>(x, out, positions, rows, k);
    default: return forward_neighbours<0>(x, out, positions, rows, k);
  }
}

// Groups of k memory neighbours: write them group after group, branch-free;
// K as in forward_neighbours. Positions are compared as lane_t: the values'
// own width where every position fits in it (one vector lane type
// throughout), wider where it does not.
template <int64_t K, typename lane_t, typename bits_t, typename index_t>
void backward_neighbours(const bits_t* gbits, const index_t* positions, bits_t* gibits,
                         int64_t rows, int64_t k_runtime) {
  const int64_t k = K > 0 ? K : k_runtime;
  at::parallel_for(0, rows, std::max<int64_t>(1, at::internal::GRAIN_SIZE / k),
                   [&](int64_t begin, int64_t end) {
    check_positions(positions + begin, end - begin, k);
    for (int64_t r = begin; r < end; ++r) {
      const lane_t chosen = static_cast<lane_t>(positions[r]);
      const bits_t g = gbits[r];
      bits_t* gi = gibits + r * k;
      for (int64_t j = 0; j < k; ++j) gi[j] = static_cast<lane_t>(j) == chosen ? g : bits_t(0);
    }
  });
}

template <typename scalar_t, typename index_t>
void backward(const scalar_t* grad, const index_t* positions, scalar_t* grad_input, Shape s,
              int64_t k) {
  // Backward only moves values: select their bit patterns (an all-zero
  // pattern is +0), which vectorises for float16/bfloat16 too.
  using bits_t = std::conditional_t<sizeof(scalar_t) == 2, uint16_t,
                                    std::conditional_t<sizeof(scalar_t) == 4, uint32_t, uint64_t>>;
  static_assert(sizeof(bits_t) == sizeof(scalar_t));
  const auto* gbits = reinterpret_cast<const bits_t*>(grad);
  auto* gibits = reinterpret_cast<bits_t*>(grad_input);
  const int64_t rows = s.outer * s.size;
  if (s.inner == 1) {
    switch (k) {
      case 2: return backward_neighbours<2, bits_t>(gbits, positions, gibits, rows, k);
      case 3: return backward_neighbours<3, bits_t>(gbits, positions, gibits, rows, k);
      case 4: return backward_neighbours<4, bits_t>(gbits, positions, gibits, rows, k);
      default:
        if (static_cast<uint64_t>(k - 1) > std::numeric_limits<bits_t>::max()) {
          return backward_neighbours<0, uint64_t>(gbits, positions, gibits, rows, k);
        }
        return backward_neighbours<0, bits_t>(gbits, positions, gibits, rows, k);
    }
  }
  const int64_t grain = std::max<int64_t>(1, at::internal::GRAIN_SIZE / std::max<int64_t>(s.inner * k, 1));
  at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const bits_t* g = gbits + r * s.inner;
      const index_t* p = positions + r * s.inner;
      bits_t* gi = gibits + r * k * s.inner;
      check_positions(p, s.inner, k);
      // Each input gradient is written exactly once.
      for (int64_t j = 0; j < k; ++j) {
        bits_t* row = gi + j * s.inner;
        for (int64_t i = 0; i < s.inner; ++i) {
          row[i] = static_cast<int64_t>(p[i]) == j ? g[i] : bits_t(0);
        }
      }
    }
  });
}

}  // namespace dense_maxout


template <typename scalar_t, typename index_t>
void maxout_strided_loop(at::TensorIterator& iter, int64_t pool_size, int64_t step,
                         bool with_indices) {
  using opmath_t = at::opmath_type<scalar_t>;
  iter.for_each([&](char** data, const int64_t* strides, int64_t n) {
    char* out = data[0];
    char* idx = with_indices ? data[1] : nullptr;
    const char* in = data[with_indices ? 2 : 1];
    const int64_t out_stride = strides[0];
    const int64_t idx_stride = with_indices ? strides[1] : 0;
    const int64_t in_stride = strides[with_indices ? 2 : 1];
    for (int64_t i = 0; i < n; ++i) {
      const char* group = in + i * in_stride;
      scalar_t best = *reinterpret_cast<const scalar_t*>(group);
      int64_t best_j = 0;
      for (int64_t j = 1; j < pool_size; ++j) {
        const scalar_t v = *reinterpret_cast<const scalar_t*>(group + j * step);
        if (math::maxout_takes<opmath_t>(v, best)) {
          best = v;
          best_j = j;
        }
      }
      *reinterpret_cast<scalar_t*>(out + i * out_stride) = best;
      if (with_indices) {
        *reinterpret_cast<index_t*>(idx + i * idx_stride) = static_cast<index_t>(best_j);
      }
    }
  });
}

// Any strides: a TensorIterator over plane 0 of the groups.
void maxout_strided(const at::Tensor& x, int64_t pool_size, int64_t dim, at::Tensor& values,
                    const at::Tensor& indices) {
  int64_t step = 0;
  auto plane = group_plane(x, pool_size, dim, step);
  const bool with_indices = indices.defined();
  at::TensorIteratorConfig config;
  config.check_all_same_dtype(false).resize_outputs(false).add_output(values);
  if (with_indices) config.add_output(indices);
  config.add_const_input(plane);
  auto iter = config.build();
  const bool byte_indices = !with_indices || indices.scalar_type() == at::kByte;
  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::maxout", [&] {
    if (byte_indices) {
      maxout_strided_loop<scalar_t, uint8_t>(iter, pool_size, step, with_indices);
    } else {
      maxout_strided_loop<scalar_t, int32_t>(iter, pool_size, step, with_indices);
    }
  });
}

void maxout_kernel(const at::Tensor& x, int64_t pool_size, int64_t dim, at::Tensor& values,
                   const at::Tensor& indices) {
  if (values.numel() == 0) return;
  const auto format = shapes::shared_dense_format({x, values, indices});
  if (!format) return maxout_strided(x, pool_size, dim, values, indices);
  const auto shape = shapes::around_dim(values, dim, *format);
  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::maxout", [&] {
    const auto* in = x.const_data_ptr<scalar_t>();
    auto* out = values.mutable_data_ptr<scalar_t>();
    if (!indices.defined()) {
      dense_maxout::forward<scalar_t, uint8_t>(in, out, nullptr, shape, pool_size);
    } else if (indices.scalar_type() == at::kByte) {
      dense_maxout::forward<scalar_t, uint8_t>(in, out, indices.mutable_data_ptr<uint8_t>(),
                                               shape, pool_size);
    } else {
      dense_maxout::forward<scalar_t, int32_t>(in, out, indices.mutable_data_ptr<int32_t>(),
                                               shape, pool_size);
    }
  });
}

template <typename scalar_t, typename index_t>
void maxout_backward_strided_loop(at::TensorIterator& iter, int64_t pool_size, int64_t step) {
  iter.for_each([&](char** data, const int64_t* strides, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      char* group = data[0] + i * strides[0];
      const scalar_t g = *reinterpret_cast<const scalar_t*>(data[1] + i * strides[1]);
      const int64_t chosen = *reinterpret_cast<const index_t*>(data[2] + i * strides[2]);
      if (C10_UNLIKELY(chosen < 0 || chosen >= pool_size)) {
        const auto bad = static_cast<index_t>(chosen);
        bad_position(&bad, 1, pool_size);
      }
      // Every member of the group is written exactly once.
      for (int64_t j = 0; j < pool_size; ++j) {
        *reinterpret_cast<scalar_t*>(group + j * step) = j == chosen ? g : scalar_t(0);
      }
    }
  });
}

// Any strides: a TensorIterator over plane 0 of grad_input's groups.
void maxout_backward_strided(const at::Tensor& grad, const at::Tensor& indices,
                             int64_t pool_size, int64_t dim, at::Tensor& grad_input) {
  int64_t step = 0;
  auto plane = group_plane(grad_input, pool_size, dim, step);
  auto iter = at::TensorIteratorConfig()
                  .check_all_same_dtype(false)
                  .resize_outputs(false)
                  .add_output(plane)
                  .add_const_input(grad)
                  .add_const_input(indices)
                  .build();
  RECTIFIERS_DISPATCH_FLOATING(grad.scalar_type(), "rectifiers::maxout_backward", [&] {
    if (indices.scalar_type() == at::kByte) {
      maxout_backward_strided_loop<scalar_t, uint8_t>(iter, pool_size, step);
    } else {
      maxout_backward_strided_loop<scalar_t, int32_t>(iter, pool_size, step);
    }
  });
}

void maxout_backward_kernel(const at::Tensor& grad, const at::Tensor& indices, int64_t pool_size,
                            int64_t dim, at::Tensor& grad_input) {
  if (grad.numel() == 0) return;
  const auto format = shapes::shared_dense_format({grad_input, grad, indices});
  if (!format) return maxout_backward_strided(grad, indices, pool_size, dim, grad_input);
  const auto shape = shapes::around_dim(grad, dim, *format);
  RECTIFIERS_DISPATCH_FLOATING(grad.scalar_type(), "rectifiers::maxout_backward", [&] {
    const auto* g = grad.const_data_ptr<scalar_t>();
    auto* gi = grad_input.mutable_data_ptr<scalar_t>();
    if (indices.scalar_type() == at::kByte) {
      dense_maxout::backward<scalar_t, uint8_t>(g, indices.const_data_ptr<uint8_t>(), gi, shape,
                                                pool_size);
    } else {
      dense_maxout::backward<scalar_t, int32_t>(g, indices.const_data_ptr<int32_t>(), gi, shape,
                                                pool_size);
    }
  });
}

}  // namespace
}  // namespace CPU_CAPABILITY
}  // namespace rectifiers::cpu

RECTIFIERS_REGISTER_CPU_KERNEL(maxout_stub, &rectifiers::cpu::maxout_kernel)
RECTIFIERS_REGISTER_CPU_KERNEL(maxout_backward_stub, &rectifiers::cpu::maxout_backward_kernel)
