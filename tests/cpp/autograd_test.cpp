// Gradients through torch::autograd::grad against the gradients of the ATen
// reference ops (docs/semantics.md): elementwise gradients bitwise equal (float32
// and float64 per docs/semantics.md; float16/bfloat16 too, because the backward kernels
// compute in float and round once as ATen's do), PReLU's weight gradient (a
// reduction) within a tolerance and deterministic; second order through
// create_graph; in-place variants under PyTorch's autograd rules.
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rectifiers.h"
#include "test_util.h"

namespace rectifiers_test {
namespace {

using torch::autograd::grad;
using torch::autograd::variable_list;

// d(y)/d(inputs) . go; unused inputs give undefined tensors.
variable_list Grad(const torch::Tensor& y, const variable_list& inputs, const torch::Tensor& go,
                   bool create_graph = false) {
  return grad({y}, inputs, {go}, /*retain_graph=*/true, create_graph, /*allow_unused=*/true);
}

variable_list Grad(const variable_list& ys, const variable_list& inputs, const variable_list& gos) {
  return grad(ys, inputs, gos, /*retain_graph=*/true, /*create_graph=*/false,
              /*allow_unused=*/true);
}

// An unused input's gradient is zero whether autograd reports it undefined or
// as an explicit zero tensor.
torch::Tensor OrZeros(const torch::Tensor& g, const torch::Tensor& like) {
  return g.defined() ? g : torch::zeros_like(like);
}

torch::Tensor Leaf(const torch::Tensor& t) { return t.detach().requires_grad_(true); }

std::vector<Layout> GradLayouts() {
  auto layouts = kLayouts4d;
  layouts.push_back(Layout::Scalar);
  return layouts;
}

using AutogradTest = DeviceDtypeTest;

// First-order gradient of a unary op vs its reference, on every layout.
template <typename Op, typename Ref>
void CheckUnaryGrad(Op op, Ref ref, torch::ScalarType dtype, torch::Device device) {
  for (auto layout : GradLayouts()) {
    SCOPED_TRACE(LayoutName(layout));
    auto x = Leaf(MakeInput(layout, dtype, device));
    auto y = op(x);
    auto y_ref = ref(x);
    ASSERT_TRUE(y.requires_grad());
    ASSERT_TRUE(y.grad_fn() != nullptr);
    auto go = GradLike(y_ref);
    auto gx = Grad(y, {x}, go)[0];
    auto gx_ref = Grad(y_ref, {x}, go)[0];
    EXPECT_TRUE(BitwiseEqual(gx, gx_ref));
  }
}

TEST_P(AutogradTest, ReluGradMatchesTorch) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    CheckUnaryGrad([](const torch::Tensor& x) { return rectifiers::relu(x); },
                   [](const torch::Tensor& x) { return torch::relu(x); }, dtype(), device());
  }
}

TEST_P(AutogradTest, ReluGradIsZeroAtZero) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    auto x = Leaf(torch::tensor({-0.0, 0.0, -1.0, 2.0}, torch::kDouble).to(opts()));
    auto gx = Grad(rectifiers::relu(x), {x}, torch::ones({4}, opts()))[0];
    EXPECT_TRUE(BitwiseEqual(gx, torch::tensor({0.0, 0.0, 0.0, 1.0}, torch::kDouble).to(opts())));
  }
}

TEST_P(AutogradTest, LeakyReluGradMatchesTorch) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    for (double slope : {0.01, 0.0, -0.5}) {
      SCOPED_TRACE("negative_slope " + std::to_string(slope));
      CheckUnaryGrad([slope](const torch::Tensor& x) { return rectifiers::leaky_relu(x, slope); },
                     [slope](const torch::Tensor& x) { return torch::leaky_relu(x, slope); },
                     dtype(), device());
    }
    // The derivative at 0 is the slope.
    auto x = Leaf(torch::tensor({-0.0, 0.0, 1.0}, torch::kDouble).to(opts()));
    auto gx = Grad(rectifiers::leaky_relu(x, 0.25), {x}, torch::ones({3}, opts()))[0];
    EXPECT_TRUE(BitwiseEqual(gx, torch::tensor({0.25, 0.25, 1.0}, torch::kDouble).to(opts())));
  }
}

