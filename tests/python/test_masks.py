"""leaky_relu out of place saves a packed mask of x > 0, not x (csrc/common/mask.h).

The reference is torch's leaky_relu, which saves x: values and gradients
bit for bit, first and second order and forward over reverse, on the special
values and on every layout; the bytes saved; the mask's bit order; where
the op saves what torch saves instead (traced, transformed); and the mask
backward op's refusals.
"""

import pytest
import torch
import torch.nn.functional as F

from rectifiers import functional as RF

from conftest import special_values

R = torch.ops.rectifiers
DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
SLOPES = [0.2, -0.5, 0.0]
INT_OF = {2: torch.int16, 4: torch.int32, 8: torch.int64}


def bits(t):
    return t.detach().reshape(-1).view(INT_OF[t.element_size()])


def assert_bitwise(got, expected, what=""):
    assert got.shape == expected.shape and got.dtype == expected.dtype, what
    assert torch.equal(bits(got), bits(expected)), what


def layouts(dtype):
    """(name, a tensor of that layout holding the special values among random ones)."""
    g = torch.Generator().manual_seed(0)

    def filled(*shape):
        t = torch.randn(*shape, generator=g, dtype=torch.float64) * 3
        # and NaN's other sign and float32's subnormals
        specials = torch.cat([special_values(torch.float64),
                              torch.tensor([-float("nan"), 1e-40, -1e-40], dtype=torch.float64)])
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
    ]


def run(leaky, x, slope, g):
    """y, x's gradient (create_graph) and, where it takes part, the second-order
    gradients of (gx * v).sum() with respect to x and to g."""
    leaf = x.detach().clone().requires_grad_()
    g = g.detach().clone().requires_grad_()
    y = leaky(leaf * 1, slope)
    (gx,) = torch.autograd.grad(y, leaf, g, create_graph=True)
    v = torch.linspace(-1, 1, gx.numel(), dtype=gx.dtype, device=gx.device).reshape(gx.shape)
    second = torch.autograd.grad((gx * v).sum(), (leaf, g), allow_unused=True)
    return y, gx, second


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("slope", SLOPES)
def test_gradients_equal_native_bitwise(dtype, slope, device):
    for name, x in layouts(dtype):
        x = x.to(device)  # keeps the layout
        g = torch.randn(x.shape, dtype=torch.float64).to(dtype).to(device)
        y, gx, (gxx, ggg) = run(RF.leaky_relu, x, slope, g)
        ey, egx, (egxx, eggg) = run(F.leaky_relu, x, slope, g)
        assert_bitwise(y, ey, name)
        assert_bitwise(gx, egx, name)
        # the second-order graph has torch's edges: a defined zero for x
        assert gxx is not None and egxx is not None, name
        assert_bitwise(gxx, egxx, name)
        assert_bitwise(ggg, eggg, name)


def test_gradient_requires_grad_as_native_without_a_differentiable_grad():
    x = torch.randn(8, requires_grad=True)
    for leaky in (RF.leaky_relu, F.leaky_relu):
        (gx,) = torch.autograd.grad(leaky(x * 1, 0.2), x, torch.ones(8), create_graph=True)
        assert gx.requires_grad
        (gxx,) = torch.autograd.grad(gx.sum(), x)
        assert torch.equal(gxx, torch.zeros(8))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
def test_saves_a_bit_per_element(dtype):
    x = torch.randn(1 << 20, dtype=dtype, requires_grad=True)

    def saved_bytes(fn):
        sizes = []

        def pack(t):
            sizes.append(t.untyped_storage().nbytes())
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            fn(x * 1)
        return sum(sizes)

    ours, native = saved_bytes(lambda t: RF.leaky_relu(t, 0.2)), saved_bytes(lambda t: F.leaky_relu(t, 0.2))
    assert native == x.numel() * x.element_size()
    assert ours == x.numel() // 8


