// TorchScript from C++ (README): compile a script that calls
// torch.ops.rectifiers.*, run it, compare with the ATen reference; a scripted
// module with a PReLU parameter survives save/load and trains (autograd
// through the ops from a loaded model).
//
// torch::jit::compile(source) resolves free names with LibTorch's
// NativeResolver, which maps `torch` to the aten namespace only, so
// `torch.ops.rectifiers.relu` fails there ("attribute lookup is not defined on
// builtin"); only TorchScript's model importer knows `ops.<namespace>`. The
// script is therefore compiled by the same compiler (CompilationUnit::define)
// with a resolver that adds `torch.ops.<namespace>.<op>`, which is what
// Python's torch.jit.script emits for these calls.
#include <gtest/gtest.h>
#include <torch/jit.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/frontend/resolver.h>
#include <torch/csrc/jit/frontend/sugared_value.h>

#include <sstream>

#include "rectifiers.h"
#include "test_util.h"

namespace rectifiers_test {
namespace {

using torch::jit::GraphFunction;
using torch::jit::SourceRange;
using torch::jit::SugaredValue;

// torch.ops: each attribute is an operator namespace.
struct OpsNamespaces : SugaredValue {
  std::string kind() const override { return "torch.ops"; }
  std::shared_ptr<SugaredValue> attr(const SourceRange&, GraphFunction&,
                                     const std::string& ns) override {
    return std::make_shared<torch::jit::BuiltinModule>(ns);
  }
};

// torch: `ops` as above, everything else as NativeResolver does (aten).
struct TorchModule : SugaredValue {
  std::string kind() const override { return "torch module"; }
  std::shared_ptr<SugaredValue> attr(const SourceRange& loc, GraphFunction& m,
                                     const std::string& field) override {
    if (field == "ops") return std::make_shared<OpsNamespaces>();
    return torch::jit::BuiltinModule("aten").attr(loc, m, field);
  }
};

struct TorchOpsResolver : torch::jit::Resolver {
  std::shared_ptr<SugaredValue> resolveValue(const std::string& name, GraphFunction&,
                                             const SourceRange&) override {
    return name == "torch" ? std::make_shared<TorchModule>() : nullptr;
  }
  c10::TypePtr resolveType(const std::string&, const SourceRange&) override { return nullptr; }
};

std::shared_ptr<torch::jit::CompilationUnit> Compile(const std::string& source) {
  auto cu = std::make_shared<torch::jit::CompilationUnit>();
  cu->define(std::nullopt, source, std::make_shared<TorchOpsResolver>(), nullptr);
  return cu;
}

const char* const kScript = R"JIT(
def relu(x):
    return torch.ops.rectifiers.relu(x)

def relu_inplace(x):
    y = x.clone()
    torch.ops.rectifiers.relu_(y)
    return y

def leaky_relu(x, slope: float):
    return torch.ops.rectifiers.leaky_relu(x, slope)

def leaky_relu_default(x):
    return torch.ops.rectifiers.leaky_relu(x)

def prelu(x, w):
    return torch.ops.rectifiers.prelu(x, w)

def abs_rectifier(x):
    return torch.ops.rectifiers.abs_rectifier(x)

def maxout(x, k: int, dim: int):
    return torch.ops.rectifiers.maxout(x, k, dim)

def maxout_default_dim(x, k: int):
    return torch.ops.rectifiers.maxout(x, k)

def maxout_with_indices(x, k: int):
    return torch.ops.rectifiers.maxout_with_indices(x, k, 1)

def chain(x, w):
    h = torch.ops.rectifiers.prelu(x, w)
    h = torch.ops.rectifiers.maxout(h, 2, 1)
    return torch.ops.rectifiers.abs_rectifier(h) + torch.ops.rectifiers.relu(h)
)JIT";

class TorchScriptTest : public DeviceTest {
 protected:
  static void SetUpTestSuite() { cu_ = Compile(kScript); }
  static void TearDownTestSuite() { cu_.reset(); }

  torch::Tensor Run(const std::string& name, std::vector<c10::IValue> args) {
    return cu_->get_function(name)(std::move(args)).toTensor();
  }

