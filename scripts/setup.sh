#!/usr/bin/env bash
# Installs what rectifiers needs and builds it: one CMake build in build/
# (the op library, the Python extension, the GoogleTest suite and the C++
# examples), driven by pip's editable install of the package. Sourced by
# scripts/test.sh and scripts/demo.sh; a rerun recompiles only what changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need_apt=()
for pkg in cmake ninja-build g++ libgtest-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
  echo "setup: apt-get install ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

python -m pip install -q -r requirements.txt
export RECTIFIERS_BUILD_TESTS=1 RECTIFIERS_BUILD_EXAMPLES=1
python -m pip install -q --no-build-isolation -e .
python -c "import rectifiers; print('rectifiers', rectifiers.build_info())"
