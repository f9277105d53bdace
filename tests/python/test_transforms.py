"""torch.func transforms and forward-mode AD of every op, backward ops and
in-place ops included, against the native twin under the same transform
(docs/semantics.md, "Autograd"): grad, vjp, jacrev, jvp, jacfwd, hessian,
vmap, vmap of grad (per-sample gradients) and torch.autograd.forward_ad.
float64 within 1e-12 (the weight gradient of PReLU is a sum, whose order may
differ from torch's); float32 bitwise wherever no sum is involved."""

import pytest
import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F
from torch import func

import rectifiers  # noqa: F401
from references import assert_bitwise, maxout_ref

R = torch.ops.rectifiers


def values(shape, seed, dtype):
    """Random values with exact zeros of both signs (the kink) among them."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    x.view(-1)[::5] = 0.0
    x.view(-1)[2::7] = -0.0
    return x.to(dtype)


def distinct(shape, seed, dtype):
    """Values at least 0.05 apart: no ties inside a maxout group."""
    gen = torch.Generator().manual_seed(seed)
    n = torch.Size(shape).numel()
    return (torch.randperm(n, generator=gen).double() * 0.05 - n * 0.025).reshape(shape).to(dtype)


def in_place(op, *args):
    def call(x):
        x = x.clone()
        op(x, *args)
        return x
    return call


def prelu_grads_ref(g, x, w):
    wb = w.reshape([-1] + [1] * (x.dim() - 2)) if x.dim() >= 2 and w.numel() > 1 else w.reshape(())
    gi, gw_full = torch.ops.aten._prelu_kernel_backward(g, x, wb)
    dims = [d for d in range(x.dim()) if d != 1] if x.dim() >= 2 and w.numel() > 1 else list(range(x.dim()))
    return torch.cat([gi.reshape(-1), gw_full.sum(dims).reshape(-1)])


def prelu_grads(g, x, w):
    gi, gw = R.prelu_backward(g, x, w)
    return torch.cat([gi.reshape(-1), gw.reshape(-1)])


def maxout_scatter_ref(indices, k, dim):
    def scatter(g):
        grouped = g.new_zeros(g.shape[:dim] + (g.shape[dim], k) + g.shape[dim + 1:])
        grouped = grouped.scatter(dim + 1, indices.long().unsqueeze(dim + 1), g.unsqueeze(dim + 1))
        return grouped.flatten(dim, dim + 1)
    return scatter


# name -> (ours, native twin, the differentiable inputs, sum involved)
def cases(dtype):
    x = values((3, 4, 6), 1, dtype)
    g = values((3, 4, 6), 2, dtype)
    g.view(-1)[1::4] = -0.0  # -0 where the result is positive too
    w = (torch.rand(4, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 0.5).to(dtype)
    d = distinct((3, 4, 6), 4, dtype)
    y = F.relu(x)
    _, idx = R.maxout_with_indices(d, 3, 2)
    gm = values((3, 4, 2), 5, dtype)
    # rrelu in training mode with a seeded generator is deterministic; its twin
    # applies the slopes it drew for x's positions
    _, state = R.rrelu_with_state(x, 0.1, 0.3, torch.Generator().manual_seed(5))
    slopes = R.rrelu_backward(torch.ones_like(x), x, state, 0.1, 0.3, False)
    return {
        "relu": (R.relu, F.relu, (x,), False),
        # eval mode: what F.rrelu computes (it has no batching rule itself)
        "rrelu": (lambda t: R.rrelu(t, 0.1, 0.3), lambda t: F.leaky_relu(t, 0.2), (x,), False),
        "rrelu_training": (lambda t: R.rrelu(t, 0.1, 0.3, True, torch.Generator().manual_seed(5)),
                           lambda t: t * torch.where(t <= 0, slopes, 1.0), (x,), False),
        "rrelu_backward": (lambda a, b: R.rrelu_backward(a, b, state, 0.1, 0.3, False),
                           lambda a, b: a * torch.where(b <= 0, slopes, 1.0), (g, x), False),
        "relu_": (in_place(R.relu_), in_place(torch.relu_), (x,), False),
        "leaky_relu": (lambda t: R.leaky_relu(t, 0.2), lambda t: F.leaky_relu(t, 0.2), (x,), False),
        "leaky_relu_negative": (lambda t: R.leaky_relu(t, -0.7), lambda t: F.leaky_relu(t, -0.7),
                                (x,), False),
        "leaky_relu_": (in_place(R.leaky_relu_, 0.2), in_place(F.leaky_relu_, 0.2), (x,), False),
        "abs_rectifier": (R.abs_rectifier, torch.abs, (x,), False),
        "relu6": (R.relu6, F.relu6, (x * 4,), False),
        "relu6_": (in_place(R.relu6_), in_place(F.relu6, True), (x * 4,), False),
        "elu": (lambda t: R.elu(t, 0.7), lambda t: F.elu(t, 0.7), (x,), False),
        "elu_": (in_place(R.elu_, 0.7), in_place(F.elu_, 0.7), (x,), False),
        "celu": (lambda t: R.celu(t, 0.7), lambda t: F.celu(t, 0.7), (x,), False),
        "celu_": (in_place(R.celu_, 0.7), in_place(torch.celu_, 0.7), (x,), False),
        "selu": (R.selu, F.selu, (x,), False),
        "selu_": (in_place(R.selu_), in_place(torch.selu_), (x,), False),
        "prelu": (R.prelu, F.prelu, (x, w), True),
        "prelu_shared": (R.prelu, F.prelu, (x, w[:1]), True),
        "maxout": (lambda t: R.maxout(t, 3, 2), lambda t: maxout_ref(t, 3, 2).values, (d,), False),
        "maxout_with_indices": (lambda t: R.maxout_with_indices(t, 2, 1)[0],
                                lambda t: maxout_ref(t, 2, 1).values, (d,), False),
        "relu_backward": (R.relu_backward,
                          lambda a, b: torch.ops.aten.threshold_backward(a, b, 0), (g, y), False),
        "leaky_relu_backward": (lambda a, b: R.leaky_relu_backward(a, b, 0.2, False),
                                lambda a, b: torch.ops.aten.leaky_relu_backward(a, b, 0.2, False),
                                (g, x), False),
        "abs_rectifier_backward": (R.abs_rectifier_backward, lambda a, b: a * b.sgn(), (g, x), False),
        "relu6_backward": (R.relu6_backward,
                           lambda a, b: torch.ops.aten.hardtanh_backward(a, b, 0.0, 6.0), (g, x * 4),
                           False),
        "elu_backward": (lambda a, b: R.elu_backward(a, b, 0.7, 1.1, 0.9, False),
                         lambda a, b: torch.ops.aten.elu_backward(a, 0.7, 1.1, 0.9, False, b),
                         (g, x), False),
        "elu_backward_from_result": (
            lambda a, b: R.elu_backward(a, b, 0.7, 1.1, 0.9, True),
            lambda a, b: torch.ops.aten.elu_backward(a, 0.7, 1.1, 0.9, True, b),
            (g, torch.ops.aten.elu(x, 0.7, 1.1, 0.9)), False),
        "prelu_backward": (prelu_grads, prelu_grads_ref, (g, x, w), True),
        "maxout_backward": (lambda a: R.maxout_backward(a, idx, 3, 2), maxout_scatter_ref(idx, 3, 2),
                            (gm,), False),
    }


NAMES = list(cases(torch.float64))
# Whose results depend on where ATen's loop runs vectorised (exp's last bit):
# under vmap compared with the native twin under the same vmap, which sees the
# same batched layout, rather than with a loop over samples.
BY_LAYOUT = {"elu", "elu_", "celu", "celu_", "selu", "selu_", "elu_backward",
             "elu_backward_from_result"}


def compare(actual, expected, dtype, summed):
    if expected is None:  # no tangent: torch leaves none there
        assert actual is None
        return
    if isinstance(expected, (tuple, list)):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            compare(a, e, dtype, summed)
        return
    if not actual.is_floating_point():
        assert torch.equal(actual, expected)
    elif not summed:
        assert_bitwise(actual, expected)
    else:
        tol = 1e-12 if dtype == torch.float64 else 1e-5
        torch.testing.assert_close(actual, expected, rtol=tol, atol=tol, equal_nan=True)


def argnums(inputs):
    return tuple(range(len(inputs)))


def cotangent(fn, inputs, seed):
    out = fn(*inputs)
    return values(tuple(out.shape), seed, out.dtype)


TRANSFORMS = {
    "grad": lambda fn, inputs, u: func.grad(lambda *a: (fn(*a) * u).sum(), argnums(inputs))(*inputs),
    "vjp": lambda fn, inputs, u: func.vjp(fn, *inputs)[1](u),
    "jacrev": lambda fn, inputs, u: func.jacrev(fn, argnums(inputs))(*inputs),
    "jvp": lambda fn, inputs, u: func.jvp(fn, inputs, tuple(values(t.shape, 11 + i, t.dtype)
                                                           for i, t in enumerate(inputs))),
    "jacfwd": lambda fn, inputs, u: func.jacfwd(fn, argnums(inputs))(*inputs),
    "hessian": lambda fn, inputs, u: func.hessian(lambda *a: (fn(*a) * u).pow(2).sum(),
                                                  argnums(inputs))(*inputs),
    "vmap": lambda fn, inputs, u: func.vmap(fn)(*batch(inputs)),
    "vmap_grad": lambda fn, inputs, u: func.vmap(
        func.grad(lambda *a: (fn(*a) * u).sum(), argnums(inputs)))(*batch(inputs)),
}


def batch(inputs):
    return [torch.stack([t, t.flip(0) * 0.5]) for t in inputs]


def per_sample(transform):
    """The reference of a vmap: the same call per sample, stacked (torch's own
    batching rule of _prelu_kernel_backward fails on these shapes)."""
    def run(fn, inputs, u):
        samples = [[t[i] for t in batch(inputs)] for i in range(2)]
        if transform == "vmap":
            return torch.stack([fn(*s) for s in samples])
        grads = [func.grad(lambda *a: (fn(*a) * u).sum(), argnums(inputs))(*s) for s in samples]
        return tuple(torch.stack(per_input) for per_input in zip(*grads))
    return run


@pytest.mark.filterwarnings("ignore:There is a performance drop")
@pytest.mark.parametrize("transform", list(TRANSFORMS))
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_transform_matches_native(name, transform, dtype):
    if name in ("rrelu_training", "rrelu_backward") and transform.startswith("vmap"):
        pytest.skip("the slopes belong to the positions of the unbatched input "
                    "(test_rrelu.py has rrelu under vmap)")
    ours, ref, inputs, summed = cases(dtype)[name]
    u = cotangent(ref, inputs, 7)
    # Hessians and Jacobians sum over the output: sums of products, whose order may differ.
    summed = summed or transform in ("hessian", "jacrev", "jacfwd")
    by_sample = transform.startswith("vmap") and name not in BY_LAYOUT
    reference = per_sample(transform) if by_sample else TRANSFORMS[transform]
    compare(TRANSFORMS[transform](ours, inputs, u), reference(ref, inputs, u), dtype, summed)


def dual_call(fn, inputs, tangents):
    with fwAD.dual_level():
        out = fn(*[fwAD.make_dual(p, t) for p, t in zip(inputs, tangents)])
        primal, tangent = fwAD.unpack_dual(out)
        return primal, tangent


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_forward_ad_matches_native(name, dtype):
    ours, ref, inputs, summed = cases(dtype)[name]
    tangents = [values(t.shape, 21 + i, t.dtype) for i, t in enumerate(inputs)]
    assert dual_call(ours, inputs, tangents)[1] is not None
    compare(dual_call(ours, inputs, tangents), dual_call(ref, inputs, tangents), dtype, summed)


@pytest.mark.parametrize("name", [n for n in NAMES if len(cases(torch.float64)[n][2]) > 1])
@pytest.mark.parametrize("which", [0, 1, 2])
def test_forward_ad_with_some_tangents(name, which):
    """Inputs without a tangent count as zero: each alone."""
    ours, ref, inputs, summed = cases(torch.float64)[name]
    if which >= len(inputs):
        pytest.skip("no such input")
    tangent = values(inputs[which].shape, 31, inputs[which].dtype)

    def partial(fn):
        def call(t):
            args = list(inputs)
            args[which] = t
            return fn(*args)
        return call
    compare(dual_call(partial(ours), [inputs[which]], [tangent]),
            dual_call(partial(ref), [inputs[which]], [tangent]), torch.float64, summed)


@pytest.mark.parametrize("op", [R.relu_, lambda t: R.leaky_relu_(t, 0.3)])
def test_in_place_updates_the_tangent_in_place(op):
    x = values((5, 4), 41, torch.float64)
    with fwAD.dual_level():
        dual = fwAD.make_dual(x.clone(), values((5, 4), 42, torch.float64))
        before = fwAD.unpack_dual(dual).tangent
        op(dual)
        after = fwAD.unpack_dual(dual).tangent
        assert after is not None and after.data_ptr() == before.data_ptr()
        assert torch.equal(before, after)


def test_in_place_leaky_relu_negative_slope_tangent_refused_before_writing():
    x = values((5, 4), 43, torch.float64)
    with fwAD.dual_level():
        dual = fwAD.make_dual(x.clone(), torch.ones(5, 4, dtype=torch.float64))
        with pytest.raises(RuntimeError, match=r"rectifiers::leaky_relu_: .*negative slope"):
            R.leaky_relu_(dual, -0.5)
        assert torch.equal(fwAD.unpack_dual(dual).primal, x)


def test_prelu_per_sample_gradients():
    """vmap(grad) with the weight batched too: per-sample slopes."""
    x = values((8, 4, 5), 51, torch.float64)
    w = torch.rand(8, 4, dtype=torch.float64)

    def loss(prelu):
        return lambda xs, ws: prelu(xs.unsqueeze(0), ws).pow(2).sum()
    ours = func.vmap(func.grad(loss(R.prelu), (0, 1)))(x, w)
    ref = func.vmap(func.grad(loss(F.prelu), (0, 1)))(x, w)
    compare(ours, ref, torch.float64, True)


@pytest.mark.parametrize("name", ["leaky_relu", "abs_rectifier", "relu", "prelu"])
def test_double_backward_reaches_the_input(name):
    """The first gradient's graph reaches x as torch's does: zeros, not
    'appears to not have been used in the graph'."""
    fns = {"leaky_relu": (lambda t: R.leaky_relu(t, 0.1), lambda t: F.leaky_relu(t, 0.1)),
           "abs_rectifier": (R.abs_rectifier, torch.abs),
           "relu": (R.relu, F.relu),
           "prelu": (lambda t: R.prelu(t, torch.tensor([0.25], dtype=t.dtype)),
                     lambda t: F.prelu(t, torch.tensor([0.25], dtype=t.dtype)))}
    results = []
    for fn in fns[name]:
        x = torch.randn(4, 3, dtype=torch.float64).t().requires_grad_()
        gx, = torch.autograd.grad(fn(x), x, torch.ones(3, 4, dtype=torch.float64), create_graph=True)
        results.append(torch.autograd.grad(gx.sum(), x)[0])
    assert_bitwise(results[0], results[1])


def test_no_graph_without_grad_or_tangent():
    """The fast path: nothing to differentiate, no node and no indices."""
    x = values((3, 4), 61, torch.float64)
    assert R.relu(x).grad_fn is None
    with torch.no_grad():
        assert R.prelu(x.requires_grad_(), torch.tensor([0.1], dtype=torch.float64)).grad_fn is None
    with fwAD.dual_level():
        dual = fwAD.make_dual(x.detach(), torch.ones_like(x))
        out = R.maxout(dual, 2, 1)
        assert fwAD.unpack_dual(out).tangent is not None


# --------------------------------------------------------- batching rules

def no_fallback(fn):
    """Runs fn, failing on functorch's per-sample fallback warning."""
    import warnings
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*performance drop.*batching rule")
        torch._C._functorch._set_vmap_fallback_warning_enabled(True)
        try:
            return fn()
        finally:
            torch._C._functorch._set_vmap_fallback_warning_enabled(False)


