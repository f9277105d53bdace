"""The deployment demo (examples/demo.py) in its quick mode, run as the
README says (RECTIFIERS_CPP_BUILD, default build/): it trains, scripts the
model, reloads it in Python and in C++ and prints PASS. And its model uses
every rectifiers.nn module, down to the scripted graph, as its text says.

The activation study's --quick is run by test_activation_study.py, and the
C++ examples by test_cpp_package.py."""

import importlib.util
import os
import re
import subprocess
import sys

import pytest
import torch

from rectifiers import nn as rnn

pytest.importorskip("sklearn")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO = os.path.join(ROOT, "examples", "demo.py")
BUILD = os.path.abspath(os.environ.get("RECTIFIERS_CPP_BUILD", os.path.join(ROOT, "build")))

# torch.jit is deprecated in favour of torch.compile/export, yet supported.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:FutureWarning")


def load_demo():
    spec = importlib.util.spec_from_file_location("rectifiers_demo", DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_model_uses_every_module_and_op():
    demo = load_demo()
    model = demo.DigitsNet().eval()
    used = {type(m).__name__ for m in model.modules() if type(m).__module__ == rnn.__name__}
    assert used == set(rnn.__all__)
    assert len(rnn.__all__) == 11
    graph = str(torch.jit.script(model).inlined_graph)
    # MaxoutLinear is maxout after an affine map; the eval-mode scripted
    # model is the one the demo compares, and RReLU runs there too.
    for op in ["relu", "maxout", "relu6", "prelu", "elu", "abs_rectifier", "leaky_relu", "rrelu",
               "celu", "selu"]:
        assert f"rectifiers::{op}(" in graph, op


def test_demo_quick_passes():
    if not os.path.isfile(os.path.join(BUILD, "load_scripted")):
        pytest.skip(f"{BUILD}/load_scripted not found: the demo's C++ half needs the C++ build "
                    "(scripts/setup.sh, or set RECTIFIERS_CPP_BUILD)")
    proc = subprocess.run([sys.executable, DEMO, "--quick"], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env=dict(os.environ, RECTIFIERS_CPP_BUILD=BUILD))
    out = proc.stdout
    assert proc.returncode == 0, f"demo failed ({proc.returncode}):\n{out}\n{proc.stderr}"
    assert out.rstrip().endswith("PASS")
    assert re.search(r"^steps +50$", out, re.M), out
    accuracy = float(re.search(r"^test accuracy +([0-9.]+)", out, re.M).group(1))
    assert 0.5 <= accuracy <= 1.0, out
    for check in ("reloaded", "C\\+\\+"):
        match = re.search(rf"^max \|python - {check}\| +(\S+) +\(ok\)$", out, re.M)
        assert match, out
        assert float(match.group(1)) <= 1e-4
    assert re.search(r"^C\+\+: load_scripted: .* -> output \[449, 10\]$", out, re.M), out
