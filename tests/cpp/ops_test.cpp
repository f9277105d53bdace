// Forward values of every op against its ATen reference (docs/semantics.md), on
// every device x dtype, on random data with +-0, +-inf and NaN mixed in, over
// contiguous / channels_last / transposed / sliced / expanded / empty / large
// (threaded) / 0-dim inputs, and the output's memory format.
//
// Comparison: bitwise in every dtype (NaN in the same positions, signed zeros
// and infinities with the same bits). For float16/bfloat16 docs/semantics.md allows
// 1 ulp, but the library computes each element in float (opmath) and rounds
// once, exactly as ATen's own kernels do, so the results are expected to be
// identical; a 1-ulp difference would mean the two compute differently.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "rectifiers.h"
#include "test_util.h"

namespace rectifiers_test {
namespace {

std::vector<Layout> ElementwiseLayouts() {
  auto layouts = kLayouts4d;
  layouts.push_back(Layout::Scalar);
  return layouts;
}

// Output of an elementwise op: same strides as ATen gives (which keeps the
// input's memory format), plus the memory format spelled out.
void ExpectElementwiseLayout(const torch::Tensor& out, const torch::Tensor& ref,
                             const torch::Tensor& x, Layout layout) {
  if (layout != Layout::Sliced && layout != Layout::Expanded) {
    // Dense input: ATen keeps its strides, and so must we.
    EXPECT_EQ(out.strides(), ref.strides()) << "output strides differ from ATen's";
  }
  EXPECT_TRUE(out.is_non_overlapping_and_dense()) << "output strides " << out.strides();
  if (layout == Layout::ChannelsLast) {
    EXPECT_TRUE(out.is_contiguous(torch::MemoryFormat::ChannelsLast));
    EXPECT_FALSE(out.is_contiguous());
  } else if (layout == Layout::Contiguous || layout == Layout::Large) {
    EXPECT_TRUE(out.is_contiguous());
  } else if (layout == Layout::Transposed) {
    EXPECT_EQ(out.strides(), x.strides()) << "dense input: strides must be preserved";
  }
}

using OpsTest = DeviceDtypeTest;

TEST_P(OpsTest, ReluMatchesTorchRelu) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    for (auto layout : ElementwiseLayouts()) {
      SCOPED_TRACE(LayoutName(layout));
      auto x = MakeInput(layout, dtype(), device());
      auto before = Snapshot(x);
      auto out = rectifiers::relu(x);
      auto ref = torch::relu(x);
      EXPECT_TRUE(BitwiseEqual(out, ref));
      ExpectElementwiseLayout(out, ref, x, layout);
      EXPECT_TRUE(BitwiseEqual(x, before)) << "out-of-place op modified its input";
    }
  }
}

TEST_P(OpsTest, ReluZeroAndNaNRules) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    // torch.relu: -0 stays -0, negatives give +0, NaN passes through.
    auto x = torch::tensor({-0.0, 0.0, -2.0, 3.0, -kInf, kInf, kNaN}, torch::kDouble)
                 .to(opts());
    auto expected = torch::tensor({-0.0, 0.0, 0.0, 3.0, 0.0, kInf, kNaN}, torch::kDouble)
                        .to(opts());
    EXPECT_TRUE(BitwiseEqual(rectifiers::relu(x), expected));
    EXPECT_TRUE(BitwiseEqual(rectifiers::relu(x), torch::relu(x)));
  }
}

// Every layout but Expanded, whose elements overlap (an error, see errors_test).
std::vector<Layout> InPlaceLayouts() {
  std::vector<Layout> layouts;
  for (auto layout : ElementwiseLayouts()) {
    if (layout != Layout::Expanded) layouts.push_back(layout);
  }
  return layouts;
}

TEST_P(OpsTest, ReluInPlaceMatchesTorchRelu) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    for (auto layout : InPlaceLayouts()) {
      SCOPED_TRACE(LayoutName(layout));
      auto x = MakeInput(layout, dtype(), device());
      auto strides = x.strides().vec();
      auto ref = torch::relu(x);
      const void* data = x.data_ptr();
      auto& returned = rectifiers::relu_(x);
      EXPECT_TRUE(returned.is_same(x)) << "relu_ must return its argument";
      EXPECT_EQ(x.data_ptr(), data);
      EXPECT_EQ(x.strides().vec(), strides);
      EXPECT_TRUE(BitwiseEqual(x, ref));
    }
  }
}