// What leaky_relu saves under autograd: the mask of input > 0 in the
// result's memory order, from which leaky_relu_mask_backward gives
// leaky_relu_backward's gradient for a gradient of any layout.
TEST_P(AutogradTest, LeakyReluMaskGivesTheBackward) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    for (auto layout : GradLayouts()) {
      SCOPED_TRACE(LayoutName(layout));
      auto x = MakeInput(layout, dtype(), device());
      auto [y, mask] = rectifiers::leaky_relu_with_mask(x, 0.2);
      EXPECT_TRUE(BitwiseEqual(y, torch::leaky_relu(x, 0.2)));
      EXPECT_EQ(mask.scalar_type(), torch::kInt);
      EXPECT_EQ(mask.numel(), (x.numel() + 31) / 32);
      auto g = GradLike(y).contiguous();
      auto gx = rectifiers::leaky_relu_mask_backward(g, mask, y.sizes(), y.strides(), 0.2);
      EXPECT_TRUE(BitwiseEqual(gx, torch::leaky_relu_backward(g, x, 0.2, false)));
    }
  }
}

// relu6's NaN passes (hardtanh_backward's scalar form), abs_rectifier's
// is torch's product, rrelu's regenerates the slopes of the state.
TEST_P(AutogradTest, TwoBitAndRReLUMasksGiveTheBackward) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    for (auto layout : GradLayouts()) {
      SCOPED_TRACE(LayoutName(layout));
      auto x = MakeInput(layout, dtype(), device()) * 4;
      {
        auto [y, mask] = rectifiers::relu6_with_mask(x);
        EXPECT_TRUE(BitwiseEqual(y, torch::nn::functional::relu6(x)));
        EXPECT_EQ(mask.numel(), 2 * ((x.numel() + 31) / 32));
        auto g = GradLike(y).contiguous();
        auto gx = rectifiers::relu6_mask_backward(g, mask, y.sizes(), y.strides());
        auto passes = x.gt(0).logical_and(x.lt(6)).logical_or(x.isnan());
        EXPECT_TRUE(BitwiseEqual(gx, torch::where(passes, g, torch::zeros({}, g.options()))));
      }
      {
        auto [y, mask] = rectifiers::abs_rectifier_with_mask(x);
        EXPECT_TRUE(BitwiseEqual(y, torch::abs(x)));
        auto g = GradLike(y).contiguous();
        auto gx = rectifiers::abs_rectifier_mask_backward(g, mask, y.sizes(), y.strides());
        EXPECT_TRUE(BitwiseEqual(gx, g * x.sgn()));
      }
      {
        auto [y, state, mask] = rectifiers::rrelu_with_mask(x, 0.1, 0.3);
        EXPECT_EQ(mask.numel(), (x.numel() + 31) / 32);
        auto g = GradLike(y).contiguous();
        auto gx = rectifiers::rrelu_mask_backward(g, mask, state, y.sizes(), y.strides(), 0.1, 0.3);
        EXPECT_TRUE(BitwiseEqual(gx, rectifiers::rrelu_backward(g, x, state, 0.1, 0.3, false)));
      }
    }
  }
}

TEST_P(AutogradTest, AbsRectifierGradMatchesTorch) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    CheckUnaryGrad([](const torch::Tensor& x) { return rectifiers::abs_rectifier(x); },
                   [](const torch::Tensor& x) { return torch::abs(x); }, dtype(), device());
  }
}

