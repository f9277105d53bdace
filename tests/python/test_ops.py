"""Forward values and gradients of every op against its PyTorch reference
(docs/semantics.md): every op x dtype x device x layout, with ±0, ±inf and NaN mixed
into random data.

Exactness (docs/semantics.md):
- Forward results are compared bitwise (NaN positions must agree; every other
  element must have the same bits, so the sign of zero matters) in every dtype.
  float16/bfloat16 are bitwise too, not merely within 1 ulp: our kernels widen
  to float, apply the same formula as the ATen kernel and round once, so they
  produce exactly ATen's bits. Only the NaN payload/sign is not compared (the
  contract says nothing about it; e.g. a NaN rounded float->bfloat16 may get a
  different payload).
- Elementwise gradients are bitwise for float32/float64. float16/bfloat16
  gradients are bitwise on CPU (same widen-compute-round-once scheme as ATen's
  CPU backward kernels) and allowed 1 ulp on CUDA, where the contract only
  promises float32/float64 bitwise.
- Maxout gradients are copies of grad_output (or zeros), so they are bitwise in
  every dtype.
- PReLU's weight gradient is a reduction: compared with a documented tolerance
  (see assert_weight_grad_close) and checked for determinism.
"""

import math

import pytest
import torch
import torch.nn.functional as F

import rectifiers.functional as RF  # also registers torch.ops.rectifiers
from conftest import special_values
from references import _INT_VIEW, assert_bitwise, assert_weight_grad_close, maxout_ref

R = torch.ops.rectifiers

# ---------------------------------------------------------------------------
# helpers

def _ordered(t):
    """Map float bits to integers that are ordered like the floats (±0 -> 0)."""
    itype = _INT_VIEW[t.dtype]
    i = t.view(itype).to(torch.int64)
    bits = torch.finfo(t.dtype).bits
    mag = i & ((1 << (bits - 1)) - 1)
    return torch.where(i < 0, -mag, mag)


def assert_within_ulp(actual, expected, ulps=1, what="values"):
    assert actual.dtype == expected.dtype and actual.shape == expected.shape, what
    a = actual.detach().cpu().contiguous().reshape(-1)
    e = expected.detach().cpu().contiguous().reshape(-1)
    assert torch.equal(a.isnan(), e.isnan()), f"{what}: NaN positions differ"
    keep = ~a.isnan()
    dist = (_ordered(a[keep]) - _ordered(e[keep])).abs()
    assert dist.numel() == 0 or int(dist.max()) <= ulps, f"{what}: {int(dist.max())} ulps apart"


def assert_grad_equal(actual, expected, dtype, device, what="grad"):
    if dtype in (torch.float32, torch.float64) or device == "cpu":
        assert_bitwise(actual, expected, what)
    else:
        assert_within_ulp(actual, expected, 1, what)


def mixed(shape, dtype, device, seed, special_frac=0.2, ties=False):
    """Random values with every special value (±0, ±inf, NaN, values around the
    kink) mixed in at random positions; with ties=True also many small integers
    so that maxout groups contain equal maxima."""
    gen = torch.Generator().manual_seed(seed)
    n = math.prod(shape)
    x = torch.randn(n, generator=gen, dtype=torch.float64) * 2
    if ties:
        r = torch.rand(n, generator=gen) < 0.4
        x = torch.where(r, x.round(), x)
    sv = special_values(torch.float64)
    pick = sv[torch.randint(len(sv), (n,), generator=gen)]
    x = torch.where(torch.rand(n, generator=gen) < special_frac, pick, x)
    if n >= len(sv):  # every special value at least once
        pos = torch.randperm(n, generator=gen)[: len(sv)]
        x[pos] = sv
    return x.to(dtype).reshape(shape).to(device)


N, C, H, W = 2, 12, 3, 4
SHAPE = (N, C, H, W)

# name -> (shape of the base tensor, the view of it that is the op's input)
LAYOUTS = {
    "contiguous": (SHAPE, lambda b: b),
    "channels_last": (SHAPE, lambda b: b),  # base stored channels_last, below
    "transposed": ((W, C, H, N), lambda b: b.transpose(0, 3)),
    "sliced": ((2 * N, 2 * C, H + 1, 2 * W + 1), lambda b: b[::2, ::2, 1:, 1::2]),
    "expanded": ((1, C, 1, W), lambda b: b.expand(N, C, H, W)),
    "empty": ((N, C, 0, W), lambda b: b),
}
INPLACE_LAYOUTS = ["contiguous", "channels_last", "transposed", "sliced", "empty"]


