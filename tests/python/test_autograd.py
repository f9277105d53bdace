"""Autograd of every op (docs/semantics.md): gradcheck and gradgradcheck in float64
(reverse, forward and forward-over-reverse mode, batched),
second derivatives against torch's, PyTorch's in-place rules, version
counters, what maxout saves for backward, no_grad and inference_mode."""

import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck, gradgradcheck

import rectifiers.functional as RF

R = torch.ops.rectifiers


def away_from_kink(shape, seed, device="cpu", low=0.1):
    """float64 values with |x| in [low, 1] and random sign: finite differences
    (eps 1e-6) never cross the kink at 0."""
    gen = torch.Generator().manual_seed(seed)
    mag = torch.rand(shape, generator=gen, dtype=torch.float64) * (1 - low) + low
    sign = torch.where(torch.rand(shape, generator=gen) < 0.5, -1.0, 1.0).double()
    return (mag * sign).to(device)


def distinct(shape, seed, device="cpu"):
    """float64 values all at least 0.05 apart: maxout has no near-ties."""
    gen = torch.Generator().manual_seed(seed)
    n = 1
    for s in shape:
        n *= s
    v = torch.randperm(n, generator=gen).double() * 0.05 - n * 0.025
    return v.reshape(shape).to(device)


def req(t):
    return t.detach().clone().requires_grad_()


def check(fn, inputs):
    """Reverse and forward mode, batched (vmap) too, first and second order,
    undefined incoming gradients included."""
    assert gradcheck(fn, inputs, eps=1e-6, atol=1e-7, rtol=1e-5, check_forward_ad=True,
                     check_batched_grad=True, check_batched_forward_grad=True,
                     check_undefined_grad=True)
    assert gradgradcheck(fn, inputs, eps=1e-6, atol=1e-7, rtol=1e-5, check_fwd_over_rev=True,
                         check_batched_grad=True, check_undefined_grad=True)


# ---------------------------------------------------------------------------
# gradcheck / gradgradcheck of the ops


def test_gradcheck_relu(device):
    check(R.relu, (req(away_from_kink((3, 4, 5), 0, device)),))
    check(R.relu, (req(away_from_kink((5, 4), 1, device)).t(),))  # non-contiguous
    check(R.relu, (req(away_from_kink((), 2, device)),))


@pytest.mark.parametrize("slope", [0.01, 0.0, -0.5, 2.0])
def test_gradcheck_leaky_relu(slope, device):
    check(lambda x: R.leaky_relu(x, slope), (req(away_from_kink((3, 4, 5), 3, device)),))
    check(lambda x: RF.leaky_relu(x, slope), (req(away_from_kink((4, 5), 4, device)).t(),))


def test_gradcheck_abs_rectifier(device):
    check(R.abs_rectifier, (req(away_from_kink((3, 4, 5), 5, device)),))
    check(R.abs_rectifier, (req(away_from_kink((), 6, device)),))


def test_gradcheck_relu6(device):
    # |x| in [0.7, 7]: both kinks (0 and 6) inside the range, none within eps
    check(R.relu6, (req(away_from_kink((3, 4, 5), 60, device) * 7),))
    check(lambda x: RF.relu6(x), (req(away_from_kink((5, 4), 61, device) * 7).t(),))


ELU_FAMILY = {
    "elu": lambda x: R.elu(x), "elu_0.3": lambda x: R.elu(x, 0.3), "elu_2.5": lambda x: RF.elu(x, 2.5),
    "elu_neg": lambda x: R.elu(x, -0.8), "celu": lambda x: R.celu(x),
    "celu_0.4": lambda x: RF.celu(x, 0.4), "celu_neg": lambda x: R.celu(x, -1.5), "selu": R.selu,
}


