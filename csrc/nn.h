// rectifiers::nn: torch::nn-style modules for the rectified-linear family.
//
// Each module is the C++ twin of the Python module of the same name in
// rectifiers.nn, and of its torch::nn namesake where one exists: the same
// options, defaults and parameter names, so a state saved from
// torch::nn::PReLU (or torch::nn::Linear(in, out * pool_size)) loads into
// ours. forward() calls the functions of rectifiers.h, i.e. the ops through
// the dispatcher with their C++ autograd.
//
//   #include <rectifiers/nn.h>
//   torch::nn::Sequential net(rectifiers::nn::MaxoutLinear(2, 16, 3),
//                             rectifiers::nn::PReLU(rectifiers::nn::PReLUOptions().num_parameters(16)),
//                             torch::nn::Linear(16, 3));
//
// Header-only: the modules are a few lines each over the ops, and keeping
// them out of the compiled library leaves the library (which the Python
// extension is built from too) free of torch::nn code.
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/init.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <ostream>

#include "nn_detail.h"
#include "rectifiers.h"

namespace rectifiers::nn {

// ---- ReLU ------------------------------------------------------------------

// Options for ReLU; like torch::nn::ReLUOptions, a bool converts to them, so
// ReLU(true) is the in-place module.
struct ReLUOptions {
  /* implicit */ ReLUOptions(bool inplace = false) : inplace_(inplace) {}

  // Overwrite the input (rectifiers::relu_) instead of returning a new tensor.
  TORCH_ARG(bool, inplace);
};

// max(0, x) elementwise; torch::nn::ReLU's twin.
class ReLUImpl : public torch::nn::Cloneable<ReLUImpl> {
 public:
  explicit ReLUImpl(const ReLUOptions& options_ = {}) : options(options_) {}

  torch::Tensor forward(torch::Tensor input) {
    return options.inplace() ? rectifiers::relu_(input) : rectifiers::relu(input);
  }

  void reset() override {}

  void pretty_print(std::ostream& stream) const override {
    stream << "rectifiers::nn::ReLU(" << (options.inplace() ? "inplace=True" : "") << ")";
  }

  ReLUOptions options;
};
TORCH_MODULE(ReLU);

// ---- LeakyReLU -------------------------------------------------------------

struct LeakyReLUOptions {
  TORCH_ARG(double, negative_slope) = 1e-2;
  TORCH_ARG(bool, inplace) = false;
};

// x > 0 ? x : negative_slope * x; torch::nn::LeakyReLU's twin.
class LeakyReLUImpl : public torch::nn::Cloneable<LeakyReLUImpl> {
 public:
  explicit LeakyReLUImpl(const LeakyReLUOptions& options_ = {}) : options(options_) {}

  torch::Tensor forward(torch::Tensor input) {
    return options.inplace() ? rectifiers::leaky_relu_(input, options.negative_slope())
                             : rectifiers::leaky_relu(input, options.negative_slope());
  }

  void reset() override {}

  void pretty_print(std::ostream& stream) const override {
    stream << "rectifiers::nn::LeakyReLU(negative_slope="
           << detail::python_float(options.negative_slope())
           << (options.inplace() ? ", inplace=True" : "") << ")";
  }

  LeakyReLUOptions options;
};
TORCH_MODULE(LeakyReLU);

// ---- PReLU -----------------------------------------------------------------

struct PReLUOptions {
  // 1 (one slope shared by every channel) or the number of channels (dim 1).
  TORCH_ARG(int64_t, num_parameters) = 1;
  // The slopes' initial value.
  TORCH_ARG(double, init) = 0.25;
};

// x > 0 ? x : weight[c] * x with a learned slope per channel or one shared;
// torch::nn::PReLU's twin (parameter "weight", shape {num_parameters}).
class PReLUImpl : public torch::nn::Cloneable<PReLUImpl> {
 public:
  explicit PReLUImpl(const PReLUOptions& options_ = {}) : options(options_) { reset(); }

  torch::Tensor forward(const torch::Tensor& input) { return rectifiers::prelu(input, weight); }

  void reset() override {
    TORCH_CHECK_VALUE(options.num_parameters() >= 1,
                      "PReLU: num_parameters must be >= 1, but got ", options.num_parameters());
    weight = register_parameter("weight", torch::empty({options.num_parameters()}));
    reset_parameters();
  }

  void reset_parameters() { torch::nn::init::constant_(weight, options.init()); }

  void pretty_print(std::ostream& stream) const override {
    stream << "rectifiers::nn::PReLU(num_parameters=" << options.num_parameters() << ")";
  }

  PReLUOptions options;
  torch::Tensor weight;
};
TORCH_MODULE(PReLU);

// ---- AbsRectifier ----------------------------------------------------------

// |x| elementwise: the rectifier max(0, x) + a * min(0, x) with a = -1.
class AbsRectifierImpl : public torch::nn::Cloneable<AbsRectifierImpl> {
 public:
  torch::Tensor forward(const torch::Tensor& input) { return rectifiers::abs_rectifier(input); }

  void reset() override {}

