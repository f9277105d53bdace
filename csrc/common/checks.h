// Argument checks shared by every backend (CPU, CUDA, Meta). Each error names
// the op (as `rectifiers::<op>`) and the offending value. Shapes are read as
// SymInts so the same checks run under FakeTensor with symbolic shapes.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/SymInt.h>

namespace rectifiers::checks {

// A defined tensor (not a default-constructed at::Tensor).
void defined(const char* op, const at::Tensor& t, const char* arg);

// float16, bfloat16, float32 or float64; anything else is a RuntimeError.
void floating(const char* op, const at::Tensor& t, const char* arg = "input");

// Same device and dtype as `ref` (a gradient and the tensor it belongs to).
void like(const char* op, const at::Tensor& ref, const char* ref_arg,
          const at::Tensor& t, const char* arg);

// Same sizes as `ref`.
void same_sizes(const char* op, const at::Tensor& ref, const char* ref_arg,
                const at::Tensor& t, const char* arg);

// The tensor an in-place op writes must not have elements that share memory.
void writable_in_place(const char* op, const at::Tensor& t);

// PReLU's weight: 0-dim or 1-D, one element or one per channel (dim 1;
// inputs with fewer than 2 dims have one channel), same device and dtype.
void prelu_weight(const char* op, const at::Tensor& x, const at::Tensor& weight);

// Checks `dim` is in range for x and `pool_size` >= 1; returns the wrapped dim.
int64_t maxout_dim(const char* op, const at::Tensor& x, int64_t pool_size, int64_t dim);

// maxout_dim, and `pool_size` divides the size of `dim`. Returns the wrapped dim.
int64_t maxout_args(const char* op, const at::Tensor& x, int64_t pool_size, int64_t dim);

}  // namespace rectifiers::checks
