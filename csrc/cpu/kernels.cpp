#include "kernels.h"

#include <ATen/Version.h>

#include "../rectifiers.h"
#include "table.h"

namespace rectifiers::cpu {
namespace {

// ATen's choice of instruction set for this CPU (honours ATEN_CPU_CAPABILITY).
const char* selected_name() {
#ifdef RECTIFIERS_CPU_ISA_VARIANTS
  static const std::string aten = at::get_cpu_capability();
  if (aten == "AVX512") return "avx512";
  if (aten == "AVX2") return "avx2";
#endif
  return "default";
}

const Table& table() {
  static const Table& chosen = [&]() -> const Table& {
#ifdef RECTIFIERS_CPU_ISA_VARIANTS
    const std::string name = selected_name();
    if (name == "avx512") return table_avx512();
    if (name == "avx2") return table_avx2();
#endif
    return table_default();
  }();
  return chosen;
}

}  // namespace

void Kernels::relu(at::TensorIteratorBase& iter) { table().relu(iter); }
void Kernels::relu_backward(at::TensorIteratorBase& iter) { table().relu_backward(iter); }
void Kernels::leaky_relu(at::TensorIteratorBase& iter, double slope) {
  table().leaky_relu(iter, slope);
}
void Kernels::leaky_relu_backward(at::TensorIteratorBase& iter, double slope) {
  table().leaky_relu_backward(iter, slope);
}
void Kernels::prelu(at::TensorIteratorBase& iter) { table().prelu(iter); }
void Kernels::prelu_backward(const at::Tensor& grad, const at::Tensor& x,
                             const at::Tensor& weight_b, at::Tensor& grad_input,
                             at::Tensor& grad_weight) {
  table().prelu_backward(grad, x, weight_b, grad_input, grad_weight);
}
void Kernels::abs_rectifier(at::TensorIteratorBase& iter) { table().abs_rectifier(iter); }
void Kernels::abs_rectifier_backward(at::TensorIteratorBase& iter) {
  table().abs_rectifier_backward(iter);
}
void Kernels::maxout(const at::Tensor& x, int64_t pool_size, int64_t dim, at::Tensor& values,
                     const at::Tensor& indices) {
  table().maxout(x, pool_size, dim, values, indices);
}
void Kernels::maxout_backward(const at::Tensor& grad, const at::Tensor& indices,
                              int64_t pool_size, int64_t dim, at::Tensor& grad_input) {
  table().maxout_backward(grad, indices, pool_size, dim, grad_input);
}

}  // namespace rectifiers::cpu

namespace rectifiers {

std::string cpu_code_paths() {
#ifdef RECTIFIERS_CPU_ISA_VARIANTS
  return "default,avx2,avx512";
#else
  return "default";
#endif
}

std::string cpu_selected_code_path() { return rectifiers::cpu::selected_name(); }

}  // namespace rectifiers
