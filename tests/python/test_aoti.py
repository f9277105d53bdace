"""AOTInductor deployment (README, "Deploying"): README's Python lines export a
model made of every rectifiers.nn module and compile it into a package; the
package runs in Python, in the C++ example load_aoti, and in README's own
main.cpp built against the installed package, and gives eager's outputs.

Inductor lowers every op of ours with a native twin; maxout's forward stays
a call of our kernel, which the package makes through the dispatcher, so
loading it without our library fails. One package serves every test: its
compile (C++: 10-25 s on two cores) overlaps with the build of README's
main.cpp.
"""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import zipfile

import pytest
import torch

import rectifiers
from rectifiers import nn as rn

from conftest import compile_caches_off
from test_cpp_package import installed, run  # noqa: F401  (installed is a fixture)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = os.path.join(ROOT, "README.md")

# One xdist worker runs them all (scripts/test.sh: --dist loadgroup): each
# worker would compile the package and build main.cpp for itself.
pytestmark = [pytest.mark.usefixtures("no_compile_caches"), pytest.mark.xdist_group("aoti")]


class EveryModule(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.head = rn.MaxoutLinear(4, 12, 2)
        self.acts = torch.nn.ModuleList([
            rn.ReLU(), rn.LeakyReLU(0.1), rn.PReLU(12, init=-0.2), rn.AbsRectifier(), rn.ReLU6(),
            rn.RReLU(0.1, 0.3), rn.ELU(0.5), rn.CELU(2.0), rn.SELU()])
        self.relu_ = rn.ReLU(inplace=True)
        self.maxout = rn.Maxout(3)

    def forward(self, x):
        h = self.head(x)
        h = torch.cat([act(h) for act in self.acts], 1)
        return self.maxout(h + self.relu_(h - 1))


def deploying_blocks():
    """README's Deploying section: its first block of each fence (py, cmake, cpp)
    as (first line number, code)."""
    with open(README) as f:
        text = f.read()
    start = text.index("\n## Deploying\n")
    end = text.index("\n## ", start + 1)
    blocks = {}
    for match in re.finditer(r"^```(\w+)\n(.*?)^```$", text[start:end], re.M | re.S):
        blocks.setdefault(match.group(1), (text.count("\n", 0, start + match.start(2)) + 1, match.group(2)))
    return blocks


@pytest.fixture(scope="module")
def readme_app_started(request, tmp_path_factory):
    """README's CMakeLists.txt and main.cpp, configured and built in the
    background against the installed package: (its directory, the build,
    its log), or why it cannot be (a string), so that the Python tests still
    run."""
    try:
        prefix = request.getfixturevalue("installed")
    except pytest.skip.Exception as e:
        yield str(e)
        return
    blocks = deploying_blocks()
    app = tmp_path_factory.mktemp("aoti_app")
    (app / "CMakeLists.txt").write_text(blocks["cmake"][1])
    (app / "main.cpp").write_text(blocks["cpp"][1])
    log = tmp_path_factory.mktemp("aoti_app_log") / "build.log"
    commands = (f'cmake -S . -B build -G Ninja -DCMAKE_PREFIX_PATH="{prefix}"\n'
                "cmake --build build\n")
    with open(log, "w") as out:
        proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", commands], cwd=app,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    yield app, proc, log
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def deployed(readme_app_started, tmp_path_factory):
    """README's Python lines run on EveryModule: their namespace (`program`,
    `path` the package, `compiled`). The C++ build starts first, so both
    compile at once."""
    line, code = deploying_blocks()["py"]
    torch.manual_seed(0)
    namespace = {"__name__": "__main__", "torch": torch, "rectifiers": rectifiers,
                 "model": EveryModule(), "x": torch.randn(4, 4)}
    with compile_caches_off(), contextlib.chdir(tmp_path_factory.mktemp("aoti")):
        # Padded so that a traceback names the README's own line.
        exec(compile("\n" * (line - 1) + code, README, "exec"), namespace)
        namespace["path"] = os.path.abspath(namespace["path"])
    return namespace


@pytest.fixture
def load_aoti(cpp_build):
    exe = os.path.join(cpp_build, "load_aoti")
    if not os.path.isfile(exe):
        pytest.skip(f"{exe} not found: rebuild with RECTIFIERS_BUILD_EXAMPLES=1 (scripts/setup.sh)")
    return exe


def eager(model, x):
    with torch.no_grad():
        return model(x)


def test_the_model_has_every_module(deployed):
    model = deployed["model"]
    assert {type(m).__name__ for m in model.modules()} >= set(rn.__all__)
    assert not model.training  # README's lines put it in eval mode: RReLU is deterministic


def test_export_keeps_our_ops(deployed):
    called = {node.target.name() for node in deployed["program"].graph.nodes
              if isinstance(node.target, torch._ops.OpOverload) and node.target.namespace == "rectifiers"}
    assert called == {f"rectifiers::{op}" for op in (
        "maxout", "relu", "leaky_relu", "prelu", "abs_rectifier", "relu6", "rrelu", "elu", "celu", "selu")}


def test_package_calls_only_maxout_of_ours(deployed):
    # AOTInductor writes the calls its generated code makes through the
    # dispatcher (its proxy executor) as a JSON list of nodes: Inductor lowered
    # every other op, MaxoutLinear's maxout and Maxout stay ours.
    externs = []
    with zipfile.ZipFile(deployed["path"]) as package:
        for name in package.namelist():
            if name.endswith(".json"):
                content = json.loads(package.read(name))
                if isinstance(content, dict) and "nodes" in content:
                    externs += [node["node"]["target"] for node in content["nodes"]]
    assert externs == ["rectifiers::maxout"] * 2


@pytest.mark.parametrize("batch", [4, 7])
def test_python_package_matches_eager(deployed, batch):
    x = torch.randn(batch, 4)
    # Inductor's code is not eager's: assert_close's float32 tolerance.
    torch.testing.assert_close(deployed["compiled"](x), eager(deployed["model"], x))


def test_package_needs_our_library(deployed):
    # torch alone: nothing imports rectifiers
    load = "import sys, torch; torch._inductor.aoti_load_package(sys.argv[1])"
    r = subprocess.run([sys.executable, "-c", load, deployed["path"]], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode != 0, r.stdout + r.stderr
    assert "RuntimeError: Could not find schema for rectifiers::maxout" in r.stderr, r.stderr


def test_cpp_load_aoti_matches_eager(deployed, load_aoti, tmp_path):
    x = torch.randn(5, 4)
    in_path, out_path = tmp_path / "in.pt", tmp_path / "out.pt"
    torch.save(x, in_path)
    r = subprocess.run([load_aoti, deployed["path"], in_path, out_path], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == f"load_aoti: {deployed['path']} -> output [5, 36]\n"
    torch.testing.assert_close(torch.load(out_path), eager(deployed["model"], x))
    # It holds our library although it calls none of it.
    assert re.search(r"^\s*librectifiers\.so => /", run(["ldd", load_aoti]).stdout, re.M)


def test_cpp_load_aoti_checks_its_arguments(load_aoti, tmp_path):
    r = subprocess.run([load_aoti], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == f"usage: {load_aoti} MODEL.pt2 INPUT.pt OUTPUT.pt\n"
    missing = tmp_path / "missing.pt2"
    r = subprocess.run([load_aoti, missing, missing, missing], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr.startswith(f"load_aoti: cannot load {missing}: "), r.stderr


@pytest.fixture(scope="module")
def readme_app(readme_app_started):
    if isinstance(readme_app_started, str):
        pytest.skip(readme_app_started)
    app, proc, log = readme_app_started
    try:
        proc.wait(timeout=900)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == 0, f"README's main.cpp did not build ({proc.returncode}):\n{log.read_text()}"
    return app / "build" / "my_app"


def test_readme_main_runs_the_package(deployed, readme_app):
    r = subprocess.run([readme_app, deployed["path"]], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == "[8, 36]\n"
    r = subprocess.run([readme_app], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr == f"usage: {readme_app} MODEL.pt2  (a package compiled in Python)\n"
