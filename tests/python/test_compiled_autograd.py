"""Compiled autograd runs our backward nodes (FormulaNode in csrc/common/autograd.h).

An eager forward, its backward compiled: compiled autograd records each of our
nodes as a call of its formula, Dynamo and AOTAutograd trace through it to our
backward ops, and Inductor lowers them as it lowers the native twins. So ours
must give what native gives under compiled autograd, bit for bit (maxout and
RReLU's training mode, which have no twin, eager's), with no call of a lowered
op left in the generated code. Compiled autograd's graphs sum gradients in
another order than the eager engine, for native ops as for ours, so eager is
not the reference where a tensor's gradient is a sum.
"""

import pytest
import torch
import torch.nn.functional as F
from torch._dynamo import compiled_autograd
from torch._dynamo.utils import counters
from torch._inductor.utils import run_and_get_code

from rectifiers import functional as RF

from test_inductor import KEPT, assert_bitwise, called_ops, inputs, native, ours, step

pytestmark = pytest.mark.usefixtures("no_compile_caches")


def backward_compiled(fn, args, backend="inductor"):
    with compiled_autograd._enable(torch.compile(backend=backend, fullgraph=True)):
        return step(fn, args)


DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA GPU on this machine"))]


@pytest.mark.parametrize("device", DEVICES)
def test_every_op_under_compiled_autograd_as_native(device):
    args = [t.detach().to(device).requires_grad_() for t in inputs(3, 8, torch.float32, seed=0)]
    (_, got), codes = run_and_get_code(backward_compiled, ours, args)
    _, expected = backward_compiled(native, args[:3])
    _, eager = step(ours, args)
    for name, g, e in zip(["x", "w", "w1"], got, expected):
        assert_bitwise(g, e, name)
    for name, g, e in zip(["xm", "xr"], got[3:], eager[3:]):
        assert_bitwise(g, e, name)
    # our formulas were traced through, not called as opaque functions; the
    # eager training rrelu saved a mask, whose backward stays ours
    assert called_ops(codes) <= KEPT | {"rrelu_mask_backward"}
    assert "rrelu_mask_backward" in called_ops(codes)


def recaptures(act, slopes):
    """Compiled autograd's captures of one backward per slope."""
    compiled_autograd.reset()
    counters.clear()
    x = torch.randn(16, requires_grad=True)
    with compiled_autograd._enable(torch.compile(backend="eager", fullgraph=True)):
        for slope in slopes:
            torch.autograd.grad(act(x * 1, slope).sum(), x)
    return counters["compiled_autograd"]["captures"]


@pytest.mark.parametrize("slopes", [[0.2, 0.2, 0.2], [0.2, 0.2, 0.3]], ids=["same", "new"])
def test_scalars_recapture_as_torch_nodes_do(slopes):
    # torch's LeakyReluBackward0 specializes on its slope, and so do we
    captures = recaptures(RF.leaky_relu, slopes)
    assert captures == recaptures(F.leaky_relu, slopes) == len(set(slopes))


def test_node_without_compiled_autograd_unchanged():
    x = torch.randn(8, requires_grad=True)
    y = RF.leaky_relu(x * 1, 0.2)
    assert y.grad_fn.name() == "LeakyReluBackward"
    y.sum().backward()
    torch.testing.assert_close(x.grad, torch.where(x > 0, 1.0, 0.2))
