// rectifiers: the rectified-linear family as PyTorch operators.
//
// Each function calls the op `rectifiers::<name>` through the PyTorch
// dispatcher, so it works on every device the library was built for and is
// differentiable with torch::autograd. Link the library with
// -Wl,--no-as-needed (CMake target rectifiers::rectifiers does) so its
// operator registrations run before a TorchScript model that uses them loads.
#pragma once

#include <ATen/core/Tensor.h>

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

// x > 0 ? x : weight[c] * x with c the index in dim 1 (inputs with fewer than
// 2 dims have one channel); weight has 1 or size(1) elements.
// Reference: torch::prelu.
at::Tensor prelu(const at::Tensor& input, const at::Tensor& weight);

// |x|; derivative 0 at x = 0. Reference: torch::abs.
at::Tensor abs_rectifier(const at::Tensor& input);

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
std::tuple<at::Tensor, at::Tensor> prelu_backward(const at::Tensor& grad_output,
                                                  const at::Tensor& input,
                                                  const at::Tensor& weight);
at::Tensor abs_rectifier_backward(const at::Tensor& grad_output, const at::Tensor& input);
at::Tensor maxout_backward(const at::Tensor& grad_output, const at::Tensor& indices,
                           int64_t pool_size, int64_t dim);

// What this build of the library contains, e.g.
// "torch=2.14.1 cuda=13.0 cuda_archs=8.0;9.0 cpu=default cpu_selected=default".
std::string build_info();

// The CPU code paths compiled in, and the one chosen for this CPU.
std::string cpu_code_paths();
std::string cpu_selected_code_path();

}  // namespace rectifiers
