"""DistributedDataParallel: a model built from every module trains on 2 gloo
processes (loopback only) and ends where a single process on the full batch
ends, with both ranks holding identical parameters."""

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from rectifiers import nn as rn

WORLD_SIZE = 2
STEPS = 4
BATCH = 8  # split evenly: rank r trains on rows r*4 ... r*4 + 3


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 8, 3, padding=1)
        self.prelu = rn.PReLU(8, init=0.2)
        self.maxout = rn.Maxout(2, dim=1)
        self.leaky = rn.LeakyReLU(0.1)
        self.absr = rn.AbsRectifier()
        self.hidden = rn.MaxoutLinear(4 * 5 * 5, 6, pool_size=3)
        self.relu = rn.ReLU()
        self.shared_prelu = rn.PReLU()
        self.out = torch.nn.Linear(6, 3)

    def forward(self, x):
        h = self.maxout(self.prelu(self.conv(x)))
        h = self.absr(self.leaky(h)).flatten(1)
        return self.shared_prelu(self.out(self.relu(self.hidden(h))))


def data():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(BATCH, 2, 5, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (BATCH,), generator=g)
    return x, y


def make_model():
    torch.manual_seed(0)
    return Net().double()


def train(model, x, y):
    # mean loss over the local rows: DDP's averaged gradient then equals the
    # full-batch gradient
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(STEPS):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def worker(rank, port, out_dir):
    torch.set_num_threads(1)
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=WORLD_SIZE)
    try:
        model = torch.nn.parallel.DistributedDataParallel(make_model())
        x, y = data()
        rows = slice(rank * BATCH // WORLD_SIZE, (rank + 1) * BATCH // WORLD_SIZE)
        train(model, x[rows], y[rows])
        torch.save(model.module.state_dict(), os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                    reason="torch.distributed with gloo is not available in this torch build")
def test_ddp_two_processes_match_single_process(tmp_path):
    mp.spawn(worker, args=(free_port(), str(tmp_path)), nprocs=WORLD_SIZE, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD_SIZE)]

    single = make_model()
    train(single, *data())
    expected = single.state_dict()

    initial = make_model().state_dict()
    assert set(ranks[0]) == set(expected) and "prelu.weight" in expected
    for name, value in expected.items():
        # ranks apply the same all-reduced gradients: bitwise identical
        assert torch.equal(ranks[0][name], ranks[1][name]), name
        # the all-reduce sums the two halves in another order than one process
        torch.testing.assert_close(ranks[0][name], value, rtol=1e-10, atol=1e-12, msg=name)
        assert not torch.equal(value, initial[name]), f"{name} did not train"
