"""Differential fuzzing of every op of torch.ops.rectifiers, backward ops
included, against its PyTorch reference (docs/semantics.md).

Each case draws an op, a shape (0-5 dims, sizes 0 and 1 included), a layout
(contiguous, channels_last, transposed, sliced, expanded), a dtype (valid or
not), values with +-0, +-inf and NaN of both signs, and the op's scalar
arguments, valid and invalid (slopes beyond float range, pool sizes that
overflow, dims out of range, indices out of range, mismatched shapes, dtypes
and undefined tensors). Every call must either raise RuntimeError, ValueError
or TypeError with a message that names the op, or return the reference
result; an out-of-place op never modifies its inputs, and an in-place op that
refuses leaves its input as it was.

    python tests/python/fuzz_ops.py --seconds 60 [--seed S|random] [--library PATH]

The seed is fixed unless --seed or RECTIFIERS_FUZZ_SEED says otherwise, so
that a run of the test suite repeats; --seed random explores.

--library loads that build of the op library (the sanitizer build) with
torch.ops.load_library instead of importing rectifiers. A failure prints the
seed and case number that reproduce it (--seed S --case N replays one case)
and exits 1.
"""

import argparse
import math
import os
import random
import sys
import time
import traceback

import torch
import torch._prims_common
import torch.nn.functional as F
from references import assert_weight_grad_close, maxout_ref

FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
NOT_FLOATS = [torch.int32, torch.int64, torch.uint8, torch.bool, torch.complex64]
INT_VIEW = {torch.float16: torch.int16, torch.bfloat16: torch.int16,
            torch.float32: torch.int32, torch.float64: torch.int64}
SPECIAL = [0.0, -0.0, math.inf, -math.inf, math.nan, -math.nan, 1.0, -1.0, 6.0, -2.5, -90.0]
SLOPES = [0.01, 0.2, -0.5, 0.0, -0.0, 1.0, 2.5, math.inf, -math.inf, math.nan,
          1e300, -1e300, 3.5e38, -3.5e38, 3.4e38, 1e-40]
# Pool sizes past the limit (refused), or that overflow; never a valid huge one,
# whose input gradient would take gigabytes.
HUGE_POOLS = [2**31, 2**32 + 1, 2**40, 2**62, 6148914691236517206, 2**63 - 1,
              -1, -2, 0, -(2**62)]
# Refusals of ours that torch does not make (documented in docs/semantics.md).
OUR_REFUSALS = ("must be a floating-point tensor", "without overflow", "overlap in memory",
                "pool_size must be <=", "strided tensors", "must be finite")
# rrelu's (lower, upper): valid, equal, negative, and refused ones.
RRELU_BOUNDS = [(0.125, 1 / 3), (0.0, 0.5), (0.2, 0.2), (-0.5, 0.25), (0.3, 0.1),
                (math.nan, 0.3), (0.1, math.inf), (-1e300, 0.3)]
# The ELU family's scale and input_scale (elu_backward's arguments).
ELU_SCALES = [1.0, 1.0507009873554805, 0.5, 2.0, -1.5]
ACCEPTED_ERRORS = (RuntimeError, ValueError, TypeError, IndexError)


class CaseFailure(AssertionError):
    pass


# ---------------------------------------------------------------- inputs

def values(rng, n, dtype):
    if dtype == torch.bool:
        return torch.tensor([rng.random() < 0.5 for _ in range(n)], dtype=torch.bool)
    if not dtype.is_floating_point and not dtype.is_complex:
        return torch.tensor([rng.randint(-5, 5) for _ in range(n)]).to(dtype)
    data = []
    for _ in range(n):
        r = rng.random()
        if r < 0.25:
            data.append(rng.choice(SPECIAL))
        elif r < 0.4:
            data.append(float(rng.randint(-3, 3)))  # ties inside maxout groups
        else:
            data.append(rng.gauss(0.0, 3.0))
    return torch.tensor(data, dtype=torch.float64).to(dtype)


