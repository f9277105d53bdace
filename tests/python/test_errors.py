"""Bad input (docs/semantics.md, "Bad input"): every misuse is a RuntimeError whose message names the
op (``rectifiers::<op>``) and the offending value, and no input is modified by
a failed call. Messages are the ones in csrc/common/checks.cpp, the op files
(csrc/ops/<op>.cpp) and their autograd kernels (csrc/ops/autograd/). At the end:
the Python side's own refusals, a module's bad options (ValueError, as csrc/nn.h)
and arguments of a wrong type (TypeError), and the lazy rectifiers.onnx."""

import contextlib
import math
import re
import subprocess
import sys
import textwrap

import pytest
import torch

import rectifiers.functional as RF

R = torch.ops.rectifiers

BAD_DTYPES = {
    torch.int8: "Char", torch.uint8: "Byte", torch.int16: "Short", torch.int32: "Int",
    torch.int64: "Long", torch.bool: "Bool", torch.complex64: "ComplexFloat",
    torch.complex128: "ComplexDouble",
}

DTYPE_MSG = ("{arg} must be a floating-point tensor (float16, bfloat16, float32 or float64), "
             "but got dtype {name}")


def msg(op, text):
    """A regex for 'rectifiers::<op>: <text>' with text taken literally."""
    return re.escape(f"rectifiers::{op}: {text}")


def make(dtype, shape=(2, 4, 3)):
    if dtype == torch.bool:
        return torch.arange(24).reshape(shape) % 3 == 0
    if dtype.is_complex:
        return torch.randn(shape, dtype=dtype)
    return (torch.arange(24).reshape(shape) - 12).to(dtype)


def raises_unmodified(pattern, fn, *tensors):
    """fn() raises RuntimeError matching pattern; no tensor in `tensors` changed."""
    before = [t.clone() for t in tensors]
    versions = [t._version for t in tensors]
    with pytest.raises(RuntimeError, match=pattern):
        fn()
    for t, b, v in zip(tensors, before, versions):
        assert torch.equal(t, b)
        assert t._version == v


# ---------------------------------------------------------------------------
# dtypes

UNARY = {
    "relu": lambda x: R.relu(x),
    "relu_": lambda x: R.relu_(x),
    "leaky_relu": lambda x: R.leaky_relu(x, 0.1),
    "leaky_relu_": lambda x: R.leaky_relu_(x, 0.1),
    "abs_rectifier": lambda x: R.abs_rectifier(x),
    "relu6": lambda x: R.relu6(x),
    "relu6_": lambda x: R.relu6_(x),
    "elu": lambda x: R.elu(x, 0.5),
    "elu_": lambda x: R.elu_(x, 0.5),
    "celu": lambda x: R.celu(x, 2.0),
    "celu_": lambda x: R.celu_(x, 2.0),
    "selu": lambda x: R.selu(x),
    "selu_": lambda x: R.selu_(x),
    "maxout": lambda x: R.maxout(x, 2, 1),
    "maxout_with_indices": lambda x: R.maxout_with_indices(x, 2, 1),
}


@pytest.mark.parametrize("dtype", list(BAD_DTYPES), ids=str)
@pytest.mark.parametrize("op", list(UNARY))
def test_bad_dtype_unary(op, dtype):
    x = make(dtype)
    raises_unmodified(msg(op, DTYPE_MSG.format(arg="input", name=BAD_DTYPES[dtype])),
                      lambda: UNARY[op](x), x)


@pytest.mark.parametrize("dtype", list(BAD_DTYPES), ids=str)
def test_bad_dtype_functional(dtype):
    x = make(dtype)
    name = BAD_DTYPES[dtype]
    for op, fn in [("relu", lambda: RF.relu(x)), ("relu_", lambda: RF.relu(x, inplace=True)),
                   ("leaky_relu", lambda: RF.leaky_relu(x)),
                   ("leaky_relu_", lambda: RF.leaky_relu(x, 0.2, inplace=True)),
                   ("abs_rectifier", lambda: RF.abs_rectifier(x)),
                   ("relu6", lambda: RF.relu6(x)), ("relu6_", lambda: RF.relu6(x, inplace=True)),
                   ("elu", lambda: RF.elu(x)), ("elu_", lambda: RF.elu(x, 0.5, inplace=True)),
                   ("celu", lambda: RF.celu(x)), ("celu_", lambda: RF.celu(x, 2.0, inplace=True)),
                   ("selu", lambda: RF.selu(x)), ("selu_", lambda: RF.selu(x, inplace=True)),
                   ("maxout", lambda: RF.maxout(x, 2))]:
        raises_unmodified(msg(op, f"input must be a floating-point tensor") + ".*" +
                          re.escape(f"got dtype {name}"), fn, x)


@pytest.mark.parametrize("dtype", list(BAD_DTYPES), ids=str)
def test_bad_dtype_prelu(dtype):
    x = make(dtype)
    w = torch.ones(1, dtype=dtype)
    name = BAD_DTYPES[dtype]
    pattern = msg("prelu", "input must be a floating-point tensor") + ".*" + re.escape(f"got dtype {name}")
    raises_unmodified(pattern, lambda: R.prelu(x, w), x, w)
    raises_unmodified(pattern, lambda: RF.prelu(x, w), x, w)
    # float input, bad weight: the weight's dtype must be the input's
    xf = torch.randn(2, 4, 3)
    raises_unmodified(msg("prelu", f"expected weight to have the dtype of input (Float), but got {name}"),
                      lambda: R.prelu(xf, w), xf, w)