def test_mask_order_is_the_results_memory_order():
    x = torch.randn(2, 3, 4, 5).contiguous(memory_format=torch.channels_last)
    y, mask = R.leaky_relu_with_mask(x, 0.1)
    assert y.stride() == x.stride()
    positive = (x > 0).permute(0, 2, 3, 1).reshape(-1)  # channels_last's memory order
    unpacked = (mask.repeat_interleave(32) >> torch.arange(32).repeat(mask.numel())) & 1
    assert torch.equal(unpacked[: x.numel()].bool(), positive)
    assert not unpacked[x.numel():].any()
    # a non-dense input: the result is contiguous and so is the order
    x = torch.randn(6, 10)[:, ::3]
    y, mask = R.leaky_relu_with_mask(x, 0.1)
    assert y.is_contiguous() and mask.numel() == 1
    assert torch.equal((mask >> torch.arange(x.numel())) & 1, (x > 0).reshape(-1).int())


def test_gradient_of_another_layout_reads_the_right_bits():
    x = torch.randn(2, 3, 4, 5).contiguous(memory_format=torch.channels_last)
    y, mask = R.leaky_relu_with_mask(x, 0.1)
    g = torch.randn(2, 3, 4, 5)  # contiguous, unlike the result
    got = R.leaky_relu_mask_backward(g, mask, y.shape, y.stride(), 0.1)
    assert_bitwise(got, torch.ops.aten.leaky_relu_backward(g, x, 0.1, False))


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


def test_forward_over_reverse_as_native():
    import torch.autograd.forward_ad as fwAD

    x = torch.randn(40, dtype=torch.float64)
    g, tg = torch.randn(40, dtype=torch.float64), torch.randn(40, dtype=torch.float64)
    results = []
    for leaky in (RF.leaky_relu, F.leaky_relu):
        leaf = x.clone().requires_grad_()
        with fwAD.dual_level():
            (gx,) = torch.autograd.grad(leaky(leaf * 1, 0.3), leaf, fwAD.make_dual(g, tg),
                                        create_graph=True)
            results.append((fwAD.unpack_dual(gx).primal.detach(), fwAD.unpack_dual(gx).tangent))
    assert_bitwise(results[0][0], results[1][0])
    assert_bitwise(results[0][1], results[1][1])


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


@pytest.mark.parametrize("spoil,message", [
    (lambda g, m, s: (g, m.to(torch.int64), s), "mask must be a 1-dim int32 tensor"),
    (lambda g, m, s: (g, m[:0], s), "mask has 0 words"),
    (lambda g, m, s: (g, m, s[:-1]), "one stride per dim"),
    (lambda g, m, s: (g, m, [s[0] + 1, *s[1:]]), "not a dense layout"),
    (lambda g, m, s: (g.to(torch.int32), m, s), "floating"),
    # a gradient of another shape whose mask would have as many words
    (lambda g, m, s: (torch.randn(5, 3), m, s), "are not grad_output's sizes"),
])
def test_mask_backward_refuses_what_does_not_fit(spoil, message):
    x = torch.randn(3, 5)
    y, mask = R.leaky_relu_with_mask(x, 0.1)
    g, m, s = spoil(torch.randn(3, 5), mask, list(y.stride()))
    with pytest.raises(RuntimeError, match="rectifiers::leaky_relu_mask_backward") as e:
        R.leaky_relu_mask_backward(g, m, [3, 5], s, 0.1)
    assert message in str(e.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_more_than_2_pow_31_elements_on_cuda():
    n = 2**31 + 33  # past 32-bit offsets, and a last word of one element
    x = torch.zeros(n, dtype=torch.float16, device="cuda")
    x[-1] = 1.0
    x[2**31 - 1] = 1.0
    x.requires_grad_()
    y = RF.leaky_relu(x * 1, 0.5)
    (gx,) = torch.autograd.grad(y, x, torch.ones_like(y))
    assert gx[-1].item() == 1.0 and gx[2**31 - 1].item() == 1.0 and gx[2**31].item() == 0.5
    assert (gx == 1.0).sum().item() == 2
