"""Sharding rules: how each op runs on DTensors (tensor and sequence
parallelism, FSDP2 activations) without gathering them
(docs/semantics.md, "Autograd and transforms").

Each rule lists the placements, for one mesh dim, under which the op on every
shard gives the shards of the result; DTensor expands them to the whole mesh
and redistributes an input that matches none. Partial inputs are accepted
only where the op is linear in them (the gradient of the backward ops).

torch.distributed.tensor costs a second to import, so the rules are
registered when it is imported (now, if it already is).
"""

import torch

from ._on_import import when_imported

R = torch.ops.rectifiers


def _rules():
    from torch.distributed.tensor import Partial, Replicate, Shard

    def shards(ndim, skip=()):
        return [Shard(d) for d in range(ndim) if d not in skip]

    def elementwise(x, *scalars):
        """Any placement but Partial, the output placed as the input."""
        rest = [None] * len(scalars)
        return [([p], [p] + rest) for p in [Replicate()] + shards(x.ndim)]

    def in_place(x, *scalars):
        """As elementwise; the op returns nothing."""
        return [([], placements) for _, placements in elementwise(x, *scalars)]

    def elementwise_backward(grad, x, *scalars):
        """Linear in grad: a Partial gradient with the other input replicated too."""
        rest = [None] * len(scalars)
        placed = [([p], [p, p] + rest) for p in [Replicate()] + shards(x.ndim)]
        return placed + [([Partial()], [Partial(), Replicate()] + rest)]

    def prelu(x, weight):
        """Sharded on a non-channel dim with the weight replicated, or on the
        channel dim with the weight sharded alike (a shared weight: replicated)."""
        per_channel = x.ndim >= 2 and weight.shape.numel() > 1
        out = [([Replicate()], [Replicate(), Replicate()])]
        out += [([s], [s, Replicate()]) for s in shards(x.ndim, skip=(1,) if per_channel else ())]
        if per_channel:
            out.append(([Shard(1)], [Shard(1), Shard(0)]))
        return out

    def prelu_backward(grad, x, weight):
        """The weight gradient sums over the shards (Partial) except where the
        channels are sharded with the weight."""
        per_channel = x.ndim >= 2 and weight.shape.numel() > 1
        out = [([Replicate(), Replicate()], [Replicate()] * 3)]
        out += [([s, Partial()], [s, s, Replicate()])
                for s in shards(x.ndim, skip=(1,) if per_channel else ())]
        if per_channel:
            out.append(([Shard(1), Shard(0)], [Shard(1), Shard(1), Shard(0)]))
        out.append(([Partial(), Partial()], [Partial(), Replicate(), Replicate()]))
        return out

    def maxout_dims(x, pool_size, dim):
        """Any dim but `dim`; `dim` too where every shard holds whole groups
        (one mesh dim, shards of a multiple of pool_size)."""
        dim = dim % x.ndim
        mesh = x.mesh
        whole_groups = mesh.ndim == 1 and x.shape[dim] % (mesh.size(0) * pool_size) == 0
        return [Shard(d) for d in range(x.ndim) if d != dim or whole_groups]

    dim_default = R.maxout.default._schema.arguments[2].default_value

    def maxout(x, pool_size, dim=dim_default):
        return [([Replicate()], [Replicate(), None, None])] + [
            ([s], [s, None, None]) for s in maxout_dims(x, pool_size, dim)]

    def maxout_with_indices(x, pool_size, dim=dim_default):
        return [([Replicate()] * 2, [Replicate(), None, None])] + [
            ([s, s], [s, None, None]) for s in maxout_dims(x, pool_size, dim)]

    def maxout_backward(grad, indices, pool_size, dim):
        dim = dim % grad.ndim
        mesh = grad.mesh
        whole_groups = mesh.ndim == 1 and grad.shape[dim] % mesh.size(0) == 0
        dims = [Shard(d) for d in range(grad.ndim) if d != dim or whole_groups]
        return ([([Replicate()], [Replicate(), Replicate(), None, None]),
                 ([Partial()], [Partial(), Replicate(), None, None])]
                + [([s], [s, s, None, None]) for s in dims])

    def rrelu_with_state(x, *args):
        """Replicated only: a shard's slopes would come from its local positions,
        the same on every shard. The replicas agree where the ranks' generators
        do (torch.manual_seed on every rank)."""
        return [([Replicate(), Replicate()], [Replicate()] + [None] * len(args))]

    def rrelu_with_state_(x, *args):
        return [([Replicate()], [Replicate()] + [None] * len(args))]

    def rrelu_backward(grad, x, state, *scalars):
        """The input as the forward saw it (replicated); linear in grad."""
        rest = [None] * len(scalars)
        return [([Replicate()], [Replicate(), Replicate(), Replicate()] + rest),
                ([Partial()], [Partial(), Replicate(), Replicate()] + rest)]

    return {
        "relu": elementwise,
        "relu_": in_place,
        "relu_backward": elementwise_backward,
        "leaky_relu": elementwise,
        "leaky_relu_": in_place,
        "leaky_relu_backward": elementwise_backward,
        "relu6": elementwise,
        "relu6_": in_place,
        "relu6_backward": elementwise_backward,
        "rrelu_with_state": rrelu_with_state,
        "rrelu_with_state_": rrelu_with_state_,
        "rrelu_backward": rrelu_backward,
        "elu": elementwise,
        "elu_": in_place,
        "celu": elementwise,
        "celu_": in_place,
        "selu": elementwise,
        "selu_": in_place,
        "elu_backward": elementwise_backward,
        "abs_rectifier": elementwise,
        "abs_rectifier_backward": elementwise_backward,
        "prelu": prelu,
        "prelu_backward": prelu_backward,
        "maxout": maxout,
        "maxout_with_indices": maxout_with_indices,
        "maxout_backward": maxout_backward,
    }


def register():
    from torch.distributed.tensor.experimental import register_sharding
    for name, rule in _rules().items():
        register_sharding(getattr(R, name).default)(rule)


def register_when_imported():
    if torch.distributed.is_available():
        when_imported("torch.distributed.tensor", register)