@pytest.mark.parametrize("dtype", list(BAD_DTYPES), ids=str)
def test_bad_dtype_backward_ops(dtype):
    name = BAD_DTYPES[dtype]
    bad = make(dtype)
    good = torch.randn(2, 4, 3)
    w = torch.ones(1)
    # the saved tensor has a bad dtype
    for op, fn, arg in [
        ("relu_backward", lambda: R.relu_backward(good, bad), "result"),
        ("leaky_relu_backward", lambda: R.leaky_relu_backward(good, bad, 0.1, False), "self"),
        ("abs_rectifier_backward", lambda: R.abs_rectifier_backward(good, bad), "self"),
        ("prelu_backward", lambda: R.prelu_backward(good, bad, w), "input"),
        ("relu6_backward", lambda: R.relu6_backward(good, bad), "self"),
        ("elu_backward", lambda: R.elu_backward(good, bad, 1.0, 1.0, 1.0, False), "self_or_result"),
        ("elu_backward", lambda: R.elu_backward(good, bad, 1.0, 1.0, 1.0, True), "self_or_result"),
    ]:
        raises_unmodified(msg(op, f"{arg} must be a floating-point tensor") + ".*" +
                          re.escape(f"got dtype {name}"), fn, good, bad)
    # grad_output has a bad dtype
    for op, fn, arg in [
        ("relu_backward", lambda: R.relu_backward(bad, good), "result"),
        ("leaky_relu_backward", lambda: R.leaky_relu_backward(bad, good, 0.1, False), "self"),
        ("abs_rectifier_backward", lambda: R.abs_rectifier_backward(bad, good), "self"),
        ("prelu_backward", lambda: R.prelu_backward(bad, good, w), "self"),
        ("relu6_backward", lambda: R.relu6_backward(bad, good), "self"),
        ("elu_backward", lambda: R.elu_backward(bad, good, 1.0, 1.0, 1.0, False), "self_or_result"),
    ]:
        raises_unmodified(msg(op, f"expected grad_output to have the dtype of {arg} (Float), but got {name}"),
                          fn, good, bad)
    idx = torch.zeros(2, 2, 3, dtype=torch.uint8)
    raises_unmodified(msg("maxout_backward", "grad_output must be a floating-point tensor") + ".*" +
                      re.escape(f"got dtype {name}"),
                      lambda: R.maxout_backward(make(dtype)[:, :2], idx, 2, 1), idx)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16])
def test_backward_ops_dtype_mismatch(dtype):
    g = torch.randn(2, 4, 3, dtype=dtype)
    x = torch.randn(2, 4, 3)
    w = torch.ones(1)
    name = {torch.float64: "Double", torch.float16: "Half"}[dtype]
    for op, fn, arg in [
        ("relu_backward", lambda: R.relu_backward(g, x), "result"),
        ("leaky_relu_backward", lambda: R.leaky_relu_backward(g, x, 0.1, False), "self"),
        ("abs_rectifier_backward", lambda: R.abs_rectifier_backward(g, x), "self"),
        ("prelu_backward", lambda: R.prelu_backward(g, x, w), "self"),
        ("relu6_backward", lambda: R.relu6_backward(g, x), "self"),
        ("elu_backward", lambda: R.elu_backward(g, x, 1.0, 1.0, 1.0, False), "self_or_result"),
    ]:
        raises_unmodified(msg(op, f"expected grad_output to have the dtype of {arg} (Float), but got {name}"),
                          fn, g, x)


def test_backward_ops_shape_mismatch():
    g = torch.randn(2, 3, 4)
    x = torch.randn(2, 4, 3)
    w = torch.ones(1)
    for op, fn, arg in [
        ("relu_backward", lambda: R.relu_backward(g, x), "result"),
        ("leaky_relu_backward", lambda: R.leaky_relu_backward(g, x, 0.1, False), "self"),
        ("abs_rectifier_backward", lambda: R.abs_rectifier_backward(g, x), "self"),
        ("prelu_backward", lambda: R.prelu_backward(g, x, w), "self"),
        ("relu6_backward", lambda: R.relu6_backward(g, x), "self"),
        ("elu_backward", lambda: R.elu_backward(g, x, 1.0, 1.0, 1.0, False), "self_or_result"),
        ("elu_backward", lambda: R.elu_backward(g, x, 0.5, 1.0, 2.0, True), "self_or_result"),
    ]:
        raises_unmodified(msg(op, f"expected grad_output to have the shape of {arg} [2, 4, 3], "
                                  f"but got [2, 3, 4]"), fn, g, x)
    # no broadcasting either
    g1 = torch.randn(1, 4, 3)
    raises_unmodified(msg("relu_backward", "expected grad_output to have the shape of result [2, 4, 3], "
                                           "but got [1, 4, 3]"), lambda: R.relu_backward(g1, x), g1, x)


def test_maxout_backward_bad_indices():
    g = torch.randn(2, 2, 3)
    for idx, pool, got in [(torch.zeros(2, 2, 3, dtype=torch.int64), 2, "Long"),
                           (torch.zeros(2, 2, 3, dtype=torch.int32), 2, "Int"),
                           (torch.zeros(2, 2, 3, dtype=torch.float32), 2, "Float"),
                           (torch.zeros(2, 2, 3, dtype=torch.uint8), 300, "Byte"),
                           (torch.zeros(2, 2, 3, dtype=torch.int64), 300, "Long")]:
        want = "Byte" if pool <= 256 else "Int"
        raises_unmodified(msg("maxout_backward", f"indices must have dtype {want} for pool_size {pool}, "
                                                 f"but got {got}"),
                          lambda: R.maxout_backward(g, idx, pool, 1), g, idx)
    idx = torch.zeros(2, 3, 2, dtype=torch.uint8)
    raises_unmodified(msg("maxout_backward", "expected indices to have the shape of grad_output "
                                             "[2, 2, 3], but got [2, 3, 2]"),
                      lambda: R.maxout_backward(g, idx, 2, 1), g, idx)
    idx = torch.zeros(2, 2, 3, dtype=torch.uint8)
    for pool in (0, -1):
        raises_unmodified(msg("maxout_backward", f"pool_size must be >= 1, but got {pool}"),
                          lambda: R.maxout_backward(g, idx.int() if pool > 256 else idx, pool, 1), g, idx)
    for dim in (3, -4):
        raises_unmodified(msg("maxout_backward", f"dim {dim} is out of range for a 3-dim grad_output "
                                                 f"(expected in [-3, 2])"),
                          lambda: R.maxout_backward(g, idx, 2, dim), g, idx)


# ---------------------------------------------------------------------------
# alpha of the ELU family