TEST_P(AutogradTest, PreluGradMatchesTorch) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    // Without special values the weight gradient is a finite sum worth
    // comparing; with them most channels sum to NaN but grad_input still counts.
    for (bool specials : {true, false}) {
      for (int64_t weight_size : {0, 1, 6}) {  // 0: a 0-dim weight
        for (auto layout : kLayouts4d) {
          if (specials && layout == Layout::Large) continue;  // sums are NaN anyway
          SCOPED_TRACE(std::string(LayoutName(layout)) + ", weight numel " +
                       std::to_string(weight_size) + (specials ? ", with" : ", without") +
                       " special values");
          auto x = Leaf(MakeInput(layout, dtype(), device(), specials));
          auto w0 = weight_size == 0 ? torch::tensor(0.25, torch::kDouble).to(opts())
                                     : torch::randn({weight_size}, opts());
          auto w = Leaf(w0);
          auto y = rectifiers::prelu(x, w);
          auto y_ref = torch::prelu(x, w);
          auto go = GradLike(y_ref);
          auto g = Grad(y, {x, w}, go);
          auto g_ref = Grad(y_ref, {x, w}, go);
          EXPECT_TRUE(BitwiseEqual(g[0], g_ref[0])) << "grad of input";
          EXPECT_EQ(g[1].sizes(), w.sizes());
          EXPECT_TRUE(AllClose(g[1], g_ref[1], ReductionRtol(dtype()), ReductionRtol(dtype())))
              << "grad of weight";
        }
      }
    }
  }
}

TEST_P(AutogradTest, PreluWeightGradIsDeterministic) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    auto x = Leaf(MakeInput(Layout::Large, dtype(), device(), /*with_specials=*/false));
    auto w = Leaf(torch::randn({6}, opts()));
    auto go = GradLike(x);
    auto first = Grad(rectifiers::prelu(x, w), {w}, go)[0];
    for (int run = 0; run < 3; ++run) {
      auto again = Grad(rectifiers::prelu(x, w), {w}, go)[0];
      EXPECT_TRUE(BitwiseEqual(again, first)) << "run " << run;
    }
    // And it is the sum it should be: sum over x <= 0 of x * go per channel.
    auto xd = x.detach().to(torch::kDouble), god = go.to(torch::kDouble);
    auto expected = torch::where(xd > 0, torch::zeros_like(xd), xd * god).sum({0, 2, 3});
    EXPECT_TRUE(AllClose(first.to(torch::kDouble), expected, ReductionRtol(dtype()),
                         ReductionRtol(dtype()) * std::sqrt(double(x.numel()))));
  }
}

TEST_P(AutogradTest, MaxoutGradMatchesUnflattenMax) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    for (auto layout : kLayouts4d) {
      for (auto [k, dim] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {2, 1}, {3, 1}, {6, 1},
                                                                   {3, -3}, {2, 0}, {3, 2}}) {
        if (layout == Layout::Large && dim == 0) continue;  // N = 3
        SCOPED_TRACE(std::string(LayoutName(layout)) + ", pool_size " + std::to_string(k) +
                     ", dim " + std::to_string(dim));
        if (layout == Layout::Large && dim == 2) continue;  // H = 67
        auto x = Leaf(MakeInput(layout, dtype(), device()));
        const int64_t d = dim < 0 ? dim + 4 : dim;
        auto y = rectifiers::maxout(x, k, dim);
        auto y_ref = std::get<0>(x.unflatten(d, {-1, k}).max(d + 1));
        auto go = GradLike(y);  // in y's memory format
        auto gx = Grad(y, {x}, go)[0];
        auto gx_ref = Grad(y_ref, {x}, go)[0];
        EXPECT_TRUE(BitwiseEqual(gx, gx_ref));
        if (layout == Layout::ChannelsLast && dim == 1 && k < 6) {
          EXPECT_TRUE(gx.is_contiguous(torch::MemoryFormat::ChannelsLast));
        }
      }
    }
  }
}

TEST_P(AutogradTest, MaxoutGradGoesToFirstMaximumAndNaN) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    auto x = Leaf(torch::tensor({3.0, 1.0, 3.0, 2.0,  // tie: the first 3
                                 1.0, kNaN, 2.0, kNaN,  // the first NaN
                                 -1.0, -1.0, -1.0, -1.0},
                                torch::kDouble)
                      .to(opts()));
    auto gx = Grad(rectifiers::maxout(x, 4, 0), {x},
                   torch::tensor({10.0, 20.0, 30.0}, torch::kDouble).to(opts()))[0];
    EXPECT_TRUE(BitwiseEqual(gx, torch::tensor({10.0, 0.0, 0.0, 0.0, 0.0, 20.0, 0.0, 0.0, 30.0,
                                                0.0, 0.0, 0.0},
                                               torch::kDouble)
                                     .to(opts())));
  }
}

