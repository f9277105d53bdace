// Autocast: rectifiers' ops follow the autocast policy of their torch twins.
// torch runs relu, leaky_relu, abs and max in whatever dtype they are given
// (the Autocast keys fall through for them, and for our ops by default);
// prelu is on autocast's lower-precision list for CPU and CUDA, so ours casts
// input and weight to the autocast dtype as at::prelu does. The cast is an
// ordinary differentiable `to`, so a float32 weight gets a float32 gradient.
#include <ATen/autocast_mode.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/library.h>

#include "../../rectifiers.h"

namespace rectifiers::autocast {
namespace {

using at::Tensor;

template <c10::DeviceType device>
Tensor prelu(const Tensor& input, const Tensor& weight) {
  c10::impl::ExcludeDispatchKeyGuard no_autocast(
      at::autocast::get_autocast_dispatch_key_from_device_type(device));
  const auto dtype = at::autocast::get_lower_precision_fp_from_device_type(device);
  return rectifiers::prelu(at::autocast::cached_cast(dtype, input, device),
                           at::autocast::cached_cast(dtype, weight, device));
}

}  // namespace
}  // namespace rectifiers::autocast

TORCH_LIBRARY_IMPL(rectifiers, AutocastCPU, m) {
  m.impl("prelu", &rectifiers::autocast::prelu<c10::DeviceType::CPU>);
}

TORCH_LIBRARY_IMPL(rectifiers, AutocastCUDA, m) {
  m.impl("prelu", &rectifiers::autocast::prelu<c10::DeviceType::CUDA>);
}