def looped(fn, in_dims, *args):
    """The reference of vmap: fn per sample, stacked on dim 0."""
    size = next(a.shape[d] for a, d in zip(args, in_dims) if d is not None)
    outs = [fn(*[a if d is None else a.select(d, i) for a, d in zip(args, in_dims)])
            for i in range(size)]
    if isinstance(outs[0], tuple):
        return tuple(torch.stack(o) for o in zip(*outs))
    return torch.stack(outs)


W4 = torch.tensor([0.1, -0.2, 0.3, 0.25], dtype=torch.float64)
VMAP_CASES = {
    # name: (fn, args, in_dims)
    "relu_bdim1": (R.relu, (values((3, 5, 4), 71, torch.float64),), (1,)),
    "leaky_relu_bdim2": (lambda t: R.leaky_relu(t, 0.3), (values((3, 5, 4), 72, torch.float64),), (2,)),
    "abs_rectifier": (R.abs_rectifier, (values((5, 4), 73, torch.float64),), (0,)),
    "relu_": (in_place(R.relu_), (values((5, 4), 74, torch.float64),), (1,)),
    "leaky_relu_": (in_place(R.leaky_relu_, 0.2), (values((5, 4), 75, torch.float64),), (0,)),
    "relu6_bdim1": (R.relu6, (values((3, 5, 4), 89, torch.float64) * 4,), (1,)),
    "elu_bdim2": (lambda t: R.elu(t, 0.5), (values((3, 5, 4), 90, torch.float64),), (2,)),
    "celu_": (in_place(R.celu_, 0.5), (values((5, 4), 91, torch.float64),), (1,)),
    "selu_": (in_place(R.selu_), (values((5, 4), 92, torch.float64),), (0,)),
    "elu_backward_mixed": (lambda a, b: R.elu_backward(a, b, 0.5, 1.0, 2.0, False),
                           (values((5, 4), 93, torch.float64), values((4, 5), 94, torch.float64)),
                           (0, 1)),
    "relu6_backward_one_batched": (R.relu6_backward, (values((4,), 95, torch.float64),
                                                      values((3, 4), 96, torch.float64) * 4), (None, 0)),
    "relu_backward_one_batched": (R.relu_backward, (values((5, 4), 76, torch.float64),
                                                    F.relu(values((4,), 77, torch.float64))), (0, None)),
    "leaky_relu_backward_mixed": (lambda a, b: R.leaky_relu_backward(a, b, 0.1, False),
                                  (values((5, 4), 78, torch.float64), values((4, 5), 79, torch.float64)),
                                  (0, 1)),
    "abs_rectifier_backward": (R.abs_rectifier_backward, (values((4,), 80, torch.float64),
                                                          values((3, 4), 81, torch.float64)), (None, 0)),
    "prelu_shared_weight": (R.prelu, (values((3, 2, 4, 5), 82, torch.float64), W4), (0, None)),
    "prelu_per_sample_weight": (R.prelu, (values((3, 2, 4, 5), 83, torch.float64),
                                          torch.rand(3, 4, dtype=torch.float64)), (0, 0)),
    "prelu_weight_only_batched": (R.prelu, (values((2, 4, 5), 84, torch.float64),
                                            torch.rand(4, 3, dtype=torch.float64)), (None, 1)),
    "prelu_per_sample_scalar_weight": (R.prelu, (values((5, 3), 85, torch.float64),
                                                 torch.rand(3, dtype=torch.float64)), (1, 0)),
    "prelu_1d_samples": (R.prelu, (values((3, 5), 86, torch.float64),
                                   torch.rand(3, 1, dtype=torch.float64)), (0, 0)),
    "prelu_backward": (lambda g, x, w: R.prelu_backward(g, x, w),
                       (values((3, 2, 4), 87, torch.float64), values((3, 2, 4), 88, torch.float64),
                        W4), (0, 0, None)),
    "prelu_backward_shared_slope": (lambda g, x, w: R.prelu_backward(g, x, w),
                                    (values((3, 2, 4), 89, torch.float64),
                                     values((2, 4, 3), 90, torch.float64),
                                     torch.rand(3, 1, dtype=torch.float64)), (0, 2, 0)),
    "maxout_bdim1_dim_neg1": (lambda t: R.maxout(t, 2, -1), (distinct((3, 4, 6), 91, torch.float64),), (1,)),
    "maxout_default_dim": (lambda t: R.maxout(t, 2), (distinct((3, 4, 6), 92, torch.float64),), (2,)),
    "maxout_with_indices": (lambda t: R.maxout_with_indices(t, 3, 0),
                            (distinct((3, 4, 6), 93, torch.float64),), (1,)),
    "maxout_backward": (lambda g, i: R.maxout_backward(g, i, 3, 1),
                        (values((5, 2, 2), 94, torch.float64),
                         torch.randint(0, 3, (2, 2), dtype=torch.uint8)), (0, None)),
}