@pytest.mark.parametrize("name", list(ELU_FAMILY))
def test_gradcheck_elu_family(name, device):
    check(ELU_FAMILY[name], (req(away_from_kink((3, 4, 5), 62, device) * 3),))
    check(ELU_FAMILY[name], (req(away_from_kink((5, 4), 63, device)).t(),))


@pytest.mark.parametrize("shape,wshape", [((2, 3, 4), (1,)), ((2, 3, 4), (3,)), ((2, 3, 2, 2), (3,)),
                                          ((5,), (1,)), ((), (1,)), ((4, 3), ())])
def test_gradcheck_prelu(shape, wshape, device):
    x = req(away_from_kink(shape, 7, device))
    w = req(away_from_kink(wshape, 8, device))
    check(R.prelu, (x, w))  # w.r.t. input and weight
    check(lambda x: RF.prelu(x, w.detach()), (x,))  # input only
    check(lambda w: RF.prelu(x.detach(), w), (w,))  # weight only


def test_gradcheck_prelu_channels_last(device):
    x = req(away_from_kink((2, 3, 2, 2), 9, device)).contiguous(memory_format=torch.channels_last)
    w = req(away_from_kink((3,), 10, device))
    check(R.prelu, (x, w))


@pytest.mark.parametrize("shape,pool,dim", [((2, 6, 3), 2, 1), ((2, 6, 3), 3, 1), ((4, 3, 2), 2, 0),
                                            ((2, 3, 4), 4, -1), ((2, 3, 4), 2, 2), ((6,), 3, 0),
                                            ((2, 4, 2, 3), 2, -3)])
def test_gradcheck_maxout(shape, pool, dim, device):
    check(lambda x: R.maxout(x, pool, dim), (req(distinct(shape, 11, device)),))


def test_gradcheck_maxout_non_contiguous(device):
    x = req(distinct((3, 6, 2), 12, device)).transpose(0, 2)  # (2, 6, 3)
    check(lambda t: RF.maxout(t, 3, 1), (x,))
    x = req(distinct((2, 4, 2, 2), 13, device)).contiguous(memory_format=torch.channels_last)
    check(lambda t: RF.maxout(t, 2, 1), (x,))
    x = req(distinct((2, 600), 14, device))
    assert gradcheck(lambda t: R.maxout(t, 300, 1), (x,), eps=1e-6, atol=1e-7)  # int32 indices


# ---------------------------------------------------------------------------
# gradcheck / gradgradcheck of the backward ops themselves


def test_gradcheck_relu_backward(device):
    g = req(away_from_kink((3, 4), 20, device))
    result = req(away_from_kink((3, 4), 21, device))  # away from 0, where the mask jumps
    check(R.relu_backward, (g, result))


@pytest.mark.parametrize("slope", [0.01, -0.5, 2.0])
def test_gradcheck_leaky_relu_backward(slope, device):
    g = req(away_from_kink((3, 4), 22, device))
    x = req(away_from_kink((3, 4), 23, device))
    check(lambda g, x: R.leaky_relu_backward(g, x, slope, False), (g, x))
    if slope >= 0:
        check(lambda g, x: R.leaky_relu_backward(g, x, slope, True), (g, x))


def test_gradcheck_abs_rectifier_backward(device):
    g = req(away_from_kink((3, 4), 24, device))
    x = req(away_from_kink((3, 4), 25, device))
    check(R.abs_rectifier_backward, (g, x))


def test_gradcheck_relu6_backward(device):
    g = req(away_from_kink((3, 4), 64, device))
    x = req(away_from_kink((3, 4), 65, device) * 7)
    check(R.relu6_backward, (g, x))


@pytest.mark.parametrize("alpha,scale,input_scale", [(1.0, 1.0, 1.0), (0.4, 1.0, 2.5),
                                                     (1.6732632423543772, 1.0507009873554805, 1.0),
                                                     (-0.7, 1.3, 0.8)])