def make_input(layout, dtype, device, seed=0, ties=False):
    """Returns (base, view_fn, x) with x = view_fn(base) of logical shape
    (N, C, H, W) (or an empty one) in the given layout."""
    base_shape, view_fn = LAYOUTS[layout]
    base = mixed(base_shape, dtype, device, seed, ties=ties)
    if layout == "channels_last":
        base = base.contiguous(memory_format=torch.channels_last)
    x = view_fn(base)
    if layout == "transposed":
        assert not x.is_contiguous()
    if layout == "sliced":
        assert not x.is_contiguous() and x.shape == SHAPE
    if layout == "expanded":
        assert 0 in x.stride()
    if layout == "channels_last":
        assert x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    return base, view_fn, x


def grads(fn, inputs, grad_output):
    leaves = [t.detach().requires_grad_() for t in inputs]
    out = fn(*leaves)
    return out, torch.autograd.grad(out, leaves, grad_output)


def check_memory_format(layout, x, y):
    if layout == "contiguous":
        assert y.is_contiguous()
    elif layout == "channels_last":
        assert y.is_contiguous(memory_format=torch.channels_last)
        if y.size(1) > 1:  # with one channel both formats coincide
            assert not y.is_contiguous()


# ---------------------------------------------------------------------------
# elementwise ops (relu, leaky_relu, abs_rectifier)

SLOPES = [0.01, 0.0, -0.5, 2.5, 0.2]
ELEMENTWISE = [("relu", RF.relu, torch.relu),
               ("leaky_relu_default", lambda x: R.leaky_relu(x), F.leaky_relu)]
ELEMENTWISE += [(f"leaky_relu_{s}", (lambda s: lambda x: RF.leaky_relu(x, s))(s),
                 (lambda s: lambda x: F.leaky_relu(x, s))(s)) for s in SLOPES]
ELEMENTWISE += [("abs_rectifier", RF.abs_rectifier, torch.abs)]
ALPHAS = [1.0, 0.3, 2.5]
ELEMENTWISE += [("relu6", RF.relu6, F.relu6), ("relu6_op", R.relu6, F.relu6),
                ("selu", RF.selu, F.selu), ("selu_op", R.selu, F.selu),
                ("elu_default", R.elu, F.elu), ("celu_default", R.celu, F.celu)]
ELEMENTWISE += [(f"{name}_{a}", (lambda f, a: lambda x: f(x, a))(ours, a),
                 (lambda f, a: lambda x: f(x, a))(ref, a))
                for name, ours, ref in (("elu", RF.elu, F.elu), ("celu", RF.celu, F.celu))
                for a in ALPHAS]
ELEMENTWISE_IDS = [e[0] for e in ELEMENTWISE]


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("op", ELEMENTWISE, ids=ELEMENTWISE_IDS)
def test_elementwise(op, layout, dtype, device):
    _, ours, ref = op
    base, _, x = make_input(layout, dtype, device, seed=1)
    base_before = base.clone()

    y = ours(x)
    expected = ref(x)
    assert_bitwise(y, expected)
    check_memory_format(layout, x, y)
    if layout in ("contiguous", "channels_last", "transposed"):
        assert y.stride() == x.stride()
    assert_bitwise(base, base_before, "input after forward")

    g = mixed(tuple(y.shape), dtype, device, seed=2, special_frac=0.1)
    y1, (gx,) = grads(ours, [x], g)
    y2, (gx_ref,) = grads(ref, [x], g)
    assert_bitwise(y1, y2)
    assert_grad_equal(gx, gx_ref, dtype, device)
    assert_bitwise(base, base_before, "input after backward")