TEST_P(OpsTest, LeakyReluMatchesTorchLeakyRelu) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    for (double slope : {0.01, 0.0, -0.5, 1.5}) {
      for (auto layout : ElementwiseLayouts()) {
        SCOPED_TRACE(std::string(LayoutName(layout)) + ", negative_slope " + std::to_string(slope));
        auto x = MakeInput(layout, dtype(), device());
        auto before = Snapshot(x);
        auto out = rectifiers::leaky_relu(x, slope);
        auto ref = torch::leaky_relu(x, slope);
        EXPECT_TRUE(BitwiseEqual(out, ref));
        ExpectElementwiseLayout(out, ref, x, layout);
        EXPECT_TRUE(BitwiseEqual(x, before)) << "out-of-place op modified its input";
      }
    }
  }
}

TEST_P(OpsTest, LeakyReluDefaultSlopeIsOneHundredth) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    auto x = MakeInput(Layout::Contiguous, dtype(), device());
    EXPECT_TRUE(BitwiseEqual(rectifiers::leaky_relu(x), torch::leaky_relu(x, 0.01)));
    auto y = x.clone();
    rectifiers::leaky_relu_(y);
    EXPECT_TRUE(BitwiseEqual(y, torch::leaky_relu(x, 0.01)));
  }
}

TEST_P(OpsTest, LeakyReluInPlaceMatchesTorchLeakyRelu) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    for (double slope : {0.01, -0.5}) {
      for (auto layout : InPlaceLayouts()) {
        SCOPED_TRACE(std::string(LayoutName(layout)) + ", negative_slope " + std::to_string(slope));
        auto x = MakeInput(layout, dtype(), device());
        auto ref = torch::leaky_relu(x, slope);
        const void* data = x.data_ptr();
        auto& returned = rectifiers::leaky_relu_(x, slope);
        EXPECT_TRUE(returned.is_same(x));
        EXPECT_EQ(x.data_ptr(), data);
        EXPECT_TRUE(BitwiseEqual(x, ref));
      }
    }
  }
}

TEST_P(OpsTest, PreluMatchesTorchPrelu) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    std::vector<std::pair<std::string, torch::Tensor>> weights = {
        {"0-dim weight", torch::tensor(-0.25, torch::kDouble).to(opts())},
        {"1-element weight", torch::tensor({0.3}, torch::kDouble).to(opts())},
        {"per-channel weight",
         torch::tensor({0.25, -0.5, 0.0, -0.0, 2.0, kInf}, torch::kDouble).to(opts())},
        {"random per-channel weight", SpecialRandn({6}, dtype(), device())},
        {"strided per-channel weight", SpecialRandn({12}, dtype(), device()).slice(0, 0, 12, 2)},
    };
    for (const auto& [name, w] : weights) {
      for (auto layout : kLayouts4d) {
        SCOPED_TRACE(std::string(LayoutName(layout)) + ", " + name);
        auto x = MakeInput(layout, dtype(), device());
        auto before = Snapshot(x);
        auto w_before = Snapshot(w);
        auto out = rectifiers::prelu(x, w);
        auto ref = torch::prelu(x, w);
        EXPECT_TRUE(BitwiseEqual(out, ref));
        ExpectElementwiseLayout(out, ref, x, layout);
        EXPECT_TRUE(BitwiseEqual(x, before));
        EXPECT_TRUE(BitwiseEqual(w, w_before));
      }
    }
  }
}

TEST_P(OpsTest, PreluChannelIsDimOne) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    // (N, C, L) input: channel c uses weight[c]; (C,) and 0-dim inputs have one channel.
    auto w = torch::tensor({0.5, -2.0, 0.125}, torch::kDouble).to(opts());
    auto x3 = SpecialRandn({4, 3, 7}, dtype(), device());
    EXPECT_TRUE(BitwiseEqual(rectifiers::prelu(x3, w), torch::prelu(x3, w)));
    auto x2 = SpecialRandn({5, 3}, dtype(), device());
    EXPECT_TRUE(BitwiseEqual(rectifiers::prelu(x2, w), torch::prelu(x2, w)));
    // Explicit values: channel 1 of x2 uses -2.
    auto neg = torch::full({2, 3}, -1.0, opts());
    auto expected = torch::tensor({{-0.5, 2.0, -0.125}, {-0.5, 2.0, -0.125}}, torch::kDouble)
                        .to(opts());
    EXPECT_TRUE(BitwiseEqual(rectifiers::prelu(neg, w), expected));

    auto w1 = torch::tensor({-3.0}, torch::kDouble).to(opts());
    auto x1 = SpecialRandn({7}, dtype(), device());
    EXPECT_TRUE(BitwiseEqual(rectifiers::prelu(x1, w1), torch::prelu(x1, w1)));
    auto x0 = torch::tensor(-2.0, torch::kDouble).to(opts());
    EXPECT_TRUE(BitwiseEqual(rectifiers::prelu(x0, w1),
                             torch::tensor(6.0, torch::kDouble).to(opts())));
  }
}

