#!/usr/bin/env bash
# Installs what rectifiers needs, builds the Python extension (in place) and
# the C++ targets (in build/). Sourced by scripts/test.sh and scripts/demo.sh;
# safe to rerun (incremental).
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
# Without a GPU, give nvcc explicit archs (it would otherwise build them all).
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-8.0;9.0}"
export MAX_JOBS="${MAX_JOBS:-$(nproc)}"
python -m pip install -q --no-build-isolation -e .

# RECTIFIERS_CMAKE_CUDA=OFF leaves the CUDA kernels out of the C++ build
# (the Python extension above still compiles them).
cmake -S . -B build -G Ninja -DRECTIFIERS_CUDA="${RECTIFIERS_CMAKE_CUDA:-AUTO}" \
  -DCMAKE_PREFIX_PATH="$(python -c 'import torch; print(torch.utils.cmake_prefix_path)')" >/dev/null
cmake --build build
python -c "import rectifiers; print('rectifiers', rectifiers.build_info())"
