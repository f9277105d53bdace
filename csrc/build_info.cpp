#include <ATen/Context.h>
#include <torch/version.h>

#include <string>

#include "rectifiers.h"

#ifdef RECTIFIERS_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

#ifndef RECTIFIERS_CUDA_ARCHS
#define RECTIFIERS_CUDA_ARCHS ""
#endif

namespace rectifiers {

std::string build_info() {
  std::string out = std::string("torch=") + TORCH_VERSION;
#ifdef RECTIFIERS_WITH_CUDA
  out += " cuda=" + std::to_string(CUDART_VERSION / 1000) + "." +
         std::to_string((CUDART_VERSION % 1000) / 10) + " cuda_archs=" + RECTIFIERS_CUDA_ARCHS;
#else
  out += " cuda=none";
#endif
  out += " cpu=" + cpu_code_paths() + " cpu_selected=" + cpu_selected_code_path();
  return out;
}

}  // namespace rectifiers
