"""Regression tests for hostile arguments: each case once crashed, wrote out of
bounds or returned a silently wrong result. Every call now either raises an
error that names the op and the value, or equals torch (docs/semantics.md,
"Bad input"). Cases that once crashed the process run in a subprocess, so a
regression fails the test instead of ending the run."""

import math
import os
import re
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F

import rectifiers.functional as RF

R = torch.ops.rectifiers
HERE = os.path.dirname(os.path.abspath(__file__))


def run_isolated(code):
    """Runs code in a fresh interpreter that imports rectifiers; returns its output."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.join(HERE, "..", "..", "python"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", "import torch, rectifiers\nR = torch.ops.rectifiers\n"
                           + textwrap.dedent(code)], capture_output=True, text=True, timeout=300,
                          env=env)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return proc.stdout


# 1. maxout_backward: pool_size is bounded and the gradient's size cannot overflow.

@pytest.mark.parametrize("pool", [6148914691236517206, 2**62, 2**40, 2**32 + 1, 2**31])
def test_maxout_backward_pool_size_too_large_is_refused(pool):
    out = run_isolated(f"""
        try:
            R.maxout_backward(torch.randn(3), torch.zeros(3, dtype=torch.int32), {pool}, 0)
        except RuntimeError as e:
            print(str(e).splitlines()[0])
        """)
    assert out.strip() == (f"rectifiers::maxout_backward: pool_size must be <= 2147483647 "
                           f"(positions inside a group are saved as int32), but got {pool}")


@pytest.mark.parametrize("pool", [-2, 0])
def test_maxout_backward_pool_size_below_one_is_named_first(pool):
    # before the index dtype, which depends on pool_size
    with pytest.raises(RuntimeError, match=f"rectifiers::maxout_backward: pool_size must be >= 1, "
                                           f"but got {pool}"):
        R.maxout_backward(torch.randn(3), torch.zeros(3, dtype=torch.int32), pool, 0)


def test_maxout_backward_gradient_size_overflow():
    # a grad_output whose size times pool_size passes int64
    g = torch.randn(1).expand(2**40)
    idx = torch.zeros(1, dtype=torch.int32).expand(2**40)
    with pytest.raises(RuntimeError, match=r"rectifiers::maxout_backward: the input gradient for "
                                           r"pool_size 2147483647 would have 1099511627776 \* "
                                           r"2147483647 elements in dim 0"):
        R.maxout_backward(g, idx, 2**31 - 1, 0)


def test_maxout_backward_huge_allocation_names_the_op():
    with pytest.raises(RuntimeError, match=r"rectifiers::maxout_backward: cannot allocate the input "
                                           r"gradient for pool_size 2147483647"):
        R.maxout_backward(torch.randn(2**20), torch.zeros(2**20, dtype=torch.int32), 2**31 - 1, 0)


@pytest.mark.parametrize("pool", [0, 2**31])
def test_maxout_forward_pool_size_bounds(pool):
    with pytest.raises(RuntimeError, match=r"rectifiers::maxout: pool_size must be "):
        RF.maxout(torch.randn(2, 4), pool)


# 2. float16/bfloat16 groups of more than 65536 neighbours: one position only.

@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
@pytest.mark.parametrize("pool", [65537, 65536 * 2 + 3])
def test_maxout_large_groups_gradient_lands_once(dtype, pool):
    x = torch.zeros(pool, dtype=dtype)
    x[5] = 1
    x.requires_grad_()
    RF.maxout(x, pool, 0).backward(torch.ones(1, dtype=dtype))
    assert x.grad.nonzero().reshape(-1).tolist() == [5]
    # channels_last groups of neighbours too
    y = torch.zeros(1, pool, 1, 1, dtype=dtype).contiguous(memory_format=torch.channels_last)
    y[0, pool - 1] = 1
    y.requires_grad_()
    RF.maxout(y, pool, 1).backward(torch.ones(1, 1, 1, 1, dtype=dtype))
    assert y.grad.reshape(-1).nonzero().reshape(-1).tolist() == [pool - 1]


# 3. positions past 2^31 cannot be saved: refused, never wrapped.

def test_maxout_pool_size_past_int32_is_refused_not_wrapped():
    with pytest.raises(RuntimeError, match="pool_size must be <= 2147483647"):
        R.maxout_with_indices(torch.randn(1).expand(2**31 + 8), 2**31 + 8, 0)


# 4. maxout_backward checks its indices.

@pytest.mark.parametrize("case", ["dense", "transposed", "neighbours", "strided", "int32_negative",
                                  "int32_past_pool"])
def test_maxout_backward_indices_out_of_range(case):
    if case == "dense":
        g, idx, pool, dim, bad = torch.ones(3, 2), torch.full((3, 2), 7, dtype=torch.uint8), 2, 1, 7
    elif case == "transposed":
        g = torch.ones(2, 3).t()
        idx = torch.full((2, 3), 2, dtype=torch.uint8).t()
        pool, dim, bad = 2, 0, 2
    elif case == "neighbours":
        g, idx, pool, dim, bad = torch.ones(4, 5), torch.zeros(4, 5, dtype=torch.uint8), 3, 1, 3
        idx[2, 4] = 3
    elif case == "strided":
        g = torch.ones(4, 6)[:, ::2]
        idx = torch.zeros(4, 6, dtype=torch.uint8)[:, ::2]
        idx[1, 1] = 9
        pool, dim, bad = 4, 0, 9
    elif case == "int32_negative":
        g, idx, pool, dim, bad = torch.ones(2, 3), torch.zeros(2, 3, dtype=torch.int32), 300, 0, -1
        idx[1, 2] = -1
    else:
        g, idx, pool, dim, bad = torch.ones(2, 3), torch.zeros(2, 3, dtype=torch.int32), 300, 1, 300
        idx[0, 0] = 300
    with pytest.raises(RuntimeError, match=rf"rectifiers::maxout_backward: indices must be positions "
                                           rf"inside a group, in \[0, pool_size\) = \[0, {pool}\), "
                                           rf"but got {bad}"):
        R.maxout_backward(g, idx, pool, dim)


def test_maxout_backward_valid_indices_still_work():
    x = torch.randn(4, 6, 5, dtype=torch.float64)
    for dim, k in [(0, 2), (1, 3), (2, 5), (-1, 5)]:
        values, idx = R.maxout_with_indices(x, k, dim)
        g = torch.randn_like(values)
        ref = torch.zeros_like(x).unflatten(dim % 3, (-1, k))
        ref.scatter_(dim % 3 + 1, idx.long().unsqueeze(dim % 3 + 1), g.unsqueeze(dim % 3 + 1))
        assert torch.equal(R.maxout_backward(g, idx, k, dim), ref.flatten(dim % 3, dim % 3 + 1))


# 5. Forward-mode tangents, once refused, are supported: see test_transforms.py.


# 6. In-place ops refuse a view autograd cannot rebase before they write.

@pytest.mark.parametrize("op,fn", [("relu_", lambda v: R.relu_(v)),
                                   ("leaky_relu_", lambda v: R.leaky_relu_(v, 0.1)),
                                   ("relu_", lambda v: RF.relu(v, inplace=True)),
                                   ("leaky_relu_", lambda v: RF.leaky_relu(v, 0.2, inplace=True))])
@pytest.mark.parametrize("view", ["unbind", "split", "no_grad"])
def test_inplace_on_unrebasable_view_refuses_before_writing(op, fn, view):
    a = torch.randn(2, 3, requires_grad=True)
    b = a * 1
    if view == "unbind":
        v = b.unbind(0)[0]
    elif view == "split":
        v = b.split(1, 0)[1]
    else:
        with torch.no_grad():
            v = b[0]
    before = v.detach().clone()
    with pytest.raises(RuntimeError, match=f"rectifiers::{op}: "):
        fn(v)
    assert torch.equal(v.detach(), before)
    # torch refuses the same call
    with pytest.raises(RuntimeError):
        torch.relu_(v)


# 7. PReLU's weight gradient stays accurate on large planes.

@pytest.mark.parametrize("layout", ["rows", "channels_last", "shared"])
def test_prelu_weight_grad_large_plane_accuracy(layout):
    m = 2**23
    x = torch.full((1, 2, m), -1.0)
    g = torch.full((1, 2, m), 0.75)
    x[..., :16] = -4096
    g[..., :16] = 4096
    w = torch.tensor([0.25, 0.25])
    if layout == "channels_last":
        x = x.reshape(1, 2, m // 4, 4).contiguous(memory_format=torch.channels_last)
        g = g.reshape(1, 2, m // 4, 4).contiguous(memory_format=torch.channels_last)
    elif layout == "shared":
        w = w[:1]
    dims = [d for d in range(x.dim()) if d != 1]
    ref = (x.double() * g.double()).sum(dims) if w.numel() == 2 else (x.double() * g.double()).sum().reshape(1)
    gw = R.prelu_backward(g, x, w)[1]
    rel = ((gw.double() - ref) / ref).abs().max().item()
    native = torch.ops.aten._prelu_kernel_backward(g, x, w.reshape(-1, *[1] * (x.dim() - 2)) if w.numel() == 2
                                                   else w.reshape(()))[1]
    native = native.sum(dims) if w.numel() == 2 else native.sum().reshape(1)
    native_rel = ((native.double() - ref) / ref).abs().max().item()
    assert rel <= max(4 * native_rel, 1e-5), (rel, native_rel)
    # deterministic: same bits for 1 and 2 threads
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = R.prelu_backward(g, x, w)[1]
        torch.set_num_threads(2)
        two = R.prelu_backward(g, x, w)[1]
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, two) and torch.equal(one, gw)


def test_prelu_weight_grad_bfloat16_accuracy():
    m = 2**22
    x = -torch.rand(1, 1, m).to(torch.bfloat16)
    g = torch.rand(1, 1, m).to(torch.bfloat16)
    ref = (x.double() * g.double()).sum()
    gw = R.prelu_backward(g, x, torch.tensor([0.25], dtype=torch.bfloat16))[1].double()
    assert abs(gw.item() - ref.item()) / abs(ref.item()) < 2**-7  # bfloat16 rounding of the result


# 8. Slopes beyond the range of float are refused, as F.leaky_relu refuses them.

@pytest.mark.parametrize("slope", [1e300, -1e300, 3.5e38])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_slope_beyond_float_range(slope, dtype):
    x = torch.tensor([0.0, -1.0, 1.0], dtype=dtype)
    with pytest.raises(RuntimeError, match="without overflow"):
        F.leaky_relu(x, slope)
    text = re.escape(f"negative_slope {slope:g}")
    for op, call in [("leaky_relu", lambda: R.leaky_relu(x, slope)),
                     ("leaky_relu_", lambda: R.leaky_relu_(x, slope)),
                     ("leaky_relu_backward", lambda: R.leaky_relu_backward(torch.ones_like(x), x, slope, False)),
                     ("leaky_relu", lambda: RF.leaky_relu(x, slope))]:
        before = x.clone()
        with pytest.raises(RuntimeError, match=rf"rectifiers::{op}: {text} cannot be converted to float .* "
                                               rf"without overflow"):
            call()
        assert torch.equal(x, before)


@pytest.mark.parametrize("slope", [math.inf, -math.inf, math.nan, 3.4e38, 1e300])
def test_slope_in_range_or_float64_matches_torch(slope):
    for dtype in ([torch.float64] if abs(slope) == 1e300 else [torch.float32, torch.float64]):
        x = torch.tensor([0.0, -1.0, 1.0, -0.0, math.nan], dtype=dtype)
        torch.testing.assert_close(R.leaky_relu(x, slope), F.leaky_relu(x, slope), rtol=0, atol=0,
                                   equal_nan=True)


# 9. The overlap test accepts every layout whose elements are distinct.

@pytest.mark.parametrize("sizes,strides", [((3, 2), (2, 3)), ((2, 3), (3, 2)), ((2, 2, 2), (5, 1, 2))])
def test_inplace_non_overlapping_odd_strides_accepted(sizes, strides):
    for fn, ref in [(R.relu_, torch.relu_), (lambda t: R.leaky_relu_(t, 0.1), lambda t: F.leaky_relu_(t, 0.1))]:
        ours_base = torch.arange(-6.0, 6.0)
        ref_base = ours_base.clone()
        fn(ours_base.as_strided(sizes, strides))
        ref(ref_base.as_strided(sizes, strides))
        assert torch.equal(ours_base, ref_base)


def test_inplace_overlapping_odd_strides_refused():
    base = torch.arange(-6.0, 6.0)
    with pytest.raises(RuntimeError, match="rectifiers::relu_: cannot write in place to a tensor whose "
                                           "elements overlap"):
        R.relu_(base.as_strided((3, 2), (1, 2)))
    assert torch.equal(base, torch.arange(-6.0, 6.0))


# 10. Clear, consistent errors.

def nested():
    return torch.nested.nested_tensor([torch.randn(2), torch.randn(3)])


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")
@pytest.mark.parametrize("op,call,arg", [
    ("relu_", lambda t: R.relu_(t), "input"),
    ("leaky_relu_", lambda t: R.leaky_relu_(t, 0.1), "input"),
    ("relu", lambda t: R.relu(t), "input"),
    ("maxout", lambda t: R.maxout(t, 2, 0), "input"),
    ("maxout_backward", lambda t: R.maxout_backward(t, torch.zeros(2, dtype=torch.uint8), 2, 0), "grad_output"),
    ("relu_backward", lambda t: R.relu_backward(torch.ones(2), t), "result"),
])
def test_nested_tensors_refused_by_name(op, call, arg):
    with pytest.raises(RuntimeError, match=f"rectifiers::{op}: {arg} is a nested tensor; only strided "
                                           f"tensors are supported"):
        call(nested())


def test_sparse_tensors_refused_by_name():
    with pytest.raises(RuntimeError, match="rectifiers::relu: input must be a strided tensor, but got "
                                           "layout Sparse"):
        R.relu(torch.eye(3).to_sparse())


def test_zero_dim_grad_output_named():
    with pytest.raises(RuntimeError, match="rectifiers::maxout_backward: grad_output must have at least "
                                           "1 dimension, but got a 0-dim tensor"):
        R.maxout_backward(torch.tensor(1.0), torch.tensor(0, dtype=torch.uint8), 2, 0)


def test_meta_in_place_refuses_overlap_like_cpu():
    for device in ("cpu", "meta"):
        t = torch.zeros(1, device=device).expand(4)
        with pytest.raises(RuntimeError, match="rectifiers::relu_: cannot write in place"):
            R.relu_(t)
        with pytest.raises(RuntimeError, match="rectifiers::leaky_relu_: cannot write in place"):
            R.leaky_relu_(t, 0.1)
    with pytest.raises(RuntimeError, match="rectifiers::leaky_relu: negative_slope 1e\\+300"):
        R.leaky_relu(torch.zeros(2, device="meta"), 1e300)


# 11. Sign bits of NaN and zero, float32/float64.

INT = {torch.float32: torch.int32, torch.float64: torch.int64}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n", [1, 7, 40, 1000])
def test_abs_rectifier_clears_the_sign_of_nan(dtype, n):
    x = torch.full((n,), -math.nan, dtype=dtype)
    x[::3] = -0.0
    assert torch.equal(RF.abs_rectifier(x).view(INT[dtype]), torch.abs(x).view(INT[dtype]))
    assert torch.equal(R.abs_rectifier(x[::2]).view(INT[dtype]), torch.abs(x[::2]).view(INT[dtype]))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n", [1, 7, 16, 40, 1000])
def test_prelu_nan_times_nan_follows_torch(dtype, n):
    x = torch.full((1, 1, n), -math.nan, dtype=dtype)
    w = torch.tensor([math.nan], dtype=dtype)
    ours, ref = RF.prelu(x, w).view(INT[dtype]), F.prelu(x, w).view(INT[dtype])
    # the weight's NaN wherever torch's vectorised loop runs (all of a long row)
    assert (ours[..., : n - n % 32] == ref[..., : n - n % 32]).all()


@pytest.mark.parametrize("shape,channels", [((1, 2), 2), ((1, 2, 1, 1), 2), ((1,), 1), ((), 1),
                                            ((2, 2), 2), ((1, 2, 2), 2), ((2, 1), 1), ((1, 2), 1)])
def test_prelu_weight_grad_sign_of_zero(shape, channels):
    """One input element per weight: torch sums nothing and keeps -0; otherwise
    its sum starts from +0."""
    x = torch.zeros(shape)
    g = -torch.ones(shape)
    w = torch.full((channels,), 0.25, requires_grad=True)
    F.prelu(x, w).backward(g)
    ours = R.prelu_backward(g, x, w.detach())[1]
    assert torch.equal(ours.view(torch.int32), w.grad.view(torch.int32)), (ours, w.grad)


def test_prelu_weight_grad_issue_example():
    x = torch.tensor([[0.0, 2.0]])
    g = torch.tensor([[-1.0, 1.0]])
    gw = R.prelu_backward(g, x, torch.tensor([0.25, 0.25]))[1]
    assert gw.view(torch.int32).tolist() == torch.tensor([-0.0, 0.0]).view(torch.int32).tolist()


# The differential fuzz test (tests/python/fuzz_ops.py), in a subprocess with a bounded budget.

def test_differential_fuzz(capsys):
    seconds = float(os.environ.get("RECTIFIERS_FUZZ_SECONDS", "60"))
    proc = subprocess.run([sys.executable, os.path.join(HERE, "fuzz_ops.py"), "--seconds", str(seconds)],
                          capture_output=True, text=True, timeout=seconds + 600,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                              [os.path.join(HERE, "..", "..", "python"), os.environ.get("PYTHONPATH", "")])))
    with capsys.disabled():  # the case count, in every run's log
        print("\n" + proc.stdout.strip())
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"
    assert "fuzz: seed" in proc.stdout
