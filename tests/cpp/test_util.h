// Shared helpers for the GoogleTest suite: the device parameter and dtype loop,
// input generators with IEEE special values mixed in, the memory layouts the
// ops must handle, and comparisons that report the first mismatch.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace rectifiers_test {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

inline const std::vector<c10::DeviceType> kDevices = {torch::kCPU, torch::kCUDA};
inline const std::vector<torch::ScalarType> kFloatingTypes = {torch::kHalf, torch::kBFloat16,
                                                              torch::kFloat, torch::kDouble};

inline std::string DeviceName(c10::DeviceType type) {
  return type == torch::kCUDA ? "CUDA" : "CPU";
}

inline std::string DtypeName(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kHalf: return "Float16";
    case torch::kBFloat16: return "BFloat16";
    case torch::kFloat: return "Float32";
    case torch::kDouble: return "Float64";
    default: return c10::toString(dtype);
  }
}

// GTEST_SKIP must run in the test body (it returns from the calling function).
#define RECTIFIERS_SKIP_WITHOUT(device_type)                                              \
  do {                                                                                    \
    if ((device_type) == torch::kCUDA && !torch::cuda::is_available()) {                  \
      GTEST_SKIP() << "CUDA case skipped: torch::cuda::is_available() is false (no GPU " \
                      "or LibTorch built without CUDA)";                                  \
    }                                                                                     \
  } while (0)

// ---- parameter fixtures ----------------------------------------------------

class DeviceTest : public ::testing::TestWithParam<c10::DeviceType> {
 protected:
  void SetUp() override {
    RECTIFIERS_SKIP_WITHOUT(GetParam());
    torch::manual_seed(0);
  }
  torch::Device device() const { return torch::Device(GetParam()); }
  torch::TensorOptions opts(torch::ScalarType dtype = torch::kFloat) const {
    return torch::TensorOptions().dtype(dtype).device(device());
  }
};

inline std::string DeviceParamName(const ::testing::TestParamInfo<c10::DeviceType>& info) {
  return DeviceName(info.param);
}

// Device is the test parameter; each test body loops over the four floating
// dtypes (UseDtype + SCOPED_TRACE). One ctest process per device x dtype would
// mean 4x the processes, each paying LibTorch's start-up.
class DeviceDtypeTest : public DeviceTest {
 protected:
  void UseDtype(torch::ScalarType dtype) {
    dtype_ = dtype;
    torch::manual_seed(0);
  }
  torch::ScalarType dtype() const { return dtype_; }
  torch::TensorOptions opts() const { return DeviceTest::opts(dtype_); }
  torch::TensorOptions opts(torch::ScalarType dtype) const { return DeviceTest::opts(dtype); }

 private:
  torch::ScalarType dtype_ = torch::kFloat;
};

#define RECTIFIERS_INSTANTIATE_DEVICE(Suite)                                              \
  INSTANTIATE_TEST_SUITE_P(AllDevices, Suite,                                             \
                           ::testing::ValuesIn(::rectifiers_test::kDevices),              \
                           ::rectifiers_test::DeviceParamName)

// ---- inputs ----------------------------------------------------------------

// Standard normal values (scaled by 3) in float64 on the CPU, then about 4% each
// of +0, -0, +inf, -inf and NaN, and about 20% rounded to integers (so maxout
// groups contain ties, including -0 vs +0 ties), converted to dtype on device.
inline torch::Tensor SpecialRandn(torch::IntArrayRef sizes, torch::ScalarType dtype,
                                  torch::Device device, bool with_specials = true) {
  auto x = torch::randn(sizes, torch::kDouble) * 3;
  if (with_specials) {
    auto u = torch::rand(sizes, torch::kDouble);
    const double specials[] = {0.0, -0.0, kInf, -kInf, kNaN};
    x = torch::where((u >= 0.6) & (u < 0.8), torch::round(x), x);
    for (int i = 0; i < 5; ++i) {
      x.masked_fill_((u >= 0.8 + 0.04 * i) & (u < 0.84 + 0.04 * i), specials[i]);
    }
  }
  return x.to(device, dtype);
}

enum class Layout {
  Contiguous, ChannelsLast, Transposed, Sliced, Expanded, Empty, Large, Scalar
};