@pytest.mark.parametrize("op", ELEMENTWISE, ids=ELEMENTWISE_IDS)
def test_elementwise_zero_dim(op, dtype, device):
    _, ours, ref = op
    values = list(special_values(dtype, device)) + [torch.tensor(-7.0, dtype=dtype, device=device)]
    g = torch.tensor(1.5, dtype=dtype, device=device)
    for v in values:
        x = v.clone().reshape(())
        y = ours(x)
        assert y.dim() == 0
        assert_bitwise(y, ref(x), f"value at {x.item()}")
        _, (gx,) = grads(ours, [x], g)
        _, (gx_ref,) = grads(ref, [x], g)
        assert_grad_equal(gx, gx_ref, dtype, device, f"grad at {x.item()}")


def test_known_values_relu_leaky_abs():
    """Spot values written out, independent of the torch reference."""
    x = torch.tensor([-2.0, -0.0, 0.0, 3.0, float("-inf"), float("inf"), float("nan")])
    y = R.relu(x)
    assert y[:6].tolist() == [0.0, -0.0, 0.0, 3.0, 0.0, float("inf")] and y[6].isnan()
    assert math.copysign(1, y[1].item()) == -1.0  # relu(-0.0) is -0.0, as torch.relu
    assert math.copysign(1, y[0].item()) == 1.0
    y = R.leaky_relu(x, 0.5)
    assert y[:6].tolist() == [-1.0, -0.0, 0.0, 3.0, float("-inf"), float("inf")]
    y = R.abs_rectifier(x)
    assert y[:6].tolist() == [2.0, 0.0, 0.0, 3.0, float("inf"), float("inf")]
    assert math.copysign(1, y[1].item()) == 1.0
    # derivative at 0: relu 0, leaky the slope, abs 0
    xs = torch.tensor([0.0, -0.0, 2.0, -2.0], requires_grad=True)
    (g,) = torch.autograd.grad(R.relu(xs).sum(), xs)
    assert g.tolist() == [0.0, 0.0, 1.0, 0.0]
    (g,) = torch.autograd.grad(R.leaky_relu(xs, 0.25).sum(), xs)
    assert g.tolist() == [0.25, 0.25, 1.0, 0.25]
    (g,) = torch.autograd.grad(R.abs_rectifier(xs).sum(), xs)
    assert g.tolist() == [0.0, 0.0, 1.0, -1.0]


# ---------------------------------------------------------------------------
# in-place ops



def op_inplace(result, x):
    """torch.ops.rectifiers.relu_/leaky_relu_ return their argument (schema
    `-> Tensor(a!)`) or nothing (schema `-> ()`, the form torch.compile can
    functionalize); the functional API always returns the same object. Either
    way the caller gets x back."""
    assert result is None or result is x
    return x


INPLACE = [("relu_", lambda x: op_inplace(R.relu_(x), x), torch.relu),
           ("relu_functional", lambda x: RF.relu(x, inplace=True), torch.relu)]
INPLACE += [(f"leaky_relu_{s}", (lambda s: lambda x: op_inplace(R.leaky_relu_(x, s), x))(s),
             (lambda s: lambda x: F.leaky_relu(x, s))(s)) for s in SLOPES]
INPLACE += [("leaky_relu_functional", lambda x: RF.leaky_relu(x, 0.3, inplace=True),
             lambda x: F.leaky_relu(x, 0.3))]
INPLACE += [("relu6_", lambda x: op_inplace(R.relu6_(x), x), F.relu6),
            ("relu6_functional", lambda x: RF.relu6(x, inplace=True), F.relu6),
            ("selu_", lambda x: op_inplace(R.selu_(x), x), F.selu),
            ("selu_functional", lambda x: RF.selu(x, inplace=True), F.selu),
            ("elu_", lambda x: op_inplace(R.elu_(x, 0.3), x), lambda x: F.elu(x, 0.3)),
            ("elu_functional", lambda x: RF.elu(x, 2.5, inplace=True), lambda x: F.elu(x, 2.5)),
            ("celu_", lambda x: op_inplace(R.celu_(x, 0.3), x), lambda x: F.celu(x, 0.3)),
            ("celu_functional", lambda x: RF.celu(x, 1.0, inplace=True), F.celu)]