@pytest.mark.parametrize("is_result", [False, True])
def test_gradcheck_elu_backward(alpha, scale, input_scale, is_result, device):
    if is_result and alpha < 0:
        pytest.skip("refused, as torch refuses it")
    g = req(away_from_kink((3, 4), 66, device))
    x = req(away_from_kink((3, 4), 67, device) * 2)
    check(lambda g, x: R.elu_backward(g, x, alpha, scale, input_scale, is_result), (g, x))


@pytest.mark.parametrize("shape,wshape", [((2, 3, 4), (1,)), ((2, 3, 4), (3,)), ((5,), (1,))])
def test_gradcheck_prelu_backward(shape, wshape, device):
    g = req(away_from_kink(shape, 26, device))
    x = req(away_from_kink(shape, 27, device))
    w = req(away_from_kink(wshape, 28, device))
    check(R.prelu_backward, (g, x, w))


@pytest.mark.parametrize("pool,dim", [(2, 1), (3, -1), (300, 1)])
def test_gradcheck_maxout_backward(pool, dim, device):
    shape = (2, 2 * pool, 3) if dim == 1 else (2, 3, 2 * pool)
    _, indices = R.maxout_with_indices(distinct(shape, 29, device), pool, dim)
    g = req(away_from_kink(tuple(indices.shape), 30, device))
    check(lambda g: R.maxout_backward(g, indices, pool, dim), (g,))


# ---------------------------------------------------------------------------
# second derivatives through create_graph, against torch's


def _grad(outputs, inputs, grad_outputs=None, create_graph=False):
    gs = torch.autograd.grad(outputs, inputs, grad_outputs, create_graph=create_graph,
                             allow_unused=True)
    return [torch.zeros_like(i) if g is None else g for g, i in zip(gs, inputs)]


def second_order(fn, inputs, g, u):
    """d/d(inputs, g) of <first-order grads, u>, with first-order grads taken
    with create_graph=True."""
    leaves = [req(t) for t in inputs]
    gl = req(g)
    out = fn(*leaves)
    first = _grad(out, leaves, gl, create_graph=True)
    s = sum((f * v).sum() for f, v in zip(first, u))
    return [f.detach() for f in first], _grad(s, leaves + [gl])


SECOND_ORDER = {
    "relu": (R.relu, torch.relu, 1),
    "leaky_relu": (lambda x: R.leaky_relu(x, 0.2), lambda x: F.leaky_relu(x, 0.2), 1),
    "leaky_relu_neg": (lambda x: R.leaky_relu(x, -0.7), lambda x: F.leaky_relu(x, -0.7), 1),
    "abs_rectifier": (R.abs_rectifier, torch.abs, 1),
    "relu6": (lambda x: R.relu6(x * 7), lambda x: F.relu6(x * 7), 1),
    "elu": (lambda x: R.elu(x, 0.7), lambda x: F.elu(x, 0.7), 1),
    "elu_neg": (lambda x: R.elu(x, -0.7), lambda x: F.elu(x, -0.7), 1),
    "celu": (lambda x: R.celu(x, 0.4), lambda x: F.celu(x, 0.4), 1),
    "selu": (R.selu, F.selu, 1),
    "prelu_shared": (R.prelu, F.prelu, (1,)),
    "prelu_per_channel": (R.prelu, F.prelu, (4,)),
    "maxout_dim1": (lambda x: R.maxout(x, 2, 1), lambda x: x.unflatten(1, (2, 2)).max(2).values, 1),
    "maxout_dim_neg1": (lambda x: R.maxout(x, 3, -1),
                        lambda x: x.unflatten(2, (2, 3)).max(3).values, 1),
}


