"""The ops that save a packed mask instead of their input (csrc/common/mask.h):
leaky_relu, relu6 and abs_rectifier out of place, rrelu in training.

The reference is torch's op, which saves the input (for rrelu, whose random
stream is ours, our own op where it saves the input: under a dispatch mode):
values and gradients bit for bit, first and second order and forward over
reverse, on the special values and on every layout; the bytes saved; the
mask's bit order; where the op saves what torch saves instead (traced,
transformed); and the mask backward ops' refusals.
"""

import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from rectifiers import functional as RF

from conftest import special_values

R = torch.ops.rectifiers
DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
INT_OF = {2: torch.int16, 4: torch.int32, 8: torch.int64}


class SavingTheInput(TorchDispatchMode):
    """Runs ops as they are; under it our ops save their input (no mask)."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))


def seeded_rrelu(lower, upper):
    def rrelu(t):
        g = torch.Generator(t.device).manual_seed(7)
        return RF.rrelu(t, lower, upper, training=True, generator=g)

    return rrelu


def rrelu_reference(lower, upper):
    ours = seeded_rrelu(lower, upper)

    def rrelu(t):
        with SavingTheInput():
            return ours(t)

    return rrelu


# name: (ours, reference, bits per element)
OPS = {
    "leaky_relu 0.2": (lambda t: RF.leaky_relu(t, 0.2), lambda t: F.leaky_relu(t, 0.2), 1),
    "leaky_relu -0.5": (lambda t: RF.leaky_relu(t, -0.5), lambda t: F.leaky_relu(t, -0.5), 1),
    "leaky_relu 0": (lambda t: RF.leaky_relu(t, 0.0), lambda t: F.leaky_relu(t, 0.0), 1),
    "relu6": (RF.relu6, F.relu6, 2),
    "abs_rectifier": (RF.abs_rectifier, torch.abs, 2),
    "rrelu": (seeded_rrelu(0.1, 0.3), rrelu_reference(0.1, 0.3), 1),
    "rrelu -0.5": (seeded_rrelu(-0.5, 0.5), rrelu_reference(-0.5, 0.5), 1),
}


def bits(t):
    return t.detach().reshape(-1).view(INT_OF[t.element_size()])


def assert_bitwise(got, expected, what=""):
    assert got.shape == expected.shape and got.dtype == expected.dtype, what
    assert torch.equal(bits(got), bits(expected)), what


def layouts(dtype, nan=True):
    """(name, a tensor of that layout holding the special values among random ones)."""
    g = torch.Generator().manual_seed(0)

    def filled(*shape):
        t = torch.randn(*shape, generator=g, dtype=torch.float64) * 3
        # and NaN's other sign, float32's subnormals and relu6's other side
        specials = torch.cat([special_values(torch.float64),
                              torch.tensor([-float("nan"), 1e-40, -1e-40, -6.0, 7.0],
                                           dtype=torch.float64)])
        if not nan:
            specials = specials[~specials.isnan()]
        n = min(t.numel(), specials.numel())
        t.view(-1)[:n] = specials[:n]
        return t.to(dtype)

    return [
        ("contiguous, 37 elements", filled(37)),
        ("channels_last", filled(2, 3, 5, 7).contiguous(memory_format=torch.channels_last)),
        ("transposed", filled(9, 5).t()),
        ("sliced", filled(6, 10)[:, ::3]),
        ("expanded", filled(5, 1).expand(5, 40)),
        ("0-dim", filled(1).reshape(())),
        ("empty", filled(0, 3)),
        ("33 elements", filled(33)),
        ("a 1000 elements", filled(10, 100)),
    ]


def run(op, x, g):
    """y, x's gradient (create_graph) and, where it takes part, the second-order
    gradients of (gx * v).sum() with respect to x and to g."""
    leaf = x.detach().clone().requires_grad_()
    g = g.detach().clone().requires_grad_()
    y = op(leaf * 1)
    (gx,) = torch.autograd.grad(y, leaf, g, create_graph=True)
    v = torch.linspace(-1, 1, gx.numel(), dtype=gx.dtype, device=gx.device).reshape(gx.shape)
    second = torch.autograd.grad((gx * v).sum(), (leaf, g), allow_unused=True)
    return y, gx, second


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("nan", [True, False], ids=["with NaN", "without NaN"])
def test_gradients_equal_native_bitwise(op, dtype, nan, device):
    ours, reference, _ = OPS[op]
    for name, x in layouts(dtype, nan):
        x = x.to(device)  # keeps the layout
        g = torch.randn(x.shape, dtype=torch.float64).to(dtype).to(device)
        y, gx, (gxx, ggg) = run(ours, x, g)
        ey, egx, (egxx, eggg) = run(reference, x, g)
        assert_bitwise(y, ey, name)
        assert_bitwise(gx, egx, name)
        # the second-order graph has torch's edges: a defined zero for x
        assert gxx is not None and egxx is not None, name
        assert_bitwise(gxx, egxx, name)
        assert_bitwise(ggg, eggg, name)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("op", ["leaky_relu 0.2", "leaky_relu 0", "relu6", "abs_rectifier"])
def test_nan_gradients_equal_native_bitwise(op, dtype):
    # torch's vectorised loop encodes a bfloat16 NaN otherwise than its scalar
    # tail: NaNs of both encodings, in the body and in the tail, on both sides,
    # and infinities, which a zero slope or sign turns into NaN
    ours, reference, _ = OPS[op]
    as_int = INT_OF[torch.empty((), dtype=dtype).element_size()]
    cl, contiguous = torch.channels_last, torch.contiguous_format
    for shape, layout, grad_layout in [((1000,), contiguous, contiguous),
                                       ((37,), contiguous, contiguous),
                                       ((2, 3, 5, 7), cl, cl),
                                       ((2, 40, 5, 7), cl, contiguous),
                                       ((2, 40, 5, 7), contiguous, cl)]:
        x = (torch.randn(shape, dtype=torch.float64) * 4).to(dtype)
        g = torch.randn(shape, dtype=torch.float64).to(dtype)
        flat = g.view(-1).view(as_int)
        flat[::7] = -1  # all bits set: a NaN with its sign
        g.view(-1)[3::11] = float("nan")
        g.view(-1)[5::13] = float("inf")
        g.view(-1)[6::17] = -float("inf")
        x, g = x.contiguous(memory_format=layout), g.contiguous(memory_format=grad_layout)
        _, gx, _ = run(ours, x, g)
        _, egx, _ = run(reference, x, g)
        assert_bitwise(gx, egx, f"{shape}")


def test_gradient_requires_grad_as_native_without_a_differentiable_grad():
    x = torch.randn(8, requires_grad=True)
    for leaky in (RF.leaky_relu, F.leaky_relu):
        (gx,) = torch.autograd.grad(leaky(x * 1, 0.2), x, torch.ones(8), create_graph=True)
        assert gx.requires_grad
        (gxx,) = torch.autograd.grad(gx.sum(), x)
        assert torch.equal(gxx, torch.zeros(8))


def saved_bytes(fn, x):
    sizes = []

    def pack(t):
        sizes.append(t.untyped_storage().nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(x * 1)
    return sum(sizes)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
@pytest.mark.parametrize("op", ["leaky_relu 0.2", "relu6", "abs_rectifier", "rrelu"])
def test_saves_its_bits_per_element(op, dtype):
    ours, reference, planes = OPS[op]
    x = torch.randn(1 << 20, dtype=dtype, requires_grad=True)
    state = 16 if op == "rrelu" else 0  # rrelu's generator state: two int64s
    assert saved_bytes(reference, x) == x.numel() * x.element_size() + state
    assert saved_bytes(ours, x) == x.numel() // 8 * planes + state


def test_relu6_on_cpu_saves_the_input_where_it_holds_nan():
    # torch's CPU gradient of a NaN depends on where ATen's loop runs
    # vectorised; the saved input reproduces it
    x = torch.randn(1024, requires_grad=True)
    assert saved_bytes(RF.relu6, x) == 1024 // 4
    x = x.detach().index_fill(0, torch.tensor([5]), float("nan")).requires_grad_()
    assert saved_bytes(RF.relu6, x) == 1024 * 4


def test_rrelu_native_saves_input_and_noise():
    x = torch.randn(1 << 20, requires_grad=True)
    native = saved_bytes(lambda t: F.rrelu(t, training=True), x)
    assert native == 2 * x.numel() * 4
    assert saved_bytes(OPS["rrelu"][0], x) * 63 <= native  # the mask, 1/64, and 16 bytes


def unpack(mask, plane, planes, n):
    words = mask.numel() // planes
    plane_words = mask[plane * words:(plane + 1) * words]
    unpacked = (plane_words.repeat_interleave(32) >> torch.arange(32).repeat(words)) & 1
    assert not unpacked[n:].any()
    return unpacked[:n].bool()


# name: (the forward with its mask, its planes' sides)
WITH_MASK = {
    "leaky_relu": (lambda t: R.leaky_relu_with_mask(t, 0.1), [lambda t: t > 0]),
    "relu6": (R.relu6_with_mask, [lambda t: (t > 0) & (t < 6), torch.isnan]),
    "abs_rectifier": (R.abs_rectifier_with_mask, [lambda t: t > 0, lambda t: t < 0]),
    "rrelu": (lambda t: R.rrelu_with_mask(t, 0.1, 0.3)[::2], [lambda t: ~(t <= 0)]),
}


@pytest.mark.parametrize("op", WITH_MASK)
def test_mask_order_is_the_results_memory_order(op):
    forward, sides = WITH_MASK[op]
    x = torch.randn(2, 3, 4, 5) * 4
    x.view(-1)[:3] = torch.tensor([float("nan"), 0.0, 6.0])
    x = x.contiguous(memory_format=torch.channels_last)
    y, mask = forward(x)
    assert y.stride() == x.stride()
    memory_order = x.permute(0, 2, 3, 1).reshape(-1)  # channels_last's
    for plane, side in enumerate(sides):
        assert torch.equal(unpack(mask, plane, len(sides), x.numel()), side(memory_order)), plane
    # a non-dense input: the result is contiguous and so is the order
    x = torch.randn(6, 10)[:, ::3]
    y, mask = forward(x)
    assert y.is_contiguous() and mask.numel() == len(sides)
    for plane, side in enumerate(sides):
        assert torch.equal(unpack(mask, plane, len(sides), x.numel()), side(x.reshape(-1))), plane


@pytest.mark.parametrize("grad_layout", [torch.contiguous_format, torch.channels_last], ids=str)
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last], ids=str)
def test_gradient_of_another_layout_reads_the_right_bits(layout, grad_layout, device):
    # and is laid out as torch's twin lays out its gradient: a later loop
    # splits by layout, and with it a bfloat16 NaN's encoding
    def check(got, expected):
        assert_bitwise(got, expected)
        assert got.stride() == expected.stride()

    x = (torch.randn(2, 3, 4, 5) * 4).to(device).contiguous(memory_format=layout)
    g = torch.randn(2, 3, 4, 5).to(device).contiguous(memory_format=grad_layout)
    y, mask = R.leaky_relu_with_mask(x, 0.1)
    got = R.leaky_relu_mask_backward(g, mask, y.shape, y.stride(), 0.1)
    check(got, torch.ops.aten.leaky_relu_backward(g, x, 0.1, False))
    y, mask = R.relu6_with_mask(x)
    got = R.relu6_mask_backward(g, mask, y.shape, y.stride())
    check(got, torch.ops.aten.hardtanh_backward(g, x, 0, 6))
    y, mask = R.abs_rectifier_with_mask(x)
    got = R.abs_rectifier_mask_backward(g, mask, y.shape, y.stride())
    check(got, g * x.sgn())
    y, state, mask = R.rrelu_with_mask(x, 0.1, 0.3)
    got = R.rrelu_mask_backward(g, mask, state, y.shape, y.stride(), 0.1, 0.3)
    assert_bitwise(got, R.rrelu_backward(g, x, state, 0.1, 0.3, False))
    assert got.stride() == (g * x).stride()  # torch's rrelu_with_noise_backward: grad * noise


def test_modifying_the_input_afterwards_is_allowed():
    # the input is not saved, so autograd has nothing to find modified
    # (torch's raises "modified by an inplace operation"); the gradient is right
    x = torch.randn(16, requires_grad=True)
    h = x * 1
    y = RF.leaky_relu(h, 0.2)
    h.mul_(-1)
    y.sum().backward()
    assert torch.equal(x.grad, torch.where(x > 0, 1.0, 0.2))
    h = x * 1
    y = F.leaky_relu(h, 0.2)
    h.mul_(-1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def forward_over_reverse(fn, x, g, tg):
    """x's gradient through fn for grad g, and its tangent for g's tangent tg."""
    import torch.autograd.forward_ad as fwAD

    leaf = x.clone().requires_grad_()
    with fwAD.dual_level():
        (gx,) = torch.autograd.grad(fn(leaf * 1), leaf, fwAD.make_dual(g, tg), create_graph=True)
        return fwAD.unpack_dual(gx).primal.detach(), fwAD.unpack_dual(gx).tangent


@pytest.mark.parametrize("op", OPS)
def test_forward_over_reverse_as_native(op):
    x = torch.randn(40, dtype=torch.float64) * 4
    x[:4] = torch.tensor([0.0, 6.0, -0.0, float("nan") if op != "relu6" else 1.0])
    g, tg = torch.randn(40, dtype=torch.float64), torch.randn(40, dtype=torch.float64)
    (gx, tangent), (egx, etangent) = (forward_over_reverse(fn, x, g, tg) for fn in OPS[op][:2])
    assert_bitwise(gx, egx)
    assert_bitwise(tangent, etangent)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_relu6_nan_tangent_on_cuda_is_a_where():
    # the gradient of a NaN passes on CUDA (hardtanh_backward), its tangent
    # in forward over reverse is 0 (torch's where): the mask's NaN plane
    x = torch.tensor([float("nan"), 1.0, 7.0], device="cuda", dtype=torch.float64)
    g, tg = torch.ones_like(x), torch.full_like(x, 2.0)
    (gx, tangent), (egx, etangent) = (forward_over_reverse(fn, x, g, tg)
                                      for fn in (RF.relu6, F.relu6))
    assert_bitwise(gx, egx)
    assert_bitwise(tangent, etangent)


def test_saves_the_input_where_others_read_the_graph():
    x = torch.randn(8, requires_grad=True)
    # torch.func: the transforms' own saving, unchanged
    gx = torch.func.grad(lambda t: RF.leaky_relu(t, 0.2).sum())(x)
    assert torch.equal(gx, torch.where(x > 0, 1.0, 0.2))
    # the TorchScript tracer records leaky_relu, not the mask op
    traced = torch.jit.trace(lambda t: RF.leaky_relu(t, 0.2), (x,))
    kinds = {n.kind() for n in traced.graph.nodes()}
    assert "rectifiers::leaky_relu" in kinds and "rectifiers::leaky_relu_with_mask" not in kinds
    # torch.export keeps leaky_relu
    class M(torch.nn.Module):
        def forward(self, t):
            return RF.leaky_relu(t, 0.2)

    graph = str(torch.export.export(M(), (torch.randn(4),)).graph)
    assert "leaky_relu.default" in graph and "with_mask" not in graph


# name: (the forward with its mask, its mask backward given (g, mask, sizes, strides))
MASK_BACKWARD = {
    "leaky_relu_mask_backward": (
        lambda t: R.leaky_relu_with_mask(t, 0.1),
        lambda g, m, sizes, strides: R.leaky_relu_mask_backward(g, m, sizes, strides, 0.1)),
    "relu6_mask_backward": (R.relu6_with_mask, R.relu6_mask_backward),
    "abs_rectifier_mask_backward": (R.abs_rectifier_with_mask, R.abs_rectifier_mask_backward),
    "rrelu_mask_backward": (
        lambda t: R.rrelu_with_mask(t, 0.1, 0.3)[::2],
        lambda g, m, sizes, strides: R.rrelu_mask_backward(
            g, m, torch.tensor([1, 0]), sizes, strides, 0.1, 0.3)),
}


@pytest.mark.parametrize("op", MASK_BACKWARD)
@pytest.mark.parametrize("spoil,message", [
    (lambda g, m, s: (g, m.to(torch.int64), s), "mask must be a 1-dim int32 tensor"),
    (lambda g, m, s: (g, m[:0], s), "mask has 0 words"),
    (lambda g, m, s: (g, m[:1], s), "mask has 1 words"),
    (lambda g, m, s: (g, m, s[:-1]), "one stride per dim"),
    (lambda g, m, s: (g, m, [s[0] + 1, *s[1:]]), "not a dense layout"),
    (lambda g, m, s: (g.to(torch.int32), m, s), "floating"),
    # a gradient of another shape whose mask would have as many words
    (lambda g, m, s: (torch.randn(5, 3), m, s), "are not grad_output's sizes"),
], ids=["int64", "empty", "one word", "strides", "not dense", "int grad", "shape"])
def test_mask_backward_refuses_what_does_not_fit(op, spoil, message):
    forward, backward = MASK_BACKWARD[op]
    x = torch.randn(3, 5)
    y, mask = forward(x)
    if mask.numel() == 1 and message == "mask has 1 words":
        pytest.skip("a one-word mask is right here")
    g, m, s = spoil(torch.randn(3, 5), mask, list(y.stride()))
    with pytest.raises(RuntimeError, match=f"rectifiers::{op}") as e:
        backward(g, m, [3, 5], s)
    assert message in str(e.value)


def test_rrelu_mask_backward_refuses_a_wrong_state():
    y, state, mask = R.rrelu_with_mask(torch.randn(3, 5), 0.1, 0.3)
    with pytest.raises(RuntimeError, match="rectifiers::rrelu_mask_backward: state must be"):
        R.rrelu_mask_backward(torch.randn(3, 5), mask, state[:1], [3, 5], [5, 1], 0.1, 0.3)
    with pytest.raises(RuntimeError, match="rectifiers::rrelu_mask_backward: lower must be <="):
        R.rrelu_mask_backward(torch.randn(3, 5), mask, state, [3, 5], [5, 1], 0.3, 0.1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
@pytest.mark.parametrize("op", ["leaky_relu 0.2", "relu6", "abs_rectifier", "rrelu"])
def test_more_than_2_pow_31_elements_on_cuda(op):
    n = 2**31 + 33  # past 32-bit offsets, and a last word of one element
    x = torch.full((n,), -1.0, dtype=torch.float16, device="cuda")
    x[-1] = 1.0
    x[2**31 - 1] = 1.0
    x.requires_grad_()
    y = OPS[op][0](x * 1)
    (gx,) = torch.autograd.grad(y, x, torch.ones_like(y))
    assert gx[-1].item() == 1.0 and gx[2**31 - 1].item() == 1.0
    expected = {"leaky_relu 0.2": 0.2, "relu6": 0.0, "abs_rectifier": -1.0}.get(op)
    if expected is None:  # rrelu: a slope in [0.1, 0.3]
        assert 0.1 <= gx[2**31].item() <= 0.3
    else:
        assert gx[2**31].item() == pytest.approx(expected, rel=1e-3)
    assert (gx == 1.0).sum().item() == 2