NAN_ENCODING_OPS = {
    "relu6": (R.relu6, F.relu6),
    "leaky_relu 0.2": (lambda x: R.leaky_relu(x, 0.2), lambda x: F.leaky_relu(x, 0.2)),
    "leaky_relu 0": (lambda x: R.leaky_relu(x, 0.0), lambda x: F.leaky_relu(x, 0.0)),
}


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize("op", list(NAN_ENCODING_OPS))
def test_forward_nan_bits_equal_native(op, dtype):
    # torch's vector body and scalar tail encode a float16/bfloat16 NaN
    # differently, so a NaN's bits depend on where its loop runs vectorised:
    # NaNs (and infinities, which a zero slope turns into NaN) in the body and
    # in the tail of sizes and layouts that end in one
    ours, reference = NAN_ENCODING_OPS[op]
    as_int = _INT_VIEW[dtype]
    for shape, layout in [((37,), torch.contiguous_format), ((1000,), torch.contiguous_format),
                          ((70001,), torch.contiguous_format),
                          ((2, 3, 5, 7), torch.channels_last)]:
        x = (torch.randn(shape, dtype=torch.float64) * 4).to(dtype)
        flat = x.view(-1)
        flat[::5] = float("nan")
        flat[2::9] = -float("inf")
        flat.view(as_int)[3::11] = -1  # all bits set: a NaN with its sign
        x = x.contiguous(memory_format=layout)
        got, expected = ours(x), reference(x)
        assert got.stride() == expected.stride(), f"{shape}"
        # every bit, a NaN's too (assert_bitwise compares where NaNs are)
        got_bits, expected_bits = got.reshape(-1).view(as_int), expected.reshape(-1).view(as_int)
        differ = (got_bits != expected_bits).nonzero().reshape(-1)[:5].tolist()
        assert not differ, (shape, differ, got_bits[differ].tolist(), expected_bits[differ].tolist())


@pytest.mark.parametrize("layout", INPLACE_LAYOUTS)
@pytest.mark.parametrize("op", INPLACE, ids=[e[0] for e in INPLACE])
def test_inplace(op, layout, dtype, device):
    _, ours, ref = op
    base, view_fn, x = make_input(layout, dtype, device, seed=3)
    base_expected = base.clone()
    # the reference on the same layout: the ELU family's result depends on
    # whether ATen's loop runs vectorised there
    expected = ref(view_fn(base.clone()))
    view_fn(base_expected).copy_(expected)
    stride, ptr, version = x.stride(), x.data_ptr(), x._version

    out = ours(x)
    assert out is x
    assert x.data_ptr() == ptr and x.stride() == stride
    assert_bitwise(x, expected)
    # the whole base: the view's elements changed, nothing outside it did
    assert_bitwise(base, base_expected, "base tensor")
    if x.numel():
        assert x._version > version


@pytest.mark.parametrize("op", INPLACE, ids=[e[0] for e in INPLACE])
def test_inplace_zero_dim(op, dtype, device):
    _, ours, ref = op
    for v in special_values(dtype, device):
        x = v.clone().reshape(())
        expected = ref(x.clone())
        assert ours(x) is x
        assert_bitwise(x, expected, f"value at {v.item()}")


# ---------------------------------------------------------------------------
# PReLU

PRELU_WEIGHTS = {
    "shared": lambda dtype, device: torch.tensor([0.25], dtype=dtype, device=device),
    "shared_negative": lambda dtype, device: torch.tensor([-1.5], dtype=dtype, device=device),
    "zero_dim": lambda dtype, device: torch.tensor(0.125, dtype=dtype, device=device),
    "per_channel": lambda dtype, device: torch.tensor(
        [0.25, -0.5, 0.0, -0.0, 2.0, 1.0, 0.01, float("inf"), float("nan"), -3.0, 0.5, 1e-3],
        dtype=dtype, device=device),
    "per_channel_finite": lambda dtype, device: torch.linspace(-1, 2, C, dtype=dtype, device=device),
}