def make_tensor(rng, shape, dtype, layout):
    """A tensor of `shape` in `layout`; returns (tensor, layout actually used)."""
    n = math.prod(shape)
    if layout == "channels_last" and len(shape) in (4, 5):
        fmt = torch.channels_last if len(shape) == 4 else torch.channels_last_3d
        t = values(rng, n, dtype).reshape(shape).contiguous(memory_format=fmt)
        return t, layout
    if layout == "transposed" and len(shape) >= 2:
        t = values(rng, n, dtype).reshape(shape[::-1]).permute(*reversed(range(len(shape))))
        return t, layout
    if layout == "sliced" and len(shape) >= 1:
        big = [s * 2 + 1 for s in shape]
        base = values(rng, math.prod(big), dtype).reshape(big)
        return base[tuple(slice(1, None, 2) for _ in shape)][tuple(slice(0, s) for s in shape)], layout
    if layout == "expanded" and len(shape) >= 1:
        small = [1 if (s > 1 and rng.random() < 0.5) else s for s in shape]
        if small != list(shape):
            return values(rng, math.prod(small), dtype).reshape(small).expand(*shape), layout
    return values(rng, n, dtype).reshape(shape), "contiguous"


def random_shape(rng, min_dims=0):
    ndim = rng.randint(min_dims, 5)
    return [rng.choice([0, 1, 1, 2, 2, 3, 4, 6]) for _ in range(ndim)]


def random_dtype(rng):
    return rng.choice(NOT_FLOATS) if rng.random() < 0.08 else rng.choice(FLOATS)


def random_layout(rng):
    return rng.choice(["contiguous", "contiguous", "channels_last", "transposed", "sliced",
                       "expanded"])


def like(rng, t, dtype=None):
    """Another tensor of t's shape (sometimes another layout)."""
    u, _ = make_tensor(rng, list(t.shape), dtype or t.dtype, random_layout(rng))
    return u


def maybe_mismatch(rng, t, what):
    """Usually t; sometimes a wrong shape, dtype or an undefined tensor."""
    r = rng.random()
    if r < 0.04:
        return None
    if r < 0.08:
        return like(rng, t, dtype=rng.choice([d for d in FLOATS if d != t.dtype]))
    if r < 0.12 and t.dim() > 0:
        shape = list(t.shape)
        shape[rng.randrange(len(shape))] += 1
        return make_tensor(rng, shape, t.dtype, "contiguous")[0]
    return t


def random_pool_and_dim(rng, shape):
    ndim = len(shape)
    dim = rng.randint(-ndim - 1, ndim) if rng.random() < 0.15 else (
        rng.randint(-ndim, ndim - 1) if ndim else 0)
    r = rng.random()
    if r < 0.15:
        pool = rng.choice(HUGE_POOLS)
    elif ndim and -ndim <= dim < ndim and r < 0.85:
        size = shape[dim]
        divisors = [k for k in range(1, max(size, 1) + 1) if size % k == 0] or [1]
        pool = rng.choice(divisors)
    else:
        pool = rng.randint(1, 5)
    return pool, dim


# ------------------------------------------------------------ references

def index_dtype(k):
    return torch.uint8 if k <= 256 else torch.int32


def maxout_backward_ref(g, idx, k, dim):
    assert g.dim() and -g.dim() <= dim < g.dim(), "dim out of range"
    assert 1 <= k <= 2**31 - 1, "pool_size out of range"  # before allocating k * size
    assert idx.dtype == index_dtype(k), "indices dtype is not the one maxout_with_indices gives"
    assert g.dtype.is_floating_point and idx.shape == g.shape
    dim = dim % g.dim()
    assert ((idx.long() >= 0) & (idx.long() < k)).all(), "indices out of range"
    shape = list(g.shape)
    shape[dim] *= k
    out = torch.zeros(shape, dtype=g.dtype).unflatten(dim, (-1, k))
    out.scatter_(dim + 1, idx.long().unsqueeze(dim + 1), g.unsqueeze(dim + 1))
    return out.flatten(dim, dim + 1)


def same_layout_copy(t):
    """A copy of t with its strides (a plain clone where they overlap)."""
    if not t.dtype.is_floating_point or torch._debug_has_internal_overlap(t) == 1:
        return t.clone()
    try:
        return torch.empty_strided(t.shape, t.stride(), dtype=t.dtype).copy_(t)
    except RuntimeError:  # overlapping strides ATen's quick test could not tell
        return t.clone()


def grad_of(g, x):
    """Our backward ops take a gradient of x's dtype and shape (no promotion,
    no broadcasting); the reference refuses the rest too."""
    assert g.dtype == x.dtype and g.shape == x.shape and x.dtype.is_floating_point
    return g