# op -> a call with alpha; elu_backward as the autograd kernels call it (input_scale 1 / alpha
# for celu), from the input
ALPHA_OPS = {
    "elu": lambda x, a: R.elu(x, a),
    "elu_": lambda x, a: R.elu_(x, a),
    "celu": lambda x, a: R.celu(x, a),
    "celu_": lambda x, a: R.celu_(x, a),
    "elu_backward": lambda x, a: R.elu_backward(torch.ones_like(x), x, a, 1.0, 1.0, False),
}
# the functional forms name the op they call
ALPHA_FUNCTIONAL = {
    "elu": lambda x, a: RF.elu(x, a),
    "elu_": lambda x, a: RF.elu(x, a, inplace=True),
    "celu": lambda x, a: RF.celu(x, a),
    "celu_": lambda x, a: RF.celu(x, alpha=a, inplace=True),
}


@pytest.mark.parametrize("alpha,shown", [(float("inf"), "inf"), (float("-inf"), "-inf"),
                                         (float("nan"), "nan")], ids=["inf", "-inf", "nan"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16], ids=str)
@pytest.mark.parametrize("op", list(ALPHA_OPS))
def test_elu_alpha_must_be_finite(op, dtype, alpha, shown):
    x = make(dtype)
    raises_unmodified(msg(op, f"alpha must be finite, but got {shown}"),
                      lambda: ALPHA_OPS[op](x, alpha), x)
    if op in ALPHA_FUNCTIONAL:
        raises_unmodified(msg(op, f"alpha must be finite, but got {shown}"),
                          lambda: ALPHA_FUNCTIONAL[op](x, alpha), x)
        xg = make(dtype).requires_grad_()  # through the autograd kernel
        raises_unmodified(msg(op.rstrip("_"), f"alpha must be finite, but got {shown}"),
                          lambda: ALPHA_FUNCTIONAL[op.rstrip("_")](xg, alpha), xg)


@pytest.mark.parametrize("op", ["celu", "celu_"])
@pytest.mark.parametrize("alpha", [0.0, -0.0], ids=["0", "-0"])
def test_celu_alpha_must_not_be_zero(op, alpha):
    x = make(torch.float32)
    pattern = msg(op, "alpha must not be 0")
    raises_unmodified(pattern, lambda: ALPHA_OPS[op](x, alpha), x)
    raises_unmodified(pattern, lambda: ALPHA_FUNCTIONAL[op](x, alpha), x)
    xg = make(torch.float64).requires_grad_()
    raises_unmodified(msg("celu", "alpha must not be 0"), lambda: RF.celu(xg, alpha), xg)
    # torch refuses it too; elu takes alpha 0
    with pytest.raises(RuntimeError):
        torch.celu(x, alpha)
    assert torch.equal(R.elu(x, alpha), torch.nn.functional.elu(x, alpha))


@pytest.mark.parametrize("alpha", [1e300, -1e300, 3.5e38])
@pytest.mark.parametrize("dtype,name", [(torch.float32, "Float"), (torch.float16, "Half"),
                                        (torch.bfloat16, "BFloat16")], ids=str)
@pytest.mark.parametrize("op", list(ALPHA_OPS))
def test_elu_alpha_overflowing_float(op, dtype, name, alpha):
    x = make(dtype)
    raises_unmodified(msg(op, f"alpha {alpha:g} cannot be converted to float (the compute type "
                              f"of {name} tensors) without overflow"),
                      lambda: ALPHA_OPS[op](x, alpha), x)
    # torch refuses it too, and float64 computes in double: no overflow there
    with pytest.raises(RuntimeError, match="overflow"):
        torch.nn.functional.elu(x, alpha)
    x64 = make(torch.float64)
    ref = {"elu": torch.nn.functional.elu, "elu_": torch.nn.functional.elu,
           "celu": torch.celu, "celu_": torch.celu,
           "elu_backward": lambda t, a: torch.ops.aten.elu_backward(torch.ones_like(t), a, 1.0, 1.0,
                                                                    False, t)}[op](x64, alpha)
    got = ALPHA_OPS[op](x64, alpha)
    assert torch.equal(x64 if op.endswith("_") else got, ref)


@pytest.mark.parametrize("arg,args", [("scale", (1.0, float("inf"), 1.0)),
                                      ("input_scale", (1.0, 1.0, float("nan"))),
                                      ("scale", (1.0, 1e300, 1.0)),
                                      ("input_scale", (1.0, 1.0, -1e300))])
def test_elu_backward_scales(arg, args):
    g, x = torch.randn(2, 3), torch.randn(2, 3)
    value = args[("alpha", "scale", "input_scale").index(arg)]
    text = (f"{arg} must be finite, but got {value:g}" if math.isinf(value) or math.isnan(value)
            else f"{arg} {value:g} cannot be converted to float")
    raises_unmodified(msg("elu_backward", text), lambda: R.elu_backward(g, x, *args, False), g, x)


@pytest.mark.parametrize("alpha", [-0.5, -1e-300])  # -inf: "must be finite", above
def test_elu_backward_negative_alpha_on_result(alpha):
    g = torch.randn(3)
    y = torch.tensor([1.0, -0.25, 0.0])
    raises_unmodified(msg("elu_backward", "cannot differentiate an in-place elu_/celu_ with a "
                                          f"negative alpha (alpha = {alpha:g})"),
                      lambda: R.elu_backward(g, y, alpha, 1.0, 1.0, True), g, y)
    # not an error from the input, nor for alpha >= 0: torch's values
    for a, is_result in ((alpha, False), (0.5, True), (0.0, True)):
        if math.isinf(a):
            continue
        assert torch.equal(R.elu_backward(g, y, a, 1.0, 1.0, is_result),
                           torch.ops.aten.elu_backward(g, a, 1.0, 1.0, is_result, y))


@pytest.mark.parametrize("op,alpha", [("elu_", -0.5), ("celu_", -2.0)])
def test_inplace_elu_negative_alpha_backward_names_elu_backward(op, alpha):
    x = torch.randn(2, 3, requires_grad=True)
    h = x * 1
    ALPHA_FUNCTIONAL[op](h, alpha)
    with pytest.raises(RuntimeError, match=msg("elu_backward", "cannot differentiate an in-place "
                                                               "elu_/celu_ with a negative alpha")):
        h.sum().backward()


# ---------------------------------------------------------------------------
# maxout arguments

MAXOUT_OPS = {
    "maxout": lambda x, k, d: R.maxout(x, k, d),
    "maxout_with_indices": lambda x, k, d: R.maxout_with_indices(x, k, d),
}