TEST_P(OpsTest, AbsRectifierMatchesTorchAbs) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    for (auto layout : ElementwiseLayouts()) {
      SCOPED_TRACE(LayoutName(layout));
      auto x = MakeInput(layout, dtype(), device());
      auto before = Snapshot(x);
      auto out = rectifiers::abs_rectifier(x);
      auto ref = torch::abs(x);
      EXPECT_TRUE(BitwiseEqual(out, ref));
      ExpectElementwiseLayout(out, ref, x, layout);
      EXPECT_TRUE(BitwiseEqual(x, before));
    }
    auto x = torch::tensor({-0.0, 0.0, -2.5, -kInf}, torch::kDouble).to(opts());
    EXPECT_TRUE(BitwiseEqual(rectifiers::abs_rectifier(x),
                             torch::tensor({0.0, 0.0, 2.5, kInf}, torch::kDouble).to(opts())));
  }
}

// ---- relu6 and the ELU family -----------------------------------------------

namespace F = torch::nn::functional;

// torch's selu coefficients (torch.nn.functional.selu).
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

// One forward op with its in-place form and torch's reference, and the
// coefficients its derivative takes (torch's elu_backward's).
struct SmoothCase {
  std::string name;
  std::function<torch::Tensor(const torch::Tensor&)> ours;
  std::function<void(torch::Tensor&)> ours_;
  std::function<torch::Tensor(const torch::Tensor&)> ref;
  double alpha, scale, input_scale;
};

std::vector<SmoothCase> SmoothCases() {
  std::vector<SmoothCase> cases;
  cases.push_back({"relu6", [](const torch::Tensor& x) { return rectifiers::relu6(x); },
                   [](torch::Tensor& x) { EXPECT_TRUE(rectifiers::relu6_(x).is_same(x)); },
                   [](const torch::Tensor& x) { return F::relu6(x); }, 0, 0, 0});
  cases.push_back({"elu (default alpha)", [](const torch::Tensor& x) { return rectifiers::elu(x); },
                   [](torch::Tensor& x) { EXPECT_TRUE(rectifiers::elu_(x).is_same(x)); },
                   [](const torch::Tensor& x) { return F::elu(x); }, 1.0, 1.0, 1.0});
  cases.push_back({"celu (default alpha)",
                   [](const torch::Tensor& x) { return rectifiers::celu(x); },
                   [](torch::Tensor& x) { EXPECT_TRUE(rectifiers::celu_(x).is_same(x)); },
                   [](const torch::Tensor& x) { return F::celu(x); }, 1.0, 1.0, 1.0});
  for (double alpha : {0.5, -0.5, 2.0, 0.0}) {
    cases.push_back({"elu, alpha " + std::to_string(alpha),
                     [alpha](const torch::Tensor& x) { return rectifiers::elu(x, alpha); },
                     [alpha](torch::Tensor& x) { EXPECT_TRUE(rectifiers::elu_(x, alpha).is_same(x)); },
                     [alpha](const torch::Tensor& x) {
                       return F::elu(x, F::ELUFuncOptions().alpha(alpha));
                     },
                     alpha, 1.0, 1.0});
  }
  for (double alpha : {0.5, -1.5, 3.0}) {
    cases.push_back({"celu, alpha " + std::to_string(alpha),
                     [alpha](const torch::Tensor& x) { return rectifiers::celu(x, alpha); },
                     [alpha](torch::Tensor& x) { EXPECT_TRUE(rectifiers::celu_(x, alpha).is_same(x)); },
                     [alpha](const torch::Tensor& x) {
                       return F::celu(x, F::CELUFuncOptions().alpha(alpha));
                     },
                     alpha, 1.0, 1.0 / alpha});
  }
  cases.push_back({"selu", [](const torch::Tensor& x) { return rectifiers::selu(x); },
                   [](torch::Tensor& x) { EXPECT_TRUE(rectifiers::selu_(x).is_same(x)); },
                   [](const torch::Tensor& x) { return F::selu(x); }, kSeluAlpha, kSeluScale,
                   1.0});
  return cases;
}

