#include <ATen/Context.h>
#include <ATen/Version.h>
#include <torch/version.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "rectifiers.h"

#ifdef RECTIFIERS_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

#ifndef RECTIFIERS_CUDA_ARCHS
#define RECTIFIERS_CUDA_ARCHS ""
#endif

namespace rectifiers {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

std::string cpu_code_paths() { return lower(RECTIFIERS_CPU_CAPABILITIES); }

// ATen's choice for this CPU (ATEN_CPU_CAPABILITY applies), which is the
// build every stub calls: each kernel is built for every capability here.
std::string cpu_selected_code_path() {
  const std::string aten = lower(at::get_cpu_capability());
  const std::string built = "," + cpu_code_paths() + ",";
  return built.find("," + aten + ",") == std::string::npos ? "default" : aten;
}

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