@pytest.mark.parametrize("wkind", list(PRELU_WEIGHTS))
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_prelu(layout, wkind, dtype, device):
    base, _, x = make_input(layout, dtype, device, seed=4)
    weight = PRELU_WEIGHTS[wkind](dtype, device)
    base_before, weight_before = base.clone(), weight.clone()

    y = RF.prelu(x, weight)
    assert_bitwise(y, F.prelu(x, weight))
    check_memory_format(layout, x, y)
    if layout in ("contiguous", "channels_last", "transposed"):
        assert y.stride() == x.stride()

    g = mixed(tuple(y.shape), dtype, device, seed=5, special_frac=0.05)
    y1, (gx, gw) = grads(R.prelu, [x, weight], g)
    y2, (gx_ref, gw_ref) = grads(F.prelu, [x, weight], g)
    assert_bitwise(y1, y2)
    assert_grad_equal(gx, gx_ref, dtype, device, "grad_input")
    assert_weight_grad_close(gw, gw_ref, x, g, weight)
    assert_bitwise(base, base_before, "input")
    assert_bitwise(weight, weight_before, "weight")


@pytest.mark.parametrize("shape,wshape", [((7,), (1,)), ((7,), ()), ((4, 3), (3,)), ((4, 3), (1,)),
                                          ((2, 3, 5), (3,)), ((2, 5, 2, 2, 3), (5,)),
                                          ((3, 1, 4), (1,))])
def test_prelu_ranks(shape, wshape, dtype, device):
    x = mixed(shape, dtype, device, seed=6)
    weight = mixed(wshape, dtype, device, seed=7, special_frac=0.0)
    assert_bitwise(R.prelu(x, weight), F.prelu(x, weight))
    g = mixed(shape, dtype, device, seed=8, special_frac=0.0)
    _, (gx, gw) = grads(R.prelu, [x, weight], g)
    _, (gx_ref, gw_ref) = grads(F.prelu, [x, weight], g)
    assert_grad_equal(gx, gx_ref, dtype, device, "grad_input")
    assert_weight_grad_close(gw, gw_ref, x, g, weight)


@pytest.mark.parametrize("wshape", [(1,), ()])
def test_prelu_zero_dim(wshape, dtype, device):
    weight = torch.full(wshape, -0.75, dtype=dtype, device=device)
    g = torch.tensor(2.0, dtype=dtype, device=device)
    for v in special_values(dtype, device):
        x = v.clone().reshape(())
        y = R.prelu(x, weight)
        assert y.dim() == 0
        assert_bitwise(y, F.prelu(x, weight), f"value at {v.item()}")
        _, (gx, gw) = grads(R.prelu, [x, weight], g)
        _, (gx_ref, gw_ref) = grads(F.prelu, [x, weight], g)
        assert_grad_equal(gx, gx_ref, dtype, device, f"grad_input at {v.item()}")
        # one term, but still a reduction: the sign of a zero sum is not part of
        # the contract (x = -0.0 gives -0.0 in torch, +0.0 from a sum), so
        # compare values with the weight-gradient tolerance
        assert_weight_grad_close(gw, gw_ref, x, g, weight)


