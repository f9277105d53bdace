"""Property-based tests (docs/semantics.md): over random shapes (0-4 dims, sizes 0-6),
random strided views (permutations, slices with steps, expanded dims) and
random values with ±0, ±inf and NaN mixed in, every op equals its PyTorch
reference: forward bitwise in every dtype, gradients bitwise in float32/float64
(PReLU's weight gradient, a reduction, within a tolerance)."""

import math

import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rectifiers.functional as RF
from conftest import DTYPES, special_values
from references import assert_bitwise, assert_weight_grad_close

R = torch.ops.rectifiers

SETTINGS = settings(max_examples=50, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

@st.composite
def strided_inputs(draw, min_dims=0):
    """A tensor of random shape (0-4 dims, sizes 0-6) that is a random strided
    view of a larger base: dims permuted, sliced with steps and offsets, and
    sometimes a size-1 dim expanded (stride 0). Returns (x, base)."""
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(st.lists(st.integers(0, 6), min_size=min_dims, max_size=4))
    ndim = len(shape)
    perm = draw(st.permutations(range(ndim)))
    steps = [draw(st.integers(1, 3)) for _ in range(ndim)]
    offsets = [draw(st.integers(0, 2)) for _ in range(ndim)]
    expand = [draw(st.booleans()) and draw(st.booleans()) for _ in range(ndim)]  # ~25%
    channels_last = ndim == 4 and draw(st.booleans())
    seed = draw(st.integers(0, 2**31 - 1))
    special_frac = draw(st.sampled_from([0.0, 0.1, 0.5]))
    ties = draw(st.booleans())

    # the view in logical (permuted-back) order: base dim perm[i] holds x's dim i
    base_shape = [0] * ndim
    for i in range(ndim):
        size = 1 if expand[i] else shape[i]
        base_shape[perm[i]] = offsets[i] + max(size - 1, 0) * steps[i] + 1 if size else offsets[i]
    gen = torch.Generator().manual_seed(seed)
    n = math.prod(base_shape)
    vals = torch.randn(n, generator=gen, dtype=torch.float64) * 3
    if ties:
        vals = vals.round()
    sv = special_values(torch.float64)
    pick = sv[torch.randint(len(sv), (n,), generator=gen)]
    vals = torch.where(torch.rand(n, generator=gen) < special_frac, pick, vals)
    base = vals.to(dtype).reshape(base_shape)
    if channels_last:
        base = base.contiguous(memory_format=torch.channels_last)
    x = base.permute(*perm) if ndim else base
    # now x's dim i is base dim perm[i]
    index = []
    for i in range(ndim):
        size = 1 if expand[i] else shape[i]
        index.append(slice(offsets[i], offsets[i] + size * steps[i], steps[i]) if size else slice(0, 0))
    x = x[tuple(index)] if ndim else x
    if any(expand):
        x = x.expand(*shape)
    assert tuple(x.shape) == tuple(shape), (x.shape, shape)
    return x, base


def grads(fn, inputs, grad_output):
    leaves = [t.detach().requires_grad_() for t in inputs]
    out = fn(*leaves)
    return out, torch.autograd.grad(out, leaves, grad_output)


def grad_output_for(y, seed):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(y.shape, generator=gen, dtype=torch.float64) * 2).to(y.dtype)


def check_elementwise(ours, ref, x, base):
    before = base.clone()
    y = ours(x)
    assert_bitwise(y, ref(x))
    assert_bitwise(base, before, "input modified")
    if x.dtype in (torch.float32, torch.float64):
        g = grad_output_for(y, 1)
        _, (gx,) = grads(ours, [x], g)
        _, (gx_ref,) = grads(ref, [x], g)
        assert_bitwise(gx, gx_ref, "grad")


@SETTINGS
@given(strided_inputs())
def test_relu_property(inp):
    check_elementwise(RF.relu, torch.relu, *inp)


@SETTINGS
@given(strided_inputs(), st.one_of(st.sampled_from([0.0, 0.01, -0.5, 1.0, 3.0, -0.0]),
                                   st.floats(-4, 4, allow_nan=False)))