@pytest.mark.parametrize("name", list(SECOND_ORDER))
def test_second_order_matches_torch(name, device):
    ours, ref, wshape = SECOND_ORDER[name]
    shape = (3, 4, 6)
    x = distinct(shape, 31, device) if name.startswith("maxout") else away_from_kink(shape, 31, device)
    inputs = [x] if wshape == 1 else [x, away_from_kink(wshape, 32, device)]
    out_shape = ref(*inputs).shape
    g = away_from_kink(tuple(out_shape), 33, device)
    u = [away_from_kink(tuple(t.shape), 34 + i, device) for i, t in enumerate(inputs)]
    first, second = second_order(ours, inputs, g, u)
    first_ref, second_ref = second_order(ref, inputs, g, u)
    for a, b in zip(first, first_ref):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    for a, b in zip(second, second_ref):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    # the second derivative is not trivially zero where it should not be:
    # d/dg of <grad, u> is the op's vjp applied to u
    assert second[-1].abs().sum() > 0


# ---------------------------------------------------------------------------
# in-place autograd rules

def op_inplace(result, x):
    """torch.ops.rectifiers.relu_/leaky_relu_ return their argument or nothing
    (schema `-> ()`); the functional API returns the same object."""
    assert result is None or result is x
    return x


INPLACE = {
    "relu_": (lambda t: op_inplace(R.relu_(t), t), lambda t: torch.relu_(t)),
    "relu_functional": (lambda t: RF.relu(t, inplace=True), lambda t: torch.relu_(t)),
    "leaky_relu_0": (lambda t: op_inplace(R.leaky_relu_(t, 0.0), t),
                     lambda t: F.leaky_relu_(t, 0.0)),
    "leaky_relu_0.01": (lambda t: op_inplace(R.leaky_relu_(t, 0.01), t),
                        lambda t: F.leaky_relu_(t, 0.01)),
    "leaky_relu_1.5": (lambda t: RF.leaky_relu(t, 1.5, inplace=True),
                       lambda t: F.leaky_relu_(t, 1.5)),
    "relu6_": (lambda t: op_inplace(R.relu6_(t.mul_(7)), t), lambda t: F.relu6(t.mul_(7), True)),
    "elu_": (lambda t: op_inplace(R.elu_(t, 0.7), t), lambda t: F.elu_(t, 0.7)),
    "celu_functional": (lambda t: RF.celu(t, 0.4, inplace=True), lambda t: torch.celu_(t, 0.4)),
    "selu_functional": (lambda t: RF.selu(t, inplace=True), lambda t: torch.selu_(t)),
}


def kinky(shape, seed):
    """Random values with exact zeros of both signs (the kink) mixed in."""
    x = away_from_kink(shape, seed)
    x.view(-1)[::5] = 0.0
    x.view(-1)[1::7] = -0.0
    return x


@pytest.mark.parametrize("view", ["plain", "channels_last", "transposed_view", "sliced_view"])
@pytest.mark.parametrize("name", list(INPLACE))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_inplace_on_non_leaf_matches_torch(name, view, dtype):
    ours, ref = INPLACE[name]
    x0 = kinky((2, 3, 4, 5), 40).to(dtype)
    g = away_from_kink((2, 3, 4, 5), 41).to(dtype)

    def run(op):
        leaf = x0.clone().requires_grad_()
        a = leaf * 1.0  # non-leaf
        if view == "channels_last":
            a = a.contiguous(memory_format=torch.channels_last)
        target = {"transposed_view": lambda t: t.transpose(1, 3),
                  "sliced_view": lambda t: t[:, ::2, 1:]}.get(view, lambda t: t)(a)
        version = target._version
        out = op(target)
        assert out is target
        assert target._version > version
        loss = (a * g).sum()
        loss.backward()
        return a.detach(), leaf.grad

    a1, grad1 = run(ours)
    a2, grad2 = run(ref)
    assert torch.equal(a1, a2)
    assert torch.equal(grad1, grad2)
    # not trivially equal: the gradient carries the op's derivative
    assert not torch.equal(grad1, g)


