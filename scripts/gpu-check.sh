#!/usr/bin/env bash
# The prepared check for a lent GPU machine (torch + CUDA + nvcc there, no
# internet): builds the package in place for this GPU's arch (the one CMake
# build, every CPU instruction-set build included), runs the CUDA tests
# (gradcheck on CUDA included), each CPU instruction-set build against torch,
# and a quick GPU benchmark against PyTorch native, prints a summary, and
# copies its log to $OUT when that is set.
# Budget: under 10 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
log="${OUT:-/tmp}/gpu-check.log"
exec > >(tee "$log") 2>&1
start=$SECONDS
status() { printf '%-28s %s\n' "$1" "$2" >>/tmp/gpu-check-summary; }
: >/tmp/gpu-check-summary

nvidia-smi -L || true
python -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
arch=$(python -c "import torch; print('%d.%d' % torch.cuda.get_device_capability())")
export TORCH_CUDA_ARCH_LIST="$arch" RECTIFIERS_CUDA=1 MAX_JOBS="$(nproc)" PYTHONPATH="$PWD/python"

echo "== build (arch $arch)"
if timeout 240 python setup.py -q build_ext --inplace >/tmp/gpu-build.log 2>&1; then
  status build "ok ($((SECONDS - start)) s)"
else
  grep -m10 -A3 'error:' /tmp/gpu-build.log | cut -c1-300; status build FAILED
fi
echo "== build_info"
if info=$(timeout 60 python -c "import rectifiers; print(rectifiers.build_info())" 2>&1); then
  status build_info "$info"
else
  status build_info "FAILED: $(echo "$info" | tail -2)"
fi

echo "== CUDA tests"
timeout 180 python -m pytest -q -p no:cacheprovider tests/python/test_cuda.py \
  tests/python/test_ops.py tests/python/test_autograd.py tests/python/test_autocast.py \
  tests/python/test_functional_paths.py tests/python/test_modules.py tests/python/test_rrelu.py \
  tests/python/test_masks.py \
  -k cuda -rf 2>&1 | tail -40
status "CUDA tests" "$(grep -E '[0-9]+ (passed|failed)' "$log" | tail -1)"

echo "== compiled on CUDA (Inductor as native, CUDA graphs, compiled autograd)"
timeout 240 python -m pytest -q -p no:cacheprovider tests/python/test_inductor.py \
  tests/python/test_compiled_autograd.py -k cuda -rf 2>&1 | tail -30
status "compiled CUDA tests" "$(grep -E '[0-9]+ (passed|failed)' "$log" | tail -1)"

echo "== CPU builds (default, AVX2, AVX-512)"
timeout 90 python -m pytest -q -p no:cacheprovider tests/python/test_cpu_capabilities.py -rs 2>&1 | tail -8
status "CPU builds" "$(grep -E '[0-9]+ (passed|failed|skipped)' "$log" | tail -1)"

if [ "${GPU_CHECK_BENCH:-1}" = 1 ]; then
  echo "== GPU benchmark (quick)"
  timeout 60 python benchmarks/bench.py --device cuda --quick 2>&1 | tail -60
  status benchmark "exit ${PIPESTATUS[0]}"
  echo "== GPU compiled training step (relu, leaky_relu, prelu, maxout)"
  timeout 150 python benchmarks/bench.py --device cuda --compiled --ops relu,leaky_relu,prelu,maxout \
    --repeats 5 2>&1 | tail -20
  status "compiled benchmark" "exit ${PIPESTATUS[0]}"
fi

echo "== summary ($((SECONDS - start)) s)"
cat /tmp/gpu-check-summary