@pytest.mark.parametrize("op", list(MAXOUT_OPS))
@pytest.mark.parametrize("pool", [0, -1, -300])
def test_maxout_pool_size_below_one(op, pool):
    x = torch.randn(2, 6, 3)
    raises_unmodified(msg(op, f"pool_size must be >= 1, but got {pool}"),
                      lambda: MAXOUT_OPS[op](x, pool, 1), x)
    raises_unmodified(msg("maxout", f"pool_size must be >= 1, but got {pool}"),
                      lambda: RF.maxout(x, pool), x)


@pytest.mark.parametrize("op", list(MAXOUT_OPS))
@pytest.mark.parametrize("shape,pool,dim,wrapped,size", [
    ((2, 6, 3), 4, 1, 1, 6), ((2, 6, 3), 5, -2, 1, 6), ((2, 6, 3), 2, 2, 2, 3),
    ((2, 6, 3), 7, 1, 1, 6), ((5,), 2, 0, 0, 5), ((2, 6, 3), 300, 1, 1, 6)])
def test_maxout_pool_size_not_dividing(op, shape, pool, dim, wrapped, size):
    x = torch.randn(shape)
    shape_str = "[" + ", ".join(map(str, shape)) + "]"
    raises_unmodified(msg(op, f"pool_size {pool} does not divide the size of dim {wrapped} "
                              f"({size}, input shape {shape_str})"),
                      lambda: MAXOUT_OPS[op](x, pool, dim), x)


@pytest.mark.parametrize("op", list(MAXOUT_OPS))
@pytest.mark.parametrize("shape,dim", [((2, 6, 3), 3), ((2, 6, 3), -4), ((2, 6, 3), 100),
                                       ((6,), 1), ((6,), -2)])
def test_maxout_dim_out_of_range(op, shape, dim):
    x = torch.randn(shape)
    n = len(shape)
    raises_unmodified(msg(op, f"dim {dim} is out of range for a {n}-dim input "
                              f"(expected in [{-n}, {n - 1}])"),
                      lambda: MAXOUT_OPS[op](x, 1, dim), x)


@pytest.mark.parametrize("op", list(MAXOUT_OPS))
def test_maxout_zero_dim_input(op):
    x = torch.tensor(3.0)
    for dim in (0, 1, -1):
        raises_unmodified(msg(op, "input must have at least 1 dimension, but got a 0-dim tensor"),
                          lambda: MAXOUT_OPS[op](x, 1, dim), x)


@pytest.mark.parametrize("case", ["pool_0", "pool_-1", "not_dividing", "dim_out_of_range", "zero_dim"])
def test_maxout_errors_with_grad_name_maxout(case):
    shape, pool, dim, text = {
        "pool_0": ((2, 6, 3), 0, 1, "pool_size must be >= 1, but got 0"),
        "pool_-1": ((2, 6, 3), -1, 1, "pool_size must be >= 1, but got -1"),
        "not_dividing": ((2, 6, 3), 4, 1, "pool_size 4 does not divide the size of dim 1 "
                                          "(6, input shape [2, 6, 3])"),
        "dim_out_of_range": ((2, 6, 3), 2, 3, "dim 3 is out of range for a 3-dim input "
                                              "(expected in [-3, 2])"),
        "zero_dim": ((), 1, 0, "input must have at least 1 dimension, but got a 0-dim tensor"),
    }[case]
    xg = torch.randn(shape, requires_grad=True)
    raises_unmodified(msg("maxout", text), lambda: RF.maxout(xg, pool, dim), xg)


# ---------------------------------------------------------------------------
# PReLU weight

PRELU_OPS = {
    "prelu": lambda x, w: R.prelu(x, w),
    "prelu_backward": lambda x, w: R.prelu_backward(torch.ones_like(x), x, w),
}


@pytest.mark.parametrize("op", list(PRELU_OPS))
@pytest.mark.parametrize("shape,wnumel,channels", [((2, 4, 3), 5, 4), ((2, 4, 3), 3, 4), ((2, 4, 3), 0, 4),
                                                   ((2, 4), 2, 4), ((7,), 7, 1), ((7,), 2, 1),
                                                   ((), 2, 1), ((2, 1, 3), 3, 1)])
def test_prelu_weight_wrong_numel(op, shape, wnumel, channels):
    x = torch.randn(shape)
    w = torch.full((wnumel,), 0.25)
    shape_str = "[" + ", ".join(map(str, shape)) + "]"
    channels_str = "1 channel" if channels == 1 else f"{channels} channels"
    raises_unmodified(msg(op, f"weight has {wnumel} elements, but it must have 1 or one per channel "
                              f"(input has {channels_str} in dim 1, input shape {shape_str})"),
                      lambda: PRELU_OPS[op](x, w), x, w)


@pytest.mark.parametrize("op", list(PRELU_OPS))
def test_prelu_counts_are_singular_for_one(op):
    x = torch.randn(2, 1, 3)
    w = torch.full((3,), 0.25)
    with pytest.raises(RuntimeError) as error:
        PRELU_OPS[op](x, w)
    assert str(error.value).splitlines()[0] == (
        f"rectifiers::{op}: weight has 3 elements, but it must have 1 or one per channel "
        "(input has 1 channel in dim 1, input shape [2, 1, 3])")


@pytest.mark.parametrize("op", list(PRELU_OPS))
@pytest.mark.parametrize("wshape", [(1, 4), (4, 1), (1, 1), (2, 2, 1)])
def test_prelu_weight_too_many_dims(op, wshape):
    x = torch.randn(2, 4, 3)
    w = torch.full(wshape, 0.25)
    shape_str = "[" + ", ".join(map(str, wshape)) + "]"
    raises_unmodified(msg(op, f"weight must be a 0-dim or 1-D tensor, but got {len(wshape)} dims "
                              f"(shape {shape_str})"),
                      lambda: PRELU_OPS[op](x, w), x, w)


@pytest.mark.parametrize("op", list(PRELU_OPS))
@pytest.mark.parametrize("wdtype,name", [(torch.float64, "Double"), (torch.float16, "Half"),
                                         (torch.bfloat16, "BFloat16"), (torch.int64, "Long")])
