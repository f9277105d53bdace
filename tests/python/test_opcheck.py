"""torch.library.opcheck for every op in torch.ops.rectifiers.

Each opcheck sub-test (schema, autograd registration, fake tensor / meta kernel,
AOT dispatch with dynamic shapes) runs as its own pytest case, so a failure
names the exact check. Samples cover contiguous and channels_last inputs,
requires_grad True/False, float32 and float64, and a few odd shapes (0-dim,
empty, strided views, pool sizes that switch the maxout index dtype).
"""

import pytest
import torch
from torch.library import opcheck

import rectifiers  # noqa: F401

ops = torch.ops.rectifiers

TEST_UTILS = ["test_schema", "test_autograd_registration", "test_faketensor", "test_aot_dispatch_dynamic"]
LAYOUTS = ["contiguous", "channels_last"]
FLOAT_DTYPES = [torch.float32, torch.float64]

# Every op the library registers (a new op without samples fails below).
ALL_OPS = sorted(
    name.split("::", 1)[1] for name in torch._C._dispatch_get_all_op_names()
    if name.startswith("rectifiers::")
)
IN_PLACE = {name for name in ALL_OPS if getattr(ops, name).default._schema.is_mutable}

def make(shape, layout, dtype, device, requires_grad=False, positive=False, seed=0):
    """A tensor with a few exact zeros (the kink) and, for channels_last, that layout."""
    g = torch.Generator().manual_seed(seed)
    t = torch.randn(shape, generator=g, dtype=dtype)
    if positive:
        t = t.relu()
    flat = t.view(-1)
    if flat.numel() >= 3:
        flat[0] = 0.0
        flat[2] = -0.0
    t = t.to(device)
    if layout == "channels_last":
        assert t.dim() == 4
        t = t.contiguous(memory_format=torch.channels_last)
        assert not t.is_contiguous()
    return t.requires_grad_(requires_grad)


