#!/usr/bin/env bash
# Runs the demo: installs and builds first (scripts/setup.sh), then trains a
# small model that uses every module, scripts it, and reloads it in Python
# and in C++ (build/load_scripted).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
RECTIFIERS_CPP_BUILD="$PWD/build" python examples/demo.py "$@"
