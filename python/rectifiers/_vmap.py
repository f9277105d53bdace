"""Batching rules: what torch.func.vmap runs for each op instead of its slow
per-sample fallback (docs/semantics.md, "Autograd and transforms").

Each rule calls the op once on the whole batch. They are registered with
torch.library.register_vmap, in Python: functorch's C++ batching API needs
the current vmap level from ATen/functorch/DynamicLayer.h, which includes a
header LibTorch does not ship (nlohmann/json.hpp), so an extension cannot
compile against it. vmap itself is a Python API, so nothing is lost.

Arguments are checked on Meta tensors of one sample's shape first, so that
errors name the shapes the user passed, not the batched ones.
"""

import torch

R = torch.ops.rectifiers


def _batch_first(t, bdim, size):
    """t with its batch dim first; an unbatched t expanded to the batch (a view)."""
    if bdim is None:
        return t.unsqueeze(0).expand(size, *t.shape)
    return t.movedim(bdim, 0)


def _sample(t, bdim):
    """One sample of t, on Meta."""
    shape = list(t.shape)
    if bdim is not None:
        del shape[bdim]
    return torch.empty(shape, dtype=t.dtype, device="meta")


# --------------------------------------------------- element by element


def _unary(op):
    def rule(info, in_dims, x, *args):
        return op(x, *args), in_dims[0]
    return rule


def _unary_in_place(op):
    def rule(info, in_dims, x, *args):
        op(x, *args)
        return None, None
    return rule


def _binary(op):
    """The backward ops: two tensors of one shape, element by element."""
    def rule(info, in_dims, a, b, *args):
        if in_dims[0] == in_dims[1] and a.shape == b.shape:
            return op(a, b, *args), in_dims[0]
        size = info.batch_size
        a, b = _batch_first(a, in_dims[0], size), _batch_first(b, in_dims[1], size)
        if a.shape != b.shape:  # the op's error, with the samples' shapes
            op(_sample(a, 0), _sample(b, 0), *args)
        return op(a, b, *args), 0
    return rule


# ----------------------------------------------------------------- prelu
#
# Per-sample slopes: the batch is folded into the channels, so that one call
# does every sample with its own weight:
#   a sample of 2 or more dims, [B, N, C, *] -> [N, B*C, *], weight [B*C];
#   of fewer (one channel), [B, *] -> [M, B], weight [B].


def _fold_input(xb):
    if xb.dim() - 1 >= 2:
        return xb.movedim(0, 1).flatten(1, 2)
    return xb.reshape(xb.shape[0], -1).t()


def _unfold_input(folded, xb):
    if xb.dim() - 1 >= 2:
        n, b, c = xb.shape[1], xb.shape[0], xb.shape[2]
        return folded.reshape(n, b, c, *xb.shape[3:]).movedim(1, 0)
    return folded.t().reshape(xb.shape)


def _fold_weight(wb, xb):
    batch = wb.shape[0]
    if xb.dim() - 1 < 2:
        return wb.reshape(batch)
    return wb.reshape(batch, -1).expand(batch, xb.shape[2]).reshape(-1)


def _unfold_weight_grad(folded, wb):
    """Back to one weight gradient per sample, of the weight's shape (a shared
    slope gets the sum over its sample's channels)."""
    per_channel = folded.reshape(wb.shape[0], -1)
    if per_channel.shape[1] != wb[0].numel():
        per_channel = per_channel.sum(1)
    return per_channel.reshape(wb.shape)


def _prelu(info, in_dims, x, weight):
    x_dim, w_dim = in_dims
    R.prelu(_sample(x, x_dim), _sample(weight, w_dim))
    size = info.batch_size
    xb = _batch_first(x, x_dim, size)
    if w_dim is None:  # one weight for the whole batch: fold the batch into dim 0 instead
        if xb.dim() - 1 < 2:
            return R.prelu(xb, weight), 0
        return R.prelu(xb.flatten(0, 1), weight).reshape(xb.shape), 0
    wb = _batch_first(weight, w_dim, size)
    return _unfold_input(R.prelu(_fold_input(xb), _fold_weight(wb, xb)), xb), 0


def _prelu_backward(info, in_dims, grad, x, weight):
    g_dim, x_dim, w_dim = in_dims
    R.prelu_backward(_sample(grad, g_dim), _sample(x, x_dim), _sample(weight, w_dim))
    # Each sample has its own weight gradient: the weight is folded even where
    # the batch shares it.
    size = info.batch_size
    gb, xb, wb = (_batch_first(t, d, size) for t, d in zip((grad, x, weight), in_dims))
    grad_input, grad_weight = R.prelu_backward(_fold_input(gb), _fold_input(xb), _fold_weight(wb, xb))
    return (_unfold_input(grad_input, xb), _unfold_weight_grad(grad_weight, wb)), (0, 0)


# ---------------------------------------------------------------- maxout
#
# The batch dim first, `dim` shifted past it.


def _wrapped(dim, sample):
    return dim % sample.dim()


# A kernel in Python is not passed the arguments left at their default: the
# schema's.
_MAXOUT_DIM = R.maxout.default._schema.arguments[2].default_value


