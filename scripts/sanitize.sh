#!/usr/bin/env bash
# The sanitizer gate: builds the op library and the GoogleTest suite with
# AddressSanitizer + UndefinedBehaviorSanitizer (CUDA off) in build-sanitize/,
# then runs the GoogleTest suite and the differential fuzz test
# (tests/python/fuzz_ops.py, which loads that library into Python with the
# ASan runtime preloaded) against it. Any report fails the run.
# Run after scripts/setup.sh (it needs the installed torch and GoogleTest);
# scripts/test.sh runs it. RECTIFIERS_SANITIZE_FUZZ_SECONDS sets the fuzz budget.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${RECTIFIERS_SANITIZE_BUILD:-build-sanitize}"

# The AVX-512 kernels are left out unless this CPU runs them (the build is
# the longest step of CI): an AVX-512 CPU would run the AVX2 ones.
capabilities="DEFAULT;AVX2"
grep -qw avx512bw /proc/cpuinfo 2>/dev/null && capabilities="DEFAULT;AVX2;AVX512"
cmake -S . -B "$build" -G Ninja -DRECTIFIERS_SANITIZE=ON -DRECTIFIERS_CUDA=OFF \
  -DRECTIFIERS_CPU_CAPABILITIES="$capabilities" \
  -DRECTIFIERS_BUILD_EXAMPLES=OFF -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O1 \
  -DCMAKE_PREFIX_PATH="$(python -c 'import torch; print(torch.utils.cmake_prefix_path)')" >/dev/null
cmake --build "$build"

# Leaks are not checked: torch keeps process-lifetime allocations on purpose.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:detect_odr_violation=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

echo "== sanitizer: GoogleTest"
# One process for the whole suite: ctest would start one per test, and each
# start loads LibTorch under ASan.
"$build/rectifiers_tests" --gtest_brief=1

echo "== sanitizer: differential fuzz"
# libstdc++ too: python does not link it, and ASan must see its __cxa_throw
# when it starts.
LD_PRELOAD="$(g++ -print-file-name=libasan.so) $(g++ -print-file-name=libstdc++.so)" \
  python tests/python/fuzz_ops.py --seconds "${RECTIFIERS_SANITIZE_FUZZ_SECONDS:-45}" \
  --library "$build/librectifiers.so"