TEST_P(OpsTest, Relu6AndEluFamilyMatchTorch) {
  const auto cases = SmoothCases();
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    for (const auto& c : cases) {
      for (auto layout : ElementwiseLayouts()) {
        SCOPED_TRACE(c.name + ", " + LayoutName(layout));
        auto x = MakeInput(layout, dtype(), device());
        auto before = Snapshot(x);
        auto out = c.ours(x);
        auto ref = c.ref(x);
        EXPECT_TRUE(BitwiseEqual(out, ref));
        ExpectElementwiseLayout(out, ref, x, layout);
        EXPECT_TRUE(BitwiseEqual(x, before)) << "out-of-place op modified its input";
      }
    }
  }
}

TEST_P(OpsTest, Relu6AndEluFamilyInPlaceMatchTorch) {
  const auto cases = SmoothCases();
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    for (const auto& c : cases) {
      for (auto layout : InPlaceLayouts()) {
        SCOPED_TRACE(c.name + "_, " + LayoutName(layout));
        auto x = MakeInput(layout, dtype(), device());
        auto strides = x.strides().vec();
        auto ref = c.ref(x);
        const void* data = x.data_ptr();
        c.ours_(x);
        EXPECT_EQ(x.data_ptr(), data);
        EXPECT_EQ(x.strides().vec(), strides);
        EXPECT_TRUE(BitwiseEqual(x, ref));
      }
    }
  }
}

TEST_P(OpsTest, Relu6AndEluKnownValues) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    // relu6: both kinks, -0 kept (as ATen's clamp), NaN passes, 6 is the cap.
    auto x = torch::tensor({-0.0, 0.0, -2.0, 3.0, 6.0, 7.5, -kInf, kInf, kNaN}, torch::kDouble)
                 .to(opts());
    auto expected = torch::tensor({-0.0, 0.0, 0.0, 3.0, 6.0, 6.0, 0.0, 6.0, kNaN}, torch::kDouble)
                        .to(opts());
    EXPECT_TRUE(BitwiseEqual(rectifiers::relu6(x), expected));
    EXPECT_TRUE(BitwiseEqual(rectifiers::relu6(x), F::relu6(x)));
    // elu/celu/selu: x above 0, -alpha (times scale) at -inf.
    auto y = torch::tensor({2.0, -kInf, 0.0}, torch::kDouble).to(opts());
    EXPECT_TRUE(BitwiseEqual(rectifiers::elu(y, 0.5),
                             torch::tensor({2.0, -0.5, 0.0}, torch::kDouble).to(opts())));
    EXPECT_TRUE(BitwiseEqual(rectifiers::celu(y, 2.0),
                             torch::tensor({2.0, -2.0, 0.0}, torch::kDouble).to(opts())));
    EXPECT_TRUE(BitwiseEqual(rectifiers::selu(y), F::selu(y)));
  }
}

TEST_P(OpsTest, Relu6BackwardMatchesHardtanhBackward) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    for (auto layout : ElementwiseLayouts()) {
      SCOPED_TRACE(LayoutName(layout));
      auto x = MakeInput(layout, dtype(), device());
      auto g = GradLike(x);
      // from the input, and from the result (after relu6_): both are torch's
      for (const auto& self : {x, F::relu6(x)}) {
        auto before = Snapshot(self);
        EXPECT_TRUE(BitwiseEqual(rectifiers::relu6_backward(g, self),
                                 torch::hardtanh_backward(g, self, 0.0, 6.0)));
        EXPECT_TRUE(BitwiseEqual(self, before));
      }
    }
    auto kinks = torch::tensor({0.0, -0.0, 6.0, 5.5, 1e-3, kNaN, kInf}, torch::kDouble).to(opts());
    auto ones = torch::ones_like(kinks);
    EXPECT_TRUE(BitwiseEqual(rectifiers::relu6_backward(ones, kinks),
                             torch::tensor({0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0}, torch::kDouble)
                                 .to(opts())));
  }
}