@pytest.mark.parametrize("slope", [-0.5, -2.0])
def test_inplace_leaky_relu_negative_slope_backward_raises(slope):
    leaf = away_from_kink((3, 4), 42).requires_grad_()
    a = leaf * 1.0
    y = op_inplace(R.leaky_relu_(a, slope), a)  # forward is fine
    assert torch.equal(y.detach(), F.leaky_relu(leaf.detach(), slope))
    with pytest.raises(RuntimeError, match="negative slope"):
        y.sum().backward()
    leaf2 = leaf.detach().clone().requires_grad_()
    b = RF.leaky_relu(leaf2 * 1.0, slope, inplace=True)
    with pytest.raises(RuntimeError, match="negative slope"):
        torch.autograd.grad(b.sum(), leaf2)


@pytest.mark.parametrize("op", [lambda t: R.elu_(t, -0.5), lambda t: RF.celu(t, -2.0, inplace=True)])
def test_inplace_elu_negative_alpha_backward_raises(op):
    """As torch: the forward works, the backward (from the result) is refused."""
    leaf = away_from_kink((3, 4), 68).requires_grad_()
    a = leaf * 1.0
    op(a)
    with pytest.raises(RuntimeError, match=r"rectifiers::elu_backward: .*negative alpha"):
        a.sum().backward()


def test_out_of_place_leaky_relu_negative_slope_differentiates():
    leaf = away_from_kink((3, 4), 43).requires_grad_()
    (g,) = torch.autograd.grad(R.leaky_relu(leaf, -0.5).sum(), leaf)
    assert torch.equal(g, torch.where(leaf.detach() > 0, 1.0, -0.5).double())


@pytest.mark.parametrize("target", ["leaf", "view_of_leaf"])
@pytest.mark.parametrize("name", ["relu_", "leaky_relu_0.01", "relu_functional"])
def test_inplace_on_leaf_requiring_grad_raises(name, target):
    ours, _ = INPLACE[name]
    leaf = kinky((3, 4), 44).requires_grad_()
    before = leaf.detach().clone()
    t = leaf if target == "leaf" else leaf[1:]
    with pytest.raises(RuntimeError, match="leaf Variable"):
        ours(t)
    assert torch.equal(leaf.detach(), before)


@pytest.mark.parametrize("name", ["relu_", "leaky_relu_0.01", "relu_functional", "leaky_relu_1.5"])
def test_inplace_on_leaf_under_no_grad_is_allowed(name):
    ours, ref = INPLACE[name]
    leaf = kinky((3, 4), 45).requires_grad_()
    expected = ref(leaf.detach().clone())
    with torch.no_grad():
        assert ours(leaf) is leaf
    assert torch.equal(leaf.detach(), expected)
    assert leaf.grad_fn is None and leaf.is_leaf


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_bumps_version(name):
    ours, _ = INPLACE[name]
    x = kinky((3, 4), 46)
    v = x._version
    ours(x)
    assert x._version > v
    v = x._version
    with torch.no_grad():
        ours(x)
    assert x._version > v
    leaf = kinky((3, 4), 47).requires_grad_()
    a = leaf * 2
    v = a._version
    ours(a)
    assert a._version > v


@pytest.mark.parametrize("name", ["relu_", "leaky_relu_0.01"])
def test_inplace_after_save_for_backward_raises(name):
    ours, _ = INPLACE[name]
    # a torch op saved the tensor
    leaf = kinky((3, 4), 48).requires_grad_()
    a = leaf * 1.0
    s = a.sin()  # saves a
    ours(a)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        s.sum().backward()
    # one of our ops saved its input
    leaf = kinky((3, 4), 49).requires_grad_()
    a = leaf * 1.0
    y = R.elu(a, 1.0)  # saves a
    ours(a)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    # one of our ops saved its output (relu saves the result), which is modified
    leaf = kinky((3, 4), 50).requires_grad_()
    y = R.relu(leaf * 1.0)
    z = y * 3.0
    ours(y)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    leaf = kinky((3, 4), 51).requires_grad_()
    w = torch.tensor([0.3], dtype=torch.float64, requires_grad=True)
    a = leaf * 1.0
    y = R.prelu(a, w)  # saves a
    ours(a)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@pytest.mark.parametrize("name", ["relu_", "leaky_relu_0.01"])