def test_prelu_weight_wrong_dtype(op, wdtype, name):
    x = torch.randn(2, 4, 3)
    w = torch.ones(4, dtype=wdtype)
    raises_unmodified(msg(op, f"expected weight to have the dtype of input (Float), but got {name}"),
                      lambda: PRELU_OPS[op](x, w), x, w)


def test_prelu_weight_wrong_dtype_with_grad():
    x = torch.randn(2, 4, 3, requires_grad=True)
    w = torch.ones(4, dtype=torch.float64, requires_grad=True)
    raises_unmodified(msg("prelu", "expected weight to have the dtype of input (Float), but got Double"),
                      lambda: RF.prelu(x, w), x, w)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_prelu_weight_wrong_device():
    x = torch.randn(2, 4, 3)
    w = torch.ones(4, device="cuda")
    with pytest.raises(RuntimeError, match=msg("prelu", "expected weight and input on the same device, "
                                                        "but weight is on cuda:0 and input is on cpu")):
        R.prelu(x, w)
    with pytest.raises(RuntimeError, match=msg("prelu", "expected weight and input on the same device, "
                                                        "but weight is on cpu and input is on cuda:0")):
        R.prelu(x.cuda(), w.cpu())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_backward_ops_wrong_device():
    g = torch.randn(2, 4, 3, device="cuda")
    x = torch.randn(2, 4, 3)
    with pytest.raises(RuntimeError, match=msg("relu_backward", "expected grad_output and result on the "
                                                                "same device")):
        R.relu_backward(g, x)
    with pytest.raises(RuntimeError, match=msg("abs_rectifier_backward", "expected grad_output and self "
                                                                         "on the same device")):
        R.abs_rectifier_backward(g, x)
    idx = torch.zeros(2, 4, 3, dtype=torch.uint8)
    with pytest.raises(RuntimeError, match=msg("maxout_backward", "expected indices and grad_output on "
                                                                  "the same device")):
        R.maxout_backward(g, idx, 2, 1)


# ---------------------------------------------------------------------------
# in-place on overlapping memory, and in-place autograd refusals

INPLACE_OPS = [("relu_", lambda t: R.relu_(t)),
               ("leaky_relu_", lambda t: R.leaky_relu_(t, 0.1)),
               ("relu6_", lambda t: R.relu6_(t)),
               ("elu_", lambda t: R.elu_(t, 0.5)),
               ("celu_", lambda t: R.celu_(t, 2.0)),
               ("selu_", lambda t: R.selu_(t))]
INPLACE_FUNCTIONAL = [("relu_", lambda t: RF.relu(t, inplace=True)),
                      ("leaky_relu_", lambda t: RF.leaky_relu(t, 0.3, inplace=True)),
                      ("relu6_", lambda t: RF.relu6(t, inplace=True)),
                      ("elu_", lambda t: RF.elu(t, inplace=True)),
                      ("celu_", lambda t: RF.celu(t, 0.5, inplace=True)),
                      ("selu_", lambda t: RF.selu(t, inplace=True))]


@pytest.mark.parametrize("op,fn", INPLACE_OPS + INPLACE_FUNCTIONAL)
@pytest.mark.parametrize("case", [
    "expand_1d", "expand_2d",
    "as_strided"])
def test_inplace_internal_overlap(op, fn, case):
    base = torch.tensor([-1.0, -2.0, 3.0, -4.0, 5.0, -6.0])
    if case == "expand_1d":
        src = base[:1]
        t = src.expand(4)
        sizes, strides = "[4]", "[0]"
    elif case == "expand_2d":
        src = base[:3]
        t = src.expand(2, 3)
        sizes, strides = "[2, 3]", "[0, 1]"
    else:
        src = base
        t = base.as_strided((3, 2), (1, 1))
        sizes, strides = "[3, 2]", "[1, 1]"
    before = base.clone()
    with pytest.raises(RuntimeError, match=msg(op, "cannot write in place to a tensor whose elements "
                                                   f"overlap in memory (sizes {sizes}, strides {strides})")):
        fn(t)
    assert torch.equal(base, before)
    # the out-of-place op works on the same view
    assert torch.equal(R.relu(t), torch.relu(t))


def test_inplace_overlap_zeros_expand():
    """The brief's example: torch.zeros(1).expand(4)."""
    z = torch.zeros(1)
    with pytest.raises(RuntimeError, match=msg("relu_", "cannot write in place")):
        R.relu_(z.expand(4))
    with pytest.raises(RuntimeError, match=msg("leaky_relu_", "cannot write in place")):
        R.leaky_relu_(z.expand(4), 0.5)
    for op, fn in INPLACE_OPS[2:]:
        with pytest.raises(RuntimeError, match=msg(op, "cannot write in place")):
            fn(z.expand(4))
    assert torch.equal(z, torch.zeros(1))


def test_leaky_relu_backward_negative_slope_on_result():
    g = torch.randn(3)
    y = torch.tensor([1.0, -0.5, 0.0])
    raises_unmodified(msg("leaky_relu_backward", "cannot differentiate in-place leaky_relu_ with a "
                                                 "negative slope (negative_slope = -0.5)"),
                      lambda: R.leaky_relu_backward(g, y, -0.5, True), g, y)
    # not an error for the out-of-place form, nor for slope >= 0
    assert torch.equal(R.leaky_relu_backward(g, y, -0.5, False), torch.where(y > 0, g, g * -0.5))
    assert torch.equal(R.leaky_relu_backward(g, y, 0.5, True), torch.where(y > 0, g, g * 0.5))


@pytest.mark.parametrize("op,fn", INPLACE_OPS)
def test_inplace_on_leaf_requiring_grad_names_op(op, fn):
    leaf = torch.tensor([-1.0, 2.0, -3.0], requires_grad=True)
    before = leaf.detach().clone()
    with pytest.raises(RuntimeError, match=msg(op, "a leaf Variable that requires grad is being used in "
                                                   "an in-place operation")):
        fn(leaf)
    assert torch.equal(leaf.detach(), before)
    with pytest.raises(RuntimeError, match=msg(op, "a view of a leaf Variable that requires grad is "
                                                   "being used in an in-place operation")):
        fn(leaf[1:])
    assert torch.equal(leaf.detach(), before)