def prelu_weight_shape_ok(x, w):
    channels = x.shape[1] if x.dim() >= 2 else 1
    return w.dim() <= 1 and w.numel() in (1, channels) and w.dtype == x.dtype


def broadcast_weight(x, w):
    if x.dim() < 2 or w.numel() == 1:
        return w.reshape(())
    return w.reshape([-1] + [1] * (x.dim() - 2))


def prelu_backward_ref(g, x, w):
    grad_of(g, x)
    assert prelu_weight_shape_ok(x, w)
    wb = broadcast_weight(x, w)
    gi, gw_full = torch.ops.aten._prelu_kernel_backward(g, x, wb)
    dims = list(range(x.dim())) if x.dim() < 2 or w.numel() == 1 else [d for d in range(x.dim()) if d != 1]
    # the weight gradient is a sum, compared within a bound its operands give
    return gi, (gw_full.double().sum(dims).reshape(w.shape), (x, g, w))


# ------------------------------------------------------------- the ops

SCALARS = {}
# The operands of the case's product (tensors or floats): where more than one
# of them is NaN, which NaN the product carries is left to the hardware
# (torch's own vectorised and scalar loops differ), so its sign is not compared.
NAN_OPERANDS = []


def nan_sign_mask(shape):
    """True where the sign of a NaN result must match the reference."""
    count = torch.zeros(shape, dtype=torch.int32)
    for v in NAN_OPERANDS:
        if isinstance(v, torch.Tensor):
            count = count + torch.broadcast_to(v.detach().isnan(), shape).int()
        elif math.isnan(v):
            count = count + 1
    return count < 2


def mask_backward_case(rng, g, x, forward, backward):
    """A mask backward op from the mask of a real forward of x, or (one case
    in five) from a mask or strides that do not fit, which it must refuse:
    (the call, whether it was spoilt). forward(t) gives (result, mask, *rest),
    backward(g, mask, rest, sizes, strides) calls the op."""
    # a mask of x's sides (whatever the op's scalars: the mask does not depend on them)
    y, mask, *rest = forward(mask_sides(x))
    sizes, strides = list(y.shape), list(y.stride())
    spoil = rng.random()
    if spoil < 0.05:
        mask = mask[:-1] if mask.numel() else torch.zeros(1, dtype=torch.int32)
    elif spoil < 0.1:
        mask = mask.to(torch.int64)
    elif spoil < 0.15 and strides and y.numel() > 1 and max(y.shape) > 1:
        strides[max(range(len(strides)), key=lambda d: y.shape[d])] += 1
    elif spoil < 0.2:
        strides = strides + [1]
    else:
        spoil = 1.0
    return (lambda: backward(g, mask, rest, sizes, strides)), spoil < 0.2


def mask_grad(g, x):
    """A mask backward op takes a floating gradient of x's shape, any dtype."""
    assert g.shape == x.shape and g.dtype.is_floating_point
    return g


def mask_sides(x):
    """x as a floating tensor the masks can be taken of."""
    return x if x.is_floating_point() else (x.real if x.is_complex() else x).double()


def refused(what):
    raise RuntimeError(f"the reference refuses {what}")