TEST_P(OpsTest, EluBackwardMatchesTorchEluBackward) {
  const auto cases = SmoothCases();
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    for (const auto& c : cases) {
      if (c.name == "relu6") continue;
      for (auto layout : ElementwiseLayouts()) {
        SCOPED_TRACE(c.name + ", " + LayoutName(layout));
        auto x = MakeInput(layout, dtype(), device());
        auto g = GradLike(x);
        auto out = rectifiers::elu_backward(g, x, c.alpha, c.scale, c.input_scale, false);
        EXPECT_TRUE(BitwiseEqual(
            out, torch::elu_backward(g, c.alpha, c.scale, c.input_scale, false, x)));
        if (c.alpha >= 0) {  // from the result, as after an in-place op
          auto y = c.ref(x);
          EXPECT_TRUE(BitwiseEqual(
              rectifiers::elu_backward(g, y, c.alpha, c.scale, c.input_scale, true),
              torch::elu_backward(g, c.alpha, c.scale, c.input_scale, true, y)));
        }
      }
    }
  }
}

// ---- maxout -----------------------------------------------------------------

std::tuple<torch::Tensor, torch::Tensor> MaxoutReference(const torch::Tensor& x, int64_t k,
                                                         int64_t dim) {
  const int64_t d = dim < 0 ? dim + x.dim() : dim;
  return x.unflatten(d, {-1, k}).max(d + 1);
}

// Pool sizes that divide x.size(dim): 2, 3 and the whole dim (up to 300), and
// 1 along dim 1. (Kept short: ATen's max(dim) reference is slow when threaded.)
std::vector<int64_t> PoolSizes(const torch::Tensor& x, int64_t dim) {
  const int64_t n = x.size(dim);
  std::vector<int64_t> ks;
  if (dim == 1) ks.push_back(1);
  for (int64_t k : {int64_t{2}, int64_t{3}}) {
    if (n % k == 0 && k < n) ks.push_back(k);
  }
  if (n >= 2 && n <= 300) ks.push_back(n);
  if (n == 0) ks.push_back(4);
  return ks;
}

TEST_P(OpsTest, MaxoutMatchesUnflattenMax) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    for (auto layout : kLayouts4d) {
      for (int64_t dim : {1, 0, 2, -1}) {
        if (layout == Layout::Large && dim != 1 && dim != -1) continue;  // keep it quick
        auto x = MakeInput(layout, dtype(), device());
        for (int64_t k : PoolSizes(x, dim < 0 ? dim + 4 : dim)) {
          SCOPED_TRACE(std::string(LayoutName(layout)) + ", dim " + std::to_string(dim) +
                       ", pool_size " + std::to_string(k));
          auto before = Snapshot(x);
          // ATen's max() over a stride-0 dim takes ~8 ms per call; the values and
          // indices of a materialised copy are the same.
          auto [ref_values, ref_indices] =
              MaxoutReference(layout == Layout::Expanded ? x.contiguous() : x, k, dim);
          auto out = rectifiers::maxout(x, k, dim);
          EXPECT_TRUE(BitwiseEqual(out, ref_values));
          auto [values, indices] = rectifiers::maxout_with_indices(x, k, dim);
          EXPECT_TRUE(BitwiseEqual(values, ref_values));
          EXPECT_EQ(indices.scalar_type(), torch::kByte);
          EXPECT_EQ(indices.device(), x.device());
          EXPECT_TRUE(BitwiseEqual(indices.to(torch::kLong), ref_indices));
          EXPECT_TRUE(BitwiseEqual(x, before));
          if (layout == Layout::ChannelsLast && out.size(1) > 1) {
            EXPECT_TRUE(out.is_contiguous(torch::MemoryFormat::ChannelsLast))
                << "channels_last input must give a channels_last output, got strides "
                << out.strides();
            EXPECT_TRUE(indices.is_contiguous(torch::MemoryFormat::ChannelsLast));
          }
          if (layout == Layout::Contiguous || layout == Layout::Large) {
            EXPECT_TRUE(out.is_contiguous());
            EXPECT_TRUE(indices.is_contiguous());
          }
        }
      }
    }
  }
}

