"""The installed C++ package: `cmake --install` of the C++ build
(RECTIFIERS_CPP_BUILD), then

- README's recipe ("Using it from a C++ program"), taken from README.md so
  that it cannot drift: its CMakeLists.txt and main.cpp, built and run with
  the commands it gives, which need no CUDA toolkit;
- the separate project examples/cpp/train_package, which calls
  find_package(Torch) itself (with LibTorch's CUDA hints) before
  find_package(rectifiers): it trains a model made of every rectifiers::nn
  module, and a program of it that only torch::jit::load's a model scripted
  here (calling nothing of the library) runs our ops;
- the RUNPATH of the installed and of the build tree's library.

Install, configure and build happen once per session (about a minute for
each project, most of it compiling against the LibTorch headers)."""

import glob
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys

import pytest
import torch

from rectifiers import nn as rn

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(ROOT, "examples", "cpp", "train_package")
README = os.path.join(ROOT, "README.md")
BUILD = os.path.abspath(os.environ.get("RECTIFIERS_CPP_BUILD", os.path.join(ROOT, "build")))

# torch.jit is deprecated in favour of torch.compile/export, yet supported.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:FutureWarning")


def run(cmd, **kwargs):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r


def libtorch_cuda_hints():
    """What LibTorch's own CMake config needs with pip's CUDA torch in a
    project that calls find_package(Torch) itself (README, "Using it from a
    C++ program"): the toolkit, and nvrtc from the pip wheels."""
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
def installed(tmp_path_factory):
    """The install prefix."""
    if not os.path.isfile(os.path.join(BUILD, "librectifiers.so")):
        pytest.skip(f"C++ build not found in {BUILD} (run scripts/setup.sh)")
    for tool in ("cmake", "ninja"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not found")
    prefix = tmp_path_factory.mktemp("cpp_package") / "prefix"
    run(["cmake", "--install", BUILD, "--prefix", prefix], timeout=120)
    config = prefix / "lib" / "cmake" / "rectifiers" / "rectifiersConfig.cmake"
    assert config.is_file(), f"{BUILD} installs no package config: reconfigure it with CMake"
    return prefix


@pytest.fixture(scope="module")
def package(installed, readme_started, tmp_path_factory):
    """The install prefix and the example's build directory."""
    prefix, consumer = installed, tmp_path_factory.mktemp("train_package")
    env = dict(os.environ)
    env.setdefault("TORCH_CUDA_ARCH_LIST", "8.0;9.0")
    run(["cmake", "-S", EXAMPLE, "-B", consumer, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
         f"-DCMAKE_PREFIX_PATH={torch.utils.cmake_prefix_path};{prefix}", *libtorch_cuda_hints()],
        env=env, timeout=300)
    run(["cmake", "--build", consumer, "-j", str(os.cpu_count() or 1)], timeout=900)
    return prefix, consumer


def test_install_tree(installed):
    prefix = installed
    for path in ["include/rectifiers/rectifiers.h", "include/rectifiers/nn.h",
                 "include/rectifiers/nn_detail.h", "lib/librectifiers.so",
                 "lib/cmake/rectifiers/rectifiersConfig.cmake",
                 "lib/cmake/rectifiers/rectifiersConfigVersion.cmake",
                 "lib/cmake/rectifiers/rectifiersTargets.cmake"]:
        assert (prefix / path).is_file(), path
    # The installed headers include each other as installed.
    assert '#include "rectifiers.h"' in (prefix / "include/rectifiers/nn.h").read_text()
    assert '#include "nn_detail.h"' in (prefix / "include/rectifiers/nn.h").read_text()


def test_train_example_learns_and_reloads(package, tmp_path):
    _, consumer = package
    model = tmp_path / "model.pt"
    r = subprocess.run([consumer / "train_package", "--out", model], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    # The model really is made of our modules, every one of them (the
    # README says so), with the options the example gives.
    printed = re.findall(r"^  \(\d+\): rectifiers::nn::(\w+)\((.*)\)$", out, re.M)
    assert sorted(name for name, _ in printed) == sorted(rn.__all__), out
    options = dict(printed)
    assert options["MaxoutLinear"] == "in_features=2, out_features=32, pool_size=3, bias=True"
    assert options["ReLU"] == "inplace=True"
    assert options["PReLU"] == "num_parameters=32"
    assert options["LeakyReLU"] == "negative_slope=0.1"
    assert options["Maxout"] == "pool_size=2, dim=1"
    assert options["AbsRectifier"] == options["SELU"] == options["ReLU6"] == ""
    assert options["ELU"] == options["CELU"] == "alpha=0.5"
    assert options["RReLU"] == "lower=0.1, upper=0.3"
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


def readme_recipe():
    """README's C++ recipe: its CMakeLists.txt, its main.cpp, and the commands
    it runs in the project's directory (those after its `cd`)."""
    with open(README) as f:
        text = f.read()
    section = text[text.index("### Using it from a C++ program"):]
    section = section[:section.index("\n## ")]
    blocks = {}
    for match in re.finditer(r"^```(\w+)\n(.*?)^```$", section, re.M | re.S):
        blocks.setdefault(match.group(1), match.group(2))  # the first of each kind
    commands = blocks["bash"].splitlines()
    cd = next(i for i, line in enumerate(commands) if line.startswith("cd "))
    return blocks["cmake"], blocks["cpp"], "\n".join(commands[cd + 1:]) + "\n"


@pytest.fixture(scope="module")
def readme_started(installed, tmp_path_factory):
    """README's project, its commands started in the background against the
    install: (its directory, the running commands, their output file). The
    package fixture starts this first, so that the one-file build compiles
    on the core that train_package's build leaves idle."""
    cmakelists, main_cpp, commands = readme_recipe()
    app = tmp_path_factory.mktemp("my_app")
    (app / "CMakeLists.txt").write_text(cmakelists)
    (app / "main.cpp").write_text(main_cpp)
    # The commands' `python` is this interpreter, whatever PATH says.
    env = dict(os.environ, PREFIX=str(installed),
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    output = tmp_path_factory.mktemp("my_app_output") / "commands.log"
    with open(output, "w") as log:
        proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", commands], cwd=app, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    yield app, proc, output
    if proc.poll() is None:  # a run that never needed the result
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def readme_app(readme_started):
    """README's project, built and run by README's commands: (its directory,
    what the commands printed)."""
    app, proc, output = readme_started
    try:
        proc.wait(timeout=900)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    out = output.read_text()
    assert proc.returncode == 0, f"README's commands failed ({proc.returncode}):\n{readme_recipe()[2]}\n{out}"
    return app, out


def test_readme_recipe_needs_no_cuda_toolkit(readme_app):
    app, _ = readme_app
    _, _, commands = readme_recipe()
    configure = next(line for line in commands.splitlines() if line.startswith("cmake -S"))
    assert "CUDA" not in configure
    cache = (app / "build" / "CMakeCache.txt").read_text()
    # LibTorch's CUDA detection never ran: it would have left these behind.
    for variable in ("CUDA_TOOLKIT_ROOT_DIR", "CMAKE_CUDA_COMPILER", "CUDAToolkit_",
                     "CUDA_NVRTC_LIB"):
        assert variable not in cache, variable
    if torch.version.cuda is not None:
        assert "libc10_cuda.so" in cache  # it is this CUDA LibTorch that was found


def test_readme_recipe_runs(readme_app):
    app, out = readme_app
    # After CMake's and ninja's lines: net->forward's sizes, then the scripted
    # model's output on a batch of 2.
    assert re.search(r"^\[4, 4\]\n(?:.*\n){2}\[ CPUFloatType\{2,3\} \]\n\Z", out, re.M), out
    exe = app / "build" / "my_app"
    ldd = run(["ldd", exe]).stdout
    assert "not found" not in ldd, ldd
    assert "librectifiers.so => " in ldd, ldd


def test_readme_main_validates_its_argument(readme_app, tmp_path):
    app, _ = readme_app
    exe = app / "build" / "my_app"
    r = subprocess.run([exe], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr == f"usage: {exe} MODEL.pt  (a model scripted in Python)\n"
    assert r.stdout == ""
    missing = tmp_path / "missing.pt"
    r = subprocess.run([exe, missing], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr.startswith(f"cannot load {missing}: "), r.stderr


def runpath(library):
    dynamic = run(["readelf", "-d", library]).stdout
    paths = re.findall(r"\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[(.*)\]", dynamic)
    assert len(paths) == 1, dynamic
    return paths[0].split(":"), re.findall(r"\(NEEDED\)\s+Shared library: \[(.*)\]", dynamic)


@pytest.mark.parametrize("where", ["installed", "build tree"])
def test_runpath_holds_existing_directories_only(where, installed):
    library = (installed / "lib" if where == "installed" else pathlib.Path(BUILD)) / "librectifiers.so"
    entries, needed = runpath(library)
    for entry in entries:
        # An empty entry is the current directory to the dynamic loader.
        assert entry and os.path.isdir(entry), f"{library}: RUNPATH entry {entry!r} in {entries}"
    torch_lib = os.path.realpath(os.path.join(os.path.dirname(torch.__file__), "lib"))
    assert torch_lib in {os.path.realpath(entry) for entry in entries}, entries
    # Each LibTorch or CUDA library it needs is in one of them, so nothing
    # needs LD_LIBRARY_PATH.
    ours = [lib for lib in needed if lib.startswith(("libtorch", "libc10", "libcudart", "libnvrtc"))]
    assert "libtorch.so" in ours, needed
    for lib in ours:
        assert any(os.path.isfile(os.path.join(entry, lib)) for entry in entries), (lib, entries)