def samples(name, layout, dtype, device, rg):
    """A list of (args, kwargs) for one op."""
    s4 = (2, 6, 3, 4)

    def x(seed=0, shape=s4, positive=False, grad=rg):
        return make(shape, layout, dtype, device, grad, positive=positive, seed=seed)

    def w(n, seed=7):
        g = torch.Generator().manual_seed(seed)
        return (torch.rand(n, generator=g, dtype=dtype) * 0.5).to(device).requires_grad_(rg)

    def indices(pool_size, dim, shape=s4):
        with torch.no_grad():
            _, idx = ops.maxout_with_indices(x(shape=shape, grad=False), pool_size, dim)
        return idx

    def grad_like(shape, seed=3):
        return make(shape, layout if len(shape) == 4 else "contiguous", dtype, device, rg, seed=seed)

    extra = []  # odd shapes, contiguous only (channels_last needs 4-D)
    if layout == "contiguous":
        extra_x = [
            make((), "contiguous", dtype, device, rg, seed=11),  # 0-dim
            make((0, 4), "contiguous", dtype, device, rg, seed=12),  # empty
            make((3, 8), "contiguous", dtype, device, rg, seed=13)[:, ::2],  # strided view
        ]
    else:
        extra_x = []

    if name == "relu":
        return [((x(),), {})] + [((e,), {}) for e in extra_x]
    if name == "relu_":
        # In-place on a leaf that requires grad is an error by design; grad-free inputs only.
        return [((x(grad=False),), {})] + [((e.detach(),), {}) for e in extra_x[:2]]
    if name == "relu_backward":
        return [((grad_like(s4), x(seed=1, positive=True)), {})]
    if name == "leaky_relu":
        return [((x(), 0.2), {}), ((x(),), {}), ((x(),), {"negative_slope": -0.5})] + [
            ((e, 0.1), {}) for e in extra_x
        ]
    if name == "leaky_relu_":
        return [((x(grad=False), 0.2), {}), ((x(grad=False), -0.3), {}), ((x(grad=False),), {})]
    if name == "leaky_relu_backward":
        return [
            ((grad_like(s4), x(seed=1), 0.2, False), {}),
            ((grad_like(s4), x(seed=1), -0.2, False), {}),
            ((grad_like(s4), x(seed=1, positive=True), 0.2, True), {}),
        ]
    if name == "leaky_relu_with_mask":
        return [((x(), 0.2), {}), ((x(),), {"negative_slope": -0.5})] + [
            ((e, 0.1), {}) for e in extra_x
        ]
    if name == "leaky_relu_mask_backward":
        def from_forward(t, slope):
            y, mask = ops.leaky_relu_with_mask(t, slope)
            return grad_like(tuple(t.shape)), mask, list(y.shape), list(y.stride()), slope
        return [(from_forward(x(seed=1, grad=False), 0.2), {}),
                (from_forward(x(seed=1, grad=False), -0.3), {})]
    if name in ("relu6_with_mask", "abs_rectifier_with_mask"):
        return [((x() * 4,), {})] + [((e,), {}) for e in extra_x]
    if name in ("relu6_mask_backward", "abs_rectifier_mask_backward"):
        forward = getattr(ops, name.replace("mask_backward", "with_mask"))
        y, mask = forward(x(seed=1, grad=False) * 4)
        return [((grad_like(s4), mask, list(y.shape), list(y.stride())), {})]
    if name == "rrelu_with_mask":
        return [((x(), 0.1, 0.3), {})] + [((e, 0.2, 0.25), {}) for e in extra_x]
    if name == "rrelu_mask_backward":
        y, state, mask = ops.rrelu_with_mask(x(seed=1, grad=False), 0.1, 0.3)
        return [((grad_like(s4), mask, state, list(y.shape), list(y.stride()), 0.1, 0.3), {})]
    if name in ("relu6", "selu"):
        return [((x(),), {}), ((x() * 4,), {})] + [((e,), {}) for e in extra_x]
    if name in ("elu", "celu"):
        return [((x(), 0.7), {}), ((x(),), {}), ((x(),), {"alpha": 2.5})] + [
            ((e, 1.3), {}) for e in extra_x
        ]
    if name in ("relu6_", "selu_"):
        return [((x(grad=False) * 4,), {})] + [((e.detach(),), {}) for e in extra_x[:2]]
    if name in ("elu_", "celu_"):
        return [((x(grad=False), 0.7), {}), ((x(grad=False),), {})]
    if name == "rrelu":
        return [((x(), 0.1, 0.3), {}), ((x(),), {}), ((x(), 0.0, 0.5, True), {})] + [
            ((e, 0.2, 0.25), {}) for e in extra_x
        ]
    if name == "rrelu_":
        return [((x(grad=False), 0.1, 0.3), {}), ((x(grad=False), 0.1, 0.3, True), {})]
    if name == "rrelu_with_state":
        return [((x(), 0.1, 0.3), {})] + [((e, 0.2, 0.25), {}) for e in extra_x]
    if name == "rrelu_with_state_":
        return [((x(grad=False), 0.1, 0.3), {})]
    if name == "rrelu_backward":
        _, state = ops.rrelu_with_state(x(seed=1, grad=False), 0.1, 0.3)
        return [((grad_like(s4), x(seed=1), state, 0.1, 0.3, False), {}),
                ((grad_like(s4), x(seed=1), state, 0.1, 0.3, True), {})]
    if name == "relu6_backward":
        return [((grad_like(s4), x(seed=1) * 4), {})]
    if name == "elu_backward":
        return [
            ((grad_like(s4), x(seed=1), 0.7, 1.1, 0.9, False), {}),
            ((grad_like(s4), ops.elu(x(seed=1, grad=False), 0.7).requires_grad_(rg), 0.7, 1.0, 1.0,
              True), {}),
        ]
    if name == "prelu":
        out = [((x(), w(6)), {}), ((x(), w(1)), {})]
        if layout == "contiguous":
            out += [
                ((make((5,), "contiguous", dtype, device, rg, seed=4), w(1)), {}),
                ((make((4, 3), "contiguous", dtype, device, rg, seed=5), w(3)), {}),
            ]
        return out
    if name == "prelu_backward":
        return [((grad_like(s4), x(seed=1), w(6)), {}), ((grad_like(s4), x(seed=1), w(1)), {})]
    if name == "abs_rectifier":
        return [((x(),), {})] + [((e,), {}) for e in extra_x]
    if name == "abs_rectifier_backward":
        return [((grad_like(s4), x(seed=1)), {})]
    if name in ("maxout", "maxout_with_indices"):
        out = [((x(), 2, 1), {}), ((x(), 3), {}), ((x(), 2, -1), {}), ((x(),), {"pool_size": 3, "dim": 2})]
        if layout == "contiguous":
            # pool_size > 256 switches the saved index dtype from uint8 to int32
            out.append(((make((2, 600), "contiguous", dtype, device, rg, seed=6), 300, 1), {}))
            out.append(((make((3, 8), "contiguous", dtype, device, rg, seed=13)[:, ::2], 2, 1), {}))
        return out
    if name == "maxout_backward":
        out = [
            ((grad_like((2, 3, 3, 4)), indices(2, 1), 2, 1), {}),
            ((grad_like((2, 6, 3, 2)), indices(2, -1), 2, -1), {}),
        ]
        if layout == "contiguous":
            big = (2, 600)
            out.append(((grad_like((2, 2)), indices(300, 1, shape=big), 300, 1), {}))
        return out
    raise AssertionError(f"no samples for {name}")


def cases():
    for name in ALL_OPS:
        for layout in LAYOUTS:
            for dtype in FLOAT_DTYPES:
                for rg in ([False] if name in IN_PLACE else [False, True]):
                    for util in TEST_UTILS:
                        marks = []
                        dname = str(dtype).replace("torch.", "")
                        yield pytest.param(
                            name, layout, dtype, rg, util, marks=marks,
                            id=f"{name}-{layout}-{dname}-{'grad' if rg else 'nograd'}-{util}",
                        )


def test_every_op_has_samples():
    assert {"relu", "prelu_backward", "maxout"} <= set(ALL_OPS)
    assert IN_PLACE == {name for name in ALL_OPS if name.endswith("_")}
    for name in ALL_OPS:
        assert samples(name, "contiguous", torch.float64, "cpu", False), name


@pytest.mark.parametrize("name,layout,dtype,requires_grad,util", list(cases()))
def test_opcheck(name, layout, dtype, requires_grad, util, device):
    op = getattr(ops, name)
    for args, kwargs in samples(name, layout, dtype, device, requires_grad):
        opcheck(op, args, kwargs, test_utils=util)

