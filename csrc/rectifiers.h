// rectifiers: the rectified-linear family as PyTorch operators.
//
// Each function calls the op `rectifiers::<name>` through the PyTorch
// dispatcher, so it works on every device the library was built for and is
// differentiable with torch::autograd. Link the library with
// -Wl,--no-as-needed (CMake target rectifiers::rectifiers does) so its
// operator registrations run before a TorchScript model that uses them loads.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <optional>

#include <string>
#include <tuple>

namespace rectifiers {

// max(0, x); derivative 0 at x = 0. Reference: torch::relu.
at::Tensor relu(const at::Tensor& input);
at::Tensor& relu_(at::Tensor& input);

// x > 0 ? x : negative_slope * x; derivative negative_slope at 0.
// Reference: torch::nn::functional::leaky_relu.
at::Tensor leaky_relu(const at::Tensor& input, double negative_slope = 0.01);
at::Tensor& leaky_relu_(at::Tensor& input, double negative_slope = 0.01);
// leaky_relu and the mask of its input's sides (bit: input > 0; layout in
// docs/semantics.md), which is what autograd saves for the backward.
std::tuple<at::Tensor, at::Tensor> leaky_relu_with_mask(const at::Tensor& input,
                                                        double negative_slope = 0.01);

// x > 0 ? x : weight[c] * x with c the index in dim 1 (inputs with fewer than
// 2 dims have one channel); weight has 1 or size(1) elements.
// Reference: torch::prelu.
at::Tensor prelu(const at::Tensor& input, const at::Tensor& weight);

// |x|; derivative 0 at x = 0. Reference: torch::abs.
at::Tensor abs_rectifier(const at::Tensor& input);
// abs_rectifier and the mask its backward reads (two planes: input > 0,
// input < 0; layout in docs/semantics.md), which is what autograd saves.
std::tuple<at::Tensor, at::Tensor> abs_rectifier_with_mask(const at::Tensor& input);

// min(max(x, 0), 6); derivative 0 at 0 and at 6. Reference:
// torch::nn::functional::relu6 (hardtanh(x, 0, 6)).
at::Tensor relu6(const at::Tensor& input);
at::Tensor& relu6_(at::Tensor& input);
// relu6 and the mask its backward reads (two planes: 0 < input < 6, input
// is NaN), which is what autograd saves of the out-of-place relu6.
std::tuple<at::Tensor, at::Tensor> relu6_with_mask(const at::Tensor& input);

// x > 0 ? x : alpha * (exp(x) - 1); derivative at 0 that of the negative
// side (alpha). Reference: torch::nn::functional::elu.
at::Tensor elu(const at::Tensor& input, double alpha = 1.0);
at::Tensor& elu_(at::Tensor& input, double alpha = 1.0);

// x > 0 ? x : alpha * (exp(x / alpha) - 1) (alpha != 0); derivative 1 at 0.
// Reference: torch::nn::functional::celu.
at::Tensor celu(const at::Tensor& input, double alpha = 1.0);
at::Tensor& celu_(at::Tensor& input, double alpha = 1.0);

// scale * (x > 0 ? x : alpha * (exp(x) - 1)) with torch's fixed alpha and
// scale; derivative at 0 scale * alpha. Reference: torch::nn::functional::selu.
at::Tensor selu(const at::Tensor& input);
at::Tensor& selu_(at::Tensor& input);

// Randomized leaky ReLU. Training: x > 0 ? x : slope * x with a slope per
// element uniform in [lower, upper], from `generator` (or the default one);
// backward regenerates the slopes (autograd saves the input, or where it
// may a mask of one bit per element, and no slopes). Eval: leaky_relu with (lower + upper) / 2. Reference:
// torch::rrelu (its random stream differs).
at::Tensor rrelu(const at::Tensor& input, double lower = 1.0 / 8, double upper = 1.0 / 3,
                 bool training = false, std::optional<at::Generator> generator = std::nullopt);
at::Tensor& rrelu_(at::Tensor& input, double lower = 1.0 / 8, double upper = 1.0 / 3,
                   bool training = false, std::optional<at::Generator> generator = std::nullopt);
// The training-mode op: the result and the generator state its backward
// regenerates the slopes from (int64 [seed, offset] on the input's device).
std::tuple<at::Tensor, at::Tensor> rrelu_with_state(
    const at::Tensor& input, double lower, double upper,
    std::optional<at::Generator> generator = std::nullopt);
at::Tensor rrelu_with_state_(at::Tensor& input, double lower, double upper,
                             std::optional<at::Generator> generator = std::nullopt);
// rrelu_with_state and the mask of !(input <= 0) its backward reads with the
// state, which is what autograd saves of the out-of-place training rrelu.
std::tuple<at::Tensor, at::Tensor, at::Tensor> rrelu_with_mask(
    const at::Tensor& input, double lower, double upper,
    std::optional<at::Generator> generator = std::nullopt);

// Max over groups of `pool_size` consecutive elements along `dim`.
// Reference: input.unflatten(dim, {-1, pool_size}).amax / max(dim + 1); the
// gradient goes to the element torch::max picks (first maximum, NaN wins).
at::Tensor maxout(const at::Tensor& input, int64_t pool_size, int64_t dim = 1);

// Maxout values and each maximum's position in its group (uint8 for
// pool_size <= 256, else int32).
std::tuple<at::Tensor, at::Tensor> maxout_with_indices(const at::Tensor& input,
                                                       int64_t pool_size, int64_t dim = 1);

// Backward ops (each is an op of its own, differentiable again).
at::Tensor relu_backward(const at::Tensor& grad_output, const at::Tensor& result);
at::Tensor leaky_relu_backward(const at::Tensor& grad_output, const at::Tensor& input,
                               double negative_slope, bool self_is_result);
// leaky_relu's from leaky_relu_with_mask's mask; mask_sizes and
// mask_strides are the forward result's (the mask's element order).
at::Tensor leaky_relu_mask_backward(const at::Tensor& grad_output, const at::Tensor& mask,
                                    at::IntArrayRef mask_sizes, at::IntArrayRef mask_strides,
                                    double negative_slope);
std::tuple<at::Tensor, at::Tensor> prelu_backward(const at::Tensor& grad_output,
                                                  const at::Tensor& input,
                                                  const at::Tensor& weight);
at::Tensor abs_rectifier_backward(const at::Tensor& grad_output, const at::Tensor& input);
at::Tensor relu6_backward(const at::Tensor& grad_output, const at::Tensor& input);
// The same from the *_with_mask ops' masks (NaN's gradient passes in
// relu6_mask_backward, as in hardtanh_backward's scalar form and on CUDA).
at::Tensor abs_rectifier_mask_backward(const at::Tensor& grad_output, const at::Tensor& mask,
                                       at::IntArrayRef mask_sizes, at::IntArrayRef mask_strides);
at::Tensor relu6_mask_backward(const at::Tensor& grad_output, const at::Tensor& mask,
                               at::IntArrayRef mask_sizes, at::IntArrayRef mask_strides);
// The ELU family's: from the input, or from the result (is_result) after an
// in-place op; celu has input_scale = 1 / alpha, selu its fixed coefficients.
at::Tensor elu_backward(const at::Tensor& grad_output, const at::Tensor& self_or_result,
                        double alpha, double scale, double input_scale, bool is_result);
at::Tensor rrelu_backward(const at::Tensor& grad_output, const at::Tensor& self_or_result,
                          const at::Tensor& state, double lower, double upper, bool is_result);
at::Tensor rrelu_mask_backward(const at::Tensor& grad_output, const at::Tensor& mask,
                               const at::Tensor& state, at::IntArrayRef mask_sizes,
                               at::IntArrayRef mask_strides, double lower, double upper);
at::Tensor maxout_backward(const at::Tensor& grad_output, const at::Tensor& indices,
                           int64_t pool_size, int64_t dim);

// What this build of the library contains, e.g.
// "torch=2.14.1 cuda=13.0 cuda_archs=8.0;9.0 cpu=default cpu_selected=default".
std::string build_info();

// The CPU code paths compiled in, and the one chosen for this CPU.
std::string cpu_code_paths();
std::string cpu_selected_code_path();

}  // namespace rectifiers