TEST_P(AutogradTest, MaxoutGradWithIntIndices) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    // pool_size 300 saves int32 indices; the gradient must reach positions > 255.
    for (int64_t at : {0, 255, 256, 299}) {
      SCOPED_TRACE("maximum at " + std::to_string(at));
      auto x0 = torch::full({2, 600}, -1.0, opts());
      x0.select(1, at).fill_(1.0);
      x0.select(1, 300 + (299 - at)).fill_(1.0);
      auto x = Leaf(x0);
      auto go = torch::tensor({{2.0, 3.0}, {4.0, 5.0}}, torch::kDouble).to(opts());
      auto gx = Grad(rectifiers::maxout(x, 300, 1), {x}, go)[0];
      auto expected = torch::zeros({2, 600}, opts());
      expected.select(1, at).copy_(go.select(1, 0));
      expected.select(1, 300 + (299 - at)).copy_(go.select(1, 1));
      EXPECT_TRUE(BitwiseEqual(gx, expected));
    }
  }
}

// ---- second order --------------------------------------------------------------

// For y = op(x): gx = dy/dx . go with create_graph, then the gradient of gx . gg
// with respect to x and go, against the same for the reference op.
template <typename Op, typename Ref>
void CheckSecondOrder(Op op, Ref ref, const torch::Tensor& x0) {
  auto x = Leaf(x0);
  auto go = Leaf(GradLike(ref(x0)));
  auto gg = GradLike(x0);
  auto first = Grad(op(x), {x}, go, /*create_graph=*/true)[0];
  auto first_ref = Grad(ref(x), {x}, go, /*create_graph=*/true)[0];
  ASSERT_TRUE(BitwiseEqual(first, first_ref));
  ASSERT_TRUE(first.requires_grad()) << "create_graph=true must give a differentiable gradient";
  auto second = Grad(first, {x, go}, gg);
  auto second_ref = Grad(first_ref, {x, go}, gg);
  ASSERT_TRUE(second[1].defined()) << "d(grad)/d(grad_output) must not be dropped";
  EXPECT_TRUE(BitwiseEqual(OrZeros(second[0], x), OrZeros(second_ref[0], x))) << "d/dx";
  EXPECT_TRUE(BitwiseEqual(second[1], OrZeros(second_ref[1], go))) << "d/d(grad_output)";
}

TEST_P(AutogradTest, ReluSecondOrder) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    CheckSecondOrder([](const torch::Tensor& x) { return rectifiers::relu(x); },
                     [](const torch::Tensor& x) { return torch::relu(x); },
                     MakeInput(Layout::Contiguous, dtype(), device()));
  }
}

TEST_P(AutogradTest, LeakyReluSecondOrder) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    for (double slope : {0.01, -0.5}) {
      SCOPED_TRACE("negative_slope " + std::to_string(slope));
      CheckSecondOrder([slope](const torch::Tensor& x) { return rectifiers::leaky_relu(x, slope); },
                       [slope](const torch::Tensor& x) { return torch::leaky_relu(x, slope); },
                       MakeInput(Layout::ChannelsLast, dtype(), device()));
    }
  }
}

TEST_P(AutogradTest, AbsRectifierSecondOrder) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    CheckSecondOrder([](const torch::Tensor& x) { return rectifiers::abs_rectifier(x); },
                     [](const torch::Tensor& x) { return torch::abs(x); },
                     MakeInput(Layout::Transposed, dtype(), device()));
  }
}

TEST_P(AutogradTest, MaxoutSecondOrder) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    for (auto [k, dim] : std::vector<std::pair<int64_t, int64_t>>{{2, 1}, {3, -3}, {5, 3}}) {
      SCOPED_TRACE("pool_size " + std::to_string(k) + ", dim " + std::to_string(dim));
      const int64_t d = dim < 0 ? dim + 4 : dim;
      CheckSecondOrder(
          [k, dim](const torch::Tensor& x) { return rectifiers::maxout(x, k, dim); },
          [k, d](const torch::Tensor& x) {
            return std::get<0>(x.unflatten(d, {-1, k}).max(d + 1));
          },
          MakeInput(Layout::Contiguous, dtype(), device()));
    }
  }
}

