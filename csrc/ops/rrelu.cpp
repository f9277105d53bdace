// rrelu and rrelu_ (randomized leaky ReLU), their training-mode ops
// rrelu_with_state / rrelu_with_state_ and rrelu_backward: schemas, the
// kernels every device runs, and the C++ API.
//
// In training mode each element x <= 0 gets its own slope, uniform in
// [lower, upper]. torch draws the slopes from the generator one by one and
// saves them, a tensor the size of the input, for backward. Ours takes one
// seed per call from the generator (CPU: 64 random bits; CUDA: the Philox
// seed and offset, as ATen's dropout) and derives each element's slope from
// the seed and the element's position with Philox, a counter-based
// generator: backward regenerates the slopes from that state, an int64
// tensor of 2 elements, instead of reading a saved tensor.
//
// An element's position is its offset in the input's memory, which is why
// the loops run on a dense layout shared by every tensor they touch: a
// dense, non-overlapping input is used as it is (its position is the same in
// forward and in backward, which sees the same saved tensor); any other is
// first copied to a contiguous one, by the same rule in both passes.
#include "rrelu.h"

#include <cmath>

#include "../common/elementwise.h"
#include "../common/mask.h"
#include "../common/register.h"
#include "../rectifiers.h"

namespace rectifiers {

DEFINE_DISPATCH(rrelu_stub);
DEFINE_DISPATCH(rrelu_backward_stub);
DEFINE_DISPATCH(rrelu_with_mask_stub);
DEFINE_DISPATCH(rrelu_mask_backward_stub);

namespace {

// As torch: finite bounds, lower <= upper; ours also as for every float
// argument: they must fit the compute type.
void check_bounds(const char* op, const at::Tensor& x, double lower, double upper) {
  TORCH_CHECK(std::isfinite(lower), "rectifiers::", op, ": lower must be finite, but got ", lower);
  TORCH_CHECK(std::isfinite(upper), "rectifiers::", op, ": upper must be finite, but got ", upper);
  TORCH_CHECK(lower <= upper, "rectifiers::", op, ": lower must be <= upper, but got lower = ",
              lower, " and upper = ", upper);
  checks::fits_compute_type(op, x, "lower", lower);
  checks::fits_compute_type(op, x, "upper", upper);
}

bool dense(const at::Tensor& t) { return t.is_non_overlapping_and_dense(); }

// The layout the loops run on (see the top of the file).
at::Tensor dense_input(const at::Tensor& x) { return dense(x) ? x : x.contiguous(); }

// `t` in the layout of `like` (a copy only if its strides differ).
at::Tensor laid_out_like(const at::Tensor& t, const at::Tensor& like) {
  if (t.strides() == like.strides()) return t;
  return at::empty_like(like).copy_(t);
}

at::Tensor new_state(const at::Tensor& x) {
  return at::empty({2}, x.options().dtype(at::kLong));
}

void check_state(const char* op, const at::Tensor& state, const at::Tensor& x) {
  checks::strided(op, state, "state");
  TORCH_CHECK(state.scalar_type() == at::kLong && state.dim() == 1 && state.size(0) == 2,
              "rectifiers::", op,
              ": state must be the int64 tensor of 2 elements rrelu_with_state returns, but got ",
              state.scalar_type(), " of shape ", state.sizes());
  TORCH_CHECK(state.device() == x.device(), "rectifiers::", op,
              ": expected state on the device of the input (", x.device(), "), but it is on ",
              state.device());
}

std::tuple<at::Tensor, at::Tensor> rrelu_with_state_kernel(const at::Tensor& x, double lower,
                                                           double upper,
                                                           std::optional<at::Generator> gen) {
  checks::floating("rrelu_with_state", x);
  check_bounds("rrelu_with_state", x, lower, upper);
  const auto xd = dense_input(x);
  auto out = at::empty_like(xd);
  auto state = new_state(x);
  if (!x.is_meta() && x.numel() > 0) {
    rrelu_stub(x.device().type(), out, xd, state, lower, upper, gen);
  } else if (!x.is_meta()) {
    state.zero_();
  }
  return {out, state};
}

at::Tensor rrelu_with_state_in_place_kernel(at::Tensor& x, double lower, double upper,
                                            std::optional<at::Generator> gen) {
  elementwise::check_in_place("rrelu_with_state_", x);
  check_bounds("rrelu_with_state_", x, lower, upper);
  auto state = new_state(x);
  if (x.is_meta()) return state;
  if (x.numel() == 0) return state.zero_();
  if (dense(x)) {
    rrelu_stub(x.device().type(), x, x, state, lower, upper, gen);
  } else {
    auto tmp = x.contiguous();
    rrelu_stub(x.device().type(), tmp, tmp, state, lower, upper, gen);
    x.copy_(tmp);
  }
  return state;
}

// From the result (after rrelu_with_state_) the side of 0 is its sign, which
// a negative slope flips.
at::Tensor rrelu_backward_kernel(const at::Tensor& grad, const at::Tensor& x,
                                 const at::Tensor& state, double lower, double upper,
                                 bool is_result) {
  checks::grad_like("rrelu_backward", grad, x, "self_or_result");
  check_state("rrelu_backward", state, x);
  check_bounds("rrelu_backward", x, lower, upper);
  TORCH_CHECK(!is_result || lower >= 0.0,
              "rectifiers::rrelu_backward: cannot differentiate in-place rrelu_ with a negative "
              "lower bound (lower = ",
              lower,
              "): the input was overwritten and the result's sign no longer tells which side of "
              "0 it was on; use the out-of-place rrelu");
  const auto xd = dense_input(x);
  auto grad_input = at::empty_like(xd);
  if (!x.is_meta() && x.numel() > 0) {
    rrelu_backward_stub(x.device().type(), grad_input, laid_out_like(grad, xd), xd, state, lower,
                        upper);
  }
  return grad_input;
}

// The mask's order (the result's, common/mask.h) is the dense order the
// slopes' positions follow, so the backward regenerates each element's slope.
std::tuple<at::Tensor, at::Tensor, at::Tensor> rrelu_with_mask_kernel(
    const at::Tensor& x, double lower, double upper, std::optional<at::Generator> gen) {
  checks::floating("rrelu_with_mask", x);
  check_bounds("rrelu_with_mask", x, lower, upper);
  auto [out, bits] = mask::outputs_for(x);
  auto state = new_state(x);
  if (!x.is_meta() && x.numel() > 0) {
    rrelu_with_mask_stub(x.device().type(), out, mask::dense(x), state, bits, lower, upper, gen);
  } else if (!x.is_meta()) {
    state.zero_();
  }
  return {out, state, bits};
}

at::Tensor rrelu_mask_backward_kernel(const at::Tensor& grad, const at::Tensor& bits,
                                      const at::Tensor& state, at::IntArrayRef mask_sizes,
                                      at::IntArrayRef mask_strides, double lower, double upper) {
  auto out =
      mask::grad_output_for("rrelu_mask_backward", grad, bits, mask_sizes, mask_strides, 1,
                            /*as_grad_output=*/true);
  check_state("rrelu_mask_backward", state, grad);
  check_bounds("rrelu_mask_backward", grad, lower, upper);
  if (!grad.is_meta() && grad.numel() > 0) {
    mask::run_in_mask_order(out, mask_strides, [&](const at::Tensor& ordered) {
      rrelu_mask_backward_stub(grad.device().type(), ordered, mask::in_mask_order(grad, mask_strides),
                               bits, state, lower, upper);
    });
  }
  return out;
}

void register_rrelu_kernels(torch::Library& m) {
  m.impl("rrelu_with_state", &rrelu_with_state_kernel);
  m.impl("rrelu_with_state_", &rrelu_with_state_in_place_kernel);
  m.impl("rrelu_backward", &rrelu_backward_kernel);
  m.impl("rrelu_with_mask", &rrelu_with_mask_kernel);
  m.impl("rrelu_mask_backward", &rrelu_mask_backward_kernel);
}

// rrelu and rrelu_ dispatch on `training`: eval mode is leaky_relu with the
// mean slope, as torch (whose (lower + upper) / 2 is a double too).
at::Tensor rrelu_composite(const at::Tensor& x, double lower, double upper, bool training,
                           std::optional<at::Generator> gen) {
  checks::floating("rrelu", x);
  check_bounds("rrelu", x, lower, upper);
  if (training) return std::get<0>(rectifiers::rrelu_with_state(x, lower, upper, gen));
  return rectifiers::leaky_relu(x, (lower + upper) / 2);
}

void rrelu_in_place_composite(at::Tensor& x, double lower, double upper, bool training,
                              std::optional<at::Generator> gen) {
  elementwise::check_in_place("rrelu_", x);
  check_bounds("rrelu_", x, lower, upper);
  if (training) {
    rectifiers::rrelu_with_state_(x, lower, upper, gen);
  } else {
    rectifiers::leaky_relu_(x, (lower + upper) / 2);
  }
}

}  // namespace

at::Tensor rrelu(const at::Tensor& input, double lower, double upper, bool training,
                 std::optional<at::Generator> generator) {
  checks::defined("rrelu", input, "input");
  static const auto op = op_handle<at::Tensor(const at::Tensor&, double, double, bool,
                                              std::optional<at::Generator>)>("rectifiers::rrelu");
  return op.call(input, lower, upper, training, generator);
}

at::Tensor& rrelu_(at::Tensor& input, double lower, double upper, bool training,
                   std::optional<at::Generator> generator) {
  checks::defined("rrelu_", input, "input");
  static const auto op = op_handle<void(at::Tensor&, double, double, bool,
                                        std::optional<at::Generator>)>("rectifiers::rrelu_");
  op.call(input, lower, upper, training, generator);
  return input;
}

std::tuple<at::Tensor, at::Tensor> rrelu_with_state(const at::Tensor& input, double lower,
                                                    double upper,
                                                    std::optional<at::Generator> generator) {
  checks::defined("rrelu_with_state", input, "input");
  static const auto op =
      op_handle<std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, double, double,
                                                   std::optional<at::Generator>)>(
          "rectifiers::rrelu_with_state");
  return op.call(input, lower, upper, generator);
}

at::Tensor rrelu_with_state_(at::Tensor& input, double lower, double upper,
                             std::optional<at::Generator> generator) {
  checks::defined("rrelu_with_state_", input, "input");
  static const auto op =
      op_handle<at::Tensor(at::Tensor&, double, double, std::optional<at::Generator>)>(
          "rectifiers::rrelu_with_state_");
  return op.call(input, lower, upper, generator);
}

at::Tensor rrelu_backward(const at::Tensor& grad_output, const at::Tensor& self_or_result,
                          const at::Tensor& state, double lower, double upper, bool is_result) {
  checks::defined("rrelu_backward", grad_output, "grad_output");
  checks::defined("rrelu_backward", self_or_result, "self_or_result");
  checks::defined("rrelu_backward", state, "state");
  static const auto op = op_handle<at::Tensor(const at::Tensor&, const at::Tensor&,
                                              const at::Tensor&, double, double, bool)>(
      "rectifiers::rrelu_backward");
  return op.call(grad_output, self_or_result, state, lower, upper, is_result);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> rrelu_with_mask(
    const at::Tensor& input, double lower, double upper, std::optional<at::Generator> generator) {
  checks::defined("rrelu_with_mask", input, "input");
  static const auto op = op_handle<std::tuple<at::Tensor, at::Tensor, at::Tensor>(
      const at::Tensor&, double, double, std::optional<at::Generator>)>(
      "rectifiers::rrelu_with_mask");
  return op.call(input, lower, upper, generator);
}

at::Tensor rrelu_mask_backward(const at::Tensor& grad_output, const at::Tensor& mask,
                               const at::Tensor& state, at::IntArrayRef mask_sizes,
                               at::IntArrayRef mask_strides, double lower, double upper) {
  checks::defined("rrelu_mask_backward", grad_output, "grad_output");
  checks::defined("rrelu_mask_backward", mask, "mask");
  checks::defined("rrelu_mask_backward", state, "state");
  static const auto op =
      op_handle<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                           at::IntArrayRef, at::IntArrayRef, double, double)>(
          "rectifiers::rrelu_mask_backward");
  return op.call(grad_output, mask, state, mask_sizes, mask_strides, lower, upper);
}

}  // namespace rectifiers

TORCH_LIBRARY_FRAGMENT(rectifiers, m) {
  m.def(
      "rrelu(Tensor self, float lower=0.125, float upper=0.3333333333333333, bool training=False, "
      "Generator? generator=None) -> Tensor",
      {at::Tag::nondeterministic_seeded});
  m.def(
      "rrelu_(Tensor(a!) self, float lower=0.125, float upper=0.3333333333333333, "
      "bool training=False, Generator? generator=None) -> ()",
      {at::Tag::nondeterministic_seeded});
  m.def(
      "rrelu_with_state(Tensor self, float lower, float upper, Generator? generator=None) "
      "-> (Tensor, Tensor)",
      {at::Tag::nondeterministic_seeded});
  m.def(
      "rrelu_with_state_(Tensor(a!) self, float lower, float upper, Generator? generator=None) "
      "-> Tensor",
      {at::Tag::nondeterministic_seeded});
  m.def(
      "rrelu_backward(Tensor grad_output, Tensor self_or_result, Tensor state, float lower, "
      "float upper, bool is_result) -> Tensor",
      {at::Tag::pointwise});
  // what the out-of-place training rrelu saves for its backward under
  // autograd (see common/mask.h): (result, state, mask)
  m.def(
      "rrelu_with_mask(Tensor self, float lower, float upper, Generator? generator=None) "
      "-> (Tensor, Tensor, Tensor)",
      {at::Tag::nondeterministic_seeded});
  m.def(
      "rrelu_mask_backward(Tensor grad_output, Tensor mask, Tensor state, int[] mask_sizes, "
      "int[] mask_strides, float lower, float upper) -> Tensor");
}

RECTIFIERS_DEVICE_KERNELS(rectifiers::register_rrelu_kernels)

TORCH_LIBRARY_IMPL(rectifiers, CompositeImplicitAutograd, m) {
  m.impl("rrelu", &rectifiers::rrelu_composite);
  m.impl("rrelu_", &rectifiers::rrelu_in_place_composite);
}