TEST_P(OpsTest, MaxoutDefaultDimIsOne) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    auto x = MakeInput(Layout::Contiguous, dtype(), device());
    EXPECT_TRUE(BitwiseEqual(rectifiers::maxout(x, 3), std::get<0>(MaxoutReference(x, 3, 1))));
    EXPECT_EQ(rectifiers::maxout(x, 3).sizes(), torch::IntArrayRef({2, 2, 3, 5}));
  }
}

TEST_P(OpsTest, MaxoutOneDimensionalAndGroupsAreConsecutive) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    // G(i) = {ik, ..., ik + k - 1}: consecutive elements, not strided ones.
    auto x = torch::tensor({1.0, 9.0, 2.0, 8.0, 3.0, 7.0}, torch::kDouble).to(opts());
    EXPECT_TRUE(BitwiseEqual(rectifiers::maxout(x, 2, 0),
                             torch::tensor({9.0, 8.0, 7.0}, torch::kDouble).to(opts())));
    EXPECT_TRUE(BitwiseEqual(rectifiers::maxout(x, 3, -1),
                             torch::tensor({9.0, 8.0}, torch::kDouble).to(opts())));
  }
}

TEST_P(OpsTest, MaxoutFirstMaximumWinsTies) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    auto x = torch::tensor({{1.0, 3.0, 3.0, 2.0, -0.0, 0.0, 0.0, -0.0, 5.0, 5.0, 5.0, 5.0},
                            {0.0, -0.0, 4.0, 4.0, -kInf, -kInf, -kInf, -kInf, 2.0,
                             1.0, 2.0, kInf}},
                           torch::kDouble)
                 .to(opts());
    auto [values, indices] = rectifiers::maxout_with_indices(x, 4, 1);
    auto expected_values =
        torch::tensor({{3.0, -0.0, 5.0}, {4.0, -kInf, kInf}}, torch::kDouble).to(opts());
    auto expected_indices = torch::tensor({{1, 0, 0}, {2, 0, 3}}, torch::kLong);
    EXPECT_TRUE(BitwiseEqual(values, expected_values));
    EXPECT_TRUE(BitwiseEqual(indices.cpu().to(torch::kLong), expected_indices));
    auto [ref_values, ref_indices] = MaxoutReference(x, 4, 1);
    EXPECT_TRUE(BitwiseEqual(values, ref_values));
    EXPECT_TRUE(BitwiseEqual(indices.to(torch::kLong), ref_indices));
  }
}

TEST_P(OpsTest, MaxoutNaNWins) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    auto x = torch::tensor({1.0, kNaN, 7.0, kNaN,         // NaN beats 7; the first NaN wins
                            kNaN, kInf, 1.0, 2.0,    // NaN first beats +inf
                            kInf, 3.0, 4.0, kNaN,    // NaN last beats +inf
                            -kInf, -1.0, -2.0, -3.0},
                           torch::kDouble)
                 .to(opts());
    auto [values, indices] = rectifiers::maxout_with_indices(x, 4, 0);
    auto v = values.cpu().to(torch::kDouble);
    EXPECT_TRUE(std::isnan(v[0].item<double>()));
    EXPECT_TRUE(std::isnan(v[1].item<double>()));
    EXPECT_TRUE(std::isnan(v[2].item<double>()));
    EXPECT_EQ(v[3].item<double>(), -1.0);
    EXPECT_TRUE(BitwiseEqual(indices.cpu().to(torch::kLong),
                             torch::tensor({1, 0, 3, 1}, torch::kLong)));
    auto [ref_values, ref_indices] = MaxoutReference(x, 4, 0);
    EXPECT_TRUE(BitwiseEqual(values, ref_values));
    EXPECT_TRUE(BitwiseEqual(indices.to(torch::kLong), ref_indices));
  }
}

// One group of pool_size elements with a unique maximum at `at` (values are
// exact in every dtype: 1 at the maximum, -1 elsewhere).
torch::Tensor OneHotGroup(int64_t rows, int64_t pool_size, int64_t at,
                          const torch::TensorOptions& options) {
  auto x = torch::full({rows, pool_size}, -1.0, options);
  x.select(1, at).fill_(1.0);
  return x;
}