def draw_case(rng):
    """(op name, callable on ours, reference callable, inputs, in-place target);
    the scalar arguments drawn are left in SCALARS for the failure report."""
    R = torch.ops.rectifiers
    SCALARS.clear()
    NAN_OPERANDS.clear()
    op = rng.choice(["relu", "relu_", "relu_backward", "leaky_relu", "leaky_relu_",
                     "leaky_relu_backward", "leaky_relu_with_mask", "leaky_relu_mask_backward", "prelu",
                     "prelu_backward", "abs_rectifier", "abs_rectifier_backward",
                     "abs_rectifier_with_mask", "abs_rectifier_mask_backward", "maxout",
                     "maxout_with_indices", "maxout_backward", "relu6", "relu6_", "relu6_backward",
                     "relu6_with_mask", "relu6_mask_backward", "elu", "elu_", "celu", "celu_",
                     "selu", "selu_", "elu_backward", "rrelu", "rrelu_", "rrelu_backward",
                     "rrelu_with_mask", "rrelu_mask_backward"])
    dtype = random_dtype(rng)
    if op.startswith("maxout") and op != "maxout_backward":
        shape = random_shape(rng)
        x, _ = make_tensor(rng, shape, dtype, random_layout(rng))
        pool, dim = random_pool_and_dim(rng, shape)
        SCALARS.update(pool_size=pool, dim=dim)
        if op == "maxout":
            return op, lambda: R.maxout(x, pool, dim), lambda: maxout_ref(x, pool, dim).values, [x], None
        return (op, lambda: R.maxout_with_indices(x, pool, dim),
                lambda: tuple(maxout_ref(x, pool, dim)), [x], None)
    if op == "maxout_backward":
        shape = random_shape(rng)
        g, _ = make_tensor(rng, shape, dtype, random_layout(rng))
        pool, dim = random_pool_and_dim(rng, shape)
        SCALARS.update(pool_size=pool, dim=dim)
        if rng.random() < 0.5 and 2 <= pool <= 64 and shape:
            # indices from a real forward of a matching input
            idx_dtype = index_dtype(pool)
        else:
            idx_dtype = rng.choice([index_dtype(max(pool, 1)), torch.uint8, torch.int32, torch.int64])
        hi = pool if rng.random() < 0.85 else pool + 3
        hi = max(1, min(hi, 250 if idx_dtype == torch.uint8 else 2**31 - 1))
        idx = torch.randint(0, hi, tuple(shape), dtype=torch.int64)
        if idx_dtype == torch.int32 and rng.random() < 0.1 and idx.numel():
            idx.view(-1)[0] = -1
        idx = idx.to(idx_dtype)
        if rng.random() < 0.3 and idx.dim() >= 2:
            idx = idx.transpose(0, -1).contiguous().transpose(0, -1)
        idx = maybe_mismatch(rng, idx, "indices") if rng.random() < 0.2 else idx
        return (op, lambda: R.maxout_backward(g, idx, pool, dim),
                lambda: maxout_backward_ref(g, idx, pool, dim), [g] + ([idx] if idx is not None else []), None)

    shape = random_shape(rng)
    x, layout = make_tensor(rng, shape, dtype, random_layout(rng))
    slope = rng.choice(SLOPES)
    if "leaky" in op:
        SCALARS.update(negative_slope=slope)
    if op in ("elu", "elu_", "celu", "celu_", "elu_backward"):
        SCALARS.update(alpha=slope)
    if op.startswith("rrelu"):
        return rrelu_case(rng, op, x)
    if op == "relu6":
        return op, lambda: R.relu6(x), lambda: F.relu6(x), [x], None
    if op == "relu6_with_mask":
        return op, lambda: R.relu6_with_mask(x)[0], lambda: F.relu6(x), [x], None
    if op == "abs_rectifier_with_mask":
        return op, lambda: R.abs_rectifier_with_mask(x)[0], lambda: torch.abs(x), [x], None
    if op == "selu":
        return op, lambda: R.selu(x), lambda: F.selu(x), [x], None
    if op in ("elu", "celu"):
        ours, ref = getattr(R, op), getattr(F, op)
        return op, lambda: ours(x, slope), lambda: ref(x, slope), [x], None
    if op in ("relu6_", "selu_", "elu_", "celu_"):
        # The reference runs after ours wrote x: torch's in-place op on a copy
        # of x in its layout (the ELU family's last bit depends on whether
        # ATen's loop runs vectorised there).
        x0 = same_layout_copy(x)
        ours, ref = getattr(R, op), getattr(F, op[:-1])
        if op in ("relu6_", "selu_"):
            return op, lambda: ours(x), lambda: ref(x0, inplace=True), [], x
        return op, lambda: ours(x, slope), lambda: ref(x0, slope, inplace=True), [], x
    if op == "relu":
        return op, lambda: R.relu(x), lambda: torch.relu(x), [x], None
    if op == "abs_rectifier":
        return op, lambda: R.abs_rectifier(x), lambda: torch.abs(x), [x], None
    if op in ("leaky_relu", "leaky_relu_", "leaky_relu_with_mask"):
        NAN_OPERANDS.extend([x.clone(), slope])
    if op == "leaky_relu_with_mask":
        return (op, lambda: R.leaky_relu_with_mask(x, slope)[0], lambda: F.leaky_relu(x, slope),
                [x], None)
    if op == "leaky_relu":
        return op, lambda: R.leaky_relu(x, slope), lambda: F.leaky_relu(x, slope), [x], None
    if op in ("relu_", "leaky_relu_"):
        x0 = x.clone()  # the reference runs after ours wrote x
        if op == "relu_":
            return op, lambda: R.relu_(x), lambda: torch.relu(x0), [], x
        return op, lambda: R.leaky_relu_(x, slope), lambda: F.leaky_relu(x0, slope), [], x
    if op == "prelu":
        channels = x.shape[1] if x.dim() >= 2 else 1
        wn = rng.choice([1, channels, channels, channels + 1, 0])
        w = values(rng, wn, x.dtype if rng.random() < 0.9 else random_dtype(rng))
        if rng.random() < 0.1 and wn == 1:
            w = w.reshape(())
        w = maybe_mismatch(rng, w, "weight") if rng.random() < 0.1 else w
        if w is not None and prelu_weight_shape_ok(x, w):
            NAN_OPERANDS.extend([x, broadcast_weight(x, w)])
        return op, lambda: R.prelu(x, w), lambda: F.prelu(x, w), [x] + ([w] if w is not None else []), None
    g = maybe_mismatch(rng, like(rng, x), "grad_output")
    ins = [t for t in (g, x) if t is not None]
    if op == "relu_backward":
        return (op, lambda: R.relu_backward(g, x),
                lambda: torch.ops.aten.threshold_backward(grad_of(g, x), x, 0), ins, None)
    if g is not None and g.shape == x.shape:
        NAN_OPERANDS.extend([g, x])
        if op in ("leaky_relu_backward", "leaky_relu_mask_backward"):
            NAN_OPERANDS[1:] = [slope]
    if op == "abs_rectifier_backward":
        return (op, lambda: R.abs_rectifier_backward(g, x), lambda: grad_of(g, x) * torch.sgn(x), ins, None)
    if op == "relu6_backward":
        return (op, lambda: R.relu6_backward(g, x),
                lambda: torch.ops.aten.hardtanh_backward(grad_of(g, x), x, 0.0, 6.0), ins, None)
    if op == "elu_backward":
        scale, input_scale = rng.choice(ELU_SCALES), rng.choice(ELU_SCALES)
        is_result = rng.random() < 0.3
        SCALARS.update(scale=scale, input_scale=input_scale, is_result=is_result)
        if g is not None and g.shape == x.shape:
            # an infinite operand times a zero coefficient makes a NaN of its
            # own inside the product, which then meets a NaN operand
            NAN_OPERANDS.append(torch.where(g.isinf() | x.isinf(), math.nan, 0.0))
        return (op, lambda: R.elu_backward(g, x, slope, scale, input_scale, is_result),
                lambda: torch.ops.aten.elu_backward(grad_of(g, x), slope, scale, input_scale,
                                                    is_result, x), ins, None)
    if op.endswith("_mask_backward"):
        # the mask holds x's sides, not its dtype: g of any floating dtype
        # and x's shape gets torch's gradient for those sides (relu6's NaN as
        # hardtanh_backward's scalar form, abs_rectifier's a product)
        xs = mask_sides(x)
        if op == "leaky_relu_mask_backward":
            call, spoilt = mask_backward_case(
                rng, g, x, lambda t: R.leaky_relu_with_mask(t, 0.5),
                lambda g, m, rest, sizes, strides: R.leaky_relu_mask_backward(g, m, sizes, strides, slope))

            def reference():
                sides = torch.where(xs > 0, 1.0, -1.0).to(g.dtype)
                return torch.ops.aten.leaky_relu_backward(grad_of(g, sides), sides, slope, False)
        elif op == "relu6_mask_backward":
            call, spoilt = mask_backward_case(
                rng, g, x, R.relu6_with_mask,
                lambda g, m, rest, sizes, strides: R.relu6_mask_backward(g, m, sizes, strides))

            def reference():
                passes = ((xs > 0) & (xs < 6)) | xs.isnan()
                grad = mask_grad(g, xs)
                return torch.where(passes, grad, torch.zeros((), dtype=grad.dtype))
        else:
            call, spoilt = mask_backward_case(
                rng, g, x, R.abs_rectifier_with_mask,
                lambda g, m, rest, sizes, strides: R.abs_rectifier_mask_backward(g, m, sizes, strides))

            def reference():
                grad = mask_grad(g, xs)
                return grad * torch.where(xs > 0, 1.0, torch.where(xs < 0, -1.0, 0.0)).to(grad.dtype)
        if spoilt:
            return op, call, lambda: refused("a mask that does not fit"), ins, None
        return op, call, reference, ins, None
    if op == "leaky_relu_backward":
        is_result = rng.random() < 0.3
        return (op, lambda: R.leaky_relu_backward(g, x, slope, is_result),
                lambda: torch.ops.aten.leaky_relu_backward(grad_of(g, x), x, slope, is_result), ins, None)
    # prelu_backward
    channels = x.shape[1] if x.dim() >= 2 else 1
    w = values(rng, rng.choice([1, channels, channels + 1]), x.dtype)
    if g is not None and g.shape == x.shape and prelu_weight_shape_ok(x, w):
        NAN_OPERANDS[1:] = [broadcast_weight(x, w)]
    return (op, lambda: R.prelu_backward(g, x, w),
            lambda: prelu_backward_ref(g, x, w), ins + [w], None)


