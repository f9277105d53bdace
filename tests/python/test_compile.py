"""torch.compile(fullgraph=True) and torch.export with every rectifiers module.

Kept to a few cases: inductor compiles are slow on the 2-core CI machines.
"""

import pytest
import torch

import rectifiers  # noqa: F401
from rectifiers import nn as rn

pytestmark = pytest.mark.usefixtures("no_compile_caches")


class Small(torch.nn.Module):
    """Every module (out-of-place forms; see test_inplace_modules_compile for the in-place ones)."""

    def __init__(self):
        super().__init__()
        self.lin = rn.MaxoutLinear(6, 8, 2)
        self.prelu_c = rn.PReLU(8, init=0.1)
        self.relu = rn.ReLU()
        self.leaky = rn.LeakyReLU(0.2)
        self.absr = rn.AbsRectifier()
        self.relu6 = rn.ReLU6()
        self.elu = rn.ELU(0.5)
        self.celu = rn.CELU(2.0)
        self.selu = rn.SELU()
        self.maxout = rn.Maxout(2, dim=1)
        self.prelu_1 = rn.PReLU()
        with torch.no_grad():
            self.prelu_c.weight.copy_(torch.linspace(-0.4, 0.6, 8))
            self.prelu_1.weight.fill_(-0.3)

    def forward(self, x):
        h = self.lin(x)  # (N, 8)
        h = self.prelu_c(h) + self.relu(h) - self.absr(h) + self.leaky(h - 0.5)
        h = h + self.relu6(h * 4.0) + self.elu(h) - self.celu(h) + self.selu(h)
        return self.prelu_1(self.maxout(h))  # (N, 4)


def make(n=5, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    x[0, 0] = 0.0
    return x


def run(model, x):
    model.zero_grad()
    x = x.clone().requires_grad_()
    y = model(x)
    y.backward(torch.linspace(-1, 1, y.numel()).reshape(y.shape))
    grads = {n.removeprefix("_orig_mod."): p.grad.clone() for n, p in model.named_parameters()}
    return y.detach(), x.grad, grads


def assert_same(got, expected):
    (y, xg, pg), (ey, exg, epg) = got, expected
    # inductor computes differently from the eager kernels (its own exp, fused
    # sums): close, not bitwise; compiled against native compiled is bitwise
    # (test_inductor.py)
    torch.testing.assert_close(y, ey)
    torch.testing.assert_close(xg, exg)
    assert set(pg) == set(epg)
    for n in epg:
        torch.testing.assert_close(pg[n], epg[n], msg=n)


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
def test_compile_fullgraph_forward_backward(dynamic):
    torch.manual_seed(0)
    model = Small()
    compiled = torch.compile(model, fullgraph=True, dynamic=dynamic)
    x = make()
    assert_same(run(compiled, x), run(model, x))
    if dynamic:  # another batch size reuses the symbolic graph and stays right
        x2 = make(n=9, seed=2)
        assert_same(run(compiled, x2), run(model, x2))


class SmallCNN(torch.nn.Module):
    """The 4-D cases: per-channel PReLU and maxout over channels on NCHW and
    channels_last activations between convolutions."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.prelu = rn.PReLU(8, init=-0.2)
        self.maxout = rn.Maxout(2, dim=1)
        self.leaky = rn.LeakyReLU(0.3)
        self.conv2 = torch.nn.Conv2d(4, 4, 3, padding=1)
        self.absr = rn.AbsRectifier()
        self.relu = rn.ReLU()
        self.relu6 = rn.ReLU6()
        self.elu = rn.ELU(0.7)

    def forward(self, x):
        h = self.leaky(self.maxout(self.prelu(self.conv1(x))))
        h = self.elu(h) + self.relu6(h * 3.0)
        return self.relu(self.conv2(h)) - self.absr(h)


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels_last"])
def test_compile_cnn_dynamic(channels_last):
    torch.manual_seed(0)
    model = SmallCNN()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    compiled = torch.compile(model, fullgraph=True, dynamic=True)
    for n, hw in ((2, 5), (3, 6)):
        x = torch.randn(n, 3, hw, hw).contiguous(memory_format=fmt)
        assert_same(run(compiled, x), run(model, x))


def test_inplace_modules_compile():
    torch.manual_seed(0)
    # A Linear between the two: ReLU's backward needs its (in-place) result,
    # which a second in-place op on the same tensor would overwrite (torch's
    # own modules refuse that too).
    model = torch.nn.Sequential(torch.nn.Linear(6, 6), rn.ReLU(inplace=True), torch.nn.Linear(6, 6),
                                rn.LeakyReLU(0.1, inplace=True))
    ref = torch.nn.Sequential(model[0], torch.nn.ReLU(inplace=True), model[2],
                              torch.nn.LeakyReLU(0.1, inplace=True))
    compiled = torch.compile(model, fullgraph=True)
    x = make()
    assert_same(run(compiled, x), run(ref, x))


def test_inplace_relu6_and_elu_family_modules_compile():
    torch.manual_seed(0)
    lins = [torch.nn.Linear(6, 6) for _ in range(4)]
    ours = [rn.ReLU6(inplace=True), rn.ELU(0.5, inplace=True), rn.CELU(2.0, inplace=True),
            rn.SELU(inplace=True)]
    theirs = [torch.nn.ReLU6(inplace=True), torch.nn.ELU(0.5, inplace=True),
              torch.nn.CELU(2.0, inplace=True), torch.nn.SELU(inplace=True)]
    model = torch.nn.Sequential(*[m for pair in zip(lins, ours) for m in pair])
    ref = torch.nn.Sequential(*[m for pair in zip(lins, theirs) for m in pair])
    compiled = torch.compile(model, fullgraph=True)
    x = make() * 4
    assert_same(run(compiled, x), run(ref, x))


def export(model, x):
    with torch.no_grad():
        return torch.export.export(model, (x,), dynamic_shapes=({0: torch.export.Dim("batch", min=2)},))


def test_export_matches_eager_and_round_trips(tmp_path):
    torch.manual_seed(0)
    model = Small().eval()
    x = make()
    ep = export(model, x)
    targets = {str(n.target) for n in ep.graph.nodes if n.op == "call_function"}
    for op in ("relu", "leaky_relu", "prelu", "abs_rectifier", "relu6", "elu", "celu", "selu",
               "maxout"):
        assert f"rectifiers.{op}.default" in targets, (op, targets)
    with torch.no_grad():
        expected = model(x)
        torch.testing.assert_close(ep.module()(x), expected, rtol=0, atol=0)
        x2 = make(n=7, seed=3)  # the batch dimension is symbolic
        torch.testing.assert_close(ep.module()(x2), model(x2), rtol=0, atol=0)

    # to the core-ATen IR (what backends consume): our ops stay opaque and correct
    decomposed = ep.run_decompositions()
    with torch.no_grad():
        torch.testing.assert_close(decomposed.module()(x), expected, rtol=0, atol=0)

    path = tmp_path / "small.pt2"
    torch.export.save(ep, str(path))
    loaded = torch.export.load(str(path))
    with torch.no_grad():
        torch.testing.assert_close(loaded.module()(x), expected, rtol=0, atol=0)
        torch.testing.assert_close(loaded.module()(x2), model(x2), rtol=0, atol=0)
    loaded_targets = {str(n.target) for n in loaded.graph.nodes if n.op == "call_function"}
    assert loaded_targets == targets
