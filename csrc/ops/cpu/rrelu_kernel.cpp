// rrelu's CPU loops, compiled once per instruction set (see common/stub.h):
// over the dense memory of tensors that share one layout, so that an
// element's index is its position (see ops/rrelu.cpp).
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>

#include <mutex>

#include "../../cpu/loops.h"
#include "../rrelu.h"

namespace rectifiers::cpu {
inline namespace CPU_CAPABILITY {
namespace {

// The bounds rounded to the compute type first, as torch's rrelu does.
template <typename opmath_t>
std::pair<double, double> rounded(double lower, double upper) {
  return {static_cast<opmath_t>(lower), static_cast<opmath_t>(upper)};
}

RReLUState read_state(const at::Tensor& state) {
  const auto* s = state.const_data_ptr<int64_t>();
  return {static_cast<uint64_t>(s[0]), static_cast<uint64_t>(s[1])};
}

void rrelu_kernel(const at::Tensor& out, const at::Tensor& x, const at::Tensor& state,
                  double lower, double upper, std::optional<at::Generator> generator) {
  auto* gen = at::get_generator_or_default<at::CPUGeneratorImpl>(
      generator, at::detail::getDefaultCPUGenerator());
  RReLUState s{};
  {
    std::lock_guard<std::mutex> lock(gen->mutex_);
    s.seed = gen->random64();
  }
  auto* st = state.mutable_data_ptr<int64_t>();
  st[0] = static_cast<int64_t>(s.seed);
  st[1] = static_cast<int64_t>(s.offset);
  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::rrelu_with_state", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const auto [lo, hi] = rounded<opmath_t>(lower, upper);
    const auto* in = x.const_data_ptr<scalar_t>();
    auto* o = out.mutable_data_ptr<scalar_t>();
    at::parallel_for(0, x.numel(), at::internal::GRAIN_SIZE, [&](int64_t begin, int64_t end) {
      RReLUSlopes<opmath_t> slope(s, lo, hi);
      for (int64_t i = begin; i < end; ++i) {
        const opmath_t v = in[i];
        if (v <= opmath_t(0)) {
          o[i] = static_cast<scalar_t>(v * slope(i));
        } else {
          o[i] = in[i];
        }
      }
    });
  });
}

void rrelu_backward_kernel(const at::Tensor& grad_input, const at::Tensor& grad,
                           const at::Tensor& x, const at::Tensor& state, double lower,
                           double upper) {
  const auto s = read_state(state);
  RECTIFIERS_DISPATCH_FLOATING(x.scalar_type(), "rectifiers::rrelu_backward", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const auto [lo, hi] = rounded<opmath_t>(lower, upper);
    const auto* in = x.const_data_ptr<scalar_t>();
    const auto* g = grad.const_data_ptr<scalar_t>();
    auto* o = grad_input.mutable_data_ptr<scalar_t>();
    at::parallel_for(0, x.numel(), at::internal::GRAIN_SIZE, [&](int64_t begin, int64_t end) {
      RReLUSlopes<opmath_t> slope(s, lo, hi);
      for (int64_t i = begin; i < end; ++i) {
        if (opmath_t(in[i]) <= opmath_t(0)) {
          o[i] = static_cast<scalar_t>(opmath_t(g[i]) * slope(i));
        } else {
          o[i] = g[i];
        }
      }
    });
  });
}

}  // namespace
}  // namespace CPU_CAPABILITY
}  // namespace rectifiers::cpu

RECTIFIERS_REGISTER_CPU_KERNEL(rrelu_stub, &rectifiers::cpu::rrelu_kernel)
RECTIFIERS_REGISTER_CPU_KERNEL(rrelu_backward_stub, &rectifiers::cpu::rrelu_backward_kernel)