def rrelu_case(rng, op, x):
    """rrelu in eval mode against torch's; in training mode (a random stream of
    its own) against its own slopes: x where x > 0 or NaN, x * slope with the
    slope in [lower, upper] elsewhere, and rrelu_backward's gradient the same
    slopes times grad_output, in whatever layouts the tensors come."""
    R = torch.ops.rectifiers
    lower, upper = rng.choice(RRELU_BOUNDS)
    training = op in ("rrelu_backward", "rrelu_with_mask", "rrelu_mask_backward") or rng.random() < 0.6
    seed = rng.randrange(2**31)
    SCALARS.update(lower=lower, upper=upper, training=training, seed=seed)

    def gen():
        return torch.Generator().manual_seed(seed)

    def torch_checks():
        # torch's own argument checks (its training mode has no float16)
        F.rrelu(x.float() if x.dtype in (torch.float16, torch.bfloat16) else x, lower, upper)

    def slopes(t):
        """Our slopes for t (float64), as rrelu_backward reports them for grad 1."""
        _, state = R.rrelu_with_state(t, lower, upper, gen())
        return R.rrelu_backward(torch.ones_like(t), t, state, lower, upper, False).double()

    def from_slopes(v, t):
        """v * slope where t <= 0, v elsewhere, with t's slopes (read in float32 for
        float16/bfloat16, whose gradient would round them: the same positions,
        as the same layout)."""
        opmath = torch.float64 if v.dtype == torch.float64 else torch.float32
        dense = torch._prims_common.is_non_overlapping_and_dense_or_false(t)
        s = slopes((t if dense else t.contiguous()).to(opmath))
        inside = (s >= lower - 1e-2 * abs(lower) - 1e-6) & (s <= upper + 1e-2 * abs(upper) + 1e-6)
        if not bool(inside[t <= 0].all()):
            raise CaseFailure(f"{op}: a slope outside [lower, upper]: {s[t <= 0].tolist()[:8]}")
        return torch.where(t <= 0, (v.to(opmath) * s.to(opmath)).to(v.dtype), v)

    if op == "rrelu_backward":
        g = maybe_mismatch(rng, like(rng, x), "grad_output")
        try:  # a state to regenerate from; the call refuses bad bounds itself
            _, state = R.rrelu_with_state(x, lower, upper, gen())
        except RuntimeError:
            state = torch.zeros(2, dtype=torch.int64)
        ins = [t for t in (g, x) if t is not None]

        def ref():
            torch_checks()
            grad_of(g, x)
            return from_slopes(g, x)
        return op, lambda: R.rrelu_backward(g, x, state, lower, upper, False), ref, ins, None
    if op == "rrelu_mask_backward":
        g = maybe_mismatch(rng, like(rng, x), "grad_output")
        ins = [t for t in (g, x) if t is not None]

        def forward(t):
            try:  # the call refuses bad bounds itself (in double, any finite ones fit)
                y, state, mask = R.rrelu_with_mask(t.double(), lower, upper, gen())
                y = torch.empty_like(t).copy_(y)  # the mask's layout is t's
            except RuntimeError:
                y, mask = R.leaky_relu_with_mask(t, 0.5)
                state = torch.zeros(2, dtype=torch.int64)
            return y, mask, state

        call, spoilt = mask_backward_case(
            rng, g, x, forward,
            lambda g, m, rest, sizes, strides: R.rrelu_mask_backward(g, m, rest[0], sizes, strides,
                                                                     lower, upper))
        if spoilt:
            return op, call, lambda: refused("a mask that does not fit"), ins, None

        def ref():
            grad = mask_grad(g, x)
            # torch's checks of the bounds, in the gradient's type (the slopes')
            probe = torch.zeros(1, dtype=grad.dtype)
            F.rrelu(probe.float() if grad.dtype in (torch.float16, torch.bfloat16) else probe,
                    lower, upper)
            return from_slopes(grad, mask_sides(x))
        return op, call, ref, ins, None
    if not training:
        if op == "rrelu":
            return op, lambda: R.rrelu(x, lower, upper), lambda: F.rrelu(x, lower, upper), [x], None
        x0 = x.clone()
        return op, lambda: R.rrelu_(x, lower, upper), lambda: F.rrelu(x0, lower, upper), [], x

    def ref_training(v):
        def ref():
            torch_checks()
            if not v.dtype.is_floating_point:
                raise RuntimeError("not a float")
            # the slopes are those of the same call (a fresh generator of the same seed)
            return from_slopes(v, v)
        return ref
    if op == "rrelu":
        return op, lambda: R.rrelu(x, lower, upper, True, gen()), ref_training(x), [x], None
    if op == "rrelu_with_mask":
        return (op, lambda: R.rrelu_with_mask(x, lower, upper, gen())[0], ref_training(x), [x],
                None)
    x0 = x.clone()
    return op, lambda: R.rrelu_(x, lower, upper, True, gen()), ref_training(x0), [], x


