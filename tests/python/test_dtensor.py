"""DTensor sharding rules (docs/semantics.md): on 2 gloo processes (loopback
only), every op on sharded DTensors runs shard by shard (the output keeps the
placement the rule promises, nothing is gathered first) and equals the op on
the unsharded tensors, forward and backward; one FSDP2 (fully_shard) training
step of a model with PReLU and MaxoutLinear ends where one process ends."""

import os
import socket
import traceback

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

WORLD_SIZE = 2


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cases():
    """(name, fn, [(global tensor, placement)], placement of the result or None)."""
    from torch.distributed.tensor import Partial, Replicate, Shard

    R = torch.ops.rectifiers
    g = torch.Generator().manual_seed(0)

    def t(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    x, gx = t(4, 6, 4), t(4, 6, 4)
    w = torch.rand(6, generator=g, dtype=torch.float64)
    _, idx = R.maxout_with_indices(t(4, 8, 4), 2, 1)
    out = []
    for d in range(3):
        out += [(f"relu_shard{d}", R.relu, [(x, Shard(d))], Shard(d)),
                (f"leaky_relu_shard{d}", lambda a: R.leaky_relu(a, 0.2), [(x, Shard(d))], Shard(d)),
                (f"abs_rectifier_shard{d}", R.abs_rectifier, [(x, Shard(d))], Shard(d)),
                (f"relu_backward_shard{d}", R.relu_backward, [(gx, Shard(d)), (x.relu(), Shard(d))],
                 Shard(d))]
    def in_place(op, *args):
        def call(a):
            a = a.clone()
            op(a, *args)
            return a
        return call

    out += [
        ("relu_", in_place(R.relu_), [(x, Shard(1))], Shard(1)),
        ("leaky_relu_", in_place(R.leaky_relu_, 0.3), [(x, Shard(2))], Shard(2)),
        ("leaky_relu_default_slope", in_place(R.leaky_relu_), [(x, Shard(0))], Shard(0)),
        ("relu_backward_partial", R.relu_backward, [(gx, Partial()), (x.relu(), Replicate())],
         Partial()),
        ("leaky_relu_backward", lambda a, b: R.leaky_relu_backward(a, b, 0.1, False),
         [(gx, Shard(2)), (x, Shard(2))], Shard(2)),
        ("abs_rectifier_backward", R.abs_rectifier_backward, [(gx, Shard(0)), (x, Shard(0))],
         Shard(0)),
        ("prelu_batch_sharded", R.prelu, [(x, Shard(0)), (w, Replicate())], Shard(0)),
        ("prelu_channel_sharded", R.prelu, [(x, Shard(1)), (w, Shard(0))], Shard(1)),
        ("prelu_shared_weight", R.prelu, [(x, Shard(1)), (w[:1], Replicate())], Shard(1)),
        ("prelu_backward_batch_sharded", lambda a, b, c: R.prelu_backward(a, b, c)[1],
         [(gx, Shard(0)), (x, Shard(0)), (w, Replicate())], Partial()),
        ("prelu_backward_channel_sharded", lambda a, b, c: R.prelu_backward(a, b, c)[1],
         [(gx, Shard(1)), (x, Shard(1)), (w, Shard(0))], Shard(0)),
        ("maxout_other_dim", lambda a: R.maxout(a, 2, 1), [(x, Shard(2))], Shard(2)),
        ("maxout_along_dim", lambda a: R.maxout(a, 3, 1), [(x, Shard(1))], Shard(1)),
        ("maxout_with_indices", lambda a: R.maxout_with_indices(a, 2, 1)[1], [(x, Shard(0))],
         Shard(0)),
        ("maxout_backward", lambda a, i: R.maxout_backward(a, i, 2, 1),
         [(t(4, 4, 4), Shard(1)), (idx, Shard(1))], Shard(1)),
        ("maxout_backward_partial", lambda a, i: R.maxout_backward(a, i, 2, 1),
         [(t(4, 4, 4), Partial()), (idx, Replicate())], Partial()),
        ("relu6", lambda a: R.relu6(a * 4), [(x, Shard(1))], Shard(1)),
        ("relu6_", in_place(R.relu6_), [(x * 4, Shard(2))], Shard(2)),
        ("relu6_backward", R.relu6_backward, [(gx, Shard(0)), (x * 4, Shard(0))], Shard(0)),
        ("elu", lambda a: R.elu(a, 0.7), [(x, Shard(0))], Shard(0)),
        ("elu_", in_place(R.elu_, 0.7), [(x, Shard(1))], Shard(1)),
        ("celu", lambda a: R.celu(a, 0.5), [(x, Shard(2))], Shard(2)),
        ("selu_", in_place(R.selu_), [(x, Shard(0))], Shard(0)),
        ("elu_backward", lambda a, b: R.elu_backward(a, b, 0.7, 1.0, 1.0, False),
         [(gx, Shard(1)), (x, Shard(1))], Shard(1)),
        ("elu_backward_partial", lambda a, b: R.elu_backward(a, b, 0.7, 1.0, 1.0, False),
         [(gx, Partial()), (x, Replicate())], Partial()),
        ("rrelu_eval", lambda a: R.rrelu(a, 0.1, 0.3), [(x, Shard(0))], Shard(0)),
        # training mode replicates (every rank draws from the same seeded generator)
        ("rrelu_training", lambda a: R.rrelu(a, 0.1, 0.3, True, torch.Generator().manual_seed(3)),
         [(x, Shard(0))], Replicate()),
    ]
    return out


def check_ops(mesh):
    from torch.distributed.tensor import DTensor, Replicate, distribute_tensor

    failures = []
    for name, fn, inputs, placement in cases():
        try:
            dts = []
            for tensor, p in inputs:
                if p.is_partial():  # each rank holds half of the sum
                    dts.append(DTensor.from_local(tensor / WORLD_SIZE, mesh, [p]))
                else:
                    dts.append(distribute_tensor(tensor, mesh, [p]))
            result = fn(*dts)
            assert result.placements == (placement,), f"placed {result.placements}, not {placement}"
            expected = fn(*[t for t, _ in inputs])
            full = result.redistribute(mesh, [Replicate()]).to_local()
            torch.testing.assert_close(full, expected, rtol=1e-12, atol=1e-12)
        except Exception:
            failures.append(f"{name}: {traceback.format_exc(limit=3)}")
    return failures


def check_backward(mesh):
    """Gradients through the sharded ops equal the unsharded ones."""
    from torch.distributed.tensor import Replicate, Shard, distribute_tensor

    R = torch.ops.rectifiers
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 6, 4, generator=g, dtype=torch.float64)
    w = torch.rand(6, generator=g, dtype=torch.float64)

    def loss(a, b):
        return R.maxout(R.abs_rectifier(R.leaky_relu(R.prelu(a, b), 0.1)), 3, 1).pow(2).sum()

    xs = distribute_tensor(x, mesh, [Shard(0)]).requires_grad_()
    ws = distribute_tensor(w, mesh, [Replicate()]).requires_grad_()
    loss(xs, ws).backward()
    xr, wr = x.clone().requires_grad_(), w.clone().requires_grad_()
    loss(xr, wr).backward()
    torch.testing.assert_close(xs.grad.full_tensor(), xr.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ws.grad.full_tensor(), wr.grad, rtol=1e-10, atol=1e-12)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        from rectifiers import nn as rn
        self.hidden = rn.MaxoutLinear(8, 6, pool_size=3)
        self.prelu = rn.PReLU(6, init=0.2)
        self.out = torch.nn.Linear(6, 3)

    def forward(self, x):
        return self.out(self.prelu(self.hidden(x)))