def _maxout(info, in_dims, x, pool_size, dim=_MAXOUT_DIM):
    sample = _sample(x, in_dims[0])
    R.maxout(sample, pool_size, dim)
    return R.maxout(x.movedim(in_dims[0], 0), pool_size, _wrapped(dim, sample) + 1), 0


def _maxout_with_indices(info, in_dims, x, pool_size, dim=_MAXOUT_DIM):
    sample = _sample(x, in_dims[0])
    R.maxout_with_indices(sample, pool_size, dim)
    return R.maxout_with_indices(x.movedim(in_dims[0], 0), pool_size, _wrapped(dim, sample) + 1), (0, 0)


def _maxout_backward(info, in_dims, grad, indices, pool_size, dim):
    g_dim, i_dim = in_dims[0], in_dims[1]
    sample = _sample(grad, g_dim)
    R.maxout_backward(sample, _sample(indices, i_dim), pool_size, dim)
    size = info.batch_size
    gb, ib = _batch_first(grad, g_dim, size), _batch_first(indices, i_dim, size)
    return R.maxout_backward(gb, ib, pool_size, _wrapped(dim, sample) + 1), 0


_RRELU_LOWER, _RRELU_UPPER = (a.default_value for a in R.rrelu.default._schema.arguments[1:3])


def _check_randomness(op, info):
    if info.randomness != "different":
        raise RuntimeError(f"rectifiers::{op}: under vmap only randomness='different' is "
                           f"supported, but got '{info.randomness}'")


def _rrelu(info, in_dims, x, lower=_RRELU_LOWER, upper=_RRELU_UPPER, training=False,
           generator=None):
    if training:
        _check_randomness("rrelu", info)
    return R.rrelu(x, lower, upper, training, generator), in_dims[0]


def _rrelu_(info, in_dims, x, lower=_RRELU_LOWER, upper=_RRELU_UPPER, training=False,
            generator=None):
    if training:
        _check_randomness("rrelu_", info)
    R.rrelu_(x, lower, upper, training, generator)
    return None, None


def _rrelu_with_state(info, in_dims, x, lower, upper, generator=None):
    """Each sample its own slopes (randomness="different"); "same" would need one
    sample's slopes broadcast, which the op cannot draw, and "error" is vmap's
    default for a random op."""
    _check_randomness("rrelu_with_state", info)
    out, state = R.rrelu_with_state(x, lower, upper, generator)
    return (out, state), (in_dims[0], None)


def _rrelu_with_state_(info, in_dims, x, lower, upper, generator=None):
    _check_randomness("rrelu_with_state_", info)
    return R.rrelu_with_state_(x, lower, upper, generator), None


def _rrelu_backward(info, in_dims, grad, x, state, lower, upper, is_result):
    """The slopes belong to the positions of the input as the forward saw it, so
    the input keeps its layout and the gradient follows it. An unbatched input
    (a forward outside vmap, as under jacrev) has one set of slopes for every
    sample of the gradient: one call per sample."""
    g_dim, x_dim = in_dims[0], in_dims[1]
    if in_dims[2] is not None:
        raise RuntimeError("rectifiers::rrelu_backward: under vmap the state must not be "
                           "batched (it is the forward's)")
    if x_dim is None:
        return torch.stack([R.rrelu_backward(g, x, state, lower, upper, is_result)
                            for g in grad.unbind(g_dim)]), 0
    if g_dim is None:
        grad = _batch_first(grad, None, info.batch_size).movedim(0, x_dim)
    elif g_dim != x_dim:
        grad = grad.movedim(g_dim, x_dim)
    return R.rrelu_backward(grad, x, state, lower, upper, is_result), x_dim


RULES = {
    "relu": _unary(R.relu),
    "relu_": _unary_in_place(R.relu_),
    "relu_backward": _binary(R.relu_backward),
    "leaky_relu": _unary(R.leaky_relu),
    "leaky_relu_": _unary_in_place(R.leaky_relu_),
    "leaky_relu_backward": _binary(R.leaky_relu_backward),
    "relu6": _unary(R.relu6),
    "relu6_": _unary_in_place(R.relu6_),
    "relu6_backward": _binary(R.relu6_backward),
    "rrelu": _rrelu,
    "rrelu_": _rrelu_,
    "rrelu_with_state": _rrelu_with_state,
    "rrelu_with_state_": _rrelu_with_state_,
    "rrelu_backward": _rrelu_backward,
    "elu": _unary(R.elu),
    "elu_": _unary_in_place(R.elu_),
    "celu": _unary(R.celu),
    "celu_": _unary_in_place(R.celu_),
    "selu": _unary(R.selu),
    "selu_": _unary_in_place(R.selu_),
    "elu_backward": _binary(R.elu_backward),
    "abs_rectifier": _unary(R.abs_rectifier),
    "abs_rectifier_backward": _binary(R.abs_rectifier_backward),
    "prelu": _prelu,
    "prelu_backward": _prelu_backward,
    "maxout": _maxout,
    "maxout_with_indices": _maxout_with_indices,
    "maxout_backward": _maxout_backward,
}


def register():
    for name, rule in RULES.items():
        torch.library.register_vmap(f"rectifiers::{name}", rule)
