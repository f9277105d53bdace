"""rectifiers.functional calls the ops two ways: eager calls go through
rectifiers._C's bindings, everything that traces (TorchScript, torch.compile,
torch.fx, __torch_function__ modes and subclasses) through torch.ops. Both must
give the same results and the tracers must see the ops."""

import pytest
import torch
from torch.overrides import TorchFunctionMode

import rectifiers.functional as RF

EXACT = dict(rtol=0, atol=0, equal_nan=True)

CALLS = {
    "relu": (lambda x, w: RF.relu(x), lambda x, w: torch.ops.rectifiers.relu(x)),
    "leaky_relu": (lambda x, w: RF.leaky_relu(x, 0.3),
                   lambda x, w: torch.ops.rectifiers.leaky_relu(x, 0.3)),
    "prelu": (lambda x, w: RF.prelu(x, w), lambda x, w: torch.ops.rectifiers.prelu(x, w)),
    "abs_rectifier": (lambda x, w: RF.abs_rectifier(x),
                      lambda x, w: torch.ops.rectifiers.abs_rectifier(x)),
    "maxout": (lambda x, w: RF.maxout(x, 2, -1), lambda x, w: torch.ops.rectifiers.maxout(x, 2, -1)),
}


def inputs(device="cpu"):
    x = torch.randn(3, 4, 6, device=device, dtype=torch.float64, requires_grad=True)
    w = torch.tensor([0.1, -0.2, 0.3, 0.4], device=device, dtype=torch.float64, requires_grad=True)
    return x, w


@pytest.mark.parametrize("name", list(CALLS))
def test_eager_path_equals_ops_path_with_gradients(name, device):
    ours, ops = CALLS[name]
    x, w = inputs(device)
    y, y_ops = ours(x, w), ops(x, w)
    torch.testing.assert_close(y, y_ops, **EXACT)
    g = torch.randn_like(y)
    wrt = (x, w) if name == "prelu" else (x,)
    for a, b in zip(torch.autograd.grad(y, wrt, g), torch.autograd.grad(y_ops, wrt, g)):
        torch.testing.assert_close(a, b, **EXACT)


@pytest.mark.parametrize("name", list(CALLS))
def test_torch_function_mode_sees_the_op(name):
    seen = []

    class Record(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            seen.append(str(func))
            return func(*args, **(kwargs or {}))

    x, w = inputs()
    with Record():
        y = CALLS[name][0](x, w)
    assert any(f"rectifiers.{name}" in s for s in seen), seen
    torch.testing.assert_close(y, CALLS[name][1](x, w), **EXACT)


def test_inplace_eager_path_returns_the_input():
    x = torch.tensor([-1.0, 0.0, 2.0])
    assert RF.relu(x, inplace=True) is x
    torch.testing.assert_close(x, torch.tensor([0.0, 0.0, 2.0]), **EXACT)
    assert RF.leaky_relu(x.neg_(), 0.5, inplace=True) is x
    torch.testing.assert_close(x, torch.tensor([0.0, -0.0, -1.0]), **EXACT)


def test_fx_symbolic_trace_records_the_ops():
    def f(x, w):
        return RF.maxout(RF.prelu(RF.leaky_relu(RF.abs_rectifier(RF.relu(x)), 0.1), w), 2, -1)

    gm = torch.fx.symbolic_trace(f)
    targets = [str(n.target) for n in gm.graph.nodes if n.op == "call_function"]
    assert targets == [f"rectifiers.{op}" for op in
                       ("relu", "abs_rectifier", "leaky_relu", "prelu", "maxout")], targets
    x, w = inputs()
    torch.testing.assert_close(gm(x, w), f(x, w), **EXACT)


def test_subclass_with_torch_function_is_honoured():
    calls = []

    class Logged(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            calls.append(str(func))
            return super().__torch_function__(func, types, args, kwargs or {})

    x = torch.tensor([-1.0, 2.0]).as_subclass(Logged)
    y = RF.relu(x)
    assert "rectifiers.relu" in calls and type(y) is Logged
    torch.testing.assert_close(y.as_subclass(torch.Tensor), torch.tensor([0.0, 2.0]), **EXACT)


def test_eager_errors_name_the_op():
    with pytest.raises(RuntimeError, match=r"rectifiers::maxout.*pool_size"):
        RF.maxout(torch.randn(3, 5), 2, -1)
    with pytest.raises(RuntimeError, match=r"rectifiers::relu.*Int"):
        RF.relu(torch.ones(3, dtype=torch.int32))
