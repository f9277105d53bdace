#!/usr/bin/env python
"""What ``rectifiers.convert``'s redirection of functional calls costs eagerly.

Times torchvision's googlenet (whose blocks call ``F.relu`` in ``forward``)
against its converted copy, side by side in one process (eval, no grad,
``torch.utils.benchmark`` medians, three rounds, the middle ratio printed).

    python benchmarks/bench_convert.py [--threads 1]
"""

import argparse
import copy

import torch
import torch.utils.benchmark as benchmark
import torchvision

import rectifiers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--min-run-time", type=float, default=1.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    native = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False).eval()
    ours = rectifiers.convert(copy.deepcopy(native))
    print("| input | native | converted | native/converted |")
    print("|---|---|---|---|")
    for shape in [(1, 3, 64, 64), (8, 3, 64, 64)]:
        x = torch.randn(*shape)
        rounds = []
        with torch.no_grad():
            for _ in range(3):
                times = [benchmark.Timer("m(x)", globals=dict(m=m, x=x), num_threads=args.threads)
                         .blocked_autorange(min_run_time=args.min_run_time).median
                         for m in (native, ours)]
                rounds.append(times)
        t_native, t_ours = sorted(rounds, key=lambda t: t[0] / t[1])[1]
        print(f"| {list(shape)} | {t_native * 1e3:.2f} ms | {t_ours * 1e3:.2f} ms | "
              f"{t_native / t_ours:.2f} |")


if __name__ == "__main__":
    main()
