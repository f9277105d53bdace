// One entry per CPU loop; each instruction-set build of kernels_impl.h fills
// a table and kernels.cpp calls through the one chosen for this CPU.
#pragma once

#include <ATen/TensorIterator.h>
#include <ATen/core/Tensor.h>

// AVX2/AVX-512 builds of the loops come from `#pragma GCC target`, which
// GCC honours and Clang does not; elsewhere only the baseline is built.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(RECTIFIERS_CPU_DEFAULT_ONLY)
#define RECTIFIERS_CPU_ISA_VARIANTS 1
#endif

namespace rectifiers::cpu {

struct Table {
  void (*relu)(at::TensorIteratorBase&);
  void (*relu_backward)(at::TensorIteratorBase&);
  void (*leaky_relu)(at::TensorIteratorBase&, double);
  void (*leaky_relu_backward)(at::TensorIteratorBase&, double);
  void (*prelu)(at::TensorIteratorBase&);
  void (*prelu_backward)(const at::Tensor&, const at::Tensor&, const at::Tensor&, at::Tensor&,
                         at::Tensor&);
  void (*abs_rectifier)(at::TensorIteratorBase&);
  void (*abs_rectifier_backward)(at::TensorIteratorBase&);
  void (*maxout)(const at::Tensor&, int64_t, int64_t, at::Tensor&, const at::Tensor&);
  void (*maxout_backward)(const at::Tensor&, const at::Tensor&, int64_t, int64_t, at::Tensor&);
};

const Table& table_default();
#ifdef RECTIFIERS_CPU_ISA_VARIANTS
const Table& table_avx2();
const Table& table_avx512();
#endif

}  // namespace rectifiers::cpu