# --------------------------------------------------------- comparisons

def same_bits(actual, expected, what, nan_sign):
    if not isinstance(actual, torch.Tensor) or not isinstance(expected, torch.Tensor):
        raise CaseFailure(f"{what}: got {type(actual)}, expected {type(expected)}")
    if actual.dtype != expected.dtype or actual.shape != expected.shape:
        raise CaseFailure(f"{what}: got {actual.dtype} {tuple(actual.shape)}, "
                          f"expected {expected.dtype} {tuple(expected.shape)}")
    a = actual.detach().contiguous().reshape(-1)
    e = expected.detach().contiguous().reshape(-1)
    if not a.dtype.is_floating_point:
        if not torch.equal(a, e):
            raise CaseFailure(f"{what}: got {a.tolist()[:8]}, expected {e.tolist()[:8]}")
        return
    itype = INT_VIEW[a.dtype]
    ai, ei = a.view(itype), e.view(itype)
    nan = e.isnan()
    if not torch.equal(a.isnan(), nan):
        raise CaseFailure(f"{what}: NaN positions differ: got {a.tolist()[:8]}, expected {e.tolist()[:8]}")
    differ = (ai != ei) & ~nan
    if nan_sign:  # the sign of NaN too (float32/float64 only)
        sign_matters = nan & nan_sign_mask(actual.shape).reshape(-1)
        differ |= sign_matters & ((ai < 0) != (ei < 0))
    if differ.any():
        at = differ.nonzero().reshape(-1)[:4].tolist()
        raise CaseFailure(f"{what}: bits differ at {at}: got {a[at].tolist()}, expected {e[at].tolist()}")


