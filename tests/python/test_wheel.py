"""The package as a user installs it: `pip wheel --no-build-isolation .`
builds a wheel (from the same CMake build directory as the development
install, so nothing recompiles), which is installed into a fresh virtual
environment (with the system site-packages, for torch) and imported from a
fresh process outside the repository, where every op and its gradient is
compared with torch."""

import os
import subprocess
import sys
import textwrap
import zipfile

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# One worker builds the wheel for both tests: two workers would each run the
# module's fixture, two builds in the one build directory at once (ninja then
# fails, "failed recompaction").
pytestmark = pytest.mark.xdist_group("wheel")

EVERY_OP = textwrap.dedent(
    """
    import os, sys
    import torch
    import torch.nn.functional as F
    import rectifiers
    import rectifiers.functional as RF

    venv = sys.prefix
    for path in (rectifiers.__file__, rectifiers.library_path(), rectifiers._C.__file__):
        assert os.path.realpath(path).startswith(os.path.realpath(venv)), (path, venv)

    def same(a, b):
        torch.testing.assert_close(a, b, rtol=0, atol=0)

    x = torch.randn(4, 6, 5, dtype=torch.float64, requires_grad=True)
    w = torch.rand(6, dtype=torch.float64, requires_grad=True)
    cases = [
        (lambda t: RF.relu(t), torch.relu),
        (lambda t: RF.leaky_relu(t, 0.2), lambda t: F.leaky_relu(t, 0.2)),
        (lambda t: RF.abs_rectifier(t), torch.abs),
        (lambda t: RF.maxout(t, 2, 1), lambda t: t.unflatten(1, (-1, 2)).amax(2)),
    ]
    for ours, reference in cases:
        y, r = ours(x), reference(x)
        same(y, r)
        g = torch.randn_like(y)
        same(torch.autograd.grad(y, x, g)[0], torch.autograd.grad(r, x, g)[0])
    y, r = RF.prelu(x, w), F.prelu(x, w)
    same(y, r)
    g = torch.randn_like(y)
    (gx, gw), (rx, rw) = torch.autograd.grad(y, (x, w), g), torch.autograd.grad(r, (x, w), g)
    same(gx, rx)
    torch.testing.assert_close(gw, rw)  # a sum: its order is ours (docs/semantics.md)
    for inplace, reference in ((lambda t: RF.relu(t, inplace=True), torch.relu),
                               (lambda t: RF.leaky_relu(t, 0.2, inplace=True),
                                lambda t: F.leaky_relu(t, 0.2))):
        t = x.detach().clone()
        inplace(t)
        same(t, reference(x.detach()))
    values, indices = torch.ops.rectifiers.maxout_with_indices(x.detach(), 3, 1)
    reference = x.detach().unflatten(1, (-1, 3)).max(2)
    same(values, reference.values)
    same(indices.long(), reference.indices)
    print("every op ok:", rectifiers.__version__, rectifiers.build_info())
    """
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation", "--no-deps",
         "-w", str(out), ROOT],
        check=True, cwd=ROOT, timeout=1800,
    )
    (path,) = out.glob("rectifiers-*.whl")
    return path


def test_wheel_holds_the_module_and_the_library(wheel):
    import rectifiers

    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("rectifiers/_C.") and n.endswith(".so") for n in names), names
    assert "rectifiers/librectifiers.so" in names, names
    assert f"rectifiers-{rectifiers.__version__}" in wheel.name


def test_wheel_installs_into_a_fresh_venv_and_runs_every_op(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, timeout=300)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
                   check=True, timeout=600)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([python, "-c", EVERY_OP], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "every op ok" in done.stdout