@pytest.mark.parametrize("channels_last", [False, True], ids=["contiguous", "channels_last"])
@pytest.mark.parametrize("per_channel", [False, True], ids=["shared", "per_channel"])
def test_prelu_weight_grad_tolerance_and_determinism(per_channel, channels_last, dtype, device):
    gen = torch.Generator().manual_seed(9)
    x = torch.randn(8, 16, 24, 24, generator=gen).to(dtype).to(device)
    g = torch.randn(8, 16, 24, 24, generator=gen).to(dtype).to(device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    weight = (torch.rand(16 if per_channel else 1, generator=gen) - 0.3).to(dtype).to(device)
    _, (gx1, gw1) = grads(R.prelu, [x, weight], g)
    _, (gx2, gw2) = grads(R.prelu, [x, weight], g)
    gx3, gw3 = R.prelu_backward(g, x, weight)
    # deterministic: the same bits on every run (same thread count)
    assert_bitwise(gw1, gw2, "grad_weight run to run")
    assert_bitwise(gw1, gw3, "grad_weight via prelu_backward")
    assert_bitwise(gx1, gx2, "grad_input run to run")
    _, (gx_ref, gw_ref) = grads(F.prelu, [x, weight], g)
    assert_grad_equal(gx1, gx_ref, dtype, device, "grad_input")
    assert_weight_grad_close(gw1, gw_ref, x, g, weight)
    # and against an exact float64 sum, a reference independent of torch's order
    exact = torch.where(x.double() > 0, 0.0, x.double() * g.double())
    exact = exact.sum((0, 2, 3)) if per_channel else exact.sum().reshape(1)
    assert_weight_grad_close(gw1, exact.to(dtype), x, g, weight)


# ---------------------------------------------------------------------------
# maxout


def maxout_ref_values(x, k, dim):
    return maxout_ref(x, k, dim)[0]


# (pool_size, dim) for inputs of shape (2, 12, 3, 4)
MAXOUT_CASES = [(1, 1), (2, 1), (3, 1), (4, 1), (12, 1), (2, -3), (4, -1), (2, 3), (3, 2),
                (3, -2), (2, 0), (1, -4)]


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("pool,dim", MAXOUT_CASES, ids=[f"k{k}_d{d}" for k, d in MAXOUT_CASES])
def test_maxout(pool, dim, layout, dtype, device):
    base, _, x = make_input(layout, dtype, device, seed=10, ties=True)
    base_before = base.clone()
    ref_values, ref_indices = maxout_ref(x, pool, dim)

    y = RF.maxout(x, pool, dim)
    assert_bitwise(y, ref_values)
    if dim in (1, -3):
        check_memory_format(layout, x, y)
    values, indices = R.maxout_with_indices(x, pool, dim)
    assert_bitwise(values, ref_values)
    assert indices.dtype == torch.uint8
    assert torch.equal(indices.long(), ref_indices)
    assert_bitwise(base, base_before, "input after forward")

    g = mixed(tuple(y.shape), dtype, device, seed=11, special_frac=0.1)
    y1, (gx,) = grads(lambda t: RF.maxout(t, pool, dim), [x], g)
    y2, (gx_ref,) = grads(lambda t: maxout_ref_values(t, pool, dim), [x], g)
    assert_bitwise(y1, y2)
    assert_bitwise(gx, gx_ref, "grad")  # copies of g and zeros: exact in every dtype
    assert_bitwise(R.maxout_backward(g, indices, pool, dim), gx_ref, "maxout_backward")
    assert_bitwise(base, base_before, "input after backward")


def test_maxout_default_dim(dtype, device):
    x = mixed((3, 8, 2), dtype, device, seed=12, ties=True)
    assert_bitwise(R.maxout(x, 4), maxout_ref_values(x, 4, 1))
    assert_bitwise(RF.maxout(x, 2), maxout_ref_values(x, 2, 1))


MAXOUT_300 = {
    "dim1": (lambda dt, dev: mixed((2, 600, 3), dt, dev, 13, ties=True), 1),
    "dim_neg1": (lambda dt, dev: mixed((3, 2, 600), dt, dev, 14, ties=True), -1),
    "channels_last": (lambda dt, dev: mixed((2, 600, 2, 3), dt, dev, 15, ties=True)
                      .contiguous(memory_format=torch.channels_last), 1),
    "transposed": (lambda dt, dev: mixed((600, 4), dt, dev, 16, ties=True).t(), -1),
    "900_dim0": (lambda dt, dev: mixed((900, 2), dt, dev, 17, ties=True), 0),
}


@pytest.mark.parametrize("case", list(MAXOUT_300))
def test_maxout_pool_300_int32_indices(case, dtype, device):
    make, dim = MAXOUT_300[case]
    x = make(dtype, device)
    before = x.clone()
    ref_values, ref_indices = maxout_ref(x, 300, dim)
    assert_bitwise(R.maxout(x, 300, dim), ref_values)
    values, indices = R.maxout_with_indices(x, 300, dim)
    assert indices.dtype == torch.int32
    assert_bitwise(values, ref_values)
    assert torch.equal(indices.long(), ref_indices)
    g = mixed(tuple(values.shape), dtype, device, seed=18)
    _, (gx,) = grads(lambda t: R.maxout(t, 300, dim), [x], g)
    _, (gx_ref,) = grads(lambda t: maxout_ref_values(t, 300, dim), [x], g)
    assert_bitwise(gx, gx_ref, "grad")
    assert_bitwise(x, before, "input")


def test_maxout_pool_300_index_above_255(dtype, device):
    """The int32 path must hold positions > 255 (a uint8 would wrap)."""
    x = torch.zeros(2, 600, dtype=dtype, device=device)
    x[0, 299] = 5.0   # position 299 in group 0
    x[0, 300 + 280] = 7.0  # position 280 in group 1
    x[1, 256] = float("nan")
    values, indices = R.maxout_with_indices(x, 300, 1)
    assert indices.dtype == torch.int32
    assert indices.tolist() == [[299, 280], [256, 0]]
    g = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=dtype, device=device)
    _, (gx,) = grads(lambda t: R.maxout(t, 300, 1), [x], g)
    expected = torch.zeros_like(x)
    expected[0, 299], expected[0, 580], expected[1, 256], expected[1, 300] = 1.0, 2.0, 3.0, 4.0
    assert_bitwise(gx, expected)