def check_result(op, got, want):
    if op == "prelu_backward":
        gi, gw = got
        gi_ref, (gw_ref, (x, g, w)) = want
        same_bits(gi, gi_ref, "grad_input", gi_ref.dtype in (torch.float32, torch.float64))
        if gw.shape != gw_ref.shape or gw.dtype != gi_ref.dtype:
            raise CaseFailure(f"grad_weight: got {gw.dtype} {tuple(gw.shape)}")
        try:
            assert_weight_grad_close(gw, gw_ref, x, g, w)
        except AssertionError as e:
            raise CaseFailure(str(e)) from None
        return
    if isinstance(want, tuple):
        for i, (a, e) in enumerate(zip(got, want)):
            if i == 1:  # maxout indices: the position inside the group
                if a.dtype != index_dtype(SCALARS["pool_size"]):
                    raise CaseFailure(f"indices dtype {a.dtype} for pool_size {SCALARS['pool_size']}")
                same_bits(a.long(), e, "indices", False)
            else:
                same_bits(a, e, "values", e.dtype in (torch.float32, torch.float64))
        return
    same_bits(got, want, "result", want.dtype in (torch.float32, torch.float64))


def bits(t):
    dense = torch.empty(t.shape, dtype=t.dtype, device=t.device).copy_(t.detach())
    return dense.reshape(-1).view(torch.uint8)


