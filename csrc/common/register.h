// Registers the frontend ops for one dispatch key with a backend's loops.
#pragma once

#include <torch/library.h>

#include "frontend.h"

namespace rectifiers {

template <class Backend>
void register_backend(torch::Library& m) {
  using O = frontend::Ops<Backend>;
  m.impl("relu", &O::relu);
  m.impl("relu_", &O::relu_);
  m.impl("relu_backward", &O::relu_backward);
  m.impl("leaky_relu", &O::leaky_relu);
  m.impl("leaky_relu_", &O::leaky_relu_);
  m.impl("leaky_relu_backward", &O::leaky_relu_backward);
  m.impl("prelu", &O::prelu);
  m.impl("prelu_backward", &O::prelu_backward);
  m.impl("abs_rectifier", &O::abs_rectifier);
  m.impl("abs_rectifier_backward", &O::abs_rectifier_backward);
  m.impl("maxout", &O::maxout);
  m.impl("maxout_with_indices", &O::maxout_with_indices);
  m.impl("maxout_backward", &O::maxout_backward);
}

}  // namespace rectifiers
