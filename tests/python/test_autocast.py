"""Autocast: every module behaves like its torch.nn twin under
torch.autocast("cpu", bfloat16) and torch.autocast("cuda", float16).

torch runs relu, leaky_relu, abs and max in the dtype they are given; prelu is
on autocast's lower-precision list, so input and weight are cast to the
autocast dtype and a float32 weight gets a float32 gradient.
"""

import pytest
import torch

from rectifiers import nn as rn

from test_modules import _AbsRef, _MaxoutRef

AUTOCAST_DTYPE = {"cpu": torch.bfloat16, "cuda": torch.float16}
EXACT = dict(rtol=0, atol=0, equal_nan=True)

TWINS = {
    "ReLU": lambda: (rn.ReLU(), torch.nn.ReLU()),
    "LeakyReLU": lambda: (rn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    "AbsRectifier": lambda: (rn.AbsRectifier(), _AbsRef()),
    "Maxout": lambda: (rn.Maxout(2, dim=1), _MaxoutRef(2, dim=1)),
    "PReLU-1": lambda: (rn.PReLU(init=-0.3), torch.nn.PReLU(init=-0.3)),
    "PReLU-C": lambda: (rn.PReLU(4, init=0.1), torch.nn.PReLU(4, init=0.1)),
}


def forward_backward(module, x, device, seed=5):
    """Output and gradients of module(x) under autocast; the backward runs outside it."""
    x = x.clone().requires_grad_()
    with torch.autocast(device, dtype=AUTOCAST_DTYPE[device]):
        y = module(x)
    g = torch.randn(y.shape, generator=torch.Generator().manual_seed(seed)).to(y)
    y.backward(g)
    return y, x.grad, [p.grad for p in module.parameters()]


def exact_prelu_weight_grad(x, grad, weight):
    """The weight gradient in float64 from the (already rounded) autocast inputs."""
    x, grad = x.double(), grad.double()
    per_element = torch.where(x > 0, 0, grad * x)  # a NaN input takes the slope branch
    if weight.numel() == 1:
        return per_element.sum().reshape(weight.shape)
    return per_element.transpose(0, 1).reshape(weight.numel(), -1).sum(1)


@pytest.mark.parametrize("name", list(TWINS))
@pytest.mark.parametrize("input_dtype", [torch.float32, "autocast", torch.float64],
                         ids=["float32", "autocast-dtype", "float64"])
def test_module_matches_twin_under_autocast(device, name, input_dtype):
    ours, ref = TWINS[name]()
    low = AUTOCAST_DTYPE[device]
    input_dtype = low if input_dtype == "autocast" else input_dtype
    # a float64 model keeps float64 weights (autocast leaves float64 alone)
    param_dtype = torch.float64 if input_dtype == torch.float64 else torch.float32
    ours.to(device, param_dtype), ref.to(device, param_dtype)
    x = torch.randn(3, 4, 5, 6, generator=torch.Generator().manual_seed(0)).to(device, input_dtype)
    x[0, 0, 0, :3] = torch.tensor([0.0, -0.0, float("nan")])

    y, xg, pg = forward_backward(ours, x, device)
    ey, exg, epg = forward_backward(ref, x, device)
    # the same dtypes as the twin: output, input gradient, parameter gradients
    assert y.dtype == ey.dtype and xg.dtype == exg.dtype, (y.dtype, ey.dtype, xg.dtype, exg.dtype)
    assert [g.dtype for g in pg] == [g.dtype for g in epg]
    if name.startswith("PReLU") and input_dtype != torch.float64:
        assert y.dtype == low  # computed in the autocast dtype
        assert pg[0].dtype == torch.float32  # the weight's own dtype
    torch.testing.assert_close(y, ey, **EXACT)
    torch.testing.assert_close(xg, exg, **EXACT)
    if pg:
        # ATen sums the weight gradient in the reduced dtype; ours rounds a float
        # sum once. Both are held to the float64 sum of the same products.
        weight = ours.weight
        x_cast = x.to(y.dtype)
        g = torch.randn(y.shape, generator=torch.Generator().manual_seed(5)).to(y)
        exact = exact_prelu_weight_grad(x_cast, g, weight).float()
        reduced = y.dtype in (torch.float16, torch.bfloat16)
        tol = dict(rtol=1e-2, atol=1e-3) if reduced else dict(rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(pg[0], exact.to(pg[0].dtype), equal_nan=True, **tol)
        torch.testing.assert_close(pg[0], epg[0], rtol=2e-2, atol=5e-2, equal_nan=True)


def test_prelu_reduced_input_float32_weight(device):
    """A bfloat16/float16 input with a float32 weight: computed in the input's
    dtype, the weight gradient in float32 (also when the input is not the
    autocast dtype the twin would cast to)."""
    low = AUTOCAST_DTYPE[device]
    ours = rn.PReLU(3, init=0.25).to(device)
    x = torch.tensor([[-2.0, 0.5, -1.0], [4.0, -3.0, 0.0]], device=device, dtype=low)
    y, xg, (wg,) = forward_backward(ours, x, device)
    assert y.dtype == low and xg.dtype == low and wg.dtype == torch.float32
    torch.testing.assert_close(y, torch.tensor([[-0.5, 0.5, -0.25], [4.0, -0.75, 0.0]],
                                               device=device, dtype=low), **EXACT)
    g = torch.randn(y.shape, generator=torch.Generator().manual_seed(5)).to(y)
    torch.testing.assert_close(wg, (g * x * (x <= 0)).float().sum(0), rtol=1e-2, atol=1e-3)


def test_autocast_disabled_inside_keeps_float32(device):
    ours = rn.PReLU(2).to(device)
    x = torch.randn(4, 2, device=device)
    with torch.autocast(device, dtype=AUTOCAST_DTYPE[device]):
        with torch.autocast(device, enabled=False):
            assert ours(x).dtype == torch.float32
        assert ours(x).dtype == AUTOCAST_DTYPE[device]
    assert ours(x).dtype == torch.float32


class Net(torch.nn.Module):
    """A CNN + MLP head built from every module; `twin` swaps in torch.nn's."""

    def __init__(self, twin=False):
        super().__init__()
        nn = torch.nn
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.act1 = nn.PReLU(8, init=0.1) if twin else rn.PReLU(8, init=0.1)
        self.pool = _MaxoutRef(2, dim=1) if twin else rn.Maxout(2, dim=1)
        self.act2 = nn.LeakyReLU(0.1) if twin else rn.LeakyReLU(0.1)
        self.act3 = _AbsRef() if twin else rn.AbsRectifier()
        self.lin = nn.Linear(4 * 4 * 4, 6 * 2)
        self.head_max = _MaxoutRef(2, dim=-1) if twin else rn.Maxout(2, dim=-1)
        self.act4 = nn.ReLU() if twin else rn.ReLU()
        self.out = nn.Linear(6, 3)

    def forward(self, x):
        h = self.pool(self.act1(self.conv(x)))
        h = self.act3(self.act2(h)).flatten(1)
        return self.out(self.act4(self.head_max(self.lin(h))))


def test_model_trains_like_twin_under_autocast(device):
    torch.manual_seed(0)
    ours = Net().to(device)
    twin = Net(twin=True).to(device)
    twin.load_state_dict(ours.state_dict())
    x = torch.randn(5, 3, 4, 4, device=device)
    y, _, grads = forward_backward(ours, x, device)
    ey, _, egrads = forward_backward(twin, x, device)
    assert y.dtype == ey.dtype == AUTOCAST_DTYPE[device]
    torch.testing.assert_close(y, ey, **EXACT)
    for (name, p), g, eg in zip(ours.named_parameters(), grads, egrads):
        assert g.dtype == eg.dtype == p.dtype == torch.float32, name
        # only the PReLU weight sum differs in rounding (see above)
        tol = dict(rtol=2e-2, atol=5e-2) if name == "act1.weight" else EXACT
        torch.testing.assert_close(g, eg, msg=name, **tol)


def test_compiled_model_under_autocast_matches_eager():
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = Net()
    x = torch.randn(5, 3, 4, 4)
    y, xg, grads = forward_backward(model, x, "cpu")
    model.zero_grad()
    cy, cxg, cgrads = forward_backward(torch.compile(model, fullgraph=True), x, "cpu")
    torch._dynamo.reset()
    assert cy.dtype == torch.bfloat16 and all(g.dtype == torch.float32 for g in cgrads)
    # inductor may fuse the bfloat16 arithmetic around our ops differently
    torch.testing.assert_close(cy, y, rtol=2e-2, atol=2e-2)
    for g, cg in zip(grads, cgrads):
        torch.testing.assert_close(cg, g, rtol=5e-2, atol=5e-2)