  void pretty_print(std::ostream& stream) const override {
    stream << "rectifiers::nn::AbsRectifier()";
  }
};
TORCH_MODULE(AbsRectifier);

// ---- ReLU6 -----------------------------------------------------------------

// Like torch::nn::ReLU6Options, a bool converts to them.
struct ReLU6Options {
  /* implicit */ ReLU6Options(bool inplace = false) : inplace_(inplace) {}

  TORCH_ARG(bool, inplace);
};

// min(max(x, 0), 6) elementwise; torch::nn::ReLU6's twin.
class ReLU6Impl : public torch::nn::Cloneable<ReLU6Impl> {
 public:
  explicit ReLU6Impl(const ReLU6Options& options_ = {}) : options(options_) {}

  torch::Tensor forward(torch::Tensor input) {
    return options.inplace() ? rectifiers::relu6_(input) : rectifiers::relu6(input);
  }

  void reset() override {}

  void pretty_print(std::ostream& stream) const override {
    stream << "rectifiers::nn::ReLU6(" << (options.inplace() ? "inplace=True" : "") << ")";
  }

  ReLU6Options options;
};
TORCH_MODULE(ReLU6);

// ---- RReLU -----------------------------------------------------------------

struct RReLUOptions {
  TORCH_ARG(double, lower) = 1.0 / 8.0;
  TORCH_ARG(double, upper) = 1.0 / 3.0;
  TORCH_ARG(bool, inplace) = false;
};

// Randomized leaky ReLU; torch::nn::RReLU's twin. In training mode each
// x <= 0 gets its own slope, uniform in [lower, upper] (default generator);
// in eval mode the slope is (lower + upper) / 2.
class RReLUImpl : public torch::nn::Cloneable<RReLUImpl> {
 public:
  explicit RReLUImpl(const RReLUOptions& options_ = {}) : options(options_) {}

  torch::Tensor forward(torch::Tensor input) {
    return options.inplace()
               ? rectifiers::rrelu_(input, options.lower(), options.upper(), is_training())
               : rectifiers::rrelu(input, options.lower(), options.upper(), is_training());
  }

  void reset() override {}

  void pretty_print(std::ostream& stream) const override {
    stream << "rectifiers::nn::RReLU(lower=" << detail::python_float(options.lower())
           << ", upper=" << detail::python_float(options.upper())
           << (options.inplace() ? ", inplace=True" : "") << ")";
  }

  RReLUOptions options;
};
TORCH_MODULE(RReLU);

// ---- ELU, CELU, SELU -------------------------------------------------------

struct ELUOptions {
  TORCH_ARG(double, alpha) = 1.0;
  TORCH_ARG(bool, inplace) = false;
};

// x > 0 ? x : alpha * (exp(x) - 1); torch::nn::ELU's twin.
class ELUImpl : public torch::nn::Cloneable<ELUImpl> {
 public:
  explicit ELUImpl(const ELUOptions& options_ = {}) : options(options_) {}

  torch::Tensor forward(torch::Tensor input) {
    return options.inplace() ? rectifiers::elu_(input, options.alpha())
                             : rectifiers::elu(input, options.alpha());
  }

  void reset() override {}

  void pretty_print(std::ostream& stream) const override {
    stream << "rectifiers::nn::ELU(alpha=" << detail::python_float(options.alpha())
           << (options.inplace() ? ", inplace=True" : "") << ")";
  }

  ELUOptions options;
};
TORCH_MODULE(ELU);

struct CELUOptions {
  TORCH_ARG(double, alpha) = 1.0;
  TORCH_ARG(bool, inplace) = false;
};

// x > 0 ? x : alpha * (exp(x / alpha) - 1); torch::nn::CELU's twin.
class CELUImpl : public torch::nn::Cloneable<CELUImpl> {
 public:
  explicit CELUImpl(const CELUOptions& options_ = {}) : options(options_) {}

  torch::Tensor forward(torch::Tensor input) {
    return options.inplace() ? rectifiers::celu_(input, options.alpha())
                             : rectifiers::celu(input, options.alpha());
  }

  void reset() override {}

  void pretty_print(std::ostream& stream) const override {
    stream << "rectifiers::nn::CELU(alpha=" << detail::python_float(options.alpha())
           << (options.inplace() ? ", inplace=True" : "") << ")";
  }

  CELUOptions options;
};
TORCH_MODULE(CELU);

// Like torch::nn::SELUOptions, a bool converts to them.
struct SELUOptions {
  /* implicit */ SELUOptions(bool inplace = false) : inplace_(inplace) {}

  TORCH_ARG(bool, inplace);
};

// scale * elu(x, alpha) with torch's fixed alpha and scale; torch::nn::SELU's twin.
class SELUImpl : public torch::nn::Cloneable<SELUImpl> {
 public:
  explicit SELUImpl(const SELUOptions& options_ = {}) : options(options_) {}

  torch::Tensor forward(torch::Tensor input) {
    return options.inplace() ? rectifiers::selu_(input) : rectifiers::selu(input);
  }

  void reset() override {}

  void pretty_print(std::ostream& stream) const override {
    stream << "rectifiers::nn::SELU(" << (options.inplace() ? "inplace=True" : "") << ")";
  }

