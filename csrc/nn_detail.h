// What the modules of nn.h share: printing options as the Python modules'
// extra_repr() does, and the checks of their options. Installed beside nn.h,
// which includes it.
#pragma once

#include <c10/util/Exception.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>

namespace rectifiers::nn {

namespace detail {

// A double as Python's repr() writes it, so that pretty_print() prints what the
// Python module's extra_repr() does: the shortest digits that read back as the
// same double, positional notation for exponents in [-4, 16) (with ".0" when
// there is no fractional part), scientific otherwise with a signed exponent of
// at least two digits, and inf, -inf, nan.
inline std::string python_float(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[32];
  // Shortest round-trip digits, as d[.ddd]e[+-]XX.
  const auto written =
      std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
  const std::string scientific(buffer, written.ptr);
  const size_t e = scientific.find('e');
  const bool negative = scientific[0] == '-';
  std::string digits;
  for (size_t i = negative ? 1 : 0; i < e; ++i) {
    if (scientific[i] != '.') digits += scientific[i];
  }
  const int exponent = std::atoi(scientific.c_str() + e + 1);
  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    out += digits[0];
    if (digits.size() > 1) out += "." + digits.substr(1);
    const std::string magnitude = std::to_string(std::abs(exponent));
    out += exponent < 0 ? "e-" : "e+";
    out += (magnitude.size() < 2 ? "0" : "") + magnitude;
  } else if (exponent < 0) {
    out += "0." + std::string(-exponent - 1, '0') + digits;
  } else {
    const size_t whole = exponent + 1;
    if (digits.size() <= whole) {
      out += digits + std::string(whole - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, whole) + "." + digits.substr(whole);
    }
  }
  return out;
}

// A bool as Python writes it (bias=True), for the same reason.
inline const char* python_bool(bool value) { return value ? "True" : "False"; }

// What the maxout ops take (1 <= pool_size <= the int32 maximum): checked where
// a module is built rather than left to the op, so that a bad module fails
// there, as the Python module does.
inline void check_pool_size(const char* module, int64_t pool_size) {
  TORCH_CHECK_VALUE(pool_size >= 1, module, ": pool_size must be >= 1, but got ", pool_size);
  TORCH_CHECK_VALUE(pool_size <= std::numeric_limits<int32_t>::max(), module,
                    ": pool_size must be <= ", std::numeric_limits<int32_t>::max(), ", but got ",
                    pool_size);
}

}  // namespace detail

}  // namespace rectifiers::nn
