"""TorchScript: torch.jit.script and torch.jit.trace of models that use every
module and the functional API; save, then load in a fresh Python process and in
C++ (build/load_scripted), and compare with eager. Backward through a loaded
model works in both this process and the fresh one."""

import os
import subprocess
import sys
import textwrap
from typing import List

import pytest
import torch

import rectifiers
from rectifiers import functional as RF
from rectifiers import nn as rn

EXACT = dict(rtol=0, atol=0)

# torch.jit is deprecated in favour of torch.compile/export, yet supported; the
# contract (README, docs/semantics.md) requires it.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:FutureWarning")


class EveryModule(torch.nn.Module):
    """Uses every rectifiers.nn module (in-place variants included)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.prelu_c = rn.PReLU(8, init=0.1)
        self.relu = rn.ReLU()
        self.relu_ = rn.ReLU(inplace=True)
        self.leaky = rn.LeakyReLU(0.2)
        self.leaky_ = rn.LeakyReLU(0.05, inplace=True)
        self.absr = rn.AbsRectifier()
        self.relu6 = rn.ReLU6()
        self.relu6_ = rn.ReLU6(inplace=True)
        self.elu = rn.ELU(0.5)
        self.elu_ = rn.ELU(1.5, inplace=True)
        self.celu = rn.CELU(2.0)
        self.celu_ = rn.CELU(0.5, inplace=True)
        self.selu = rn.SELU()
        self.selu_ = rn.SELU(inplace=True)
        self.maxout = rn.Maxout(2, dim=1)
        self.head = rn.MaxoutLinear(4 * 4 * 4, 5, 3)
        self.prelu_1 = rn.PReLU()
        with torch.no_grad():
            self.prelu_c.weight.copy_(torch.linspace(-0.4, 0.6, 8))
            self.prelu_1.weight.fill_(-0.3)

    def forward(self, x):
        h = self.conv(x)
        h = self.prelu_c(h) + self.relu(h) - self.absr(h) + self.leaky(h)
        # (scaled back: the values stay in the range the C++ comparison's tolerance is for)
        h = (h + self.relu6(h * 4.0) + self.elu(h) - self.celu(h) + self.selu(h)) * 0.25
        # each in-place module on a tensor of its own: each saves its result
        h = (self.relu6_(h * 4.0) + self.elu_(h * 1.5) - self.celu_(h - 0.5)
             + self.selu_(h * 0.5)) * 0.25
        h = self.leaky_(h * 2.0)
        h = self.maxout(h)  # (N, 4, 4, 4)
        h = self.relu_(h - 0.1)
        return self.prelu_1(self.head(h.flatten(1)))


class EveryFunctional(torch.nn.Module):
    """Calls every function of rectifiers.functional, in-place forms included."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.linspace(-0.5, 0.5, 3))
        self.proj = torch.nn.Parameter(torch.linspace(-1.0, 1.0, 3 * 6).reshape(6, 3))

    def forward(self, x):
        a = RF.relu(x) + RF.leaky_relu(x, 0.3) + RF.prelu(x, self.weight)
        b = RF.abs_rectifier(x) - RF.leaky_relu(x)  # default slope
        c = (RF.relu6(x * 4.0) + RF.elu(x) + RF.elu(x, -0.5) - RF.celu(x) + RF.celu(x, alpha=2.0)
             + RF.selu(x))  # default alphas, and others
        d = (RF.relu6(c * 2.0, inplace=True) + RF.elu(c - 0.5, alpha=0.3, inplace=True)
             + RF.celu(c * 0.5, 1.5, True) - RF.selu(c + 0.1, inplace=True))
        h = RF.relu(a * 1.0, inplace=True) + RF.leaky_relu(b - 0.5, negative_slope=0.1, inplace=True)
        h = h + d
        h = RF.maxout(h, 2, dim=-1)  # (N, 3, 4, 2)
        return RF.maxout(torch.einsum("nchw,dc->ndhw", h, self.proj), pool_size=3)  # (N, 2, 4, 2)


def make_models():
    torch.manual_seed(0)
    return {"modules": EveryModule(), "functional": EveryFunctional()}


def make_input(name):
    g = torch.Generator().manual_seed(1)
    shape = (2, 3, 4, 4)
    x = torch.randn(shape, generator=g)
    x.view(-1)[::5] = 0.0
    return x