def snapshot(tensors):
    return [(t, bits(t), t._version) for t in tensors]


def unchanged(snap, what):
    for t, before, version in snap:
        if not torch.equal(bits(t), before) or t._version != version:
            raise CaseFailure(f"{what} was modified")


def describe(t):
    if not isinstance(t, torch.Tensor):
        return repr(t)
    return f"Tensor({str(t.dtype).replace('torch.', '')}, shape={tuple(t.shape)}, stride={t.stride()})"


def run_case(rng):
    op, ours, reference, inputs, target = draw_case(rng)
    try:
        return check_case(op, ours, reference, inputs, target)
    except CaseFailure as e:
        args = [describe(t) for t in inputs + ([target] if target is not None else [])]
        args += [f"{k}={v!r}" for k, v in SCALARS.items()]
        raise CaseFailure(f"{op}({', '.join(args)}): {e}") from None


def check_case(op, ours, reference, inputs, target):
    snap = snapshot(inputs)
    target_snap = snapshot([target]) if target is not None else []
    try:
        got = ours()
    except ACCEPTED_ERRORS as e:
        text = str(e)
        if f"rectifiers::{op}" not in text and f"rectifiers.{op}" not in text:
            raise CaseFailure(f"{op}: error does not name the op: {type(e).__name__}: {text[:300]}")
        unchanged(snap, "an input")
        unchanged(target_snap, "the in-place input (refused)")
        # Where torch computes the same thing, ours may refuse only for a documented reason.
        try:
            reference()
        except Exception:
            return op, "both refuse"
        if not any(r in text for r in OUR_REFUSALS):
            raise CaseFailure(f"{op}: refused what torch computes: {text[:300]}")
        return op, "refused"
    unchanged(snap, "an input")
    try:
        want = reference()
    except Exception as e:
        raise CaseFailure(f"{op}: returned a result where the reference raises "
                          f"{type(e).__name__}: {str(e)[:200]}")
    if target is not None:
        got = target
    check_result(op, got, want)
    return op, "equal"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", default=os.environ.get("RECTIFIERS_FUZZ_SEED", "20261201"),
                        help="an integer (a fixed default, so that a run repeats) or 'random'"
                             " (also RECTIFIERS_FUZZ_SEED)")
    parser.add_argument("--case", type=int, default=None, help="replay one case of --seed")
    parser.add_argument("--library", default=None, help="load this op library instead of rectifiers")
    args = parser.parse_args(argv)
    if args.library:
        torch.ops.load_library(args.library)
    else:
        import rectifiers  # noqa: F401
    torch.set_num_threads(1)
    seed = int.from_bytes(os.urandom(4), "little") if args.seed == "random" else int(args.seed)
    start = time.monotonic()
    counts = {}
    case = 0
    while True:
        if args.case is not None:
            case = args.case
        elif time.monotonic() - start > args.seconds:
            break
        rng = random.Random(seed * 1_000_003 + case)
        torch.manual_seed(seed * 1_000_003 + case)
        try:
            op, outcome = run_case(rng)
        except Exception as e:
            print(f"FAILED: seed {seed} case {case}: {type(e).__name__}: {e}")
            traceback.print_exc()
            print(f"replay: python {sys.argv[0]} --seed {seed} --case {case}"
                  + (f" --library {args.library}" if args.library else ""))
            return 1
        counts[outcome] = counts.get(outcome, 0) + 1
        case += 1
        if args.case is not None:
            break
    total = sum(counts.values())
    print(f"fuzz: seed {seed}: {total} cases in {time.monotonic() - start:.0f} s "
          f"({', '.join(f'{v} {k}' for k, v in sorted(counts.items()))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