def test_leaky_relu_property(inp, slope):
    check_elementwise(lambda t: RF.leaky_relu(t, slope), lambda t: F.leaky_relu(t, slope), *inp)


@SETTINGS
@given(strided_inputs())
def test_abs_rectifier_property(inp):
    check_elementwise(RF.abs_rectifier, torch.abs, *inp)


@SETTINGS
@given(strided_inputs(), st.booleans(), st.booleans(), st.integers(0, 2**31 - 1))
def test_prelu_property(inp, per_channel, zero_dim_weight, seed):
    x, base = inp
    channels = x.size(1) if x.dim() >= 2 else 1
    gen = torch.Generator().manual_seed(seed)
    if per_channel and channels != 1:
        w = (torch.rand(channels, generator=gen, dtype=torch.float64) * 3 - 1).to(x.dtype)
    elif zero_dim_weight:
        w = torch.tensor(-0.75, dtype=x.dtype)
    else:
        w = (torch.rand(1, generator=gen, dtype=torch.float64) * 3 - 1).to(x.dtype)
    before = base.clone()
    y = RF.prelu(x, w)
    assert_bitwise(y, F.prelu(x, w))
    assert_bitwise(base, before, "input modified")
    if x.dtype in (torch.float32, torch.float64):
        g = grad_output_for(y, 2)
        _, (gx, gw) = grads(R.prelu, [x, w], g)
        _, (gx_ref, gw_ref) = grads(F.prelu, [x, w], g)
        assert_bitwise(gx, gx_ref, "grad_input")
        assert_weight_grad_close(gw, gw_ref, x, g, w)


@st.composite
def maxout_args(draw):
    x, base = draw(strided_inputs(min_dims=1))
    dim = draw(st.integers(-x.dim(), x.dim() - 1))
    size = x.size(dim)
    divisors = [k for k in range(1, 7) if size % k == 0] if size else [1, 2, 3, 300]
    pool = draw(st.sampled_from(divisors))
    return x, base, pool, dim


@SETTINGS
@given(maxout_args())
def test_maxout_property(args):
    x, base, pool, dim = args
    before = base.clone()
    d = dim % x.dim()

    def ref(t):
        return t.unflatten(d, (t.size(d) // pool, pool)).max(d + 1).values

    y = RF.maxout(x, pool, dim)
    assert_bitwise(y, ref(x))
    values, indices = R.maxout_with_indices(x, pool, dim)
    assert_bitwise(values, y)
    assert indices.dtype == (torch.uint8 if pool <= 256 else torch.int32)
    assert torch.equal(indices.long(), x.unflatten(d, (x.size(d) // pool, pool)).max(d + 1).indices)
    assert_bitwise(base, before, "input modified")
    g = grad_output_for(y, 3)
    _, (gx,) = grads(lambda t: R.maxout(t, pool, dim), [x], g)
    _, (gx_ref,) = grads(ref, [x], g)
    assert_bitwise(gx, gx_ref, "grad")  # copies of g and zeros: exact in every dtype


@SETTINGS
@given(strided_inputs(), st.sampled_from(["relu_", "leaky_relu_"]),
       st.sampled_from([0.0, 0.01, -0.5, 2.0]))
def test_inplace_property(inp, op, slope):
    x, base = inp
    if 0 in x.stride() and x.numel() > 1 and any(
            s == 0 and n > 1 for s, n in zip(x.stride(), x.shape)):
        x = x.clone()  # expanded views overlap; test_errors covers them
        base = x
    before = base.clone()
    if op == "relu_":
        expected = torch.relu(x.clone())
        out = R.relu_(x)
    else:
        expected = F.leaky_relu(x.clone(), slope)
        out = R.leaky_relu_(x, slope)
    assert out is None or out is x  # schema `-> Tensor(a!)` or `-> ()`
    assert_bitwise(x, expected)
    # nothing outside the view changed: undo the view's change and compare
    x.copy_(before.as_strided(x.shape, x.stride(), x.storage_offset() - base.storage_offset()))
    assert_bitwise(base, before, "outside the view")