TEST_P(AutogradTest, PreluSecondOrder) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    // ATen's double backward of prelu splits at x >= 0 while its first
    // derivative splits at x > 0 (docs/semantics.md); ours does the same, so
    // exact zeros are in the input.
    for (int64_t weight_size : {1, 6}) {
      SCOPED_TRACE("weight numel " + std::to_string(weight_size));
      auto x0 = MakeInput(Layout::Contiguous, dtype(), device());
      auto x = Leaf(x0);
      auto w = Leaf(torch::randn({weight_size}, opts()));
      auto go = Leaf(GradLike(x0));
      auto ggx = GradLike(x0);
      auto ggw = torch::randn({weight_size}, opts());
      auto first = Grad(rectifiers::prelu(x, w), {x, w}, go, /*create_graph=*/true);
      auto first_ref = Grad(torch::prelu(x, w), {x, w}, go, /*create_graph=*/true);
      ASSERT_TRUE(first[0].requires_grad() && first[1].requires_grad());
      auto second = Grad({first[0], first[1]}, {x, w, go}, {ggx, ggw});
      auto second_ref = Grad({first_ref[0], first_ref[1]}, {x, w, go}, {ggx, ggw});
      const double tol = ReductionRtol(dtype());
      const char* names[] = {"d/dx", "d/dweight", "d/d(grad_output)"};
      const torch::Tensor likes[] = {x, w, go};
      for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(second[i].defined()) << names[i] << " must not be dropped";
        EXPECT_TRUE(AllClose(second[i], OrZeros(second_ref[i], likes[i]), tol,
                             tol * (i == 1 ? std::sqrt(double(x.numel())) : 1.0)))
            << names[i];
      }
    }
  }
}

// ---- in place -------------------------------------------------------------------

TEST_P(AutogradTest, ReluInPlaceOnNonLeaf) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    auto x = Leaf(MakeInput(Layout::Contiguous, dtype(), device()));
    auto y = x * 2;
    auto y_ref = x * 2;
    const auto version = y._version();
    auto& returned = rectifiers::relu_(y);
    torch::relu_(y_ref);
    EXPECT_TRUE(returned.is_same(y));
    EXPECT_GT(y._version(), version) << "an in-place op must bump the version counter";
    EXPECT_TRUE(BitwiseEqual(y, y_ref));
    auto go = GradLike(y);
    EXPECT_TRUE(BitwiseEqual(Grad(y, {x}, go)[0], Grad(y_ref, {x}, go)[0]));
  }
}

TEST_P(AutogradTest, ReluInPlaceOnViewOfNonLeaf) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    auto x = Leaf(MakeInput(Layout::Contiguous, dtype(), device()));
    auto y = x * 2;
    auto y_ref = x * 2;
    auto view = y.narrow(1, 1, 3);
    rectifiers::relu_(view);
    auto view_ref = y_ref.narrow(1, 1, 3);
    torch::relu_(view_ref);
    EXPECT_TRUE(BitwiseEqual(y, y_ref));
    auto go = GradLike(y);
    EXPECT_TRUE(BitwiseEqual(Grad(y, {x}, go)[0], Grad(y_ref, {x}, go)[0]));
  }
}

TEST_P(AutogradTest, ReluInPlaceSecondOrder) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    auto x = Leaf(MakeInput(Layout::Contiguous, dtype(), device()));
    auto go = Leaf(GradLike(x));
    auto gg = GradLike(x);
    auto y = x * 1;
    rectifiers::relu_(y);
    auto y_ref = x * 1;
    torch::relu_(y_ref);
    auto first = Grad(y, {x}, go, true)[0];
    auto first_ref = Grad(y_ref, {x}, go, true)[0];
    EXPECT_TRUE(BitwiseEqual(first, first_ref));
    EXPECT_TRUE(BitwiseEqual(Grad(first, {go}, gg)[0], Grad(first_ref, {go}, gg)[0]));
  }
}

