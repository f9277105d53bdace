// Each op finds its device kernels through ATen's DispatchStub, as ATen's own
// ops do. A CPU kernel file (ops/cpu/<op>_kernel.cpp) is compiled once per
// instruction set with that set's flags (CMakeLists.txt, ATen's CPU_CAPABILITY
// scheme) and registers each build; the stub calls the one ATen chooses for
// this CPU (so ATEN_CPU_CAPABILITY applies). A CUDA kernel file registers
// its kernel for CUDA.
#pragma once

#include <ATen/TensorIterator.h>
#include <ATen/native/DispatchStub.h>

namespace rectifiers {

using at::native::DispatchStub;  // DECLARE_DISPATCH names it unqualified

// The loop of an elementwise op: out and the inputs are in the iterator.
using elementwise_fn = void (*)(at::TensorIteratorBase&);
// The same with the op's scalar argument (leaky_relu's negative_slope).
using elementwise_scalar_fn = void (*)(at::TensorIteratorBase&, double);
// The loops of an op that saves a packed mask (common/mask.h): (input,
// result laid out as mask::outputs_for lays it, mask) forward, (grad_output
// in any layout, mask, grad_input laid out in the mask's order) backward; and
// the same with the op's scalar argument.
using mask_forward_fn = void (*)(const at::Tensor&, const at::Tensor&, const at::Tensor&);
// A CPU forward over a dense float16/bfloat16 input, out laid out as the
// input: (input, out); and the same with the op's scalar argument.
using dense_forward_fn = void (*)(const at::Tensor&, const at::Tensor&);
using dense_forward_scalar_fn = void (*)(const at::Tensor&, const at::Tensor&, double);
using mask_backward_fn = void (*)(const at::Tensor&, const at::Tensor&, const at::Tensor&);
using mask_forward_scalar_fn = void (*)(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                        double);
using mask_backward_scalar_fn = void (*)(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                         double);

}  // namespace rectifiers

// Registers this instruction-set build of a CPU kernel: in a file compiled
// per CPU_CAPABILITY. ATen's REGISTER_DISPATCH leaves the AVX-512 slot empty
// unless asked; ours is built for AVX-512, so it is asked.
// A build without the AVX-512 kernels (RECTIFIERS_CPU_CAPABILITIES) leaves
// that slot empty, from the AVX2 build: DispatchStub then calls AVX2 there.
#if defined(CPU_CAPABILITY_AVX2) && defined(RECTIFIERS_NO_AVX512_BUILD)
#define RECTIFIERS_REGISTER_NO_AVX512(stub) \
  REGISTER_ARCH_DISPATCH(rectifiers::stub, AVX512, nullptr)
#else
#define RECTIFIERS_REGISTER_NO_AVX512(stub)
#endif

#define RECTIFIERS_REGISTER_CPU_KERNEL(stub, fn)      \
  namespace at::native {                              \
  ALSO_REGISTER_AVX512_DISPATCH(rectifiers::stub, fn) \
  RECTIFIERS_REGISTER_NO_AVX512(stub)                 \
  }

// The same for a kernel whose SIMD body and scalar tail differ (bfloat16's
// NaN encoding after a round trip through float; hardtanh_backward's NaN),
// when ATen registers its twin with REGISTER_DISPATCH (leaky_relu, clamp, abs,
// hardtanh_backward, threshold, mul, prelu), which leaves the AVX-512 slot
// empty: the split follows the vector width, so an AVX-512 CPU must run the
// AVX2 build, as it runs ATen's. (ATen's elu is registered for AVX-512 too,
// so ours is a plain RECTIFIERS_REGISTER_CPU_KERNEL.)
#define RECTIFIERS_REGISTER_CPU_KERNEL_AS_ATEN(stub, fn) \
  namespace at::native {                                \
  REGISTER_DISPATCH(rectifiers::stub, fn)               \
  RECTIFIERS_REGISTER_NO_AVX512(stub)                   \
  }

// ATen's REGISTER_CUDA_DISPATCH names its registrar after the stub, so it
// runs inside the stub's namespace and names ATen's registrar type there.
#define RECTIFIERS_REGISTER_CUDA_KERNEL(stub, fn) \
  namespace rectifiers {                          \
  using at::native::RegisterCUDADispatch;         \
  REGISTER_CUDA_DISPATCH(stub, fn)                \
  }