VMAP_BY_LAYOUT = {"elu_bdim2", "celu_", "selu_", "elu_backward_mixed"}


@pytest.mark.parametrize("name", list(VMAP_CASES))
def test_vmap_rule_matches_per_sample(name):
    fn, args, in_dims = VMAP_CASES[name]
    got = no_fallback(lambda: func.vmap(fn, in_dims=in_dims)(*args))
    expected = looped(fn, in_dims, *args)
    # a sum, or a result that depends on the layout (see BY_LAYOUT): within 1e-12
    close = name.startswith("prelu_backward") or name in VMAP_BY_LAYOUT
    compare(got, expected, torch.float64, close)


def test_vmap_nested():
    x = values((2, 3, 6, 4), 95, torch.float64)
    w = torch.rand(2, 3, 4, dtype=torch.float64)
    got = no_fallback(lambda: func.vmap(func.vmap(R.prelu))(x, w))
    expected = torch.stack([torch.stack([F.prelu(x[i, j], w[i, j]) for j in range(3)]) for i in range(2)])
    compare(got, expected, torch.float64, False)
    got = no_fallback(lambda: func.vmap(func.vmap(lambda t: R.maxout(t, 3, 0)), in_dims=1)(x))
    compare(got, maxout_ref(x.movedim(1, 0), 3, 2).values, torch.float64, False)
    got = no_fallback(lambda: func.vmap(func.vmap(func.grad(lambda t: R.abs_rectifier(t).pow(3).sum())))(x))
    compare(got, 3 * x * x.abs(), torch.float64, True)  # another formula: within 1e-12


@pytest.mark.parametrize("name,fn,args", [
    ("prelu", R.prelu, (torch.randn(3, 2, 5), torch.rand(3, 4))),
    ("maxout", lambda t: R.maxout(t, 4, 1), (torch.randn(3, 2, 6),)),
    ("maxout", lambda t: R.maxout(t, 2, 2), (torch.randn(3, 2, 6),)),
    ("relu_backward", R.relu_backward, (torch.randn(3, 2, 6), torch.randn(3, 6, 2))),
])
def test_vmap_errors_name_the_op_and_the_sample_shape(name, fn, args):
    with pytest.raises(RuntimeError, match=rf"rectifiers::{name}: ") as info:
        func.vmap(fn)(*args)
    assert "[3, " not in str(info.value)  # the sample's shape, not the batch's
