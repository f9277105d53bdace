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