inline const char* LayoutName(Layout layout) {
  switch (layout) {
    case Layout::Contiguous: return "contiguous";
    case Layout::ChannelsLast: return "channels_last";
    case Layout::Transposed: return "transposed";
    case Layout::Sliced: return "sliced (non-dense view)";
    case Layout::Expanded: return "expanded (stride 0 in dim 2)";
    case Layout::Empty: return "empty";
    case Layout::Large: return "large contiguous (vectorised + threaded path)";
    case Layout::Scalar: return "0-dim";
  }
  return "?";
}

// Layouts of a 4-D (N, C=6, H, W) input; elementwise ops also take Scalar.
inline const std::vector<Layout> kLayouts4d = {Layout::Contiguous, Layout::ChannelsLast,
                                               Layout::Transposed, Layout::Sliced,
                                               Layout::Expanded,   Layout::Empty,
                                               Layout::Large};

// Every 4-D layout has size 6 in dim 1, so prelu weights of 6 and maxout pools
// of 1, 2, 3, 6 along dim 1 apply to all of them.
inline torch::Tensor MakeInput(Layout layout, torch::ScalarType dtype, torch::Device device,
                               bool with_specials = true) {
  switch (layout) {
    case Layout::Contiguous:
      return SpecialRandn({2, 6, 3, 5}, dtype, device, with_specials);
    case Layout::ChannelsLast: {
      auto x = SpecialRandn({2, 6, 3, 5}, dtype, device, with_specials)
                   .contiguous(torch::MemoryFormat::ChannelsLast);
      TORCH_INTERNAL_ASSERT(!x.is_contiguous());
      return x;
    }
    case Layout::Transposed: {
      auto x = SpecialRandn({2, 5, 3, 6}, dtype, device, with_specials).transpose(1, 3);
      TORCH_INTERNAL_ASSERT(!x.is_contiguous() && x.size(1) == 6);
      return x;
    }
    case Layout::Sliced: {
      // Every other element of the last dim and a narrowed dim 2: not dense.
      auto x = SpecialRandn({2, 6, 5, 10}, dtype, device, with_specials)
                   .slice(3, 0, 10, 2)
                   .narrow(2, 1, 3);
      TORCH_INTERNAL_ASSERT(!x.is_contiguous());
      return x;
    }
    case Layout::Expanded:
      return SpecialRandn({2, 6, 1, 5}, dtype, device, with_specials).expand({2, 6, 3, 5});
    case Layout::Empty:
      return SpecialRandn({0, 6, 3, 5}, dtype, device, with_specials);
    case Layout::Large: {
      // 42000 elements: above ATen's parallel grain size (32768), so the
      // vectorised loop runs threaded, with a tail. Generated once: making
      // it takes ~10 threaded ops, slow on a loaded machine.
      static std::map<bool, torch::Tensor> cache;
      auto& base = cache[with_specials];
      if (!base.defined()) base = SpecialRandn({2, 6, 50, 70}, torch::kDouble, torch::kCPU,
                                               with_specials);
      return base.to(device, dtype, /*non_blocking=*/false, /*copy=*/true);
    }
    case Layout::Scalar:
      return SpecialRandn({}, dtype, device, with_specials);
  }
  return {};
}

// An incoming gradient shaped and laid out like t: finite, with exact zeros
// of both signs mixed in.
inline torch::Tensor GradLike(const torch::Tensor& t) {
  auto g = torch::randn(t.sizes(), torch::kDouble);
  auto u = torch::rand(t.sizes(), torch::kDouble);
  g.masked_fill_(u < 0.05, 0.0);
  g.masked_fill_((u >= 0.05) & (u < 0.1), -0.0);
  auto out = torch::empty_like(t.detach(), torch::MemoryFormat::Preserve);
  out.copy_(g);
  return out;
}

// ---- comparisons -----------------------------------------------------------

inline std::string Describe(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.scalar_type() << t.sizes() << " strides " << t.strides() << " on " << t.device();
  return s.str();
}

inline torch::ScalarType BitsType(torch::ScalarType dtype) {
  switch (c10::elementSize(dtype)) {
    case 1: return torch::kByte;
    case 2: return torch::kShort;
    case 4: return torch::kInt;
    default: return torch::kLong;
  }
}