def test_undefined_tensors():
    """Undefined (None) tensors where a tensor is required are rejected cleanly."""
    with pytest.raises((RuntimeError, TypeError)):
        R.relu(None)
    with pytest.raises((RuntimeError, TypeError)):
        R.prelu(torch.randn(3), None)
    for call in (lambda: R.relu6(None), lambda: R.elu(None, 1.0), lambda: R.celu_(None, 1.0),
                 lambda: R.selu(None), lambda: R.relu6_backward(torch.randn(3), None),
                 lambda: R.elu_backward(None, torch.randn(3), 1.0, 1.0, 1.0, False)):
        with pytest.raises((RuntimeError, TypeError)):
            call()


# ---------------------------------------------------------------------------
# Meta: one kernel serves CPU, CUDA and Meta, so a fake tensor is refused
# exactly as a real one (torch.compile and torch.export see the same errors).

META_CASES = {
    "relu_ overlap": lambda d: R.relu_(torch.zeros(3, device=d).expand(2, 3)),
    "leaky_relu_ overlap": lambda d: R.leaky_relu_(torch.zeros(3, device=d).expand(2, 3), 0.1),
    "relu dtype": lambda d: R.relu(torch.zeros(3, dtype=torch.int32, device=d)),
    "leaky_relu slope": lambda d: R.leaky_relu(torch.zeros(3, device=d), 1e300),
    "relu_backward shape": lambda d: R.relu_backward(torch.zeros(3, device=d),
                                                     torch.zeros(4, device=d)),
    "leaky_relu_backward in-place slope": lambda d: R.leaky_relu_backward(
        torch.zeros(3, device=d), torch.zeros(3, device=d), -0.1, True),
    "abs_rectifier_backward dtype": lambda d: R.abs_rectifier_backward(
        torch.zeros(3, device=d), torch.zeros(3, dtype=torch.float64, device=d)),
    "prelu weight": lambda d: R.prelu(torch.zeros(2, 3, device=d), torch.zeros(4, device=d)),
    "prelu_backward shape": lambda d: R.prelu_backward(
        torch.zeros(2, 4, device=d), torch.zeros(2, 3, device=d), torch.zeros(3, device=d)),
    "relu6_ overlap": lambda d: R.relu6_(torch.zeros(3, device=d).expand(2, 3)),
    "selu_ overlap": lambda d: R.selu_(torch.zeros(3, device=d).expand(2, 3)),
    "relu6 dtype": lambda d: R.relu6(torch.zeros(3, dtype=torch.int64, device=d)),
    "elu alpha inf": lambda d: R.elu(torch.zeros(3, device=d), float("inf")),
    "elu_ alpha overflow": lambda d: R.elu_(torch.zeros(3, device=d), 1e300),
    "celu alpha 0": lambda d: R.celu(torch.zeros(3, device=d), 0.0),
    "celu_ alpha nan": lambda d: R.celu_(torch.zeros(3, device=d), float("nan")),
    "relu6_backward shape": lambda d: R.relu6_backward(torch.zeros(3, device=d),
                                                       torch.zeros(4, device=d)),
    "elu_backward in-place alpha": lambda d: R.elu_backward(
        torch.zeros(3, device=d), torch.zeros(3, device=d), -0.1, 1.0, 1.0, True),
    "elu_backward dtype": lambda d: R.elu_backward(
        torch.zeros(3, device=d), torch.zeros(3, dtype=torch.float64, device=d), 1.0, 1.0, 1.0,
        False),
    "maxout divides": lambda d: R.maxout(torch.zeros(2, 5, device=d), 2, 1),
    "maxout_with_indices dim": lambda d: R.maxout_with_indices(torch.zeros(2, 4, device=d), 2, 2),
    "maxout_backward index dtype": lambda d: R.maxout_backward(
        torch.zeros(2, 3, device=d), torch.zeros(2, 3, dtype=torch.int32, device=d), 2, 1),
    "maxout_backward pool_size": lambda d: R.maxout_backward(
        torch.zeros(2, 3, device=d), torch.zeros(2, 3, dtype=torch.uint8, device=d), 2**40, 1),
}


@pytest.mark.parametrize("case", list(META_CASES))
def test_meta_refuses_as_cpu(case):
    call = META_CASES[case]
    with pytest.raises(RuntimeError) as cpu:
        call("cpu")
    with pytest.raises(RuntimeError) as meta:
        call("meta")
    first_line = lambda e: str(e.value).splitlines()[0]  # noqa: E731
    assert first_line(cpu).startswith("rectifiers::"), first_line(cpu)
    assert first_line(meta) == first_line(cpu)


# ---------------------------------------------------------------------------
# Module constructors: the checks of their C++ twins (csrc/nn.h), with the same
# messages (tests/cpp/nn_test.cpp's BadOptionsGiveThePythonModulesMessages holds
# the same strings); a wrong type is a TypeError, which C++'s types rule out.

from rectifiers import nn as rn  # noqa: E402

BAD_MODULE_VALUES = [
    (lambda: rn.PReLU(0), "PReLU: num_parameters must be >= 1, but got 0"),
    (lambda: rn.PReLU(-3, init=0.5), "PReLU: num_parameters must be >= 1, but got -3"),
    (lambda: rn.Maxout(0), "Maxout: pool_size must be >= 1, but got 0"),
    (lambda: rn.Maxout(-2, dim=3), "Maxout: pool_size must be >= 1, but got -2"),
    (lambda: rn.Maxout(2**31), "Maxout: pool_size must be <= 2147483647, but got 2147483648"),
    (lambda: rn.MaxoutLinear(4, 3, 0), "MaxoutLinear: pool_size must be >= 1, but got 0"),
    (lambda: rn.MaxoutLinear(4, 3, 2**31),
     "MaxoutLinear: pool_size must be <= 2147483647, but got 2147483648"),
    (lambda: rn.MaxoutLinear(-1, 3, 2), "MaxoutLinear: in_features must be >= 0, but got -1"),
    (lambda: rn.MaxoutLinear(4, -2, 2), "MaxoutLinear: out_features must be >= 0, but got -2"),
    # C++'s order: pool_size, in_features, out_features
    (lambda: rn.MaxoutLinear(-1, -2, 0), "MaxoutLinear: pool_size must be >= 1, but got 0"),
    (lambda: rn.MaxoutLinear(-1, -2, 2), "MaxoutLinear: in_features must be >= 0, but got -1"),
    (lambda: rn.MaxoutLinear(4, 2**33, 2**31 - 1),
     "MaxoutLinear: out_features * pool_size must be <= 9223372036854775807, but got "
     "8589934592 * 2147483647"),
]


