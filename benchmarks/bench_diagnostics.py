#!/usr/bin/env python
"""What ``rectifiers.diagnostics.track`` costs a training step.

Times one SGD step (forward, backward, update) of an MLP and of a small CNN,
each with rectifiers' ReLU, untracked, tracked, and tracked with
``gradients=True``, side by side in one process (``torch.utils.benchmark``
medians), and prints the medians and each tracked step's time as a multiple
of the untracked one.

    python benchmarks/bench_diagnostics.py [--threads 1] [--batch 256] [--min-run-time 2]
"""

import argparse

import torch
import torch.utils.benchmark as benchmark
from torch import nn

from rectifiers import diagnostics
from rectifiers import nn as rnn


def models():
    mlp = nn.Sequential(nn.Linear(64, 256), rnn.ReLU(), nn.Linear(256, 256), rnn.ReLU(),
                        nn.Linear(256, 10))
    cnn = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), rnn.ReLU(), nn.Conv2d(16, 32, 3, padding=1),
                        rnn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 16, 64), rnn.ReLU(),
                        nn.Linear(64, 10))
    return [("MLP 64-256-256-10", mlp, (64,)), ("CNN 2 conv + fc", cnn, (1, 8, 8))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--min-run-time", type=float, default=2.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"| model | batch | untracked | tracked | x | tracked, gradients=True | x |")
    print("|---|---|---|---|---|---|---|")
    for name, model, shape in models():
        x = torch.randn(args.batch, *shape)
        y = torch.randint(0, 10, (args.batch,))
        opt = torch.optim.SGD(model.parameters(), lr=1e-3)

        def step():
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()

        medians = []
        for mode in (None, False, True):
            tracker = None if mode is None else diagnostics.track(model, gradients=mode)
            timer = benchmark.Timer("step()", globals={"step": step}, num_threads=args.threads)
            medians.append(timer.blocked_autorange(min_run_time=args.min_run_time).median)
            if tracker is not None:
                tracker.remove()
        base, tracked, grads = medians
        print(f"| {name} | {args.batch} | {base * 1e3:.3f} ms | {tracked * 1e3:.3f} ms | "
              f"{tracked / base:.2f} | {grads * 1e3:.3f} ms | {grads / base:.2f} |")


if __name__ == "__main__":
    main()