// Bitwise equality: same dtype and shape, NaN in the same positions, and
// every other element (signed zeros and infinities included) with the same
// bits. Integer tensors are compared exactly.
inline ::testing::AssertionResult BitwiseEqual(const torch::Tensor& actual,
                                               const torch::Tensor& expected) {
  if (!actual.defined() || !expected.defined()) {
    return ::testing::AssertionFailure() << "undefined tensor (actual defined: "
                                         << actual.defined()
                                         << ", expected defined: " << expected.defined() << ")";
  }
  if (actual.scalar_type() != expected.scalar_type() || actual.sizes() != expected.sizes()) {
    return ::testing::AssertionFailure()
           << "actual is " << Describe(actual) << ", expected " << Describe(expected);
  }
  auto a = actual.detach().cpu().contiguous();
  auto e = expected.detach().cpu().contiguous();
  torch::Tensor mismatch;
  if (a.is_floating_point()) {
    auto a_nan = torch::isnan(a), e_nan = torch::isnan(e);
    auto bits_differ = a.view(BitsType(a.scalar_type())) != e.view(BitsType(e.scalar_type()));
    mismatch = (a_nan != e_nan) | (bits_differ & ~a_nan);
  } else {
    mismatch = a != e;
  }
  const int64_t count = mismatch.sum().item<int64_t>();
  if (count == 0) return ::testing::AssertionSuccess();
  auto first = mismatch.reshape(-1).nonzero()[0][0].item<int64_t>();
  auto af = a.reshape(-1), ef = e.reshape(-1);
  std::ostringstream s;
  s.precision(17);
  s << count << " of " << a.numel() << " elements differ (" << Describe(actual)
    << "); first at flat index " << first << ": actual " << af[first].item<double>()
    << ", expected " << ef[first].item<double>();
  if (a.is_floating_point()) {
    s << " (bits " << af.view(BitsType(a.scalar_type()))[first].item<int64_t>() << " vs "
      << ef.view(BitsType(a.scalar_type()))[first].item<int64_t>() << ")";
  }
  return ::testing::AssertionFailure() << s.str();
}

// Elementwise closeness for reductions (NaN equal to NaN, infinities exact).
inline ::testing::AssertionResult AllClose(const torch::Tensor& actual,
                                           const torch::Tensor& expected, double rtol,
                                           double atol) {
  if (!actual.defined() || !expected.defined()) {
    return ::testing::AssertionFailure() << "undefined tensor";
  }
  if (actual.scalar_type() != expected.scalar_type() || actual.sizes() != expected.sizes()) {
    return ::testing::AssertionFailure()
           << "actual is " << Describe(actual) << ", expected " << Describe(expected);
  }
  auto a = actual.detach().cpu().to(torch::kDouble);
  auto e = expected.detach().cpu().to(torch::kDouble);
  if (torch::allclose(a, e, rtol, atol, /*equal_nan=*/true)) return ::testing::AssertionSuccess();
  auto close = torch::isclose(a, e, rtol, atol, /*equal_nan=*/true).reshape(-1);
  auto first = (~close).nonzero()[0][0].item<int64_t>();
  std::ostringstream s;
  s.precision(17);
  s << "not close (rtol " << rtol << ", atol " << atol << ", " << Describe(actual)
    << "); first at flat index " << first << ": actual " << a.reshape(-1)[first].item<double>()
    << ", expected " << e.reshape(-1)[first].item<double>();
  return ::testing::AssertionFailure() << s.str();
}

// Tolerances for a value that went through a float reduction in dtype.
inline double ReductionRtol(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kHalf: return 1e-2;
    case torch::kBFloat16: return 5e-2;
    case torch::kFloat: return 1e-5;
    default: return 1e-12;
  }
}

// Runs fn; it must throw c10::Error whose message contains every needle.
// The message is what() without the C++ backtrace that what() may append:
// the backtrace names functions such as rectifiers::relu, which would let a
// message that does not name the op pass.
inline ::testing::AssertionResult ThrowsWith(const std::function<void()>& fn,
                                             std::initializer_list<std::string> needles) {
  try {
    fn();
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    for (const auto& needle : needles) {
      if (what.find(needle) == std::string::npos) {
        return ::testing::AssertionFailure()
               << "c10::Error message lacks \"" << needle << "\":\n" << e.what_without_backtrace();
      }
    }
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-c10 exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

// torch.relu etc. work on the tensor given; our op must leave its input alone.
inline torch::Tensor Snapshot(const torch::Tensor& t) { return t.detach().clone(); }

}  // namespace rectifiers_test