  SELUOptions options;
};
TORCH_MODULE(SELU);

// ---- Maxout ----------------------------------------------------------------

// Like torch::nn::LinearOptions, the required argument converts to options:
// Maxout(2) is Maxout(MaxoutOptions(2)).
struct MaxoutOptions {
  /* implicit */ MaxoutOptions(int64_t pool_size) : pool_size_(pool_size) {}

  // Elements per group, 1 to 2147483647; it must divide the size of `dim`.
  TORCH_ARG(int64_t, pool_size);
  TORCH_ARG(int64_t, dim) = 1;
};

// Max over groups of pool_size consecutive elements along dim.
class MaxoutImpl : public torch::nn::Cloneable<MaxoutImpl> {
 public:
  explicit MaxoutImpl(const MaxoutOptions& options_) : options(options_) { reset(); }

  torch::Tensor forward(const torch::Tensor& input) {
    return rectifiers::maxout(input, options.pool_size(), options.dim());
  }

  void reset() override { detail::check_pool_size("Maxout", options.pool_size()); }

  void pretty_print(std::ostream& stream) const override {
    stream << "rectifiers::nn::Maxout(pool_size=" << options.pool_size()
           << ", dim=" << options.dim() << ")";
  }

  MaxoutOptions options;
};
TORCH_MODULE(Maxout);

// ---- MaxoutLinear ----------------------------------------------------------

struct MaxoutLinearOptions {
  MaxoutLinearOptions(int64_t in_features, int64_t out_features, int64_t pool_size)
      : in_features_(in_features), out_features_(out_features), pool_size_(pool_size) {}

  TORCH_ARG(int64_t, in_features);
  // Maxout units; the affine map has out_features * pool_size outputs.
  TORCH_ARG(int64_t, out_features);
  TORCH_ARG(int64_t, pool_size);
  TORCH_ARG(bool, bias) = true;
};

// A maxout layer: an affine map to out_features * pool_size features, then the
// max over each unit's pool_size consecutive pieces. Unit i uses rows
// i * pool_size ... (i + 1) * pool_size - 1 of weight (shape
// {out_features * pool_size, in_features}) and of bias, so its parameters are
// those of torch::nn::Linear(in_features, out_features * pool_size).
class MaxoutLinearImpl : public torch::nn::Cloneable<MaxoutLinearImpl> {
 public:
  MaxoutLinearImpl(int64_t in_features, int64_t out_features, int64_t pool_size)
      : MaxoutLinearImpl(MaxoutLinearOptions(in_features, out_features, pool_size)) {}
  explicit MaxoutLinearImpl(const MaxoutLinearOptions& options_) : options(options_) { reset(); }

  torch::Tensor forward(const torch::Tensor& input) {
    return rectifiers::maxout(torch::linear(input, weight, bias), options.pool_size(), -1);
  }

  void reset() override {
    detail::check_pool_size("MaxoutLinear", options.pool_size());
    TORCH_CHECK_VALUE(options.in_features() >= 0,
                      "MaxoutLinear: in_features must be >= 0, but got ", options.in_features());
    TORCH_CHECK_VALUE(options.out_features() >= 0,
                      "MaxoutLinear: out_features must be >= 0, but got ", options.out_features());
    TORCH_CHECK_VALUE(
        options.out_features() <= std::numeric_limits<int64_t>::max() / options.pool_size(),
        "MaxoutLinear: out_features * pool_size must be <= ", std::numeric_limits<int64_t>::max(),
        ", but got ", options.out_features(), " * ", options.pool_size());
    const int64_t rows = options.out_features() * options.pool_size();
    weight = register_parameter("weight", torch::empty({rows, options.in_features()}));
    // Registered even when absent, as torch::nn::Linear does: the parameter
    // list then has the same entries for clone() to fill.
    bias = register_parameter("bias", options.bias() ? torch::empty({rows}) : torch::Tensor(),
                              /*requires_grad=*/options.bias());
    reset_parameters();
  }

  // torch::nn::Linear's initialisation, per piece (each row is a Linear unit),
  // so the same seed gives the same parameters as
  // torch::nn::Linear(in_features, out_features * pool_size) and as the
  // Python module.
  void reset_parameters() {
    // An empty weight is left alone, as torch.nn.init does (the C++ init
    // would divide by a zero fan-in).
    if (weight.numel() > 0) torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
    if (bias.defined()) {
      const double bound =
          options.in_features() > 0 ? 1.0 / std::sqrt(static_cast<double>(options.in_features()))
                                    : 0.0;
      torch::nn::init::uniform_(bias, -bound, bound);
    }
  }

  void pretty_print(std::ostream& stream) const override {
    stream << "rectifiers::nn::MaxoutLinear(in_features=" << options.in_features()
           << ", out_features=" << options.out_features() << ", pool_size=" << options.pool_size()
           << ", bias=" << detail::python_bool(options.bias()) << ")";
  }

  MaxoutLinearOptions options;
  torch::Tensor weight;
  torch::Tensor bias;
};
TORCH_MODULE(MaxoutLinear);

}  // namespace rectifiers::nn