TEST_P(OpsTest, MaxoutIndexDtypeByteUpTo256) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    for (int64_t k : {1, 2, 255, 256}) {
      SCOPED_TRACE("pool_size " + std::to_string(k));
      const int64_t at = k - 1;
      auto x = OneHotGroup(3, k, at, opts());
      auto [values, indices] = rectifiers::maxout_with_indices(x, k, 1);
      EXPECT_EQ(indices.scalar_type(), torch::kByte);
      EXPECT_TRUE(BitwiseEqual(values, torch::ones({3, 1}, opts())));
      EXPECT_TRUE(BitwiseEqual(indices.cpu().to(torch::kLong),
                               torch::full({3, 1}, at, torch::kLong)));
    }
  }
}

TEST_P(OpsTest, MaxoutIndexDtypeIntAbove256) {
  for (auto dt : kFloatingTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    for (int64_t k : {257, 300}) {
      for (int64_t at : {int64_t{256}, k - 1, int64_t{3}}) {
        SCOPED_TRACE("pool_size " + std::to_string(k) + ", maximum at " + std::to_string(at));
        // x: (2, k, 2); dim 1 is one group. Column 0 peaks at 0, column 1 at `at`.
        auto x = torch::full({2, k, 2}, -1.0, opts());
        x.select(2, 0).select(1, 0).fill_(1.0);
        x.select(2, 1).select(1, at).fill_(1.0);
        auto [values, indices] = rectifiers::maxout_with_indices(x, k, 1);
        EXPECT_EQ(indices.scalar_type(), torch::kInt);
        EXPECT_EQ(values.sizes(), torch::IntArrayRef({2, 1, 2}));
        EXPECT_TRUE(BitwiseEqual(values, torch::ones({2, 1, 2}, opts())));
        auto expected = torch::tensor({int64_t{0}, at}, torch::kLong).expand({2, 1, 2});
        EXPECT_TRUE(BitwiseEqual(indices.cpu().to(torch::kLong), expected));
        auto [ref_values, ref_indices] = MaxoutReference(x, k, 1);
        EXPECT_TRUE(BitwiseEqual(indices.to(torch::kLong), ref_indices));
      }
    }
  }
}

// ---- rrelu -------------------------------------------------------------------

TEST_P(OpsTest, RreluEvalIsLeakyReluWithTheMeanSlope) {
  UseDtype(torch::kFloat);
  const auto x = SpecialRandn({3, 5, 7}, dtype(), device());
  EXPECT_TRUE(BitwiseEqual(rectifiers::rrelu(x, 0.1, 0.3), torch::leaky_relu(x, 0.2)));
  EXPECT_TRUE(BitwiseEqual(rectifiers::rrelu(x), torch::rrelu(x, 1.0 / 8, 1.0 / 3, false)));
  auto y = x.clone();
  EXPECT_TRUE(rectifiers::rrelu_(y, 0.1, 0.3).is_same(y));
  EXPECT_TRUE(BitwiseEqual(y, torch::leaky_relu(x, 0.2)));
}

// Training mode: a seeded generator repeats; the gradient for grad_output = 1
// is the slope each element x <= 0 drew (in [lower, upper]), and the result is
// x times it; elsewhere x itself and 1.
TEST_P(OpsTest, RreluTrainingRepeatsForASeedAndBackwardRegeneratesTheSlopes) {
  if (device().is_cuda()) GTEST_SKIP() << "seeded CUDA generators are covered from Python";
  UseDtype(torch::kFloat);
  const auto x = SpecialRandn({4, 6, 5}, dtype(), device()).set_requires_grad(true);
  auto seeded = [&] {
    return rectifiers::rrelu(x, 0.1, 0.3, /*training=*/true,
                             at::make_generator<at::CPUGeneratorImpl>(7));
  };
  const auto y = seeded();
  EXPECT_TRUE(BitwiseEqual(y, seeded()));
  const auto slopes = torch::autograd::grad({y}, {x}, {torch::ones_like(y)})[0];
  const auto xd = x.detach();
  const auto neg = xd <= 0;
  const auto s = slopes.masked_select(neg);
  EXPECT_TRUE((s >= 0.1 - 1e-6).all().item<bool>() && (s <= 0.3 + 1e-6).all().item<bool>());
  EXPECT_TRUE((slopes.masked_select(~neg) == 1).all().item<bool>());
  EXPECT_TRUE(BitwiseEqual(y.detach(), torch::where(neg, xd * slopes, xd)));
}

RECTIFIERS_INSTANTIATE_DEVICE(OpsTest);

}  // namespace
}  // namespace rectifiers_test