TEST_P(AutogradTest, LeakyReluInPlaceOnNonLeaf) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    for (double slope : {0.01, 0.0}) {
      SCOPED_TRACE("negative_slope " + std::to_string(slope));
      auto x = Leaf(MakeInput(Layout::ChannelsLast, dtype(), device()));
      auto y = x * 1;
      auto y_ref = x * 1;
      rectifiers::leaky_relu_(y, slope);
      torch::leaky_relu_(y_ref, slope);
      EXPECT_TRUE(BitwiseEqual(y, y_ref));
      auto go = GradLike(y);
      EXPECT_TRUE(BitwiseEqual(Grad(y, {x}, go)[0], Grad(y_ref, {x}, go)[0]));
    }
  }
}

TEST_P(AutogradTest, LeakyReluInPlaceNegativeSlopeBackwardThrows) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    auto x = Leaf(MakeInput(Layout::Contiguous, dtype(), device()));
    auto y = x * 1;
    rectifiers::leaky_relu_(y, -0.2);  // the forward itself is fine
    EXPECT_TRUE(BitwiseEqual(y, torch::leaky_relu(x.detach(), -0.2)));
    auto go = GradLike(y);
    EXPECT_TRUE(ThrowsWith([&] { Grad(y, {x}, go); }, {"negative slope"}));
    // PyTorch refuses the same thing.
    auto y_ref = x * 1;
    torch::leaky_relu_(y_ref, -0.2);
    EXPECT_THROW(Grad(y_ref, {x}, go), c10::Error);
  }
}

// y.sum().backward() hands each backward an expanded (stride 0) gradient.
TEST_P(AutogradTest, SumBackwardWithExpandedGradient) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    for (auto layout : {Layout::Contiguous, Layout::ChannelsLast, Layout::Transposed}) {
      SCOPED_TRACE(LayoutName(layout));
      auto x0 = MakeInput(layout, dtype(), device());
      using UnaryFn = std::function<torch::Tensor(const torch::Tensor&)>;
      std::vector<std::pair<std::string, UnaryFn>> ops = {
          {"relu", [](const torch::Tensor& x) { return rectifiers::relu(x); }},
          {"leaky_relu", [](const torch::Tensor& x) { return rectifiers::leaky_relu(x, 0.1); }},
          {"abs_rectifier", [](const torch::Tensor& x) { return rectifiers::abs_rectifier(x); }},
          {"maxout", [](const torch::Tensor& x) { return rectifiers::maxout(x, 3, 1); }},
          {"prelu",
           [this](const torch::Tensor& x) {
             return rectifiers::prelu(x, torch::full({6}, -0.25, opts()));
           }},
      };
      std::vector<UnaryFn> refs = {
          [](const torch::Tensor& x) { return torch::relu(x); },
          [](const torch::Tensor& x) { return torch::leaky_relu(x, 0.1); },
          [](const torch::Tensor& x) { return torch::abs(x); },
          [](const torch::Tensor& x) { return std::get<0>(x.unflatten(1, {-1, 3}).max(2)); },
          [this](const torch::Tensor& x) {
            return torch::prelu(x, torch::full({6}, -0.25, opts()));
          },
      };
      for (size_t i = 0; i < ops.size(); ++i) {
        SCOPED_TRACE(ops[i].first);
        auto x = Leaf(x0);
        ops[i].second(x).sum().backward();
        auto x_ref = Leaf(x0);
        refs[i](x_ref).sum().backward();
        EXPECT_TRUE(BitwiseEqual(x.grad(), x_ref.grad()));
      }
    }
  }
}

TEST_P(AutogradTest, PreluSecondOrderThroughOneGradient) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    // A gradient penalty differentiates only grad_input (or only grad_weight).
    auto x0 = MakeInput(Layout::ChannelsLast, dtype(), device(), /*with_specials=*/false);
    auto w0 = torch::randn({6}, opts());
    auto go0 = GradLike(x0);
    for (int which = 0; which < 2; ++which) {
      SCOPED_TRACE(which == 0 ? "through grad_input only" : "through grad_weight only");
      variable_list second, second_ref;
      for (bool ours : {true, false}) {
        auto x = Leaf(x0), w = Leaf(w0), go = Leaf(go0);
        auto y = ours ? rectifiers::prelu(x, w) : torch::prelu(x, w);
        auto first = Grad(y, {x, w}, go, /*create_graph=*/true);
        auto loss = which == 0 ? first[0].pow(2).sum() : first[1].pow(2).sum();
        auto g = grad({loss}, {x, w, go}, {}, true, false, /*allow_unused=*/true);
        for (int i = 0; i < 3; ++i) g[i] = OrZeros(g[i], i == 0 ? x : i == 1 ? w : go);
        (ours ? second : second_ref) = g;
      }
      const double tol = ReductionRtol(dtype());
      EXPECT_TRUE(AllClose(second[0], second_ref[0], tol, tol)) << "d/dx";
      EXPECT_TRUE(AllClose(second[1], second_ref[1], tol, tol * 100)) << "d/dweight";
      EXPECT_TRUE(AllClose(second[2], second_ref[2], tol, tol)) << "d/d(grad_output)";
    }
  }
}

