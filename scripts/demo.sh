#!/usr/bin/env bash
# Runs the demo: installs and builds first (scripts/setup.sh), then the
# activation study (examples/activation_study.py): the same MLP and small CNN
# trained on 8x8 digits with ReLU, Leaky ReLU, PReLU, the absolute-value
# rectifier, maxout, ReLU6, RReLU, ELU and SELU, and with tanh and sigmoid as
# baselines. It prints a table (test accuracy, epochs to a training-loss
# threshold, time per epoch, parameters, dead units) and writes loss curves
# and a dead-unit chart to out/activation-study/. Arguments are passed on
# (e.g. --quick, --epochs N, --out DIR).
#
# The deployment demo (a model of every module, scripted, reloaded in Python
# and in C++) is examples/demo.py:
#   RECTIFIERS_CPP_BUILD=build python examples/demo.py [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
python examples/activation_study.py "$@"
