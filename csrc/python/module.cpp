// The Python extension module rectifiers._C: importing it runs the operator
// registrations; it also reports what the library was built with.
//
// It also binds the ops' C++ entry points for rectifiers.functional's eager
// path. A torch.ops call parses its arguments against the schema in Python
// and C++ and costs about twice torch.relu on a small tensor; these bindings
// go straight to the same dispatcher call (so autograd, autocast, dispatch
// modes and every backend still apply). The GIL is released as torch's own
// bindings do.
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
  using release_gil = py::call_guard<py::gil_scoped_release>;
  m.def("relu", [](const at::Tensor& x) { return rectifiers::relu(x); }, release_gil());
  m.def("relu_", [](at::Tensor& x) { rectifiers::relu_(x); }, release_gil());
  m.def("leaky_relu", [](const at::Tensor& x, double slope) { return rectifiers::leaky_relu(x, slope); },
        release_gil());
  m.def("leaky_relu_", [](at::Tensor& x, double slope) { rectifiers::leaky_relu_(x, slope); },
        release_gil());
  m.def("prelu", [](const at::Tensor& x, const at::Tensor& w) { return rectifiers::prelu(x, w); },
        release_gil());
  m.def("abs_rectifier", [](const at::Tensor& x) { return rectifiers::abs_rectifier(x); },
        release_gil());
  m.def("relu6", [](const at::Tensor& x) { return rectifiers::relu6(x); }, release_gil());
  m.def("relu6_", [](at::Tensor& x) { rectifiers::relu6_(x); }, release_gil());
  m.def("elu", [](const at::Tensor& x, double alpha) { return rectifiers::elu(x, alpha); },
        release_gil());
  m.def("elu_", [](at::Tensor& x, double alpha) { rectifiers::elu_(x, alpha); }, release_gil());
  m.def("celu", [](const at::Tensor& x, double alpha) { return rectifiers::celu(x, alpha); },
        release_gil());
  m.def("celu_", [](at::Tensor& x, double alpha) { rectifiers::celu_(x, alpha); }, release_gil());
  m.def("selu", [](const at::Tensor& x) { return rectifiers::selu(x); }, release_gil());
  m.def("selu_", [](at::Tensor& x) { rectifiers::selu_(x); }, release_gil());
  m.def("rrelu", [](const at::Tensor& x, double lower, double upper, bool training) {
          return rectifiers::rrelu(x, lower, upper, training);
        }, release_gil());
  m.def("rrelu_", [](at::Tensor& x, double lower, double upper, bool training) {
          rectifiers::rrelu_(x, lower, upper, training);
        }, release_gil());
  m.def("maxout", [](const at::Tensor& x, int64_t pool_size, int64_t dim) {
          return rectifiers::maxout(x, pool_size, dim);
        }, release_gil());
  m.def("build_info", &rectifiers::build_info,
        "torch version, CUDA version and archs, and CPU code paths of this build");
}