def test_maxout_ties_and_nan(dtype, device):
    """First maximum wins ties (+0 vs -0 included); a NaN wins over everything;
    of two NaNs the first wins."""
    nan, inf = float("nan"), float("inf")
    groups = [
        ([1.0, 1.0], 0),
        ([0.0, -0.0], 0),
        ([-0.0, 0.0], 0),
        ([-1.0, -0.0, 0.0, -0.0], 1),
        ([nan, nan], 0),
        ([1.0, nan, 3.0, nan], 1),
        ([nan, 5.0], 0),
        ([2.0, nan], 1),
        ([-inf, -inf], 0),
        ([inf, nan], 1),
        ([3.0, inf, inf, 2.0], 1),
        ([-2.0, -3.0, -2.0, -5.0], 0),
    ]
    for vals, want in groups:
        k = len(vals)
        x = torch.tensor(vals, dtype=dtype, device=device).reshape(1, k)
        values, indices = R.maxout_with_indices(x, k, 1)
        assert indices.item() == want, (vals, indices.item())
        ref_v, ref_i = maxout_ref(x, k, 1)
        assert ref_i.item() == want  # the contract's reference agrees
        assert_bitwise(values, x[:, want:want + 1], f"value of {vals}")
        assert_bitwise(R.maxout(x, k, 1), ref_v, f"value of {vals}")
        _, (gx,) = grads(lambda t: R.maxout(t, k, 1), [x], torch.full((1, 1), 2.5, dtype=dtype,
                                                                        device=device))
        expected = torch.zeros_like(x)
        expected[0, want] = 2.5
        assert_bitwise(gx, expected, f"grad of {vals}")


# ---------------------------------------------------------------------------
# backward ops called directly, against the reference's gradient


@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "transposed"])
def test_backward_ops_direct(layout, dtype, device):
    _, _, x = make_input(layout, dtype, device, seed=19)
    g = mixed(SHAPE, dtype, device, seed=20)
    before = (x.clone(), g.clone())
    y = torch.relu(x)
    _, (ref,) = grads(torch.relu, [x], g)
    assert_grad_equal(R.relu_backward(g, y), ref, dtype, device, "relu_backward")
    for s in SLOPES:
        _, (ref,) = grads(lambda t: F.leaky_relu(t, s), [x], g)
        assert_grad_equal(R.leaky_relu_backward(g, x, s, False), ref, dtype, device, "leaky")
        if s >= 0:  # from the result of an in-place leaky_relu_: same sign as x
            assert_grad_equal(R.leaky_relu_backward(g, F.leaky_relu(x, s), s, True), ref, dtype,
                              device, "leaky self_is_result")
    _, (ref,) = grads(torch.abs, [x], g)
    assert_grad_equal(R.abs_rectifier_backward(g, x), ref, dtype, device, "abs")
    _, (ref,) = grads(F.relu6, [x], g)
    assert_grad_equal(R.relu6_backward(g, x), ref, dtype, device, "relu6")
    assert_grad_equal(R.relu6_backward(g, F.relu6(x)), ref, dtype, device, "relu6 from result")
    aten = torch.ops.aten
    for alpha, scale, input_scale in ((1.0, 1.0, 1.0), (0.3, 1.0, 1 / 0.3), (2.5, 1.7, 0.5)):
        for is_result in (False, True):
            # from the result as torch's in-place elu_ leaves it
            t = aten.elu(x, alpha, scale, input_scale) if is_result else x
            assert_grad_equal(R.elu_backward(g, t, alpha, scale, input_scale, is_result),
                              aten.elu_backward(g, alpha, scale, input_scale, is_result, t),
                              dtype, device, f"elu_backward {alpha} {is_result}")
    assert_bitwise(x, before[0])
    assert_bitwise(g, before[1])


