#!/usr/bin/env bash
# Runs every test: installs and builds first (scripts/setup.sh), then the
# GoogleTest suite, the pytest suite (the differential fuzz test included)
# and the sanitizer gate (scripts/sanitize.sh: the GoogleTest suite and the
# fuzz test again, under ASan + UBSan). CUDA cases skip without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== GoogleTest"
(cd build && ctest --output-on-failure -j "$(nproc)")
echo "== pytest"
# One worker per core (pytest-xdist): the suite is mostly single-threaded.
# loadgroup: a module marked xdist_group runs on one worker, which builds its
# module-scoped fixtures once.
RECTIFIERS_CPP_BUILD="$PWD/build" python -m pytest -q -p no:cacheprovider -n "$(nproc)" --dist loadgroup \
  tests/python "$@"
echo "== sanitizers"
bash scripts/sanitize.sh
