"""rrelu (randomized leaky ReLU, docs/semantics.md): eval mode bitwise
against torch; training mode, whose random stream cannot match torch's, by
its distribution (bounds, mean and variance over many draws), determinism
for a seeded generator, and its gradient against the slopes it drew; what
backward saves against torch's saved noise tensor; in-place rules."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck, gradgradcheck

import rectifiers.functional as RF
import rectifiers.nn as rnn
from references import assert_bitwise
from test_masks import SavingTheInput

R = torch.ops.rectifiers
DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
BOUNDS = [(1 / 8, 1 / 3), (0.0, 0.5), (0.2, 0.2), (-0.5, 0.25)]


def gen(seed=0, device="cpu"):
    return torch.Generator(device=device).manual_seed(seed)


def specials(dtype, device="cpu"):
    return torch.tensor([0.0, -0.0, math.inf, -math.inf, math.nan, -3.0, 2.0, -1e-3],
                        dtype=dtype, device=device)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lower,upper", BOUNDS)
def test_eval_mode_is_torch_bitwise(dtype, lower, upper, device):
    x = torch.cat([specials(dtype, device), torch.randn(1000, generator=gen(1)).to(dtype).to(device)])
    ref = F.leaky_relu(x, (lower + upper) / 2)  # what F.rrelu(training=False) computes
    if dtype in (torch.float32, torch.float64):
        assert_bitwise(F.rrelu(x, lower, upper, training=False), ref, "torch's own")
    assert_bitwise(RF.rrelu(x, lower, upper), ref)
    assert_bitwise(R.rrelu(x, lower, upper, False), ref)
    assert_bitwise(rnn.RReLU(lower, upper).eval()(x), ref)
    y = x.clone()
    assert RF.rrelu(y, lower, upper, inplace=True) is y
    assert_bitwise(y, ref)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lower,upper", BOUNDS)
def test_training_distribution(dtype, lower, upper, device):
    n = 200_000
    x = -torch.rand(n, generator=gen(2), dtype=torch.float64).add_(0.5).to(dtype).to(device)
    y = RF.rrelu(x, lower, upper, training=True)
    slope = (y.double() / x.double()).cpu()
    opmath = torch.float64 if dtype == torch.float64 else torch.float32
    lo, hi = float(torch.tensor(lower, dtype=opmath)), float(torch.tensor(upper, dtype=opmath))
    # rounding of x * slope to dtype moves the ratio by at most an ulp of it
    ulp = torch.finfo(dtype).eps * 2
    assert slope.min() >= lo - ulp * abs(lo) - 1e-12 and slope.max() <= hi + ulp * abs(hi) + 1e-12
    mean, var = slope.mean().item(), slope.var().item()
    width = hi - lo
    # the mean of n uniforms is within 6 standard errors; the variance within 5 %
    assert abs(mean - (lo + hi) / 2) <= 6 * width / math.sqrt(12 * n) + 2 * ulp
    if width > 0:
        assert abs(var - width ** 2 / 12) <= 0.05 * width ** 2 / 12 + 4 * ulp
        # not a handful of values: the slopes spread over the range
        assert slope.unique().numel() > 100
    else:
        assert var <= (4 * ulp * hi) ** 2


def test_training_leaves_positive_values_and_nan(device):
    x = specials(torch.float32, device)
    y = R.rrelu(x, 0.1, 0.3, True, gen(3, device))
    assert_bitwise(y[[2, 4, 6]], x[[2, 4, 6]])  # inf, NaN, 2.0 pass
    assert y[3].item() == -math.inf
    assert torch.signbit(y[1]) and y[1].item() == 0  # -0 * slope
    assert not torch.signbit(y[0])
    assert 0.1 * 3 <= -y[5].item() <= 0.3 * 3 + 1e-6


def test_seeded_generator_is_deterministic_and_distinct(device):
    x = torch.randn(4096, generator=gen(4)).to(device)
    a = R.rrelu(x, 0.1, 0.3, True, gen(5, device))
    b = R.rrelu(x, 0.1, 0.3, True, gen(5, device))
    c = R.rrelu(x, 0.1, 0.3, True, gen(6, device))
    assert_bitwise(a, b)
    assert not torch.equal(a, c)
    # the default generator: torch.manual_seed fixes it
    torch.manual_seed(7)
    d = RF.rrelu(x, 0.1, 0.3, training=True)
    torch.manual_seed(7)
    e = RF.rrelu(x, 0.1, 0.3, training=True)
    f = RF.rrelu(x, 0.1, 0.3, training=True)
    assert_bitwise(d, e)
    assert not torch.equal(e, f)  # the generator advanced
    # one generator drawn twice gives two different streams
    g = gen(8, device)
    assert not torch.equal(R.rrelu(x, 0.1, 0.3, True, g), R.rrelu(x, 0.1, 0.3, True, g))


MASK32 = 0xFFFFFFFF


def philox4x32_10(seed, offset, blocks):
    """The four 32-bit words of Philox4x32-10 at counter (offset, block) for
    each block, keyed by seed: written from the algorithm, not from ours."""
    u64 = np.uint64
    blocks = blocks.astype(u64)
    c0 = np.full(blocks.shape, offset & MASK32, dtype=u64)
    c1 = np.full(blocks.shape, offset >> 32, dtype=u64)
    c2, c3 = blocks & u64(MASK32), blocks >> u64(32)
    k0, k1 = seed & MASK32, seed >> 32
    for _ in range(10):
        p0, p1 = u64(0xD2511F53) * c0, u64(0xCD9E8D57) * c2
        c0, c1, c2, c3 = ((p1 >> u64(32)) ^ c1 ^ u64(k0), p1 & u64(MASK32),
                          (p0 >> u64(32)) ^ c3 ^ u64(k1), p0 & u64(MASK32))
        k0, k1 = (k0 + 0x9E3779B9) & MASK32, (k1 + 0xBB67AE85) & MASK32
    return np.stack([c0, c1, c2, c3], axis=-1)  # [block, word]


def documented_slopes(state, n, lower, upper, opmath):
    """The slopes docs/semantics.md specifies for positions 0..n-1."""
    seed, offset = (int(v) & (2**64 - 1) for v in state.cpu().tolist())
    per_block = 2 if opmath == torch.float64 else 4
    words = philox4x32_10(seed, offset, np.arange((n + per_block - 1) // per_block))
    if per_block == 4:
        u = words.reshape(-1).astype(np.float64) * 2.0 ** -32
    else:
        bits = (words[:, 0::2] << np.uint64(32)) | words[:, 1::2]
        u = (bits.reshape(-1) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    lo, hi = (float(torch.tensor(b, dtype=opmath)) for b in (lower, upper))
    return torch.from_numpy(lo + (hi - lo) * u[:n]).to(opmath)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lower,upper", BOUNDS)
def test_slopes_are_the_documented_philox_stream(dtype, lower, upper, device):
    # more elements than one thread's share, an odd count: the threads' first
    # positions fall inside Philox blocks
    n = 100_003
    x = torch.randn(n, generator=gen(11)).to(dtype)
    x[::5] = -0.0
    x[7::13] = -math.inf
    g = torch.randn(n, generator=gen(12)).to(dtype)
    opmath = torch.float64 if dtype == torch.float64 else torch.float32
    y, state = R.rrelu_with_state(x.to(device), lower, upper, gen(13, device))
    slopes = documented_slopes(state, n, lower, upper, opmath)
    neg = x <= 0
    assert_bitwise(y.cpu(), torch.where(neg, (x.to(opmath) * slopes).to(dtype), x))
    grad = R.rrelu_backward(g.to(device), x.to(device), state, lower, upper, False)
    assert_bitwise(grad.cpu(), torch.where(neg, (g.to(opmath) * slopes).to(dtype), g))


def slopes_and_grad(x, lower, upper, seed):
    """y of a seeded call and its gradient for grad_output = 1: the slopes drawn."""
    leaf = x.detach().clone().requires_grad_()
    y = R.rrelu(leaf, lower, upper, True, gen(seed, x.device))
    (ones_grad,) = torch.autograd.grad(y, leaf, torch.ones_like(y))
    return y.detach(), ones_grad


LAYOUTS = {
    "contiguous": lambda t: t,
    "channels_last": lambda t: t.contiguous(memory_format=torch.channels_last),
    "transposed": lambda t: t.transpose(1, 3),
    "sliced": lambda t: t[:, ::2, 1:, ::3],
    "expanded": lambda t: t[:, :1].expand(2, 6, 5, 8),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_gradient_is_the_drawn_slope(dtype, layout, device):
    base = torch.randn(2, 6, 5, 8, generator=gen(9)).to(dtype).to(device)
    base.view(-1)[::7] = 0.0
    base.view(-1)[3::11] = -0.0
    x = LAYOUTS[layout](base).detach().requires_grad_()
    y = R.rrelu(x, 0.1, 0.4, True, gen(10, device))
    (s,) = torch.autograd.grad(y, x, torch.ones_like(y))
    neg = x.detach() <= 0
    assert (s[~neg] == 1).all()
    assert ((s[neg].double() >= 0.1 * (1 - 1e-2)) & (s[neg].double() <= 0.4 * (1 + 1e-2))).all()
    if dtype in (torch.float32, torch.float64):
        # grad_output = 1: the gradient is the slope itself, and y is x times it
        assert_bitwise(y, torch.where(neg, x * s, x))
    else:  # the gradient is the slope rounded to the dtype, the forward used it unrounded
        torch.testing.assert_close(y, torch.where(neg, x * s, x))
    # another gradient: the same slopes, regenerated
    g = torch.randn(x.shape, generator=gen(11)).to(dtype).to(device)
    (gx,) = torch.autograd.grad(R.rrelu(x, 0.1, 0.4, True, gen(10, device)), x, g)
    if dtype in (torch.float32, torch.float64):
        assert_bitwise(gx, torch.where(neg, g * s, g))


def test_gradient_of_a_view_without_overlap_is_per_element(device):
    x = torch.randn(3, 8, generator=gen(11)).to(device)
    leaf = x.clone().requires_grad_()
    y = R.rrelu(leaf.t(), 0.1, 0.3, True, gen(12, device))
    (g,) = torch.autograd.grad(y.sum(), leaf)
    expected = torch.where(x.t() <= 0, y / x.t(), torch.ones_like(y)).t()
    torch.testing.assert_close(g, expected, rtol=1e-6, atol=0)


def test_gradcheck_with_a_seeded_generator(device):
    x = torch.randn(3, 4, 5, generator=gen(13), dtype=torch.float64).to(device)
    x = torch.where(x.abs() < 0.1, x + 0.3, x).requires_grad_()

    def fn(t):
        return R.rrelu(t, 0.1, 0.4, True, gen(14, device))

    assert gradcheck(fn, (x,), check_forward_ad=True, check_batched_grad=False)
    assert gradgradcheck(fn, (x,), check_fwd_over_rev=True)


def test_backward_op_checks(device):
    x = torch.randn(5, device=device)
    y, state = R.rrelu_with_state(x, 0.1, 0.3, gen(15, device))
    assert state.dtype == torch.int64 and state.shape == (2,) and state.device == x.device
    g = torch.randn(5, device=device)
    expected = torch.where(x <= 0, g * (y / x), g)
    torch.testing.assert_close(R.rrelu_backward(g, x, state, 0.1, 0.3, False), expected,
                               rtol=1e-6, atol=1e-7)
    with pytest.raises(RuntimeError, match=r"rectifiers::rrelu_backward: state must be"):
        R.rrelu_backward(g, x, state.int(), 0.1, 0.3, False)
    with pytest.raises(RuntimeError, match=r"rectifiers::rrelu_backward: state must be"):
        R.rrelu_backward(g, x, state[:1], 0.1, 0.3, False)
    with pytest.raises(RuntimeError, match=r"rectifiers::rrelu_backward: .*negative lower"):
        R.rrelu_backward(g, y, state, -0.1, 0.3, True)


@pytest.mark.parametrize("lower,upper,match", [
    (0.5, 0.25, "lower must be <= upper"), (math.nan, 0.3, "lower must be finite"),
    (0.1, math.inf, "upper must be finite"), (-1e300, 0.3, "without overflow")])
def test_bad_bounds(lower, upper, match):
    x = torch.randn(4)
    before = x.clone()
    for training in (False, True):
        with pytest.raises(RuntimeError, match=rf"rectifiers::rrelu: .*{match}"):
            R.rrelu(x, lower, upper, training)
        with pytest.raises(RuntimeError, match=rf"rectifiers::rrelu_: .*{match}"):
            R.rrelu_(x, lower, upper, training)
    assert_bitwise(x, before)
    with pytest.raises(RuntimeError, match=r"rectifiers::rrelu: input must be a floating-point"):
        R.rrelu(torch.ones(3, dtype=torch.int32))


@pytest.mark.parametrize("lower", [0.1, 0.0])
def test_in_place_training_backward_from_the_result(lower, device):
    x = torch.randn(64, generator=gen(16)).to(device)
    ref, ref_slope = slopes_and_grad(x, lower, 0.3, 17)
    leaf = x.clone().requires_grad_()
    a = leaf * 1.0
    out = RF.rrelu(a, lower, 0.3, training=True, inplace=True, generator=gen(17, device))
    assert out is a
    assert_bitwise(a, ref)  # the same slopes in place as out of place
    (g,) = torch.autograd.grad(a, leaf, torch.ones_like(a))
    assert_bitwise(g, ref_slope)


def test_in_place_training_negative_lower_backward_refused():
    leaf = torch.randn(8).requires_grad_()
    a = leaf * 1.0
    R.rrelu_(a, -0.2, 0.3, True)
    with pytest.raises(RuntimeError, match=r"rectifiers::rrelu_backward: .*negative lower"):
        a.sum().backward()


def saved_bytes(fn):
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return total


def test_saves_no_noise_tensor():
    """torch saves the input and a noise tensor of its size (contiguous even for a
    channels_last input); ours a mask of a bit per element and two int64s, or
    where it saves the input (under a dispatch mode, test_masks.py) the input
    and the two int64s."""
    x = torch.randn(8, 16, 32, 32).contiguous(memory_format=torch.channels_last).requires_grad_()
    n = x.numel() * x.element_size()
    ours = saved_bytes(lambda: RF.rrelu(x, training=True))
    theirs = saved_bytes(lambda: F.rrelu(x, training=True))
    assert ours == x.numel() // 8 + 16
    assert theirs == 2 * n
    with SavingTheInput():
        assert saved_bytes(lambda: RF.rrelu(x, training=True)) == n + 16


def test_module():
    m = rnn.RReLU(0.1, 0.3)
    t = torch.nn.RReLU(0.1, 0.3)
    assert repr(m).replace("rectifiers.nn.", "") == repr(t) and m.extra_repr() == t.extra_repr()
    assert rnn.RReLU(inplace=True).extra_repr() == torch.nn.RReLU(inplace=True).extra_repr()
    assert m.state_dict() == {} == dict(t.state_dict())
    x = -torch.rand(1000)
    torch.manual_seed(0)
    y = m(x)  # training mode: random slopes
    assert not torch.equal(y, F.leaky_relu(x, 0.2))
    assert ((y / x >= 0.1 - 1e-6) & (y / x <= 0.3 + 1e-6)).all()
    assert_bitwise(m.eval()(x), F.leaky_relu(x, 0.2))


def test_vmap_randomness():
    x = torch.randn(4, 16)
    torch.testing.assert_close(torch.func.vmap(lambda t: RF.rrelu(t, 0.1, 0.3))(x),
                               F.leaky_relu(x, 0.2), rtol=0, atol=0)
    out = torch.func.vmap(lambda t: RF.rrelu(t, 0.1, 0.3, training=True), randomness="different")(x)
    assert out.shape == x.shape
    neg = x <= 0
    assert ((out[neg] / x[neg] >= 0.1 - 1e-6) & (out[neg] / x[neg] <= 0.3 + 1e-6)).all()
    with pytest.raises(RuntimeError, match="randomness"):
        torch.func.vmap(lambda t: RF.rrelu(t, 0.1, 0.3, training=True), randomness="same")(x)