def test_split_dependent_ops_follow_atens_vector_width(dtype, device):
    """The ops whose ATen kernel gives NaN a different result in its SIMD body
    and in its scalar tail (relu6_backward, the ELU family) equal torch with a
    NaN at every position of every length up to past the AVX-512 loop's step:
    which positions the body covers depends on which instruction set's build
    runs, and that must be the one ATen runs (docs/semantics.md)."""
    if device != "cpu":
        pytest.skip("the CPU's instruction-set builds")
    aten = torch.ops.aten
    for n in range(1, 70):
        g = mixed((n,), dtype, device, seed=100 + n)
        for position in range(n):
            x = mixed((n,), dtype, device, seed=n)
            x[position] = math.nan
            what = f"{n} elements, NaN at {position}"
            assert_bitwise(R.relu6_backward(g, x), aten.hardtanh_backward(g, x, 0.0, 6.0),
                           f"relu6_backward, {what}")
            assert_bitwise(R.elu(x, 1.0), F.elu(x), f"elu, {what}")
            assert_bitwise(R.elu_backward(g, x, 1.0, 1.0, 1.0, False),
                           aten.elu_backward(g, 1.0, 1.0, 1.0, False, x), f"elu_backward, {what}")


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_maxout_backward_strided_grad_output(layout, dtype, device):
    """maxout_backward with grad_output and indices in other layouts than the
    forward's (autograd may hand it any strides)."""
    _, _, x = make_input(layout, dtype, device, seed=21, ties=True)
    _, ref_indices = maxout_ref(x, 3, 1)
    values, indices = R.maxout_with_indices(x, 3, 1)
    g = mixed((N, H, W, C // 3), dtype, device, seed=22).permute(0, 3, 1, 2)  # non-contiguous
    assert not g.is_contiguous()
    _, (gx_ref,) = grads(lambda t: maxout_ref_values(t, 3, 1), [x], g)
    assert_bitwise(R.maxout_backward(g, indices, 3, 1), gx_ref)
    assert_bitwise(R.maxout_backward(g, indices.transpose(0, 1).contiguous().transpose(0, 1), 3, 1),
                   gx_ref)
    assert_bitwise(R.maxout_backward(g.contiguous(), indices.contiguous(), 3, -3), gx_ref)


@pytest.mark.parametrize("op", ["relu", "leaky_relu", "abs_rectifier", "prelu", "maxout", "relu6",
                                "elu", "celu", "selu"])
def test_large_tensor_threaded_and_vectorized(op, dtype, device):
    """Sizes past the parallel grain and odd lengths (vector loop + scalar tail)."""
    x = mixed((3, 10, 1237), dtype, device, seed=23, special_frac=0.05, ties=True)  # 37110 elements
    w = torch.linspace(-1, 2, 10, dtype=dtype, device=device)
    ours, ref = {
        "relu": (R.relu, torch.relu),
        "leaky_relu": (lambda t: R.leaky_relu(t, 0.3), lambda t: F.leaky_relu(t, 0.3)),
        "abs_rectifier": (R.abs_rectifier, torch.abs),
        "prelu": (lambda t: R.prelu(t, w), lambda t: F.prelu(t, w)),
        "maxout": (lambda t: R.maxout(t, 5, 1), lambda t: maxout_ref_values(t, 5, 1)),
        "relu6": (lambda t: R.relu6(t * 3), lambda t: F.relu6(t * 3)),
        "elu": (lambda t: R.elu(t, 0.7), lambda t: F.elu(t, 0.7)),
        "celu": (lambda t: R.celu(t, 0.7), lambda t: F.celu(t, 0.7)),
        "selu": (R.selu, F.selu),
    }[op]
    for t in (x, x.transpose(0, 2)):
        y = ours(t)
        assert_bitwise(y, ref(t))
        g = mixed(tuple(y.shape), dtype, device, seed=24, special_frac=0.0)
        _, (gx,) = grads(ours, [t], g)
        _, (gx_ref,) = grads(ref, [t], g)
        assert_grad_equal(gx, gx_ref, dtype, device)