def fsdp_step(model, x, y):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def worker(rank, port, out_dir):
    import rectifiers  # noqa: F401  (registers the rules)

    torch.set_num_threads(1)
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=WORLD_SIZE)
    try:
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import fully_shard

        mesh = init_device_mesh("cpu", (WORLD_SIZE,))
        failures = check_ops(mesh)
        check_backward(mesh)
        torch.manual_seed(0)
        model = Net().double()
        fully_shard(model.hidden, mesh=mesh)
        fully_shard(model.prelu, mesh=mesh)
        fully_shard(model, mesh=mesh)
        g = torch.Generator().manual_seed(2)
        x = torch.randn(8, 8, generator=g, dtype=torch.float64)
        y = torch.randint(0, 3, (8,), generator=g)
        rows = slice(rank * 4, rank * 4 + 4)
        fsdp_step(model, x[rows], y[rows])
        state = {k: v.full_tensor() for k, v in model.state_dict().items()}
        torch.save({"failures": failures, "state": state}, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                    reason="torch.distributed with gloo is not available in this torch build")
def test_dtensor_ops_and_fsdp2_on_two_processes(tmp_path):
    mp.spawn(worker, args=(free_port(), str(tmp_path)), nprocs=WORLD_SIZE, join=True)
    results = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD_SIZE)]
    for r in results:
        assert not r["failures"], "\n".join(r["failures"])

    torch.manual_seed(0)
    single = Net().double()
    g = torch.Generator().manual_seed(2)
    x = torch.randn(8, 8, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (8,), generator=g)
    fsdp_step(single, x, y)
    for name, value in single.state_dict().items():
        torch.testing.assert_close(results[0]["state"][name], value, rtol=1e-10, atol=1e-12,
                                   msg=name)
        assert torch.equal(results[0]["state"][name], results[1]["state"][name]), name
