#!/usr/bin/env bash
# Runs every test: installs and builds first (scripts/setup.sh), then the
# GoogleTest suite and the pytest suite. CUDA cases skip without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== GoogleTest"
(cd build && ctest --output-on-failure -j "$(nproc)")
echo "== pytest"
RECTIFIERS_CPP_BUILD="$PWD/build" python -m pytest -q -p no:cacheprovider tests/python "$@"
