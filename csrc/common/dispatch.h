// The dtypes every op takes, written once: the kernels dispatch over these
// cases and checks::floating accepts exactly the dtypes they cover.
#pragma once

#include <ATen/Dispatch.h>

#define RECTIFIERS_DISPATCH_CASES(...) \
  AT_DISPATCH_CASE_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, __VA_ARGS__)

#define RECTIFIERS_DISPATCH_FLOATING(TYPE, NAME, ...) \
  AT_DISPATCH_SWITCH(TYPE, NAME, RECTIFIERS_DISPATCH_CASES(__VA_ARGS__))

namespace rectifiers {

inline bool is_dispatched(at::ScalarType dtype) {
  // The cases outside AT_DISPATCH_SWITCH (which throws for any other dtype):
  // they read the name the switch would have declared.
  [[maybe_unused]] constexpr const char* at_dispatch_name = "rectifiers::is_dispatched";
  switch (dtype) {
    RECTIFIERS_DISPATCH_CASES([] { return true; })
    default:
      return false;
  }
}

}  // namespace rectifiers
