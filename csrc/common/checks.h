// Argument checks shared by every backend (CPU, CUDA, Meta). Each error names
// the op (as `rectifiers::<op>`) and the offending value. Shapes are read as
// SymInts so the same checks run under FakeTensor with symbolic shapes.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/SymInt.h>

#include <string>

namespace rectifiers::checks {

// A count and its noun for a message: "1 channel", "3 channels" (the plural
// also for a symbolic count, whose value is not known).
std::string count_of(const c10::SymInt& count, const char* singular, const char* plural);

// A defined tensor (not a default-constructed at::Tensor).
void defined(const char* op, const at::Tensor& t, const char* arg);

// A strided tensor: nested, sparse and other layouts are refused by name
// before anything reads their sizes.
void strided(const char* op, const at::Tensor& t, const char* arg);

// Defined, strided, and float16, bfloat16, float32 or float64; anything else
// is a RuntimeError.
void floating(const char* op, const at::Tensor& t, const char* arg = "input");

// Same device and dtype as `ref` (a gradient and the tensor it belongs to).
void like(const char* op, const at::Tensor& ref, const char* ref_arg,
          const at::Tensor& t, const char* arg);

// Same sizes as `ref`.
void same_sizes(const char* op, const at::Tensor& ref, const char* ref_arg,
                const at::Tensor& t, const char* arg);

// grad_output of a backward op: x (named `x_arg`) is floating, and grad
// has its device, dtype and sizes.
void grad_like(const char* op, const at::Tensor& grad, const at::Tensor& x, const char* x_arg);

// An op's float argument `arg` that converts to the op-math type of t
// (float for float16/bfloat16/float32) without overflow, as ATen requires of
// its Scalars; inf and NaN pass.
void fits_compute_type(const char* op, const at::Tensor& t, const char* arg, double value);

// The tensor an in-place op writes must not have elements that share memory.
// ATen's own test first (stride 0 on a dim of size > 1 overlaps); layouts it
// cannot decide are checked exactly from their sizes and strides.
void writable_in_place(const char* op, const at::Tensor& t);

}  // namespace rectifiers::checks
