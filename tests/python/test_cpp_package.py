"""The installed C++ package: `cmake --install` of the C++ build
(RECTIFIERS_CPP_BUILD), then the separate project examples/cpp/train_package
configured against the install prefix with find_package(Torch) and
find_package(rectifiers), built and run: it trains a model made of
rectifiers::nn modules, and a program of it that only torch::jit::load's a
model scripted here (calling nothing of the library) runs our ops.

Install, configure and build happen once per session (about a minute, most
of it compiling against the LibTorch headers)."""

import glob
import os
import re
import shutil
import subprocess

import pytest
import torch

from rectifiers import nn as rn

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(ROOT, "examples", "cpp", "train_package")

# torch.jit is deprecated in favour of torch.compile/export, yet supported.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:FutureWarning")


def run(cmd, **kwargs):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r


def libtorch_cuda_hints():
    """What LibTorch's own CMake config needs with pip's CUDA torch, for any
    consumer (README, "Using it from a C++ program"): the toolkit, and nvrtc
    from the pip wheels."""
    if torch.version.cuda is None:
        return []
    hints = []
    if os.path.isfile("/usr/local/cuda/bin/nvcc"):
        hints.append("-DCUDA_TOOLKIT_ROOT_DIR=/usr/local/cuda")
    site = os.path.dirname(os.path.dirname(torch.__file__))
    nvrtc = [p for p in sorted(glob.glob(os.path.join(site, "nvidia", "cu*", "lib", "libnvrtc.so.*"))
                               + glob.glob(os.path.join(site, "nvidia", "cuda_nvrtc", "lib", "libnvrtc.so.*")))
             if "builtins" not in p and "alt" not in os.path.basename(p)]
    if nvrtc:
        hints.append(f"-DCUDA_nvrtc_LIBRARY={nvrtc[0]}")
    return hints


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """The install prefix and the example's build directory."""
    build = os.path.abspath(os.environ.get("RECTIFIERS_CPP_BUILD", os.path.join(ROOT, "build")))
    if not os.path.isfile(os.path.join(build, "librectifiers.so")):
        pytest.skip(f"C++ build not found in {build} (run scripts/setup.sh)")
    for tool in ("cmake", "ninja"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not found")
    root = tmp_path_factory.mktemp("cpp_package")
    prefix, consumer = root / "prefix", root / "consumer"
    run(["cmake", "--install", build, "--prefix", prefix], timeout=120)
    config = prefix / "lib" / "cmake" / "rectifiers" / "rectifiersConfig.cmake"
    assert config.is_file(), f"{build} installs no package config: reconfigure it with CMake"

    env = dict(os.environ)
    env.setdefault("TORCH_CUDA_ARCH_LIST", "8.0;9.0")
    run(["cmake", "-S", EXAMPLE, "-B", consumer, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
         f"-DCMAKE_PREFIX_PATH={torch.utils.cmake_prefix_path};{prefix}", *libtorch_cuda_hints()],
        env=env, timeout=300)
    run(["cmake", "--build", consumer, "-j", str(os.cpu_count() or 1)], timeout=900)
    return prefix, consumer


def test_install_tree(package):
    prefix, _ = package
    for path in ["include/rectifiers/rectifiers.h", "include/rectifiers/nn.h", "lib/librectifiers.so",
                 "lib/cmake/rectifiers/rectifiersConfig.cmake",
                 "lib/cmake/rectifiers/rectifiersConfigVersion.cmake",
                 "lib/cmake/rectifiers/rectifiersTargets.cmake"]:
        assert (prefix / path).is_file(), path
    # The installed headers include each other as installed.
    assert '#include "rectifiers.h"' in (prefix / "include/rectifiers/nn.h").read_text()


def test_train_example_learns_and_reloads(package, tmp_path):
    _, consumer = package
    model = tmp_path / "model.pt"
    r = subprocess.run([consumer / "train_package", "--out", model], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    # The model really is made of our modules.
    for module in ["MaxoutLinear(in_features=2, out_features=32, pool_size=3, bias=true)",
                   "PReLU(num_parameters=32)", "LeakyReLU(negative_slope=0.1)",
                   "Maxout(pool_size=2, dim=1)", "AbsRectifier()", "ReLU(inplace=true)"]:
        assert f"rectifiers::nn::{module}" in out, module
    losses = [float(v) for v in re.findall(r"^step +\d+ +loss ([0-9.]+)$", out, re.M)]
    assert len(losses) >= 3, out
    assert losses[-1] < 0.5 * losses[0], losses
    assert losses[-1] < losses[1] < losses[0], losses
    accuracy = float(re.search(r"^accuracy ([0-9.]+)$", out, re.M).group(1))
    assert accuracy >= 0.9
    assert "reloaded: max |difference| 0\n" in out
    assert out.rstrip().endswith("PASS")
    assert model.is_file() and model.stat().st_size > 0


class EveryOp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.head = rn.MaxoutLinear(6, 4, 3)
        self.prelu = rn.PReLU(4, init=-0.2)
        self.relu_ = rn.ReLU(inplace=True)
        self.leaky = rn.LeakyReLU(0.2)
        self.absr = rn.AbsRectifier()
        self.maxout = rn.Maxout(2)

    def forward(self, x):
        h = self.prelu(self.head(x))
        h = self.leaky(h) + self.absr(h) - self.relu_(h.clone())
        return self.maxout(h)


def test_jit_load_only_consumer_runs_the_ops(package, tmp_path):
    prefix, consumer = package
    exe = consumer / "load_scripted"
    # It must use the installed library (and hold it although it calls none of it).
    ldd = run(["ldd", exe]).stdout
    assert re.search(rf"librectifiers\.so => {re.escape(str(prefix))}/lib/librectifiers\.so", ldd), ldd

    torch.manual_seed(0)
    model = EveryOp()
    scripted = torch.jit.script(model)
    graph = str(scripted.inlined_graph)
    for op in ["maxout", "prelu", "relu_", "leaky_relu", "abs_rectifier"]:
        assert f"rectifiers::{op}(" in graph, op
    model_path, in_path, out_path = tmp_path / "model.pt", tmp_path / "in.pt", tmp_path / "out.pt"
    scripted.save(str(model_path))
    x = torch.randn(5, 6)
    torch.save(x, in_path)
    r = subprocess.run([exe, model_path, in_path, out_path], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "load_scripted:" in r.stdout
    with torch.no_grad():
        expected = model(x)
    torch.testing.assert_close(torch.load(out_path), expected, rtol=1e-6, atol=1e-6)