@pytest.mark.parametrize("build,message", BAD_MODULE_VALUES, ids=[m for _, m in BAD_MODULE_VALUES])
def test_module_bad_value_is_cpp_value_error(build, message):
    with pytest.raises(ValueError) as error:
        build()
    assert str(error.value) == message


BAD_MODULE_TYPES = [
    (lambda: rn.PReLU(2.5), "PReLU: num_parameters must be an int, but got float"),
    (lambda: rn.PReLU(True), "PReLU: num_parameters must be an int, but got bool"),
    (lambda: rn.PReLU(3, init="0.25"), "PReLU: init must be a float or an int, but got str"),
    (lambda: rn.Maxout("2"), "Maxout: pool_size must be an int, but got str"),
    (lambda: rn.Maxout(2.0), "Maxout: pool_size must be an int, but got float"),
    (lambda: rn.Maxout(True), "Maxout: pool_size must be an int, but got bool"),
    (lambda: rn.Maxout(2, dim=None), "Maxout: dim must be an int, but got None"),
    (lambda: rn.MaxoutLinear(3.0, 2, 2), "MaxoutLinear: in_features must be an int, but got float"),
    (lambda: rn.MaxoutLinear(3, "2", 2), "MaxoutLinear: out_features must be an int, but got str"),
    (lambda: rn.MaxoutLinear(3, 2, False), "MaxoutLinear: pool_size must be an int, but got bool"),
    (lambda: rn.MaxoutLinear(3, 2, 2, bias=1), "MaxoutLinear: bias must be a bool, but got int"),
    # a type error before any bad value, whichever argument holds it
    (lambda: rn.MaxoutLinear(-1, 2, 2.0), "MaxoutLinear: pool_size must be an int, but got float"),
    (lambda: rn.ReLU(1), "ReLU: inplace must be a bool, but got int"),
    (lambda: rn.ReLU6("yes"), "ReLU6: inplace must be a bool, but got str"),
    (lambda: rn.SELU(None), "SELU: inplace must be a bool, but got None"),
    (lambda: rn.LeakyReLU("0.1"),
     "LeakyReLU: negative_slope must be a float or an int, but got str"),
    (lambda: rn.LeakyReLU(True),
     "LeakyReLU: negative_slope must be a float or an int, but got bool"),
    (lambda: rn.LeakyReLU(0.1, 0), "LeakyReLU: inplace must be a bool, but got int"),
    (lambda: rn.RReLU(None), "RReLU: lower must be a float or an int, but got None"),
    (lambda: rn.RReLU(0.1, torch.tensor(0.3)),
     "RReLU: upper must be a float or an int, but got torch.Tensor"),
    (lambda: rn.RReLU(0.1, 0.3, 1), "RReLU: inplace must be a bool, but got int"),
    (lambda: rn.ELU(1.0, 0.5), "ELU: inplace must be a bool, but got float"),
    (lambda: rn.ELU([1.0]), "ELU: alpha must be a float or an int, but got list"),
    (lambda: rn.CELU(1j), "CELU: alpha must be a float or an int, but got complex"),
]


@pytest.mark.parametrize("build,message", BAD_MODULE_TYPES, ids=[m for _, m in BAD_MODULE_TYPES])
def test_module_bad_type_is_type_error(build, message):
    with pytest.raises(TypeError) as error:
        build()
    assert str(error.value) == message


@pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:FutureWarning")
def test_module_arguments_torch_nn_takes_are_taken():
    np = pytest.importorskip("numpy")
    # ints where floats are expected, as torch.nn takes them; stored as floats,
    # as C++ stores doubles, so the modules script
    for module, attr in [(rn.LeakyReLU(1), "negative_slope"), (rn.ELU(-2), "alpha"),
                         (rn.CELU(2), "alpha"), (rn.RReLU(0, 1), "lower"),
                         (rn.RReLU(0, 1), "upper"), (rn.PReLU(2, init=1), "init"),
                         (rn.LeakyReLU(np.float32(0.5)), "negative_slope")]:
        assert type(getattr(module, attr)) is float, (module, attr)
    assert type(rn.PReLU(np.int64(3)).num_parameters) is int
    assert rn.PReLU(np.int64(3)).weight.shape == (3,)
    assert type(rn.Maxout(np.int32(2), dim=np.int64(-1)).dim) is int
    ml = rn.MaxoutLinear(np.int64(4), 3, torch.tensor(2))
    assert ml.weight.shape == (6, 4) and type(ml.pool_size) is int
    assert rn.Maxout(2**31 - 1).pool_size == 2**31 - 1  # the edge is fine
    model = torch.nn.Sequential(rn.ELU(2), rn.LeakyReLU(1), rn.RReLU(0, 1), rn.CELU(3),
                                rn.Maxout(np.int64(2)), rn.PReLU(np.int64(1), init=0))
    x = torch.randn(2, 4)
    torch.testing.assert_close(torch.jit.script(model.eval())(x), model(x), rtol=0, atol=0)


# ---------------------------------------------------------------------------
# Functional wrappers: a wrong type is a TypeError naming the function, the
# argument and the type, whichever path the call takes (the eager binding, or
# torch.ops under a __torch_function__ mode as under tracing), never the value.

class _Passthrough(torch.overrides.TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))


def _x():
    return torch.randn(2, 4, 3)


