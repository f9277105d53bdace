// Every schema of the library, declared once. Kernels are registered per
// dispatch key in cpu/, cuda/, meta/ and autograd/.
#include <torch/library.h>

TORCH_LIBRARY(rectifiers, m) {
  m.def("relu(Tensor self) -> Tensor", {at::Tag::pointwise});
  // In-place ops return nothing: torch.compile only functionalizes custom
  // mutating ops whose outputs carry no alias annotation.
  m.def("relu_(Tensor(a!) self) -> ()", {at::Tag::pointwise});
  m.def("relu_backward(Tensor grad_output, Tensor result) -> Tensor", {at::Tag::pointwise});

  m.def("leaky_relu(Tensor self, float negative_slope=0.01) -> Tensor", {at::Tag::pointwise});
  m.def("leaky_relu_(Tensor(a!) self, float negative_slope=0.01) -> ()", {at::Tag::pointwise});
  m.def(
      "leaky_relu_backward(Tensor grad_output, Tensor self, float negative_slope, "
      "bool self_is_result) -> Tensor",
      {at::Tag::pointwise});

  m.def("prelu(Tensor self, Tensor weight) -> Tensor");
  m.def("prelu_backward(Tensor grad_output, Tensor self, Tensor weight) -> (Tensor, Tensor)");

  m.def("abs_rectifier(Tensor self) -> Tensor", {at::Tag::pointwise});
  m.def("abs_rectifier_backward(Tensor grad_output, Tensor self) -> Tensor",
        {at::Tag::pointwise});

  m.def("maxout(Tensor self, int pool_size, int dim=1) -> Tensor");
  // Values and the position of each maximum inside its group (uint8 while
  // pool_size <= 256, else int32): all that backward needs.
  m.def("maxout_with_indices(Tensor self, int pool_size, int dim=1) -> (Tensor, Tensor)");
  m.def("maxout_backward(Tensor grad_output, Tensor indices, int pool_size, int dim) -> Tensor");
}
