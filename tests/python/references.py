"""References and comparisons the test files share (and tests/python/fuzz_ops.py,
which runs without importing rectifiers, so nothing here does)."""

import torch


_INT_VIEW = {
    torch.float16: torch.int16,
    torch.bfloat16: torch.int16,
    torch.float32: torch.int32,
    torch.float64: torch.int64,
}


def assert_bitwise(actual, expected, what="values"):
    """Same dtype/shape, same NaN positions, identical bits everywhere else."""
    assert actual.dtype == expected.dtype, (what, actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    assert actual.device == expected.device, (what, actual.device, expected.device)
    a = actual.detach().cpu().contiguous().reshape(-1)
    e = expected.detach().cpu().contiguous().reshape(-1)
    a_nan, e_nan = a.isnan(), e.isnan()
    if not torch.equal(a_nan, e_nan):
        bad = (a_nan != e_nan).nonzero().reshape(-1)[:5].tolist()
        raise AssertionError(f"{what}: NaN positions differ at {bad}: got {a[bad].tolist()}, "
                             f"expected {e[bad].tolist()}")
    itype = _INT_VIEW[a.dtype]
    ai, ei = a.view(itype), e.view(itype)
    diff = (ai != ei) & ~a_nan
    if diff.any():
        bad = diff.nonzero().reshape(-1)[:5].tolist()
        raise AssertionError(f"{what}: {int(diff.sum())} elements differ bitwise, e.g. at {bad}: "
                             f"got {a[bad].tolist()}, expected {e[bad].tolist()}")


def maxout_ref(x, k, dim):
    """torch's maxout: (values, indices) of the max over groups of k along dim
    (a dim out of range is passed on, so that torch's own error is the reference)."""
    dim = dim % x.dim() if x.dim() and -x.dim() <= dim < x.dim() else dim
    return x.unflatten(dim, (-1, k)).max(dim + 1)


def assert_weight_grad_close(gw, gw_ref, x, g, weight):
    """PReLU's weight gradient is sum over all dims but 1 of (x > 0 ? 0 : x * g).
    Tolerance: a summation of n terms in any order differs from another by at
    most about (n-1)*eps*sum|terms| in the worst case; in practice far less, and
    float16/bfloat16 also round each product once. We allow
        |ours - ref| <= 8 * eps(dtype) * (sum|terms| + |ref|) + numel * tiny(dtype)
    per channel (the last term covers products that underflow): relative to the
    terms' magnitudes, because cancellation keeps their rounding error while the
    sum shrinks. NaN positions and infinite sums must agree exactly. gw_ref may
    be a float64 sum; it is rounded to gw's dtype first, as torch's would be."""
    assert gw.shape == weight.shape and gw.dtype == weight.dtype, (gw.shape, gw.dtype)
    x64, g64 = x.detach().double(), g.detach().double()
    terms = torch.where(x64 > 0, torch.zeros_like(x64), x64 * g64).abs()
    if x.dim() >= 2 and weight.numel() != 1:
        dims = [d for d in range(x.dim()) if d != 1]
        mag = terms.sum(dims) if dims else terms
    else:
        mag = terms.sum().reshape(1)
    mag = mag.reshape(-1).cpu()
    a = gw.detach().double().reshape(-1).cpu()
    e = gw_ref.detach().to(gw.dtype).double().reshape(-1).cpu()
    assert torch.equal(a.isnan(), e.isnan()), f"weight grad NaN positions: got {a.tolist()}, expected {e.tolist()}"
    finite = e.isfinite()
    infinite = ~finite & ~e.isnan()
    assert torch.equal(a[infinite], e[infinite]), f"weight grad: got {a.tolist()}, expected {e.tolist()}"
    fi = torch.finfo(gw.dtype)
    tol = 8 * fi.eps * (mag + e.abs()) + x.numel() * fi.tiny
    ok = ((a - e).abs() <= tol) | ~finite
    assert ok.all(), f"weight grad {a[~ok].tolist()} vs {e[~ok].tolist()} (tol {tol[~ok].tolist()})"