def test_inplace_in_inference_mode_bumps_version_of_normal_tensor(name):
    ours, ref = INPLACE[name]
    # torch's behaviour, the contract ("in-place variants follow PyTorch's autograd rules")
    leaf = kinky((3, 4), 52).requires_grad_()
    a = leaf * 1.0
    s = a.sin()
    with torch.inference_mode():
        v = a._version
        ref(a)
        assert a._version > v
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        s.sum().backward()
    # ours
    leaf = kinky((3, 4), 52).requires_grad_()
    a = leaf * 1.0
    s = a.sin()
    with torch.inference_mode():
        v = a._version
        ours(a)
        assert a._version > v
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        s.sum().backward()


# ---------------------------------------------------------------------------
# what maxout saves


def saved_by(fn, *args):
    packed = []

    def pack(t):
        packed.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(*args)
    return out, packed


@pytest.mark.parametrize("shape,pool,dim,index_dtype", [
    ((4, 6, 5), 2, 1, torch.uint8), ((4, 6, 5), 3, 1, torch.uint8), ((4, 6, 10), 5, -1, torch.uint8),
    ((2, 512, 3), 256, 1, torch.uint8), ((2, 600, 3), 300, 1, torch.int32),
    ((3, 2, 600), 300, -1, torch.int32)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_maxout_saves_compact_index(shape, pool, dim, index_dtype, dtype):
    x = torch.randn(shape, dtype=dtype).requires_grad_()
    out, packed = saved_by(lambda t: R.maxout(t, pool, dim), x)
    assert len(packed) == 1
    (saved,) = packed
    assert saved.dtype == index_dtype
    assert saved.numel() == out.numel()
    assert saved.data_ptr() != x.data_ptr()
    assert saved.element_size() * saved.numel() <= out.numel() * 4
    # and it is the position of the maximum in each group
    d = dim % x.dim()
    ref = x.detach().unflatten(d, (-1, pool)).max(d + 1).indices
    assert torch.equal(saved.long(), ref)
    # the composite reference saves int64 indices, for contrast
    _, packed_ref = saved_by(lambda t: t.unflatten(d, (-1, pool)).max(d + 1).values, x)
    assert any(p.dtype == torch.int64 for p in packed_ref)


def test_maxout_with_indices_under_grad():
    """Either refused with a clear error (it is the forward helper), or
    differentiable in the values with non-differentiable indices."""
    x = distinct((2, 6, 3), 15).requires_grad_()
    before = x.detach().clone()
    try:
        values, indices = R.maxout_with_indices(x, 3, 1)
    except RuntimeError as error:
        assert "rectifiers::maxout_with_indices" in str(error)
        assert "not differentiable" in str(error)
        assert torch.equal(x.detach(), before)
        return
    ref = x.unflatten(1, (2, 3)).max(2)
    assert torch.equal(values, ref.values)
    assert indices.dtype == torch.uint8 and not indices.requires_grad
    assert torch.equal(indices.long(), ref.indices)
    g = away_from_kink((2, 2, 3), 16)
    (gx,) = torch.autograd.grad(values, x, g)
    (gx_ref,) = torch.autograd.grad(ref.values, x, g)
    assert torch.equal(gx, gx_ref)


def test_maxout_without_grad_saves_nothing():
    x = torch.randn(4, 6)
    out, packed = saved_by(lambda t: R.maxout(t, 2, 1), x)
    assert packed == [] and out.grad_fn is None


def test_elementwise_saves_no_more_than_one_tensor():
    x = torch.randn(3, 4, requires_grad=True)
    for fn in (R.relu, lambda t: R.elu(t, 1.0)):
        _, packed = saved_by(fn, x)
        assert len(packed) == 1 and packed[0].shape == x.shape
    # leaky_relu saves a bit per element, relu6 and abs_rectifier two (test_masks.py)
    for fn, words in ((lambda t: R.leaky_relu(t, 0.1), 1), (R.relu6, 2), (R.abs_rectifier, 2)):
        _, packed = saved_by(fn, x)
        assert len(packed) == 1 and packed[0].dtype == torch.int32 and packed[0].shape == (words,)


# ---------------------------------------------------------------------------
# no_grad / inference_mode

ALL_OPS = {
    "relu": lambda x, w: R.relu(x),
    "leaky_relu": lambda x, w: R.leaky_relu(x, 0.1),
    "abs_rectifier": lambda x, w: R.abs_rectifier(x),
    "prelu": lambda x, w: R.prelu(x, w),
    "maxout": lambda x, w: R.maxout(x, 2, 1),
    "maxout_with_indices": lambda x, w: R.maxout_with_indices(x, 2, 1)[0],
    "relu_backward": lambda x, w: R.relu_backward(x * 2, x),
    "leaky_relu_backward": lambda x, w: R.leaky_relu_backward(x * 2, x, 0.1, False),
    "abs_rectifier_backward": lambda x, w: R.abs_rectifier_backward(x * 2, x),
    "prelu_backward": lambda x, w: R.prelu_backward(x * 2, x, w)[1],
    "maxout_backward": lambda x, w: R.maxout_backward(
        x, R.maxout_with_indices(x.detach(), 1, 1)[1], 1, 1),
}
ALL_REFS = {
    "relu": lambda x, w: torch.relu(x),
    "leaky_relu": lambda x, w: F.leaky_relu(x, 0.1),
    "abs_rectifier": lambda x, w: torch.abs(x),
    "prelu": lambda x, w: F.prelu(x, w),
    "maxout": lambda x, w: x.unflatten(1, (-1, 2)).max(2).values,
    "maxout_with_indices": lambda x, w: x.unflatten(1, (-1, 2)).max(2).values,
    "relu_backward": lambda x, w: torch.where(x > 0, x * 2, 0.0),
    "leaky_relu_backward": lambda x, w: torch.where(x > 0, x * 2, x * 2 * 0.1),
    "abs_rectifier_backward": lambda x, w: x * 2 * torch.sign(x),
    "prelu_backward": lambda x, w: torch.where(x > 0, 0.0, x * x * 2).sum((0, 2)),
    "maxout_backward": lambda x, w: x,
}


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
@pytest.mark.parametrize("name", list(ALL_OPS))
def test_no_grad_and_inference_mode(name, mode):
    x = away_from_kink((2, 4, 3), 60).requires_grad_()
    w = away_from_kink((4,), 61).requires_grad_()
    expected = ALL_REFS[name](x.detach(), w.detach())
    ctx = torch.no_grad() if mode == "no_grad" else torch.inference_mode()
    with ctx:
        y = ALL_OPS[name](x, w)
    assert y.grad_fn is None
    assert not y.requires_grad
    if mode == "inference_mode":
        assert y.is_inference()
    torch.testing.assert_close(y, expected, rtol=1e-12, atol=1e-12)
    # with grad enabled the same call records a graph (except the
    # non-differentiable maxout_with_indices, which refuses)
    try:
        assert ALL_OPS[name](x, w).grad_fn is not None
    except RuntimeError as error:  # see test_maxout_with_indices_under_grad
        assert name == "maxout_with_indices" and "not differentiable" in str(error)


@pytest.mark.parametrize("name", ["relu_", "leaky_relu_0.01"])
def test_inplace_in_inference_mode_on_inference_tensor(name):
    ours, ref = INPLACE[name]
    with torch.inference_mode():
        x = kinky((3, 4), 62)
        expected = ref(x.clone())
        assert ours(x) is x
        assert torch.equal(x, expected)
