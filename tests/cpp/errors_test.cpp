// Bad input (docs/semantics.md, "Bad input"): every misuse throws c10::Error whose message
// names the op ("rectifiers::<op>") and the offending value, and no input is
// modified.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <sstream>

#include "rectifiers.h"
#include "test_util.h"

namespace rectifiers_test {
namespace {

using ErrorsTest = DeviceTest;

// fn must throw naming op and every needle, and leave each of `inputs` as it was.
void ExpectRejected(const std::function<void()>& fn, const std::string& op,
                    std::initializer_list<std::string> needles,
                    const std::vector<torch::Tensor>& inputs) {
  std::vector<torch::Tensor> before;
  for (const auto& t : inputs) before.push_back(Snapshot(t));
  std::vector<std::string> all = {"rectifiers::" + op};
  all.insert(all.end(), needles.begin(), needles.end());
  try {
    fn();
    ADD_FAILURE() << "rectifiers::" << op << " accepted bad input";
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();  // see ThrowsWith
    for (const auto& needle : all) {
      EXPECT_NE(what.find(needle), std::string::npos)
          << "message lacks \"" << needle << "\":\n"
          << e.what_without_backtrace();
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-c10 exception: " << e.what();
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_TRUE(BitwiseEqual(inputs[i], before[i]))
        << "input " << i << " was modified by a failed rectifiers::" << op;
  }
}

TEST_P(ErrorsTest, NonFloatingDtypesAreRejected) {
  for (auto dtype : {torch::kLong, torch::kInt, torch::kByte, torch::kBool}) {
    SCOPED_TRACE(c10::toString(dtype));
    auto x = torch::arange(-6, 6, torch::kLong).reshape({2, 6}).to(opts(dtype));
    const std::string name = c10::toString(dtype);  // e.g. "Long"
    ExpectRejected([&] { rectifiers::relu(x); }, "relu", {name}, {x});
    ExpectRejected([&] { rectifiers::relu_(x); }, "relu_", {name}, {x});
    ExpectRejected([&] { rectifiers::leaky_relu(x, 0.1); }, "leaky_relu", {name}, {x});
    ExpectRejected([&] { rectifiers::leaky_relu_(x, 0.1); }, "leaky_relu_", {name}, {x});
    ExpectRejected([&] { rectifiers::abs_rectifier(x); }, "abs_rectifier", {name}, {x});
    ExpectRejected([&] { rectifiers::prelu(x, torch::ones({1}, opts(dtype))); }, "prelu", {name},
                   {x});
    ExpectRejected([&] { rectifiers::maxout(x, 2, 1); }, "maxout", {name}, {x});
    ExpectRejected([&] { rectifiers::maxout_with_indices(x, 2, 1); }, "maxout_with_indices",
                   {name}, {x});
    ExpectRejected([&] { rectifiers::relu6(x); }, "relu6", {name}, {x});
    ExpectRejected([&] { rectifiers::relu6_(x); }, "relu6_", {name}, {x});
    ExpectRejected([&] { rectifiers::elu(x, 0.5); }, "elu", {name}, {x});
    ExpectRejected([&] { rectifiers::elu_(x); }, "elu_", {name}, {x});
    ExpectRejected([&] { rectifiers::celu(x, 2.0); }, "celu", {name}, {x});
    ExpectRejected([&] { rectifiers::celu_(x); }, "celu_", {name}, {x});
    ExpectRejected([&] { rectifiers::selu(x); }, "selu", {name}, {x});
    ExpectRejected([&] { rectifiers::selu_(x); }, "selu_", {name}, {x});
  }
}

TEST_P(ErrorsTest, ComplexDtypeIsRejected) {
  auto x = torch::randn({2, 4}, opts(torch::kComplexFloat));
  ExpectRejected([&] { rectifiers::relu(x); }, "relu", {"ComplexFloat"}, {x});
  ExpectRejected([&] { rectifiers::abs_rectifier(x); }, "abs_rectifier", {"ComplexFloat"}, {x});
  ExpectRejected([&] { rectifiers::maxout(x, 2, 1); }, "maxout", {"ComplexFloat"}, {x});
}

TEST_P(ErrorsTest, EluFamilyAlphaIsChecked) {
  auto x = torch::randn({2, 6}, opts());
  for (double alpha : {INFINITY, -INFINITY, NAN}) {
    std::ostringstream shown;
    shown << "alpha must be finite, but got " << alpha;
    SCOPED_TRACE(shown.str());
    ExpectRejected([&] { rectifiers::elu(x, alpha); }, "elu", {shown.str()}, {x});
    ExpectRejected([&] { rectifiers::elu_(x, alpha); }, "elu_", {shown.str()}, {x});
    ExpectRejected([&] { rectifiers::celu(x, alpha); }, "celu", {shown.str()}, {x});
    ExpectRejected([&] { rectifiers::celu_(x, alpha); }, "celu_", {shown.str()}, {x});
    ExpectRejected([&] { rectifiers::elu_backward(x, x, alpha, 1.0, 1.0, false); }, "elu_backward",
                   {shown.str()}, {x});
  }
  ExpectRejected([&] { rectifiers::celu(x, 0.0); }, "celu", {"alpha must not be 0"}, {x});
  ExpectRejected([&] { rectifiers::celu_(x, -0.0); }, "celu_", {"alpha must not be 0"}, {x});
  for (auto dtype : {torch::kFloat, torch::kHalf, torch::kBFloat16}) {
    SCOPED_TRACE(c10::toString(dtype));
    auto t = torch::randn({2, 6}, opts(dtype));
    const std::string text = std::string("alpha 1e+300 cannot be converted to float (the compute "
                                         "type of ") + c10::toString(dtype) + " tensors)";
    ExpectRejected([&] { rectifiers::elu(t, 1e300); }, "elu", {text}, {t});
    ExpectRejected([&] { rectifiers::elu_(t, 1e300); }, "elu_", {text}, {t});
    ExpectRejected([&] { rectifiers::celu(t, 1e300); }, "celu", {text}, {t});
    ExpectRejected([&] { rectifiers::celu_(t, 1e300); }, "celu_", {text}, {t});
    ExpectRejected([&] { rectifiers::elu_backward(t, t, 1e300, 1.0, 1.0, false); },
                   "elu_backward", {text}, {t});
  }
  // float64 computes in double: torch's values.
  auto x64 = torch::tensor({-1.0, 2.0}, opts(torch::kDouble));
  EXPECT_TRUE(BitwiseEqual(rectifiers::elu(x64, 1e300), torch::elu(x64, 1e300)));
  // From the result, a negative alpha cannot tell the sides apart.
  auto y = torch::tensor({1.0, -0.25, 0.0}, opts());
  ExpectRejected([&] { rectifiers::elu_backward(y, y, -0.5, 1.0, 1.0, true); }, "elu_backward",
                 {"cannot differentiate an in-place elu_/celu_ with a negative alpha",
                  "alpha = -0.5"},
                 {y});
  EXPECT_TRUE(BitwiseEqual(rectifiers::elu_backward(y, y, -0.5, 1.0, 1.0, false),
                           torch::elu_backward(y, -0.5, 1.0, 1.0, false, y)));
}

TEST_P(ErrorsTest, LeakyReluMaskBackwardRefusesAMaskThatDoesNotFit) {
  auto x = torch::randn({3, 5}, opts());
  auto [y, mask] = rectifiers::leaky_relu_with_mask(x, 0.1);
  auto g = torch::randn({3, 5}, opts());
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::leaky_relu_mask_backward(g, mask.narrow(0, 0, 0), y.sizes(), y.strides(), 0.1); },
                         {"rectifiers::leaky_relu_mask_backward", "mask has 0 words"}));
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::leaky_relu_mask_backward(g, mask, {3, 5}, {5, 2}, 0.1); },
                         {"rectifiers::leaky_relu_mask_backward", "not a dense layout"}));
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::leaky_relu_mask_backward(g, mask.to(torch::kLong), y.sizes(), y.strides(), 0.1); },
                         {"rectifiers::leaky_relu_mask_backward", "int32"}));
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::leaky_relu_mask_backward(torch::randn({5, 3}, opts()), mask, y.sizes(), y.strides(), 0.1); },
                         {"rectifiers::leaky_relu_mask_backward", "are not grad_output's sizes"}));
}

TEST_P(ErrorsTest, TwoBitAndRReLUMaskBackwardsRefuseAMaskThatDoesNotFit) {
  auto x = torch::randn({3, 5}, opts());
  auto g = torch::randn({3, 5}, opts());
  auto [y6, mask6] = rectifiers::relu6_with_mask(x);
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::relu6_mask_backward(g, mask6.narrow(0, 0, 1), y6.sizes(), y6.strides()); },
                         {"rectifiers::relu6_mask_backward", "mask has 1 words", "2 bits each"}));
  auto [ya, maska] = rectifiers::abs_rectifier_with_mask(x);
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::abs_rectifier_mask_backward(g, maska, {3, 5}, {1, 4}); },
                         {"rectifiers::abs_rectifier_mask_backward", "not a dense layout"}));
  auto [yr, state, maskr] = rectifiers::rrelu_with_mask(x, 0.1, 0.3);
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::rrelu_mask_backward(g, maskr, state.narrow(0, 0, 1), yr.sizes(), yr.strides(), 0.1, 0.3); },
                         {"rectifiers::rrelu_mask_backward", "state must be"}));
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::rrelu_mask_backward(g, maskr, state, yr.sizes(), yr.strides(), 0.3, 0.1); },
                         {"rectifiers::rrelu_mask_backward", "lower must be <= upper"}));
}

TEST_P(ErrorsTest, MaxoutPoolSizeBelowOne) {
  auto x = torch::randn({2, 6, 3}, opts());
  ExpectRejected([&] { rectifiers::maxout(x, 0, 1); }, "maxout", {"pool_size", "got 0"}, {x});
  ExpectRejected([&] { rectifiers::maxout(x, -2, 1); }, "maxout", {"pool_size", "-2"}, {x});
  ExpectRejected([&] { rectifiers::maxout_with_indices(x, 0, 1); }, "maxout_with_indices",
                 {"pool_size", "0"}, {x});
}

TEST_P(ErrorsTest, MaxoutPoolSizeMustDivideDim) {
  auto x = torch::randn({2, 6, 3}, opts());
  ExpectRejected([&] { rectifiers::maxout(x, 4, 1); }, "maxout",
                 {"pool_size 4", "does not divide", "(6"}, {x});
  ExpectRejected([&] { rectifiers::maxout(x, 2, -1); }, "maxout", {"pool_size 2", "(3"}, {x});
  ExpectRejected([&] { rectifiers::maxout_with_indices(x, 5, 1); }, "maxout_with_indices",
                 {"pool_size 5"}, {x});
}

TEST_P(ErrorsTest, MaxoutDimOutOfRange) {
  auto x = torch::randn({2, 6, 3}, opts());
  ExpectRejected([&] { rectifiers::maxout(x, 1, 3); }, "maxout", {"dim 3", "out of range"}, {x});
  ExpectRejected([&] { rectifiers::maxout(x, 1, -4); }, "maxout", {"dim -4", "out of range"},
                 {x});
  auto scalar = torch::tensor(1.0, opts());
  ExpectRejected([&] { rectifiers::maxout(scalar, 1, 0); }, "maxout", {"0-dim"}, {scalar});
}

TEST_P(ErrorsTest, PreluWeightWrongSize) {
  auto x = torch::randn({2, 6, 3}, opts());
  auto w = torch::full({4}, 0.25, opts());
  ExpectRejected([&] { rectifiers::prelu(x, w); }, "prelu",
                 {"weight has 4 elements", "input has 6 channels in dim 1"}, {x, w});
  auto w0 = torch::empty({0}, opts());
  ExpectRejected([&] { rectifiers::prelu(x, w0); }, "prelu", {"weight has 0 elements"}, {x});
  // A 1-D input has one channel, so a weight of 6 does not fit it.
  auto x1 = torch::randn({6}, opts());
  auto w6 = torch::full({6}, 0.25, opts());
  ExpectRejected([&] { rectifiers::prelu(x1, w6); }, "prelu",
                 {"weight has 6 elements", "(input has 1 channel in dim 1, input shape [6])"},
                 {x1, w6});
}

TEST_P(ErrorsTest, PreluWeightTwoDimensional) {
  auto x = torch::randn({2, 6, 3}, opts());
  auto w = torch::full({6, 1}, 0.25, opts());
  ExpectRejected([&] { rectifiers::prelu(x, w); }, "prelu", {"2 dims", "[6, 1]"}, {x, w});
  auto w1 = torch::full({1, 1}, 0.25, opts());
  ExpectRejected([&] { rectifiers::prelu(x, w1); }, "prelu", {"2 dims"}, {x, w1});
}

TEST_P(ErrorsTest, PreluWeightWrongDtype) {
  auto x = torch::randn({2, 6, 3}, opts());
  auto w = torch::full({6}, 0.25, opts(torch::kDouble));
  ExpectRejected([&] { rectifiers::prelu(x, w); }, "prelu", {"Double", "Float"}, {x, w});
  auto wh = torch::full({1}, 0.25, opts(torch::kHalf));
  ExpectRejected([&] { rectifiers::prelu(x, wh); }, "prelu", {"Half"}, {x, wh});
}

TEST_P(ErrorsTest, PreluWeightOnAnotherDevice) {
  if (GetParam() != torch::kCUDA) GTEST_SKIP() << "needs a second device: CUDA case only";
  auto x = torch::randn({2, 6, 3}, opts());
  auto w = torch::full({6}, 0.25, torch::kFloat);  // CPU
  ExpectRejected([&] { rectifiers::prelu(x, w); }, "prelu", {"cpu", "cuda"}, {x, w});
}

TEST_P(ErrorsTest, BackwardOpsRejectMismatchedArguments) {
  auto y = torch::randn({2, 6}, opts());
  auto g = torch::randn({2, 5}, opts());
  ExpectRejected([&] { rectifiers::relu_backward(g, y); }, "relu_backward", {"shape", "[2, 5]"},
                 {g, y});
  ExpectRejected([&] { rectifiers::leaky_relu_backward(g, y, 0.1, false); },
                 "leaky_relu_backward", {"shape"}, {g, y});
  ExpectRejected([&] { rectifiers::abs_rectifier_backward(g.to(torch::kDouble), y); },
                 "abs_rectifier_backward", {"Double"}, {y});
  auto go = torch::randn({2, 3}, opts());
  auto idx = torch::zeros({2, 3}, opts(torch::kLong));
  ExpectRejected([&] { rectifiers::maxout_backward(go, idx, 2, 1); }, "maxout_backward",
                 {"indices", "Long"}, {go, idx});
  auto idx_int = torch::zeros({2, 3}, opts(torch::kInt));  // pool_size 2 needs uint8
  ExpectRejected([&] { rectifiers::maxout_backward(go, idx_int, 2, 1); }, "maxout_backward",
                 {"Byte"}, {go});
  auto idx_small = torch::zeros({2, 2}, opts(torch::kByte));
  ExpectRejected([&] { rectifiers::maxout_backward(go, idx_small, 2, 1); }, "maxout_backward",
                 {"shape"}, {go});
  auto idx_ok = torch::zeros({2, 3}, opts(torch::kByte));
  ExpectRejected([&] { rectifiers::maxout_backward(go, idx_ok, 2, 2); }, "maxout_backward",
                 {"dim 2"}, {go});
  ExpectRejected([&] { rectifiers::relu6_backward(g, y); }, "relu6_backward",
                 {"shape of self [2, 6]", "[2, 5]"}, {g, y});
  ExpectRejected([&] { rectifiers::elu_backward(g, y, 1.0, 1.0, 1.0, false); }, "elu_backward",
                 {"shape of self_or_result [2, 6]", "[2, 5]"}, {g, y});
  auto y64 = y.to(torch::kDouble);
  ExpectRejected([&] { rectifiers::relu6_backward(y, y64); }, "relu6_backward",
                 {"dtype of self (Double)", "Float"}, {y, y64});
  ExpectRejected([&] { rectifiers::elu_backward(y, y64, 1.0, 1.0, 1.0, true); }, "elu_backward",
                 {"dtype of self_or_result (Double)", "Float"}, {y, y64});
  auto yl = y.to(torch::kLong);
  ExpectRejected([&] { rectifiers::relu6_backward(yl, yl); }, "relu6_backward", {"Long"}, {yl});
  ExpectRejected([&] { rectifiers::elu_backward(yl, yl, 1.0, 1.0, 1.0, false); }, "elu_backward",
                 {"Long"}, {yl});
}

TEST_P(ErrorsTest, InPlaceOnOverlappingTensor) {
  // expand() makes 4 rows that share one row of memory.
  auto x = torch::full({1, 3}, -1.0, opts()).expand({4, 3});
  ExpectRejected([&] { rectifiers::relu_(x); }, "relu_", {"overlap", "[4, 3]", "[0, 1]"}, {x});
  ExpectRejected([&] { rectifiers::leaky_relu_(x, 0.1); }, "leaky_relu_", {"overlap"}, {x});
  ExpectRejected([&] { rectifiers::relu6_(x); }, "relu6_", {"overlap", "[4, 3]", "[0, 1]"}, {x});
  ExpectRejected([&] { rectifiers::elu_(x, 0.5); }, "elu_", {"overlap"}, {x});
  ExpectRejected([&] { rectifiers::celu_(x, 2.0); }, "celu_", {"overlap"}, {x});
  ExpectRejected([&] { rectifiers::selu_(x); }, "selu_", {"overlap"}, {x});
  EXPECT_TRUE(BitwiseEqual(x.contiguous(), torch::full({4, 3}, -1.0, opts())));
}

TEST_P(ErrorsTest, InPlaceOnLeafRequiringGrad) {
  auto x = torch::full({2, 3}, -1.0, opts()).requires_grad_(true);
  ExpectRejected([&] { rectifiers::relu_(x); }, "relu_", {"leaf"}, {x});
  ExpectRejected([&] { rectifiers::leaky_relu_(x, 0.1); }, "leaky_relu_", {"leaf"}, {x});
  auto view = x.narrow(1, 0, 2);
  ExpectRejected([&] { rectifiers::relu_(view); }, "relu_", {"view of a leaf"}, {x});
  ExpectRejected([&] { rectifiers::relu6_(x); }, "relu6_", {"leaf"}, {x});
  ExpectRejected([&] { rectifiers::elu_(x, 0.5); }, "elu_", {"leaf"}, {x});
  ExpectRejected([&] { rectifiers::celu_(view, 2.0); }, "celu_", {"view of a leaf"}, {x});
  ExpectRejected([&] { rectifiers::selu_(x); }, "selu_", {"leaf"}, {x});
  EXPECT_TRUE(BitwiseEqual(x.detach(), torch::full({2, 3}, -1.0, opts())));
  // Under no_grad it is allowed, as for PyTorch's own in-place ops.
  {
    torch::NoGradGuard no_grad;
    rectifiers::relu_(x);
  }
  EXPECT_TRUE(BitwiseEqual(x.detach(), torch::zeros({2, 3}, opts())));
}

TEST_P(ErrorsTest, BackwardOpsRejectTensorsOnAnotherDevice) {
  if (GetParam() != torch::kCUDA) GTEST_SKIP() << "needs a second device: CUDA case only";
  auto y = torch::randn({2, 6}, opts());
  auto g = torch::randn({2, 6});  // CPU
  ExpectRejected([&] { rectifiers::relu_backward(g, y); }, "relu_backward", {"cpu", "cuda"},
                 {g, y});
  auto go = torch::randn({2, 3}, opts());
  auto idx = torch::zeros({2, 3}, torch::kByte);  // CPU
  ExpectRejected([&] { rectifiers::maxout_backward(go, idx, 2, 1); }, "maxout_backward",
                 {"cpu", "cuda"}, {go, idx});
}

RECTIFIERS_INSTANTIATE_DEVICE(ErrorsTest);

TEST(Errors, UndefinedTensorIsAnErrorNotACrash) {
  torch::Tensor u;
  auto x = torch::randn({2, 6});
  EXPECT_THROW(rectifiers::relu(u), c10::Error);
  EXPECT_THROW(rectifiers::relu_(u), c10::Error);
  EXPECT_THROW(rectifiers::leaky_relu(u), c10::Error);
  EXPECT_THROW(rectifiers::abs_rectifier(u), c10::Error);
  EXPECT_THROW(rectifiers::prelu(x, u), c10::Error);
  EXPECT_THROW(rectifiers::prelu(u, torch::ones({1})), c10::Error);
  EXPECT_THROW(rectifiers::maxout(u, 2, 1), c10::Error);
  EXPECT_THROW(rectifiers::maxout_with_indices(u, 2, 1), c10::Error);
  EXPECT_THROW(rectifiers::relu_backward(u, x), c10::Error);
  EXPECT_THROW(rectifiers::maxout_backward(x, u, 2, 1), c10::Error);
  EXPECT_THROW(rectifiers::relu6(u), c10::Error);
  EXPECT_THROW(rectifiers::relu6_(u), c10::Error);
  EXPECT_THROW(rectifiers::elu(u), c10::Error);
  EXPECT_THROW(rectifiers::elu_(u), c10::Error);
  EXPECT_THROW(rectifiers::celu(u), c10::Error);
  EXPECT_THROW(rectifiers::celu_(u), c10::Error);
  EXPECT_THROW(rectifiers::selu(u), c10::Error);
  EXPECT_THROW(rectifiers::selu_(u), c10::Error);
  EXPECT_THROW(rectifiers::relu6_backward(x, u), c10::Error);
  EXPECT_THROW(rectifiers::elu_backward(u, x, 1.0, 1.0, 1.0, false), c10::Error);
}

// Undefined tensors are refused by name (checked in the C++ API and in the
// autograd kernels, before Function::apply reads their devices).
TEST(Errors, UndefinedTensorNamesOpAndArgument) {
  torch::Tensor u;
  auto x = torch::randn({2, 6});
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::relu(u); }, {"rectifiers::relu", "undefined"}));
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::prelu(x, u); }, {"rectifiers::prelu", "weight"}));
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::maxout(u, 2, 1); },
                         {"rectifiers::maxout", "undefined"}));
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::relu_backward(u, x); },
                         {"rectifiers::relu_backward", "grad_output"}));
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::maxout_backward(x, u, 2, 1); },
                         {"rectifiers::maxout_backward", "indices"}));
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::relu6(u); }, {"rectifiers::relu6", "undefined"}));
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::celu_(u, 2.0); }, {"rectifiers::celu_", "undefined"}));
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::relu6_backward(x, u); },
                         {"rectifiers::relu6_backward: self is an undefined tensor"}));
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::elu_backward(x, u, 1.0, 1.0, 1.0, false); },
                         {"rectifiers::elu_backward: self_or_result is an undefined tensor"}));
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::elu_backward(u, x, 1.0, 1.0, 1.0, false); },
                         {"rectifiers::elu_backward", "grad_output"}));
}


// Hostile arguments through the C++ API: refused by name and value, never a
// write past the gradient or a silently wrong result.
TEST(Errors, HostileArgumentsAreRefusedByName) {
  auto g = torch::randn({3});
  auto positions = torch::zeros({3}, torch::kInt);
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::maxout_backward(g, positions, 6148914691236517206, 0); },
                         {"rectifiers::maxout_backward", "pool_size must be <= 2147483647",
                          "6148914691236517206"}));
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::maxout_backward(g, positions, -2, 0); },
                         {"rectifiers::maxout_backward", "pool_size must be >= 1, but got -2"}));
  auto out_of_range = torch::full({3, 2}, 7, torch::kByte);
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::maxout_backward(torch::ones({3, 2}), out_of_range, 2, 1); },
                         {"rectifiers::maxout_backward", "[0, 2)", "but got 7"}));
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::leaky_relu(torch::zeros({3}), 1e300); },
                         {"rectifiers::leaky_relu", "negative_slope 1e+300", "without overflow"}));
  EXPECT_TRUE(ThrowsWith(
      [&] { rectifiers::leaky_relu_backward(torch::ones({3}), torch::zeros({3}), 3.5e38, false); },
      {"rectifiers::leaky_relu_backward", "without overflow"}));
  // float64 computes in double: no overflow there.
  auto x64 = torch::tensor({-1.0, 2.0}, torch::kDouble);
  EXPECT_TRUE(BitwiseEqual(rectifiers::leaky_relu(x64, 1e300),
                           torch::leaky_relu(x64, 1e300)));
  // The backward ops name their saved tensor as the schema does, by either path.
  torch::Tensor u;
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::leaky_relu_backward(g, u, 0.1, false); },
                         {"rectifiers::leaky_relu_backward: self is an undefined tensor"}));
  EXPECT_TRUE(ThrowsWith([&] { rectifiers::abs_rectifier_backward(g, u); },
                         {"rectifiers::abs_rectifier_backward: self is an undefined tensor"}));
}


}  // namespace
}  // namespace rectifiers_test
