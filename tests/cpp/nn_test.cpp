// rectifiers::nn modules (README, "C++ API") against their torch::nn twins: values
// and gradients, parameters registered under torch's names and initialised as
// torch does, clone(), to(kDouble), pretty printing, state carried through
// torch::save / torch::load (also to and from the twins), and bad options.
// torch::nn has no AbsRectifier or Maxout: their twins are the ATen references
// (torch::abs; unflatten + max) in a torch::nn::Functional.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <rectifiers/nn.h>

#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "test_util.h"

namespace rectifiers_test {
namespace {

namespace rnn = rectifiers::nn;

// Maxout's reference: groups of consecutive elements; the gradient goes to the
// element torch::max picks.
torch::Tensor MaxoutRef(const torch::Tensor& x, int64_t pool_size, int64_t dim) {
  dim = c10::maybe_wrap_dim(dim, x.dim());
  return std::get<0>(x.unflatten(dim, {-1, pool_size}).max(dim + 1));
}

torch::nn::Functional MaxoutTwin(int64_t pool_size, int64_t dim) {
  return torch::nn::Functional(
      [pool_size, dim](torch::Tensor x) { return MaxoutRef(x, pool_size, dim); });
}

torch::nn::Functional AbsTwin() {
  return torch::nn::Functional([](torch::Tensor x) { return torch::abs(x); });
}

std::string Printed(const torch::nn::Module& module) {
  std::ostringstream s;
  module.pretty_print(s);
  return s.str();
}

// What torch's twin prints, in our namespace: what ours must print.
std::string AsOurs(std::string text) {
  const std::string from = "torch::nn::", to = "rectifiers::nn::";
  for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

std::vector<std::string> ParameterNames(const torch::nn::Module& module) {
  return module.named_parameters().keys();
}

// Copies every parameter of `from` into the same-position parameter of `to`
// (twins have the same parameter shapes in the same order).
void CopyParameters(const torch::nn::Module& from, torch::nn::Module& to) {
  auto src = from.parameters(), dst = to.parameters();
  ASSERT_EQ(src.size(), dst.size());
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
}

struct Pass {
  torch::Tensor output, grad_input;
  std::vector<torch::Tensor> grad_params;
};

// One forward and backward. The module gets a non-leaf copy of x so that the
// in-place modules may overwrite it; the incoming gradient is the same for
// every call on the same output shape.
Pass RunPass(torch::nn::Module& module, const std::function<torch::Tensor(torch::Tensor)>& forward,
             const torch::Tensor& x) {
  auto leaf = x.detach().clone().requires_grad_(true);
  auto y = forward(leaf.clone());
  torch::manual_seed(7);
  auto grad_output = GradLike(y);
  std::vector<torch::Tensor> inputs{leaf};
  for (const auto& p : module.parameters()) inputs.push_back(p);
  auto grads = torch::autograd::grad({y}, inputs, {grad_output});
  return {y.detach(), grads[0], {grads.begin() + 1, grads.end()}};
}

// Ours and the twin give bitwise the same output and input gradient, and the
// same parameter gradients (within param_rtol where they are reductions whose
// order may differ).
template <typename Ours, typename Twin>
void ExpectTwins(Ours& ours, Twin& twin, const torch::Tensor& x, double param_rtol = 0) {
  SCOPED_TRACE(Printed(*ours) + " on " + Describe(x));
  auto a = RunPass(*ours, [&](torch::Tensor t) { return ours->forward(t); }, x);
  auto b = RunPass(*twin, [&](torch::Tensor t) { return twin->forward(t); }, x);
  EXPECT_TRUE(BitwiseEqual(a.output, b.output)) << "output";
  EXPECT_TRUE(BitwiseEqual(a.grad_input, b.grad_input)) << "input gradient";
  ASSERT_EQ(a.grad_params.size(), b.grad_params.size());
  for (size_t i = 0; i < a.grad_params.size(); ++i) {
    if (param_rtol == 0) {
      EXPECT_TRUE(BitwiseEqual(a.grad_params[i], b.grad_params[i])) << "parameter " << i;
    } else {
      EXPECT_TRUE(AllClose(a.grad_params[i], b.grad_params[i], param_rtol, param_rtol))
          << "parameter " << i;
    }
  }
}

// ---- values and gradients --------------------------------------------------

using NnTest = DeviceTest;

TEST_P(NnTest, ElementwiseModulesMatchTorchNn) {
  auto x = SpecialRandn({4, 6, 3, 5}, torch::kFloat, device());
  {
    rnn::ReLU ours;
    torch::nn::ReLU twin;
    ExpectTwins(ours, twin, x);
  }
  {
    rnn::ReLU ours(true);
    torch::nn::ReLU twin(true);
    ExpectTwins(ours, twin, x);
  }
  {
    rnn::LeakyReLU ours;
    torch::nn::LeakyReLU twin;
    ExpectTwins(ours, twin, x);
  }
  for (bool inplace : {false, true}) {
    rnn::LeakyReLU ours(rnn::LeakyReLUOptions().negative_slope(0.2).inplace(inplace));
    torch::nn::LeakyReLU twin(torch::nn::LeakyReLUOptions().negative_slope(0.2).inplace(inplace));
    ExpectTwins(ours, twin, x);
  }
  {
    rnn::AbsRectifier ours;
    auto twin = AbsTwin();
    ExpectTwins(ours, twin, x);
  }
}

TEST_P(NnTest, Relu6AndEluFamilyModulesMatchTorchNn) {
  // Scaled so that relu6's cap is reached often.
  auto x = SpecialRandn({4, 6, 3, 5}, torch::kFloat, device()) * 2;
  for (bool inplace : {false, true}) {
    SCOPED_TRACE(inplace ? "in place" : "out of place");
    {
      rnn::ReLU6 ours(inplace);
      torch::nn::ReLU6 twin(inplace);
      ExpectTwins(ours, twin, x);
    }
    {
      rnn::SELU ours(inplace);
      torch::nn::SELU twin(inplace);
      ExpectTwins(ours, twin, x);
    }
    {
      rnn::ELU ours(rnn::ELUOptions().inplace(inplace));
      torch::nn::ELU twin(torch::nn::ELUOptions().inplace(inplace));
      ExpectTwins(ours, twin, x);
    }
    {
      rnn::CELU ours(rnn::CELUOptions().inplace(inplace));
      torch::nn::CELU twin(torch::nn::CELUOptions().inplace(inplace));
      ExpectTwins(ours, twin, x);
    }
    for (double alpha : {0.5, 2.5}) {
      rnn::ELU ours(rnn::ELUOptions().alpha(alpha).inplace(inplace));
      torch::nn::ELU twin(torch::nn::ELUOptions().alpha(alpha).inplace(inplace));
      ExpectTwins(ours, twin, x);
      rnn::CELU ours_c(rnn::CELUOptions().alpha(alpha).inplace(inplace));
      torch::nn::CELU twin_c(torch::nn::CELUOptions().alpha(alpha).inplace(inplace));
      ExpectTwins(ours_c, twin_c, x);
    }
  }
  // A negative alpha: out of place only (in place it cannot be differentiated).
  rnn::ELU ours(rnn::ELUOptions().alpha(-0.5));
  torch::nn::ELU twin(torch::nn::ELUOptions().alpha(-0.5));
  ExpectTwins(ours, twin, x);
  rnn::CELU ours_c(rnn::CELUOptions().alpha(-1.5));
  torch::nn::CELU twin_c(torch::nn::CELUOptions().alpha(-1.5));
  ExpectTwins(ours_c, twin_c, x);
}

TEST_P(NnTest, PReLUMatchesTorchNn) {
  auto x = SpecialRandn({4, 6, 3, 5}, torch::kFloat, device());
  for (int64_t n : {1, 6}) {
    rnn::PReLU ours(rnn::PReLUOptions().num_parameters(n).init(0.1));
    torch::nn::PReLU twin(torch::nn::PReLUOptions().num_parameters(n).init(0.1));
    ours->to(device());
    twin->to(device());
    ExpectTwins(ours, twin, x, ReductionRtol(torch::kFloat));
    // Slopes of both signs, one per channel.
    {
      torch::NoGradGuard no_grad;
      ours->weight.copy_(torch::linspace(-0.5, 0.7, n));
      twin->weight.copy_(torch::linspace(-0.5, 0.7, n));
    }
    ExpectTwins(ours, twin, x, ReductionRtol(torch::kFloat));
  }
}

TEST_P(NnTest, MaxoutMatchesReference) {
  auto x = SpecialRandn({4, 6, 3, 10}, torch::kFloat, device());
  for (auto [pool_size, dim] : {std::pair<int64_t, int64_t>{2, 1}, {3, 1}, {5, -1}, {2, 3}}) {
    rnn::Maxout ours(rnn::MaxoutOptions(pool_size).dim(dim));
    auto twin = MaxoutTwin(pool_size, dim);
    ExpectTwins(ours, twin, x);
  }
  rnn::Maxout default_dim(3);
  auto twin = MaxoutTwin(3, 1);
  ExpectTwins(default_dim, twin, x);
}

TEST_P(NnTest, MaxoutLinearMatchesLinearThenMaxout) {
  for (bool bias : {true, false}) {
    rnn::MaxoutLinear ours(rnn::MaxoutLinearOptions(5, 4, 3).bias(bias));
    torch::nn::Sequential twin(torch::nn::Linear(torch::nn::LinearOptions(5, 12).bias(bias)),
                               MaxoutTwin(3, -1));
    CopyParameters(*ours, *twin);
    ours->to(device());
    twin->to(device());
    for (const auto& x : {torch::randn({7, 5}, opts()), torch::randn({2, 3, 5}, opts())}) {
      ExpectTwins(ours, twin, x);
      EXPECT_EQ(ours->forward(x).size(-1), 4);
    }
  }
}

TEST_P(NnTest, ModelMovedToDoubleMatchesTwin) {
  // Every module in one model, converted with Module::to(kDouble).
  torch::nn::Sequential ours(rnn::MaxoutLinear(5, 6, 2),
                             rnn::PReLU(rnn::PReLUOptions().num_parameters(6).init(-0.1)),
                             rnn::LeakyReLU(rnn::LeakyReLUOptions().negative_slope(0.3)),
                             rnn::Maxout(2), rnn::AbsRectifier(), rnn::ReLU(true));
  torch::nn::Sequential twin(torch::nn::Linear(5, 12), MaxoutTwin(2, -1),
                             torch::nn::PReLU(torch::nn::PReLUOptions().num_parameters(6).init(-0.1)),
                             torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.3)),
                             MaxoutTwin(2, 1), AbsTwin(), torch::nn::ReLU(true));
  CopyParameters(*ours, *twin);
  ours->to(device(), torch::kDouble);
  twin->to(device(), torch::kDouble);
  for (const auto& p : ours->parameters()) {
    EXPECT_EQ(p.scalar_type(), torch::kDouble);
    EXPECT_EQ(p.device(), device());
  }
  // The modules' members still are the registered (converted) parameters.
  auto* maxout_linear = ours[0]->as<rnn::MaxoutLinear>();
  auto* prelu = ours[1]->as<rnn::PReLU>();
  ASSERT_TRUE(maxout_linear && prelu);
  EXPECT_EQ(maxout_linear->weight.scalar_type(), torch::kDouble);
  EXPECT_EQ(maxout_linear->bias.scalar_type(), torch::kDouble);
  EXPECT_EQ(prelu->weight.scalar_type(), torch::kDouble);
  EXPECT_TRUE(prelu->weight.is_same(prelu->named_parameters()["weight"]));
  ExpectTwins(ours, twin, torch::randn({8, 5}, opts(torch::kDouble)), ReductionRtol(torch::kDouble));
}

RECTIFIERS_INSTANTIATE_DEVICE(NnTest);

// ---- in place --------------------------------------------------------------

TEST(NnModules, InPlaceOptionOverwritesTheInput) {
  torch::manual_seed(0);
  auto x = SpecialRandn({4, 6}, torch::kFloat, torch::kCPU);
  {
    auto h = x.clone();
    auto y = rnn::ReLU(true)->forward(h);
    EXPECT_TRUE(y.is_same(h)) << "in-place ReLU must return its input";
    EXPECT_TRUE(BitwiseEqual(h, torch::relu(x)));
  }
  {
    auto h = x.clone();
    auto y = rnn::LeakyReLU(rnn::LeakyReLUOptions().negative_slope(0.2).inplace(true))->forward(h);
    EXPECT_TRUE(y.is_same(h)) << "in-place LeakyReLU must return its input";
    EXPECT_TRUE(BitwiseEqual(h, torch::leaky_relu(x, 0.2)));
  }
  {
    auto h = x.clone();
    auto y = rnn::ReLU()->forward(h);
    auto z = rnn::LeakyReLU()->forward(h);
    EXPECT_FALSE(y.is_same(h) || z.is_same(h));
    EXPECT_TRUE(BitwiseEqual(h, x)) << "out-of-place modules modified their input";
  }
  namespace F = torch::nn::functional;
  const std::vector<std::tuple<std::string, std::function<torch::Tensor(torch::Tensor)>,
                               std::function<torch::Tensor(torch::Tensor)>,
                               std::function<torch::Tensor(const torch::Tensor&)>>>
      smooth = {
          {"ReLU6", [](torch::Tensor t) { return rnn::ReLU6(true)->forward(t); },
           [](torch::Tensor t) { return rnn::ReLU6()->forward(t); },
           [](const torch::Tensor& t) { return F::relu6(t); }},
          {"ELU", [](torch::Tensor t) { return rnn::ELU(rnn::ELUOptions().alpha(0.5).inplace(true))->forward(t); },
           [](torch::Tensor t) { return rnn::ELU(rnn::ELUOptions().alpha(0.5))->forward(t); },
           [](const torch::Tensor& t) { return F::elu(t, F::ELUFuncOptions().alpha(0.5)); }},
          {"CELU", [](torch::Tensor t) { return rnn::CELU(rnn::CELUOptions().alpha(2.0).inplace(true))->forward(t); },
           [](torch::Tensor t) { return rnn::CELU(rnn::CELUOptions().alpha(2.0))->forward(t); },
           [](const torch::Tensor& t) { return F::celu(t, F::CELUFuncOptions().alpha(2.0)); }},
          {"SELU", [](torch::Tensor t) { return rnn::SELU(true)->forward(t); },
           [](torch::Tensor t) { return rnn::SELU()->forward(t); },
           [](const torch::Tensor& t) { return F::selu(t); }},
      };
  for (const auto& [name, in_place, out_of_place, ref] : smooth) {
    SCOPED_TRACE(name);
    auto h = x.clone() * 3;
    auto expected = ref(h);
    auto y = out_of_place(h);
    EXPECT_FALSE(y.is_same(h));
    EXPECT_TRUE(BitwiseEqual(y, expected));
    auto z = in_place(h);
    EXPECT_TRUE(z.is_same(h)) << "in-place " << name << " must return its input";
    EXPECT_TRUE(BitwiseEqual(h, expected));
  }
}

// ---- parameters and initialisation ------------------------------------------

TEST(NnModules, ParametersAreRegisteredUnderTorchsNames) {
  rnn::PReLU prelu(rnn::PReLUOptions().num_parameters(6));
  torch::nn::PReLU prelu_twin(torch::nn::PReLUOptions().num_parameters(6));
  EXPECT_EQ(ParameterNames(*prelu), ParameterNames(*prelu_twin));
  EXPECT_EQ(ParameterNames(*prelu), std::vector<std::string>{"weight"});
  EXPECT_TRUE(prelu->named_parameters()["weight"].is_same(prelu->weight));
  EXPECT_EQ(prelu->weight.sizes(), prelu_twin->weight.sizes());
  EXPECT_TRUE(prelu->weight.requires_grad());

  for (bool bias : {true, false}) {
    SCOPED_TRACE(bias ? "bias" : "no bias");
    rnn::MaxoutLinear ml(rnn::MaxoutLinearOptions(5, 4, 3).bias(bias));
    torch::nn::Linear linear(torch::nn::LinearOptions(5, 12).bias(bias));
    EXPECT_EQ(ParameterNames(*ml), ParameterNames(*linear));
    EXPECT_EQ(ml->weight.sizes(), torch::IntArrayRef({12, 5}));
    EXPECT_TRUE(ml->named_parameters()["weight"].is_same(ml->weight));
    EXPECT_EQ(ml->bias.defined(), bias);
    if (bias) {
      EXPECT_EQ(ml->bias.sizes(), torch::IntArrayRef({12}));
      EXPECT_TRUE(ml->named_parameters()["bias"].is_same(ml->bias));
    }
  }

  // The activations without parameters have none (and no buffers).
  std::vector<std::shared_ptr<torch::nn::Module>> stateless = {
      rnn::ReLU().ptr(),  rnn::LeakyReLU().ptr(), rnn::AbsRectifier().ptr(), rnn::Maxout(2).ptr(),
      rnn::ReLU6().ptr(), rnn::ELU().ptr(),       rnn::CELU().ptr(),         rnn::SELU().ptr()};
  for (const auto& m : stateless) {
    EXPECT_TRUE(m->parameters().empty()) << Printed(*m);
    EXPECT_TRUE(m->buffers().empty()) << Printed(*m);
  }

  torch::nn::Sequential net(rnn::MaxoutLinear(5, 6, 2), rnn::ReLU(), rnn::PReLU());
  EXPECT_EQ(ParameterNames(*net), (std::vector<std::string>{"0.weight", "0.bias", "2.weight"}));
}

TEST(NnModules, InitialisationMatchesTorch) {
  for (bool bias : {true, false}) {
    SCOPED_TRACE(bias ? "bias" : "no bias");
    torch::manual_seed(123);
    torch::nn::Linear linear(torch::nn::LinearOptions(5, 12).bias(bias));
    torch::manual_seed(123);
    rnn::MaxoutLinear ml(rnn::MaxoutLinearOptions(5, 4, 3).bias(bias));
    EXPECT_TRUE(BitwiseEqual(ml->weight, linear->weight));
    if (bias) EXPECT_TRUE(BitwiseEqual(ml->bias, linear->bias));
    // Every piece drawn, in Linear's bounds (not all equal, not all zero).
    EXPECT_GT(ml->weight.std().item<double>(), 0.1);
    EXPECT_LE(ml->weight.abs().max().item<double>(), 1.0 / std::sqrt(5.0));

    // reset_parameters() draws again, the same way.
    torch::manual_seed(321);
    linear->reset_parameters();
    torch::manual_seed(321);
    ml->reset_parameters();
    EXPECT_TRUE(BitwiseEqual(ml->weight, linear->weight));
    if (bias) EXPECT_TRUE(BitwiseEqual(ml->bias, linear->bias));
  }

  // No inputs: nothing to draw for the weight, the bias bound is 0 (as in
  // Python), and forward still gives the units' outputs.
  rnn::MaxoutLinear empty(0, 4, 2);
  EXPECT_EQ(empty->weight.sizes(), torch::IntArrayRef({8, 0}));
  EXPECT_TRUE(torch::equal(empty->bias, torch::zeros({8})));
  EXPECT_EQ(empty->forward(torch::ones({3, 0})).sizes(), torch::IntArrayRef({3, 4}));

  rnn::PReLU prelu(rnn::PReLUOptions().num_parameters(6).init(-0.3));
  torch::nn::PReLU prelu_twin(torch::nn::PReLUOptions().num_parameters(6).init(-0.3));
  EXPECT_TRUE(BitwiseEqual(prelu->weight, prelu_twin->weight));
  EXPECT_TRUE(BitwiseEqual(rnn::PReLU()->weight, torch::full({1}, 0.25)));
  {
    torch::NoGradGuard no_grad;
    prelu->weight.fill_(2.0);
  }
  prelu->reset_parameters();
  EXPECT_TRUE(BitwiseEqual(prelu->weight, prelu_twin->weight));
}

// ---- clone -----------------------------------------------------------------

TEST(NnModules, CloneCopiesOptionsAndParametersDeeply) {
  torch::manual_seed(0);
  rnn::MaxoutLinear ml(rnn::MaxoutLinearOptions(5, 4, 3));
  auto ml_copy = std::dynamic_pointer_cast<rnn::MaxoutLinearImpl>(ml->clone());
  ASSERT_TRUE(ml_copy);
  EXPECT_EQ(ml_copy->options.in_features(), 5);
  EXPECT_EQ(ml_copy->options.out_features(), 4);
  EXPECT_EQ(ml_copy->options.pool_size(), 3);
  EXPECT_TRUE(BitwiseEqual(ml_copy->weight, ml->weight));
  EXPECT_TRUE(BitwiseEqual(ml_copy->bias, ml->bias));
  EXPECT_NE(ml_copy->weight.data_ptr(), ml->weight.data_ptr());
  EXPECT_TRUE(ml_copy->named_parameters()["weight"].is_same(ml_copy->weight));
  auto x = torch::randn({3, 5});
  EXPECT_TRUE(BitwiseEqual(ml_copy->forward(x), ml->forward(x)));
  {
    torch::NoGradGuard no_grad;
    ml_copy->weight.add_(1.0);
  }
  EXPECT_FALSE(torch::equal(ml_copy->weight, ml->weight)) << "the clone shares its weight";

  rnn::PReLU prelu(rnn::PReLUOptions().num_parameters(3).init(0.4));
  auto prelu_copy = std::dynamic_pointer_cast<rnn::PReLUImpl>(prelu->clone());
  ASSERT_TRUE(prelu_copy);
  EXPECT_EQ(prelu_copy->options.num_parameters(), 3);
  EXPECT_TRUE(BitwiseEqual(prelu_copy->weight, prelu->weight));
  EXPECT_NE(prelu_copy->weight.data_ptr(), prelu->weight.data_ptr());

  auto maxout_copy = std::dynamic_pointer_cast<rnn::MaxoutImpl>(
      rnn::Maxout(rnn::MaxoutOptions(3).dim(-1))->clone());
  ASSERT_TRUE(maxout_copy);
  EXPECT_EQ(maxout_copy->options.pool_size(), 3);
  EXPECT_EQ(maxout_copy->options.dim(), -1);
  auto leaky_copy = std::dynamic_pointer_cast<rnn::LeakyReLUImpl>(
      rnn::LeakyReLU(rnn::LeakyReLUOptions().negative_slope(0.2).inplace(true))->clone());
  ASSERT_TRUE(leaky_copy);
  EXPECT_EQ(leaky_copy->options.negative_slope(), 0.2);
  EXPECT_TRUE(leaky_copy->options.inplace());
  auto relu_copy = std::dynamic_pointer_cast<rnn::ReLUImpl>(rnn::ReLU(true)->clone());
  ASSERT_TRUE(relu_copy);
  EXPECT_TRUE(relu_copy->options.inplace());
  EXPECT_TRUE(std::dynamic_pointer_cast<rnn::AbsRectifierImpl>(rnn::AbsRectifier()->clone()));
  auto relu6_copy = std::dynamic_pointer_cast<rnn::ReLU6Impl>(rnn::ReLU6(true)->clone());
  ASSERT_TRUE(relu6_copy);
  EXPECT_TRUE(relu6_copy->options.inplace());
  auto elu_copy = std::dynamic_pointer_cast<rnn::ELUImpl>(
      rnn::ELU(rnn::ELUOptions().alpha(0.5).inplace(true))->clone());
  ASSERT_TRUE(elu_copy);
  EXPECT_EQ(elu_copy->options.alpha(), 0.5);
  EXPECT_TRUE(elu_copy->options.inplace());
  auto celu_copy = std::dynamic_pointer_cast<rnn::CELUImpl>(
      rnn::CELU(rnn::CELUOptions().alpha(2.0))->clone());
  ASSERT_TRUE(celu_copy);
  EXPECT_EQ(celu_copy->options.alpha(), 2.0);
  EXPECT_FALSE(celu_copy->options.inplace());
  auto selu_copy = std::dynamic_pointer_cast<rnn::SELUImpl>(rnn::SELU(true)->clone());
  ASSERT_TRUE(selu_copy);
  EXPECT_TRUE(selu_copy->options.inplace());

  // A Sequential clones each child: ours must be Cloneable for that to work.
  torch::nn::Sequential net(rnn::MaxoutLinear(5, 6, 2), rnn::PReLU(), rnn::Maxout(2));
  auto net_copy = std::dynamic_pointer_cast<torch::nn::SequentialImpl>(net->clone());
  ASSERT_TRUE(net_copy);
  EXPECT_TRUE(BitwiseEqual(net_copy->forward(x), net->forward(x)));
}

// ---- printing --------------------------------------------------------------

// The text inside the parentheses is the Python module's extra_repr(), char for
// char: tests/python/test_modules.py holds the same strings (PRINTED) and the
// same float table (PYTHON_FLOATS).
TEST(NnModules, PrettyPrintIsPythonsExtraRepr) {
  // Defaults.
  EXPECT_EQ(Printed(*rnn::ReLU()), "rectifiers::nn::ReLU()");
  EXPECT_EQ(Printed(*rnn::LeakyReLU()), "rectifiers::nn::LeakyReLU(negative_slope=0.01)");
  EXPECT_EQ(Printed(*rnn::PReLU()), "rectifiers::nn::PReLU(num_parameters=1)");
  EXPECT_EQ(Printed(*rnn::AbsRectifier()), "rectifiers::nn::AbsRectifier()");
  EXPECT_EQ(Printed(*rnn::ReLU6()), "rectifiers::nn::ReLU6()");
  EXPECT_EQ(Printed(*rnn::RReLU()), "rectifiers::nn::RReLU(lower=0.125, upper=0.3333333333333333)");
  EXPECT_EQ(Printed(*rnn::ELU()), "rectifiers::nn::ELU(alpha=1.0)");
  EXPECT_EQ(Printed(*rnn::CELU()), "rectifiers::nn::CELU(alpha=1.0)");
  EXPECT_EQ(Printed(*rnn::SELU()), "rectifiers::nn::SELU()");
  EXPECT_EQ(Printed(*rnn::Maxout(2)), "rectifiers::nn::Maxout(pool_size=2, dim=1)");
  EXPECT_EQ(Printed(*rnn::MaxoutLinear(5, 4, 3)),
            "rectifiers::nn::MaxoutLinear(in_features=5, out_features=4, pool_size=3, bias=True)");

  // Every option set otherwise, with floats Python writes in each of its layouts.
  EXPECT_EQ(Printed(*rnn::ReLU(true)), "rectifiers::nn::ReLU(inplace=True)");
  EXPECT_EQ(Printed(*rnn::LeakyReLU(rnn::LeakyReLUOptions().negative_slope(1e-05).inplace(true))),
            "rectifiers::nn::LeakyReLU(negative_slope=1e-05, inplace=True)");
  EXPECT_EQ(Printed(*rnn::PReLU(rnn::PReLUOptions().num_parameters(6).init(0.1))),
            "rectifiers::nn::PReLU(num_parameters=6)");
  EXPECT_EQ(Printed(*rnn::ReLU6(true)), "rectifiers::nn::ReLU6(inplace=True)");
  EXPECT_EQ(Printed(*rnn::RReLU(rnn::RReLUOptions().lower(0.1).upper(0.1 + 0.2).inplace(true))),
            "rectifiers::nn::RReLU(lower=0.1, upper=0.30000000000000004, inplace=True)");
  EXPECT_EQ(Printed(*rnn::ELU(rnn::ELUOptions().alpha(100000.0).inplace(true))),
            "rectifiers::nn::ELU(alpha=100000.0, inplace=True)");
  EXPECT_EQ(Printed(*rnn::CELU(rnn::CELUOptions().alpha(1e16).inplace(true))),
            "rectifiers::nn::CELU(alpha=1e+16, inplace=True)");
  EXPECT_EQ(Printed(*rnn::ELU(rnn::ELUOptions().alpha(-2))), "rectifiers::nn::ELU(alpha=-2.0)");
  EXPECT_EQ(Printed(*rnn::SELU(true)), "rectifiers::nn::SELU(inplace=True)");
  EXPECT_EQ(Printed(*rnn::Maxout(rnn::MaxoutOptions(3).dim(-1))),
            "rectifiers::nn::Maxout(pool_size=3, dim=-1)");
  EXPECT_EQ(Printed(*rnn::MaxoutLinear(rnn::MaxoutLinearOptions(5, 4, 3).bias(false))),
            "rectifiers::nn::MaxoutLinear(in_features=5, out_features=4, pool_size=3, bias=False)");

  // The class names are torch::nn's, in our namespace, where torch::nn has the
  // twin (what follows differs: torch::nn writes alpha=1 and inplace=true).
  const auto name = [](const std::string& printed) { return printed.substr(0, printed.find('(')); };
  EXPECT_EQ(name(Printed(*rnn::ReLU())), AsOurs(name(Printed(*torch::nn::ReLU()))));
  EXPECT_EQ(name(Printed(*rnn::LeakyReLU())), AsOurs(name(Printed(*torch::nn::LeakyReLU()))));
  EXPECT_EQ(name(Printed(*rnn::PReLU())), AsOurs(name(Printed(*torch::nn::PReLU()))));
  EXPECT_EQ(name(Printed(*rnn::ReLU6())), AsOurs(name(Printed(*torch::nn::ReLU6()))));
  EXPECT_EQ(name(Printed(*rnn::RReLU())), AsOurs(name(Printed(*torch::nn::RReLU()))));
  EXPECT_EQ(name(Printed(*rnn::ELU())), AsOurs(name(Printed(*torch::nn::ELU()))));
  EXPECT_EQ(name(Printed(*rnn::CELU())), AsOurs(name(Printed(*torch::nn::CELU()))));
  EXPECT_EQ(name(Printed(*rnn::SELU())), AsOurs(name(Printed(*torch::nn::SELU()))));
  // PReLU prints its count as torch::nn::PReLU does; it has no float to print.
  EXPECT_EQ(Printed(*rnn::PReLU(rnn::PReLUOptions().num_parameters(6))),
            AsOurs(Printed(*torch::nn::PReLU(torch::nn::PReLUOptions().num_parameters(6)))));

  std::ostringstream nested;
  nested << *torch::nn::Sequential(rnn::MaxoutLinear(5, 6, 2), rnn::Maxout(2));
  EXPECT_NE(nested.str().find("(0): rectifiers::nn::MaxoutLinear(in_features=5, out_features=6, "
                              "pool_size=2, bias=True)\n  (1): rectifiers::nn::Maxout(pool_size=2, "
                              "dim=1)"),
            std::string::npos)
      << nested.str();
}

// Python's repr() of each double (tests/python/test_modules.py's PYTHON_FLOATS
// checks these strings against repr itself): shortest round-trip digits,
// positional from 1e-4 up to below 1e16, scientific outside, inf, nan.
TEST(NnModules, FloatsArePrintedAsPythonReprs) {
  const std::vector<std::pair<double, std::string>> floats = {
      {0.0, "0.0"},
      {-0.0, "-0.0"},
      {1.0, "1.0"},
      {-2.0, "-2.0"},
      {2.5, "2.5"},
      {0.01, "0.01"},
      {0.1, "0.1"},
      {0.1 + 0.2, "0.30000000000000004"},
      {1.0 / 3.0, "0.3333333333333333"},
      {0.125, "0.125"},
      {1e-05, "1e-05"},
      {0.0001, "0.0001"},
      {0.00012345, "0.00012345"},
      {0.000100000001, "0.000100000001"},
      {1.0000000000000003e-05, "1.0000000000000003e-05"},
      {-1.5e-07, "-1.5e-07"},
      {100000.0, "100000.0"},
      {123456.789, "123456.789"},
      {-1234.5678, "-1234.5678"},
      {1e15, "1000000000000000.0"},
      {9999999999999998.0, "9999999999999998.0"},
      {9007199254740993.0, "9007199254740992.0"},
      {1e16, "1e+16"},
      {1.2345678901234567e16, "1.2345678901234568e+16"},
      {1e22, "1e+22"},
      {1e100, "1e+100"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {2.2250738585072014e-308, "2.2250738585072014e-308"},
      {5e-324, "5e-324"},
      {INFINITY, "inf"},
      {-INFINITY, "-inf"},
      {NAN, "nan"},
  };
  for (const auto& [value, repr] : floats) {
    EXPECT_EQ(rnn::detail::python_float(value), repr);
    EXPECT_EQ(Printed(*rnn::ELU(rnn::ELUOptions().alpha(value))),
              "rectifiers::nn::ELU(alpha=" + repr + ")");
  }
}

// ---- serialization ---------------------------------------------------------

template <typename From, typename To>
void SaveAndLoad(const From& from, To& to) {
  std::stringstream buffer;
  torch::save(from, buffer);
  torch::load(to, buffer);
}

torch::nn::Sequential MakeNet() {
  return torch::nn::Sequential(rnn::MaxoutLinear(5, 6, 2),
                               rnn::PReLU(rnn::PReLUOptions().num_parameters(6)),
                               rnn::LeakyReLU(), rnn::Maxout(3), rnn::AbsRectifier(),
                               torch::nn::Linear(2, 3), rnn::ReLU());
}

TEST(NnModules, SerializationCarriesTheState) {
  torch::manual_seed(1);
  auto saved = MakeNet();
  {
    torch::NoGradGuard no_grad;
    saved[1]->as<rnn::PReLU>()->weight.copy_(torch::linspace(-0.5, 0.5, 6));
  }
  torch::manual_seed(2);
  auto loaded = MakeNet();
  auto x = torch::randn({4, 5});
  ASSERT_FALSE(torch::equal(loaded->forward(x), saved->forward(x)));

  SaveAndLoad(saved, loaded);
  auto a = saved->named_parameters(), b = loaded->named_parameters();
  ASSERT_EQ(a.keys(), b.keys());
  for (const auto& key : a.keys()) EXPECT_TRUE(BitwiseEqual(b[key], a[key])) << key;
  EXPECT_TRUE(BitwiseEqual(loaded->forward(x), saved->forward(x)));
  // The modules' members are what was loaded into.
  EXPECT_TRUE(BitwiseEqual(loaded[1]->as<rnn::PReLU>()->weight, torch::linspace(-0.5, 0.5, 6)));
}

TEST(NnModules, StateLoadsToAndFromTheTorchTwins) {
  torch::manual_seed(3);
  auto x = torch::randn({4, 6, 3});

  torch::nn::PReLU prelu_twin(torch::nn::PReLUOptions().num_parameters(6));
  {
    torch::NoGradGuard no_grad;
    prelu_twin->weight.copy_(torch::linspace(-1, 1, 6));
  }
  rnn::PReLU prelu(rnn::PReLUOptions().num_parameters(6));
  SaveAndLoad(prelu_twin, prelu);
  EXPECT_TRUE(BitwiseEqual(prelu->weight, prelu_twin->weight));
  EXPECT_TRUE(BitwiseEqual(prelu->forward(x), prelu_twin->forward(x)));
  {
    torch::NoGradGuard no_grad;
    prelu->weight.mul_(0.5);
  }
  SaveAndLoad(prelu, prelu_twin);
  EXPECT_TRUE(BitwiseEqual(prelu_twin->weight, prelu->weight));

  torch::nn::Linear linear(5, 12);
  rnn::MaxoutLinear ml(5, 4, 3);
  SaveAndLoad(linear, ml);
  auto h = torch::randn({7, 5});
  EXPECT_TRUE(BitwiseEqual(ml->forward(h), MaxoutRef(linear->forward(h), 3, -1)));
  {
    torch::NoGradGuard no_grad;
    ml->weight.mul_(2.0);
    ml->bias.add_(1.0);
  }
  SaveAndLoad(ml, linear);
  EXPECT_TRUE(BitwiseEqual(linear->weight, ml->weight));
  EXPECT_TRUE(BitwiseEqual(linear->bias, ml->bias));
}

// ---- bad options -----------------------------------------------------------

TEST(NnModules, BadOptionsThrowNamingModuleAndValue) {
  EXPECT_TRUE(ThrowsWith([] { rnn::Maxout(rnn::MaxoutOptions(0)); },
                         {"Maxout: pool_size must be >= 1, but got 0"}));
  EXPECT_TRUE(ThrowsWith([] { rnn::Maxout(rnn::MaxoutOptions(-3).dim(2)); },
                         {"Maxout", "pool_size", "-3"}));
  EXPECT_TRUE(ThrowsWith([] { rnn::MaxoutLinear(5, 4, 0); },
                         {"MaxoutLinear: pool_size must be >= 1, but got 0"}));
  EXPECT_TRUE(ThrowsWith([] { rnn::MaxoutLinear(-1, 4, 2); },
                         {"MaxoutLinear: in_features must be >= 0, but got -1"}));
  EXPECT_TRUE(ThrowsWith([] { rnn::MaxoutLinear(5, -2, 2); },
                         {"MaxoutLinear: out_features must be >= 0, but got -2"}));
  EXPECT_TRUE(ThrowsWith([] { rnn::PReLU(rnn::PReLUOptions().num_parameters(0)); },
                         {"PReLU: num_parameters must be >= 1, but got 0"}));
  // A ValueError, as the Python modules raise.
  EXPECT_THROW(rnn::Maxout(rnn::MaxoutOptions(0)), c10::ValueError);

  // reset() checks options changed after construction.
  rnn::Maxout maxout(2);
  maxout->options.pool_size(0);
  EXPECT_TRUE(ThrowsWith([&] { maxout->reset(); }, {"Maxout", "pool_size", "0"}));

  // Options that only the input can contradict are the op's to report.
  rnn::PReLU prelu(rnn::PReLUOptions().num_parameters(6));
  EXPECT_TRUE(ThrowsWith([&] { prelu->forward(torch::randn({2, 4, 3})); }, {"prelu"}));
  EXPECT_TRUE(ThrowsWith([] { rnn::Maxout(4)->forward(torch::randn({2, 6})); }, {"maxout"}));
  EXPECT_TRUE(ThrowsWith(
      [] { rnn::ELU(rnn::ELUOptions().alpha(INFINITY))->forward(torch::randn({2, 6})); },
      {"rectifiers::elu: alpha must be finite, but got inf"}));
  EXPECT_TRUE(ThrowsWith(
      [] { rnn::CELU(rnn::CELUOptions().alpha(0.0).inplace(true))->forward(torch::randn({2, 6})); },
      {"rectifiers::celu_: alpha must not be 0"}));
  EXPECT_TRUE(ThrowsWith([] { rnn::ReLU6()->forward(torch::ones({2, 6}, torch::kLong)); },
                         {"rectifiers::relu6", "Long"}));
}

// Each message exactly, as tests/python/test_errors.py expects it of the
// Python module (BAD_MODULE_VALUES there).
TEST(NnModules, BadOptionsGiveThePythonModulesMessages) {
  const auto message = [](const std::function<void()>& build) -> std::string {
    try {
      build();
    } catch (const c10::ValueError& e) {
      return e.what_without_backtrace();
    } catch (const std::exception& e) {
      return std::string("not a c10::ValueError: ") + e.what();
    }
    return "did not throw";
  };
  EXPECT_EQ(message([] { rnn::PReLU(rnn::PReLUOptions().num_parameters(0)); }),
            "PReLU: num_parameters must be >= 1, but got 0");
  EXPECT_EQ(message([] { rnn::PReLU(rnn::PReLUOptions().num_parameters(-3).init(0.5)); }),
            "PReLU: num_parameters must be >= 1, but got -3");
  EXPECT_EQ(message([] { rnn::Maxout(rnn::MaxoutOptions(0)); }),
            "Maxout: pool_size must be >= 1, but got 0");
  EXPECT_EQ(message([] { rnn::Maxout(rnn::MaxoutOptions(-2).dim(3)); }),
            "Maxout: pool_size must be >= 1, but got -2");
  EXPECT_EQ(message([] { rnn::Maxout(rnn::MaxoutOptions(int64_t{1} << 31)); }),
            "Maxout: pool_size must be <= 2147483647, but got 2147483648");
  EXPECT_EQ(message([] { rnn::MaxoutLinear(4, 3, 0); }),
            "MaxoutLinear: pool_size must be >= 1, but got 0");
  EXPECT_EQ(message([] { rnn::MaxoutLinear(4, 3, int64_t{1} << 31); }),
            "MaxoutLinear: pool_size must be <= 2147483647, but got 2147483648");
  EXPECT_EQ(message([] { rnn::MaxoutLinear(-1, 3, 2); }),
            "MaxoutLinear: in_features must be >= 0, but got -1");
  EXPECT_EQ(message([] { rnn::MaxoutLinear(4, -2, 2); }),
            "MaxoutLinear: out_features must be >= 0, but got -2");
  // pool_size first, then in_features, then out_features.
  EXPECT_EQ(message([] { rnn::MaxoutLinear(-1, -2, 0); }),
            "MaxoutLinear: pool_size must be >= 1, but got 0");
  EXPECT_EQ(message([] { rnn::MaxoutLinear(-1, -2, 2); }),
            "MaxoutLinear: in_features must be >= 0, but got -1");
  EXPECT_EQ(message([] { rnn::MaxoutLinear(4, int64_t{1} << 33, 2147483647); }),
            "MaxoutLinear: out_features * pool_size must be <= 9223372036854775807, but got "
            "8589934592 * 2147483647");
}

}  // namespace
}  // namespace rectifiers_test
