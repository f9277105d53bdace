// The Python extension module rectifiers._C: importing it runs the operator
// registrations; it also reports what the library was built with.
#include <torch/extension.h>
#include <torch/version.h>

#include "rectifiers.h"

PYBIND11_MODULE(_C, m) {
  m.doc() = "rectifiers operator library (ops are under torch.ops.rectifiers)";
  m.attr("built_with_torch") = TORCH_VERSION;
#ifdef RECTIFIERS_WITH_CUDA
  m.attr("with_cuda") = true;
#else
  m.attr("with_cuda") = false;
#endif
  m.def("build_info", &rectifiers::build_info,
        "torch version, CUDA version and archs, and CPU code paths of this build");
}