BAD_FUNCTIONAL_TYPES = [
    (lambda: RF.maxout(_x(), 2.0), "maxout", "pool_size must be an int, but got float"),
    (lambda: RF.maxout(_x(), "2"), "maxout", "pool_size must be an int, but got str"),
    (lambda: RF.maxout(_x(), torch.tensor([2, 2])), "maxout",
     "pool_size must be an int, but got torch.Tensor"),
    (lambda: RF.maxout(_x(), 2, 1.0), "maxout", "dim must be an int, but got float"),
    (lambda: RF.maxout([1.0, 2.0], 2), "maxout", "input must be a Tensor, but got list"),
    (lambda: RF.relu(3.0), "relu", "input must be a Tensor, but got float"),
    (lambda: RF.relu(_x(), inplace=1), "relu", "inplace must be a bool, but got int"),
    (lambda: RF.relu(_x(), inplace=None), "relu", "inplace must be a bool, but got None"),
    (lambda: RF.leaky_relu(_x(), "0.1"), "leaky_relu",
     "negative_slope must be a float or an int, but got str"),
    (lambda: RF.leaky_relu(_x(), None, True), "leaky_relu",
     "negative_slope must be a float or an int, but got None"),
    (lambda: RF.leaky_relu(_x(), 0.1, "yes"), "leaky_relu", "inplace must be a bool, but got str"),
    (lambda: RF.prelu(_x(), 0.25), "prelu", "weight must be a Tensor, but got float"),
    (lambda: RF.prelu(None, torch.ones(1)), "prelu", "input must be a Tensor, but got None"),
    (lambda: RF.abs_rectifier("x"), "abs_rectifier", "input must be a Tensor, but got str"),
    (lambda: RF.relu6(_x(), inplace=0), "relu6", "inplace must be a bool, but got int"),
    (lambda: RF.relu6([_x()]), "relu6", "input must be a Tensor, but got list"),
    (lambda: RF.rrelu(_x(), "0.1"), "rrelu", "lower must be a float or an int, but got str"),
    (lambda: RF.rrelu(_x(), 0.1, None), "rrelu", "upper must be a float or an int, but got None"),
    (lambda: RF.rrelu(_x(), training=1), "rrelu", "training must be a bool, but got int"),
    (lambda: RF.rrelu(_x(), training=None), "rrelu", "training must be a bool, but got None"),
    (lambda: RF.rrelu(_x(), inplace=2), "rrelu", "inplace must be a bool, but got int"),
    (lambda: RF.rrelu(_x(), training=True, generator=3), "rrelu",
     "generator must be a torch.Generator or None, but got int"),
    (lambda: RF.elu(_x(), "1"), "elu", "alpha must be a float or an int, but got str"),
    (lambda: RF.elu(_x(), 1.0, 0.5), "elu", "inplace must be a bool, but got float"),
    (lambda: RF.celu(_x(), None), "celu", "alpha must be a float or an int, but got None"),
    (lambda: RF.celu(_x(), 1j, True), "celu", "alpha must be a float or an int, but got complex"),
    (lambda: RF.selu(1), "selu", "input must be a Tensor, but got int"),
    (lambda: RF.selu(_x(), "no"), "selu", "inplace must be a bool, but got str"),
]


@pytest.mark.parametrize("path", ["eager", "torch.ops"])
@pytest.mark.parametrize("call,op,text", BAD_FUNCTIONAL_TYPES,
                         ids=[f"{op}: {text}" for _, op, text in BAD_FUNCTIONAL_TYPES])
def test_functional_wrong_type_is_a_clean_type_error(call, op, text, path):
    with pytest.raises(TypeError) as error:
        if path == "eager":
            call()
        else:
            with _Passthrough():
                call()
    assert str(error.value) == f"rectifiers.functional.{op}: {text}"
    assert "tensor(" not in str(error.value)
    # not chained to pybind's error, whose message prints the tensors
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_functional_wrong_type_under_compile_and_export():
    x = _x()
    with pytest.raises(TypeError, match=re.escape(
            "rectifiers.functional.maxout: pool_size must be an int, but got float")):
        torch.compile(lambda t: RF.maxout(t * 2, 2.0), backend="eager")(x)

    class InPlace(torch.nn.Module):
        def forward(self, t):
            t = t * 1
            RF.elu(t, "1", inplace=True)
            return t

    with pytest.raises(TypeError, match=re.escape(
            "rectifiers.functional.elu: alpha must be a float or an int, but got str")):
        torch.export.export(InPlace(), (x,))


def test_functional_takes_what_the_ops_take():
    """The rules of the module docstring: ints and bools as numbers, objects
    with __index__ as ints, tensors of one element as scalars; on both paths."""
    np = pytest.importorskip("numpy")
    x = _x()
    ref = torch.nn.functional
    for path in ("eager", "torch.ops"):
        with (_Passthrough() if path == "torch.ops" else contextlib.nullcontext()):
            assert torch.equal(RF.leaky_relu(x, 1), ref.leaky_relu(x, 1.0))
            assert torch.equal(RF.leaky_relu(x, True), ref.leaky_relu(x, 1.0))
            assert torch.equal(RF.elu(x, torch.tensor(0.5)), ref.elu(x, 0.5))
            assert torch.equal(RF.maxout(x, np.int64(2), dim=np.int64(1)),
                               x.unflatten(1, (-1, 2)).max(2).values)
            assert torch.equal(RF.rrelu(x, 0, 1), ref.rrelu(x, 0.0, 1.0))
            gen = torch.Generator().manual_seed(0)
            assert RF.rrelu(x, training=True, generator=gen).shape == x.shape


class _BadIndex:
    """Passes for an int (it has __index__), but the binding cannot convert it."""

    def __index__(self):
        raise TypeError("no index")


def test_functional_type_the_binding_refuses_is_named_without_values():
    with pytest.raises(TypeError) as error:
        RF.maxout(_x(), _BadIndex())
    assert str(error.value) == (
        "rectifiers.functional.maxout: an argument has a type it does not take (input: "
        f"torch.Tensor, pool_size: {__name__}._BadIndex, dim: int)")
    assert error.value.__cause__ is None and error.value.__suppress_context__


# ---------------------------------------------------------------------------
# rectifiers.onnx after a plain `import rectifiers`, which imports neither onnx
# nor onnxscript


def test_onnx_is_reachable_lazily():
    pytest.importorskip("onnxscript")
    code = textwrap.dedent("""
        import sys
        import rectifiers
        assert "onnx" in dir(rectifiers)
        assert "onnx" not in rectifiers.__all__
        assert "onnx" not in sys.modules and "onnxscript" not in sys.modules, "imported early"
        table = rectifiers.onnx.custom_translation_table()
        assert table and rectifiers.onnx is sys.modules["rectifiers.onnx"]
        try:
            rectifiers.no_such_thing
        except AttributeError as e:
            assert str(e) == "module 'rectifiers' has no attribute 'no_such_thing'", e
        else:
            raise AssertionError("no AttributeError")
        print("ok")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr
