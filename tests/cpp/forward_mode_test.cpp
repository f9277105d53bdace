// Forward-mode AD from C++ (dual tensors at level 0, as torch.func.jvp and
// torch.autograd.forward_ad make them) against the tangents of the ATen
// reference ops: bitwise for every elementwise op in float32/float64, PReLU's
// weight-gradient tangent (a sum) within a tolerance; the in-place ops update
// the tangent in place; forward over reverse through the backward ops.
#include <gtest/gtest.h>
#include <torch/csrc/autograd/forward_grad.h>
#include <torch/torch.h>

#include "rectifiers.h"
#include "test_util.h"

namespace rectifiers_test {
namespace {

// A forward-mode level for the test's duration (level 0, the one dual
// tensors use).
struct DualLevel {
  uint64_t level = torch::autograd::ForwardADLevel::get_next_idx();
  ~DualLevel() { torch::autograd::ForwardADLevel::release_idx(level); }
};

torch::Tensor Dual(const torch::Tensor& primal, const torch::Tensor& tangent) {
  return at::_make_dual(primal, tangent, /*level=*/0);
}

torch::Tensor TangentOf(const torch::Tensor& t) { return std::get<1>(at::_unpack_dual(t, 0)); }

const std::vector<torch::ScalarType> kExactTypes = {torch::kFloat, torch::kDouble};

using ForwardModeTest = DeviceDtypeTest;

template <typename Op, typename Ref>
void CheckUnaryTangent(Op op, Ref ref, torch::ScalarType dtype, torch::Device device) {
  // (not Expanded: a dual tensor's tangent is stored with its primal's strides,
  // which an expanded primal's overlap forbids, in torch too)
  for (auto layout : {Layout::Contiguous, Layout::ChannelsLast, Layout::Transposed,
                      Layout::Sliced, Layout::Empty, Layout::Scalar}) {
    SCOPED_TRACE(LayoutName(layout));
    auto x = MakeInput(layout, dtype, device);
    auto t = GradLike(x);
    DualLevel level;
    auto tangent = TangentOf(op(Dual(x, t)));
    ASSERT_TRUE(tangent.defined()) << "the tangent must not be dropped";
    EXPECT_TRUE(BitwiseEqual(tangent, TangentOf(ref(Dual(x, t)))));
  }
}

TEST_P(ForwardModeTest, ElementwiseTangentsMatchTorch) {
  for (auto dt : kExactTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    CheckUnaryTangent([](const torch::Tensor& x) { return rectifiers::relu(x); },
                      [](const torch::Tensor& x) { return torch::relu(x); }, dtype(), device());
    CheckUnaryTangent([](const torch::Tensor& x) { return rectifiers::leaky_relu(x, -0.3); },
                      [](const torch::Tensor& x) { return torch::leaky_relu(x, -0.3); }, dtype(),
                      device());
    CheckUnaryTangent([](const torch::Tensor& x) { return rectifiers::abs_rectifier(x); },
                      [](const torch::Tensor& x) { return torch::abs(x); }, dtype(), device());
  }
}

TEST_P(ForwardModeTest, InPlaceUpdatesTheTangentInPlace) {
  for (auto dt : kExactTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    auto x = MakeInput(Layout::Contiguous, dtype(), device());
    auto t = GradLike(x);
    DualLevel level;
    auto ours = Dual(x.clone(), t.clone());
    auto ours_tangent = TangentOf(ours);
    rectifiers::leaky_relu_(ours, 0.2);
    auto ref = Dual(x.clone(), t.clone());
    torch::leaky_relu_(ref, 0.2);
    EXPECT_EQ(TangentOf(ours).data_ptr(), ours_tangent.data_ptr());
    EXPECT_TRUE(BitwiseEqual(TangentOf(ours), TangentOf(ref)));
    auto relu_ours = Dual(x.clone(), t.clone());
    rectifiers::relu_(relu_ours);
    auto relu_ref = Dual(x.clone(), t.clone());
    torch::relu_(relu_ref);
    EXPECT_TRUE(BitwiseEqual(TangentOf(relu_ours), TangentOf(relu_ref)));
  }
}

TEST_P(ForwardModeTest, PreluTangentsMatchTorch) {
  for (auto dt : kExactTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    for (int64_t weight_size : {1, 6}) {
      SCOPED_TRACE("weight numel " + std::to_string(weight_size));
      auto x = MakeInput(Layout::ChannelsLast, dtype(), device());
      auto w = torch::randn({weight_size}, opts());
      auto tx = GradLike(x);
      auto tw = torch::randn({weight_size}, opts());
      DualLevel level;
      EXPECT_TRUE(BitwiseEqual(TangentOf(rectifiers::prelu(Dual(x, tx), Dual(w, tw))),
                               TangentOf(torch::prelu(Dual(x, tx), Dual(w, tw)))));
      EXPECT_TRUE(BitwiseEqual(TangentOf(rectifiers::prelu(x, Dual(w, tw))),
                               TangentOf(torch::prelu(x, Dual(w, tw)))));
    }
  }
}

TEST_P(ForwardModeTest, MaxoutTangentIsTheChosenMembers) {
  for (auto dt : kExactTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    auto x = MakeInput(Layout::Transposed, dtype(), device());
    auto t = GradLike(x);
    DualLevel level;
    auto ours = TangentOf(rectifiers::maxout(Dual(x, t), 3, 1));
    auto ref = TangentOf(std::get<0>(Dual(x, t).unflatten(1, {-1, 3}).max(2)));
    EXPECT_TRUE(BitwiseEqual(ours, ref));
  }
}

// Forward over reverse: the tangent of a gradient, through the backward ops.
TEST_P(ForwardModeTest, TangentOfTheGradientMatchesTorch) {
  for (auto dt : kExactTypes) {
    UseDtype(dt);
    SCOPED_TRACE(DtypeName(dt));
    auto x = MakeInput(Layout::Contiguous, dtype(), device());
    auto g = GradLike(x);
    auto tx = GradLike(x);
    auto tg = GradLike(x);
    auto w = torch::randn({6}, opts());
    auto tw = torch::randn({6}, opts());
    DualLevel level;
    EXPECT_TRUE(BitwiseEqual(
        TangentOf(rectifiers::leaky_relu_backward(Dual(g, tg), Dual(x, tx), 0.1, false)),
        TangentOf(torch::leaky_relu_backward(Dual(g, tg), Dual(x, tx), 0.1, false))));
    auto y = torch::relu(x);
    EXPECT_TRUE(BitwiseEqual(TangentOf(rectifiers::relu_backward(Dual(g, tg), y)),
                             TangentOf(torch::threshold_backward(Dual(g, tg), y, 0))));
    auto [gi, gw] = rectifiers::prelu_backward(Dual(g, tg), Dual(x, tx), Dual(w, tw));
    auto [gi_ref, gw_full] = at::_prelu_kernel_backward(Dual(g, tg), Dual(x, tx),
                                                        Dual(w, tw).reshape({6, 1, 1}));
    EXPECT_TRUE(BitwiseEqual(TangentOf(gi), TangentOf(gi_ref)));
    EXPECT_TRUE(AllClose(TangentOf(gw), TangentOf(gw_full).sum({0, 2, 3}),
                         ReductionRtol(dtype()), ReductionRtol(dtype())));
  }
}

// The graph is skipped when nothing is differentiated, never when a tangent is there.
TEST_P(ForwardModeTest, NoGradStillCarriesTheTangent) {
  auto x = MakeInput(Layout::Contiguous, torch::kFloat, device());
  auto t = GradLike(x);
  DualLevel level;
  torch::NoGradGuard no_grad;
  auto y = rectifiers::maxout(Dual(x, t), 2, 1);
  EXPECT_EQ(y.grad_fn(), nullptr);
  EXPECT_TRUE(TangentOf(y).defined());
}

RECTIFIERS_INSTANTIATE_DEVICE(ForwardModeTest);

}  // namespace
}  // namespace rectifiers_test