  static std::shared_ptr<torch::jit::CompilationUnit> cu_;
};

std::shared_ptr<torch::jit::CompilationUnit> TorchScriptTest::cu_;

TEST_P(TorchScriptTest, GraphsCallTheCustomOps) {
  // The script must have resolved to our operators, not to ATen's.
  const std::pair<const char*, const char*> expected[] = {
      {"relu", "rectifiers::relu"},       {"relu_inplace", "rectifiers::relu_"},
      {"leaky_relu", "rectifiers::leaky_relu"}, {"prelu", "rectifiers::prelu"},
      {"abs_rectifier", "rectifiers::abs_rectifier"}, {"maxout", "rectifiers::maxout"},
      {"maxout_with_indices", "rectifiers::maxout_with_indices"}};
  for (const auto& [function, op] : expected) {
    auto graph = torch::jit::toGraphFunction(cu_->get_function(function)).graph();
    EXPECT_NE(graph->toString().find(op), std::string::npos)
        << function << " graph:\n" << graph->toString();
  }
}

TEST_P(TorchScriptTest, ElementwiseOpsMatchReference) {
  for (auto dtype : kFloatingTypes) {
    SCOPED_TRACE(DtypeName(dtype));
    auto x = SpecialRandn({4, 6, 5}, dtype, device());
    EXPECT_TRUE(BitwiseEqual(Run("relu", {x}), torch::relu(x)));
    EXPECT_TRUE(BitwiseEqual(Run("relu_inplace", {x}), torch::relu(x)));
    EXPECT_TRUE(BitwiseEqual(Run("leaky_relu", {x, 0.2}), torch::leaky_relu(x, 0.2)));
    EXPECT_TRUE(BitwiseEqual(Run("leaky_relu_default", {x}), torch::leaky_relu(x, 0.01)));
    EXPECT_TRUE(BitwiseEqual(Run("abs_rectifier", {x}), torch::abs(x)));
    auto w = torch::linspace(-1, 1, 6, opts(dtype));
    EXPECT_TRUE(BitwiseEqual(Run("prelu", {x, w}), torch::prelu(x, w)));
  }
}

TEST_P(TorchScriptTest, MaxoutMatchesReference) {
  for (auto dtype : kFloatingTypes) {
    SCOPED_TRACE(DtypeName(dtype));
    auto x = SpecialRandn({4, 6, 10}, dtype, device());
    EXPECT_TRUE(BitwiseEqual(Run("maxout", {x, int64_t{5}, int64_t{-1}}),
                             std::get<0>(x.unflatten(2, {-1, 5}).max(3))));
    EXPECT_TRUE(BitwiseEqual(Run("maxout_default_dim", {x, int64_t{3}}),
                             std::get<0>(x.unflatten(1, {-1, 3}).max(2))));
    auto out = cu_->get_function("maxout_with_indices")({x, int64_t{2}}).toTuple();
    auto [ref_values, ref_indices] = x.unflatten(1, {-1, 2}).max(2);
    EXPECT_TRUE(BitwiseEqual(out->elements()[0].toTensor(), ref_values));
    EXPECT_EQ(out->elements()[1].toTensor().scalar_type(), torch::kByte);
    EXPECT_TRUE(BitwiseEqual(out->elements()[1].toTensor().to(torch::kLong), ref_indices));
  }
}

TEST_P(TorchScriptTest, ScriptedChainMatchesReferenceAndDifferentiates) {
  auto x = torch::randn({3, 4, 5}, opts(torch::kDouble)).requires_grad_(true);
  auto w = torch::tensor({0.1, -0.2, 0.3, 0.4}, opts(torch::kDouble)).requires_grad_(true);
  auto y = Run("chain", {x, w});
  auto h_ref = std::get<0>(torch::prelu(x, w).unflatten(1, {-1, 2}).max(2));
  auto y_ref = torch::abs(h_ref) + torch::relu(h_ref);
  EXPECT_TRUE(BitwiseEqual(y, y_ref));
  auto go = torch::randn_like(y);
  auto g = torch::autograd::grad({y}, {x, w}, {go});
  auto g_ref = torch::autograd::grad({y_ref}, {x, w}, {go});
  EXPECT_TRUE(BitwiseEqual(g[0], g_ref[0]));
  EXPECT_TRUE(AllClose(g[1], g_ref[1], 1e-12, 1e-12));
}

TEST_P(TorchScriptTest, SavedModuleLoadsAndTrains) {
  torch::jit::Module module("Net");
  module.register_parameter("weight", torch::full({6}, 0.25, opts()).requires_grad_(true),
                            /*is_buffer=*/false);
  module.define(R"JIT(
def forward(self, x):
    h = torch.ops.rectifiers.prelu(x, self.weight)
    return torch.ops.rectifiers.maxout(h, 3, 1)
)JIT",
                std::make_shared<TorchOpsResolver>());
  std::stringstream buffer;
  module.save(buffer);
  auto loaded = torch::jit::load(buffer, device());

  auto x = SpecialRandn({4, 6, 7}, torch::kFloat, device(), /*with_specials=*/false);
  auto out = loaded.forward({x}).toTensor();
  auto w_ref = torch::full({6}, 0.25, opts()).requires_grad_(true);
  auto ref = std::get<0>(torch::prelu(x, w_ref).unflatten(1, {-1, 3}).max(2));
  EXPECT_TRUE(BitwiseEqual(out, ref));

  out.sum().backward();
  ref.sum().backward();
  auto weight = loaded.attr("weight").toTensor();
  ASSERT_TRUE(weight.grad().defined()) << "the loaded module's parameter got no gradient";
  EXPECT_TRUE(AllClose(weight.grad(), w_ref.grad(), 1e-5, 1e-5));
}

RECTIFIERS_INSTANTIATE_DEVICE(TorchScriptTest);

}  // namespace
}  // namespace rectifiers_test