def eager_results(model, x):
    model.zero_grad()
    xg = x.clone().requires_grad_()
    y = model(xg)
    y.backward(torch.ones_like(y))
    return {
        "y": y.detach(),
        "xgrad": xg.grad,
        "pgrads": {n: p.grad.clone() for n, p in model.named_parameters()},
    }


FRESH = textwrap.dedent(
    """
    import sys, torch
    import rectifiers  # registers torch.ops.rectifiers; nothing else from the test process
    out = {}
    for name, model_path, input_path in zip(*[iter(sys.argv[2:])] * 3):
        m = torch.jit.load(model_path)
        x = torch.load(input_path).requires_grad_()
        y = m(x)
        y.backward(torch.ones_like(y))
        out[name] = {"y": y.detach(), "xgrad": x.grad,
                     "pgrads": {n: p.grad for n, p in m.named_parameters()}}
    torch.save(out, sys.argv[1])
    """
)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Scripted and traced models saved to disk, their eager results, and the
    results of one fresh Python process that loaded them all."""
    d = tmp_path_factory.mktemp("torchscript")
    entries = {}
    for kind in ("script", "trace"):
        for name, model in make_models().items():
            x = make_input(name)
            expected = eager_results(model, x)
            model.zero_grad()
            if kind == "script":
                sm = torch.jit.script(model)
            else:
                sm = torch.jit.trace(model, (x.clone(),), check_trace=False)
            key = f"{kind}-{name}"
            path = str(d / f"{key}.pt")
            sm.save(path)
            in_path = str(d / f"{key}-in.pt")
            torch.save(x, in_path)
            entries[key] = dict(path=path, input=in_path, x=x, expected=expected, model=model)
    args = [str(d / "fresh-out.pt")]
    for key, e in entries.items():
        args += [key, e["path"], e["input"]]
    r = subprocess.run([sys.executable, "-c", FRESH, *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    fresh = torch.load(args[0])
    return entries, fresh, d


KEYS = ["script-modules", "script-functional", "trace-modules", "trace-functional"]


def assert_results(got, expected):
    torch.testing.assert_close(got["y"], expected["y"], **EXACT)
    torch.testing.assert_close(got["xgrad"], expected["xgrad"])
    assert set(got["pgrads"]) == set(expected["pgrads"])
    for n, g in expected["pgrads"].items():
        torch.testing.assert_close(got["pgrads"][n], g, msg=n)


def test_models_use_the_custom_ops(saved):
    entries, _, _ = saved
    for key, e in entries.items():
        graph = str(torch.jit.load(e["path"]).inlined_graph)
        # the in-place forms are recorded too (the trace must not fall back to ATen)
        wanted = ["relu", "relu_", "leaky_relu", "leaky_relu_", "prelu", "maxout"]
        wanted += ["abs_rectifier", "relu6", "relu6_", "elu", "elu_", "celu", "celu_", "selu",
                   "selu_"]
        for op in wanted:
            assert f"rectifiers::{op}(" in graph, (key, op)


@pytest.mark.parametrize("key", KEYS)
def test_scripted_in_process_matches_eager(saved, key):
    entries, _, _ = saved
    e = entries[key]
    loaded = torch.jit.load(e["path"])
    got = eager_results(loaded, e["x"])
    assert_results(got, e["expected"])


@pytest.mark.parametrize("key", KEYS)
def test_fresh_process_load_matches_eager(saved, key):
    entries, fresh, _ = saved
    assert_results(fresh[key], entries[key]["expected"])


@pytest.mark.parametrize("key", KEYS)
def test_cpp_load_scripted_matches_eager(saved, key, cpp_build):
    entries, _, d = saved
    e = entries[key]
    out = str(d / f"{key}-cpp-out.pt")
    # load_scripted reads the input with torch::pickle_load: torch.save's default
    # (zip) format of a plain tensor is what it reads, and torch.load reads its output.
    r = subprocess.run([os.path.join(cpp_build, "load_scripted"), e["path"], e["input"], out],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "load_scripted:" in r.stdout
    y = torch.load(out)
    # C++ runs in eval mode without grad; these models have no train/eval difference.
    torch.testing.assert_close(y, e["expected"]["y"], rtol=1e-6, atol=1e-6)
    assert y.shape == e["expected"]["y"].shape


def test_cpp_load_scripted_channels_last_input(saved, cpp_build):
    entries, _, d = saved
    e = entries["script-modules"]
    x = make_input("modules").contiguous(memory_format=torch.channels_last)
    in_path, out = str(d / "cl-in.pt"), str(d / "cl-out.pt")
    torch.save(x, in_path)
    r = subprocess.run([os.path.join(cpp_build, "load_scripted"), e["path"], in_path, out],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    torch.testing.assert_close(torch.load(out), e["expected"]["y"], rtol=1e-6, atol=1e-6)


def test_script_functions_directly():
    @torch.jit.script
    def f(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return RF.maxout(RF.prelu(RF.leaky_relu(RF.relu(x) - 1.0, 0.2), w) + RF.abs_rectifier(x), 2)

    # 3 channels do not split into pairs: maxout over dim 1 refuses, naming the op
    with pytest.raises(RuntimeError, match="maxout"):
        f(make_input("f"), torch.tensor([0.1, -0.2, 0.3]))
    x4 = torch.randn(2, 4, 3)
    w4 = torch.tensor([0.1, -0.2, 0.3, 0.4])
    y = f(x4, w4)
    ref = (torch.nn.functional.prelu(torch.nn.functional.leaky_relu(x4.relu() - 1.0, 0.2), w4) + x4.abs())
    torch.testing.assert_close(y, ref.unflatten(1, (-1, 2)).max(2).values, **EXACT)
    assert "rectifiers::maxout(" in str(f.inlined_graph)


def test_script_preserves_module_constants():
    sm = torch.jit.script(torch.nn.Sequential(rn.LeakyReLU(0.25), rn.Maxout(3, dim=-1)))
    x = torch.randn(2, 9)
    torch.testing.assert_close(sm(x), torch.nn.functional.leaky_relu(x, 0.25).unflatten(-1, (3, 3)).max(-1).values,
                               **EXACT)
    assert sm[1].pool_size == 3 and sm[1].dim == -1 and sm[0].negative_slope == 0.25


def test_script_relu6_and_elu_family_directly():
    @torch.jit.script
    def f(x: torch.Tensor) -> List[torch.Tensor]:
        y = x * 1.0
        z = x * 1.0
        w = x * 1.0
        RF.celu(y, 0.5, inplace=True)
        RF.relu6(z, inplace=True)
        return [RF.relu6(x), RF.elu(x), RF.elu(x, -0.5), RF.celu(x), RF.celu(x, alpha=2.0),
                RF.selu(x), RF.elu(w, 1.5, inplace=True), RF.selu(x * 1.0, inplace=True), y, z]

    F = torch.nn.functional
    x = torch.cat([make_input("f").flatten() * 4, torch.tensor([0.0, -0.0, 6.0, -6.0, 1e-4])])
    got = f(x)
    expected = [F.relu6(x), F.elu(x), F.elu(x, -0.5), F.celu(x), F.celu(x, 2.0), F.selu(x),
                F.elu(x, 1.5), F.selu(x), F.celu(x, 0.5), F.relu6(x)]
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        torch.testing.assert_close(g, e, **EXACT, msg=lambda m: f"output {i}: {m}")
    graph = str(f.inlined_graph)
    for op in ("relu6", "relu6_", "elu", "elu_", "celu", "celu_", "selu", "selu_"):
        assert f"rectifiers::{op}(" in graph, op


def test_script_preserves_relu6_and_elu_family_constants():
    sm = torch.jit.script(torch.nn.Sequential(rn.ELU(0.5), rn.CELU(2.0, inplace=True), rn.ReLU6(),
                                              rn.SELU(inplace=True)))
    assert sm[0].alpha == 0.5 and not sm[0].inplace
    assert sm[1].alpha == 2.0 and sm[1].inplace
    assert not sm[2].inplace and sm[3].inplace
    F = torch.nn.functional
    x = torch.randn(2, 9) * 4
    torch.testing.assert_close(sm(x.clone()), F.selu(F.relu6(F.celu(F.elu(x, 0.5), 2.0))), **EXACT)