TEST_P(AutogradTest, InferenceModeRunsEveryOp) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    auto x = MakeInput(Layout::Contiguous, dtype(), device());
    c10::InferenceMode guard;
    auto xi = x.clone();
    EXPECT_TRUE(BitwiseEqual(rectifiers::relu(xi), torch::relu(x)));
    EXPECT_TRUE(BitwiseEqual(rectifiers::leaky_relu(xi, 0.3), torch::leaky_relu(x, 0.3)));
    EXPECT_TRUE(BitwiseEqual(rectifiers::abs_rectifier(xi), torch::abs(x)));
    auto w = torch::full({6}, 0.5, opts());
    EXPECT_TRUE(BitwiseEqual(rectifiers::prelu(xi, w), torch::prelu(x, w)));
    EXPECT_TRUE(BitwiseEqual(rectifiers::maxout(xi, 2),
                             std::get<0>(x.unflatten(1, {-1, 2}).max(2))));
    rectifiers::relu_(xi);
    EXPECT_TRUE(BitwiseEqual(xi, torch::relu(x)));
  }
}

TEST_P(AutogradTest, NoGradModeRecordsNothing) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    auto x = Leaf(MakeInput(Layout::Contiguous, dtype(), device()));
    torch::NoGradGuard no_grad;
    EXPECT_FALSE(rectifiers::relu(x).requires_grad());
    EXPECT_FALSE(rectifiers::maxout(x, 2).requires_grad());
    EXPECT_FALSE(rectifiers::prelu(x, torch::ones({1}, opts())).requires_grad());
  }
}

// Autocast follows at::prelu: input and weight are cast to the autocast dtype
// (bfloat16 on CPU, float16 on CUDA), and the float32 weight gets a float32
// gradient through the cast.
TEST_P(AutogradTest, PreluUnderAutocastMatchesTorch) {
  const auto low = GetParam() == torch::kCUDA ? torch::kHalf : torch::kBFloat16;
  auto x = Leaf(torch::randn({3, 4, 5}, opts()));
  auto w = Leaf(torch::randn({4}, opts()));
  torch::Tensor y, y_ref;
  {
    // What torch.autocast does on entry and exit, also when a check throws.
    struct AutocastScope {
      c10::DeviceType device;
      explicit AutocastScope(c10::DeviceType d) : device(d) {
        at::autocast::set_autocast_enabled(device, true);
      }
      ~AutocastScope() {
        at::autocast::set_autocast_enabled(device, false);
        at::autocast::clear_cache();
      }
    } autocast(GetParam());
    y = rectifiers::prelu(x, w);
    y_ref = torch::prelu(x, w);
  }
  EXPECT_EQ(y.scalar_type(), low);
  EXPECT_EQ(y_ref.scalar_type(), low);
  EXPECT_TRUE(BitwiseEqual(y, y_ref));
  auto go = GradLike(y_ref);
  auto g = Grad(y, {x, w}, go);
  auto g_ref = Grad(y_ref, {x, w}, go);
  EXPECT_EQ(g[0].scalar_type(), torch::kFloat);
  EXPECT_EQ(g[1].scalar_type(), torch::kFloat);
  EXPECT_TRUE(BitwiseEqual(g[0], g_ref[0])) << "grad of input";
  EXPECT_TRUE(AllClose(g[1], g_ref[1], 2e-2, 5e-2)) << "grad of weight";
}

RECTIFIERS_INSTANTIATE_DEVICE(AutogradTest);

}  // namespace
}  // namespace rectifiers_test
