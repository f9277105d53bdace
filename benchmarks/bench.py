#!/usr/bin/env python
"""Benchmark the rectifier ops against PyTorch native, side by side in one process.

Every op of ``torch.ops.rectifiers`` (through the ``rectifiers.functional``
wrappers a user calls) is timed against its native counterpart:

    relu          torch.relu
    leaky_relu    F.leaky_relu
    abs           torch.abs
    relu6         F.relu6
    rrelu         F.rrelu            (training mode: random slopes)
    elu           F.elu
    celu          F.celu
    selu          F.selu
    prelu         F.prelu            (per-channel weight, NCHW and channels_last)
    maxout        x.unflatten(dim, (-1, k)).max(dim + 1)   (composite)

forward, forward+backward (``torch.autograd.grad`` of the output with a
prebuilt incoming gradient, so no ``.grad`` accumulation is timed), and for
PReLU the backward alone. Each case is timed with
``torch.utils.benchmark.Timer`` (``blocked_autorange``, or
``adaptive_autorange`` with ``--adaptive``); the table holds medians, the
ratio native/ours (> 1 means we are faster), and the achieved bandwidth of
ours (the op's minimal bytes moved / time) as a fraction of the bandwidth of a
``clone()`` of a tensor of the same size and dtype, measured in the same run
(on a GPU: the device copy bandwidth). A second table gives maxout's bytes
saved for backward against the composite's (summed over the tensors packed by
``torch.autograd.graph.saved_tensors_hooks``). The targets are listed in
docs/benchmarks.md; the last column of the table names the ones a row misses.

    python benchmarks/bench.py --quick
    python benchmarks/bench.py --ops prelu,maxout --dtypes bfloat16 --threads 2
    python benchmarks/bench.py --device cuda --markdown bench.md --plot bench.png

``--compiled`` times a compiled training step instead (small models, a CNN by
default, with torch.nn's activation and with ours under torch.compile, side by
side) and counts the kernels and extern calls Inductor generates for it; see
``compiled_main`` and ``COMPILED_MODELS``.

Run ``--help`` for every option.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime
import os
import platform
import random
import re
import statistics
import sys
import time
import timeit
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch.utils import benchmark

import rectifiers
import rectifiers.functional as R

OPS = ("relu", "leaky_relu", "abs", "relu6", "rrelu", "elu", "celu", "selu", "prelu", "maxout")
OP_ALIASES = {"abs_rectifier": "abs", "leakyrelu": "leaky_relu", "leaky": "leaky_relu"}
DIRECTIONS = ("fwd", "fwd+bwd", "bwd")
DTYPES = {"float32": torch.float32, "fp32": torch.float32, "float": torch.float32,
          "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
          "float16": torch.float16, "fp16": torch.float16, "half": torch.float16,
          "float64": torch.float64, "double": torch.float64}
DTYPE_NAMES = {torch.float32: "float32", torch.bfloat16: "bfloat16",
               torch.float16: "float16", torch.float64: "float64"}

FULL_SIZES = "4K,64K,1M,16M,64M"
QUICK_SIZES = "64K,4M"
SUFFIX = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}

LEAKY_SLOPE = 0.01
LINESTYLES = {"fwd": "-", "fwd+bwd": "--", "bwd": ":"}


# ---------------------------------------------------------------------------
# helpers


def parse_size(text: str) -> int:
    text = text.strip().upper().rstrip("B")
    if text and text[-1] in SUFFIX:
        return int(float(text[:-1]) * SUFFIX[text[-1]])
    return int(text)


def fmt_size(n: int) -> str:
    for suffix, scale in (("G", 1024 ** 3), ("M", 1024 ** 2), ("K", 1024)):
        if n >= scale and n % scale == 0:
            return f"{n // scale}{suffix}"
    return str(n)


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def split_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def nchw_shape(n: int, channels: int) -> tuple[int, int, int, int]:
    """(B, C, H, W) with about n elements: 32x32 images while there are enough."""
    rest = max(1, n // channels)
    if rest >= 1024:
        return (rest // 1024, channels, 32, 32)
    side = int(rest ** 0.5)
    if side * side == rest:
        return (1, channels, side, side)
    return (1, channels, 1, rest)


def rows_shape(n: int, features: int, pool: int) -> tuple[int, int]:
    """(rows, features) with about n elements, features a multiple of pool."""
    if n >= features:
        return (n // features, features)
    return (1, max(pool, n // pool * pool))


# ---------------------------------------------------------------------------
# cases


@dataclass
class Setup:
    """What one case needs at one size: both statements, their globals, and accounting."""

    ours: tuple[str, dict]
    native: tuple[str, dict]
    numel: int
    bytes_moved: int  # the op's minimal bytes moved (ours)


@dataclass
class Case:
    op: str
    layout: str  # "1D", "[B,F]", "NCHW", "NHWC"
    direction: str
    build: Callable[[int, torch.dtype, torch.device], Setup]
    kind: str  # "elementwise" | "prelu_bwd" | "maxout" (which targets apply)

    @property
    def name(self) -> str:
        layout = "" if self.layout == "1D" else f" {self.layout}"
        return f"{self.op}{layout} {self.direction}"


def randn(shape, dtype, device, requires_grad=False, channels_last=False):
    x = torch.randn(shape, dtype=dtype, device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x.requires_grad_(requires_grad)


ELEMENTWISE = {
    # op: (ours, native, extra args as stmt text)
    "relu": (R.relu, torch.relu, ""),
    "leaky_relu": (R.leaky_relu, F.leaky_relu, f", {LEAKY_SLOPE}"),
    "abs": (R.abs_rectifier, torch.abs, ""),
    "relu6": (R.relu6, F.relu6, ""),
    "rrelu": (R.rrelu, F.rrelu, ", training=True"),
    "elu": (R.elu, F.elu, ""),
    "celu": (R.celu, F.celu, ", 0.5"),
    "selu": (R.selu, F.selu, ""),
}


def elementwise_case(op: str, direction: str) -> Case:
    ours_fn, native_fn, extra = ELEMENTWISE[op]

    def build(n, dtype, device):
        es = torch.empty((), dtype=dtype).element_size()
        if direction == "fwd":
            x = randn((n,), dtype, device)
            stmt = f"f(x{extra})"
            return Setup((stmt, {"f": ours_fn, "x": x}), (stmt, {"f": native_fn, "x": x}),
                         n, 2 * n * es)
        # fwd+bwd: read x, write y; read g and the saved tensor, write grad_input
        x = randn((n,), dtype, device, requires_grad=True)
        g = torch.randn_like(x)
        stmt = f"torch.autograd.grad(f(x{extra}), x, g)"
        return Setup((stmt, {"torch": torch, "f": ours_fn, "x": x, "g": g}),
                     (stmt, {"torch": torch, "f": native_fn, "x": x, "g": g}),
                     n, 5 * n * es)

    return Case(op, "1D", direction, build, "elementwise")


def prelu_case(layout: str, direction: str, channels: int, native_bwd: str) -> Case:
    channels_last = layout == "NHWC"

    def build(n, dtype, device):
        shape = nchw_shape(n, channels)
        numel = shape[0] * shape[1] * shape[2] * shape[3]
        es = torch.empty((), dtype=dtype).element_size()
        c = shape[1]
        w = (torch.rand(c, device=device) * 0.5).to(dtype)
        if direction == "fwd":
            x = randn(shape, dtype, device, channels_last=channels_last)
            stmt = "f(x, w)"
            return Setup((stmt, {"f": R.prelu, "x": x, "w": w}),
                         (stmt, {"f": F.prelu, "x": x, "w": w}),
                         numel, 2 * numel * es + c * es)
        if direction == "fwd+bwd":
            x = randn(shape, dtype, device, requires_grad=True, channels_last=channels_last)
            w.requires_grad_(True)
            g = torch.randn_like(x)
            stmt = "torch.autograd.grad(f(x, w), (x, w), g)"
            return Setup((stmt, {"torch": torch, "f": R.prelu, "x": x, "w": w, "g": g}),
                         (stmt, {"torch": torch, "f": F.prelu, "x": x, "w": w, "g": g}),
                         numel, 5 * numel * es + 3 * c * es)
        # bwd alone: ours is the fused op; native is what F.prelu's autograd runs.
        x = randn(shape, dtype, device, channels_last=channels_last)
        g = torch.randn_like(x)
        ours = ("op(g, x, w)", {"op": torch.ops.rectifiers.prelu_backward, "g": g, "x": x, "w": w})
        if native_bwd == "autograd":
            xr = x.detach().requires_grad_(True)
            wr = w.detach().requires_grad_(True)
            y = F.prelu(xr, wr)
            native = ("torch.autograd.grad(y, (x, w), g, retain_graph=True)",
                      {"torch": torch, "y": y, "x": xr, "w": wr, "g": g})
        else:
            # F.prelu reshapes the weight to (C, 1, 1) and calls aten._prelu_kernel, whose
            # derivative is aten._prelu_kernel_backward: grad_input and a FULL-SIZE weight
            # gradient that the autograd engine then reduces (sum_to) to the weight's shape,
            # followed by the view back to (C,). The same two steps, without the engine:
            wv = w.reshape(c, *([1] * (len(shape) - 2)))
            native = ("gx, gw = k(g, x, wv)\ngw = gw.sum_to_size(wv.shape).view(c)",
                      {"k": torch.ops.aten._prelu_kernel_backward, "g": g, "x": x, "wv": wv,
                       "c": c})
        # read g and x, write grad_input (plus the weight: read, and its gradient: write)
        return Setup(ours, native, numel, 3 * numel * es + 2 * c * es)

    return Case("prelu", layout, direction, build, "prelu_bwd" if direction == "bwd"
                else "elementwise")


def maxout_case(layout: str, direction: str, channels: int, features: int, pool: int) -> Case:
    channels_last = layout == "NHWC"
    native_stmt = "x.unflatten(d, (-1, k)).max(d + 1)"

    def build(n, dtype, device):
        shape = rows_shape(n, features, pool) if layout == "[B,F]" else nchw_shape(n, channels)
        numel = 1
        for s in shape:
            numel *= s
        out = numel // pool
        es = torch.empty((), dtype=dtype).element_size()
        d = 1
        if direction == "fwd":
            x = randn(shape, dtype, device, channels_last=channels_last)
            return Setup(("f(x, k, d)", {"f": R.maxout, "x": x, "k": pool, "d": d}),
                         (native_stmt, {"x": x, "k": pool, "d": d}),
                         numel, (numel + out) * es)
        x = randn(shape, dtype, device, requires_grad=True, channels_last=channels_last)
        with torch.no_grad():
            g_ours = torch.randn_like(R.maxout(x, pool, d))
            g_native = torch.randn_like(x.unflatten(d, (-1, pool)).max(d + 1)[0])
        # forward: read x, write values and a 1-byte index per output; backward: read the
        # incoming gradient and the index, write grad_input
        index_bytes = 1 if pool <= 256 else 4
        return Setup(("torch.autograd.grad(f(x, k, d), x, g)",
                      {"torch": torch, "f": R.maxout, "x": x, "k": pool, "d": d, "g": g_ours}),
                     (f"torch.autograd.grad({native_stmt}[0], x, g)",
                      {"torch": torch, "x": x, "k": pool, "d": d, "g": g_native}),
                     numel, (2 * numel + 2 * out) * es + 2 * out * index_bytes)

    return Case("maxout", layout, direction, build, "maxout")


def make_cases(args) -> list[Case]:
    cases: list[Case] = []
    directions = args.directions
    for op in args.ops:
        if op in ELEMENTWISE:
            for direction in ("fwd", "fwd+bwd"):
                if direction in directions:
                    cases.append(elementwise_case(op, direction))
        elif op == "prelu":
            for layout in ("NCHW", "NHWC"):
                for direction in ("fwd", "fwd+bwd", "bwd"):
                    if direction in directions:
                        cases.append(prelu_case(layout, direction, args.channels,
                                                args.prelu_native_bwd))
        elif op == "maxout":
            layouts = ("NCHW", "NHWC") if args.quick else ("[B,F]", "NCHW", "NHWC")
            for layout in layouts:
                for direction in ("fwd", "fwd+bwd"):
                    if direction in directions:
                        cases.append(maxout_case(layout, direction, args.channels,
                                                 args.features, args.pool_size))
    return cases


# ---------------------------------------------------------------------------
# timing


def cuda_timer() -> float:
    torch.cuda.synchronize()
    return timeit.default_timer()


class Runner:
    def __init__(self, args, device: torch.device):
        self.args = args
        self.device = device
        # On a GPU every reading waits for the queued kernels (the Timer's own default does
        # the same whenever an accelerator is visible; this makes it explicit).
        self.timer = cuda_timer if device.type == "cuda" else timeit.default_timer
        if args.clock == "cpu":
            # the CPU time of this process: what other processes on a shared
            # machine take from its cores does not count
            self.timer = time.process_time

    def times(self, stmt: str, globals_: dict, threads: int, label: str) -> list[float]:
        """Per-run times (seconds) of stmt, one list from one autorange."""
        # one untimed call first: first-call costs (allocator growth, lazy init) stay out
        exec(compile(stmt, "<bench>", "exec"), dict(globals_))
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        timer = benchmark.Timer(stmt=stmt, globals=globals_, num_threads=threads,
                                timer=self.timer, label=label)
        if self.args.adaptive:
            m = timer.adaptive_autorange(threshold=0.1, min_run_time=self.args.min_run_time,
                                         max_run_time=max(1.0, 10 * self.args.min_run_time))
        else:
            m = timer.blocked_autorange(min_run_time=self.args.min_run_time)
        return list(m.times)

    def pair(self, setup: Setup, threads: int, label: str) -> tuple[float, float]:
        """Medians of ours and native, measured alternately --repeats times, times pooled."""
        ours: list[float] = []
        native: list[float] = []
        for r in range(self.args.repeats):
            order = ((ours, setup.ours), (native, setup.native))
            if r % 2:
                order = order[::-1]
            for sink, (stmt, g) in order:
                sink.extend(self.times(stmt, g, threads, label))
        return statistics.median(ours), statistics.median(native)

    def clone(self, n: int, dtype: torch.dtype, threads: int) -> float:
        x = torch.randn(n, dtype=dtype, device=self.device)
        t: list[float] = []
        for _ in range(self.args.repeats):
            t.extend(self.times("x.clone()", {"x": x}, threads, "clone"))
        return statistics.median(t)


# ---------------------------------------------------------------------------
# performance targets (docs/benchmarks.md)


def target_misses(case: Case, numel: int, ratio: float, bw_frac: float, args) -> str:
    misses = []
    large = numel >= args.large
    tie = 1.0 - args.tie  # medians within --tie of a ratio goal count as meeting it
    bw_goal = 0.9 if args.device == "cuda" else 0.8
    if case.kind == "elementwise":
        if ratio < 1.0 * tie:
            misses.append("ratio<1.0")
        if large and bw_frac < bw_goal:
            misses.append(f"bw<{bw_goal:.2f}")
    elif case.kind == "prelu_bwd":
        if ratio < 1.5 * tie:
            misses.append("ratio<1.5")
    elif case.kind == "maxout" and case.direction == "fwd+bwd":
        if ratio < 1.5 * tie:
            misses.append("ratio<1.5")
        if large and bw_frac < 0.7:
            misses.append("bw<0.70")
    if numel <= 4096 and ratio < tie / 1.2 and "ratio" not in " ".join(misses):
        misses.append("ratio<1/1.2")
    if case.kind == "maxout" and case.direction == "fwd" and not misses:
        return "-"
    return "; ".join(misses) if misses else "ok"


# ---------------------------------------------------------------------------
# saved-for-backward memory


def saved_bytes(fn: Callable[[], torch.Tensor]) -> int:
    total = 0

    def pack(t: torch.Tensor):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return total


def maxout_saved_rows(args, device) -> list[dict]:
    rows = []
    n = max(args.sizes)
    layouts = ("NCHW", "NHWC") if args.quick else ("[B,F]", "NCHW", "NHWC")
    k, d = args.pool_size, 1
    for dtype in args.dtypes:
        for layout in layouts:
            shape = (rows_shape(n, args.features, k) if layout == "[B,F]"
                     else nchw_shape(n, args.channels))
            x = randn(shape, dtype, device, requires_grad=True, channels_last=layout == "NHWC")
            ours = saved_bytes(lambda: R.maxout(x, k, d))
            native = saved_bytes(lambda: x.unflatten(d, (-1, k)).max(d + 1)[0])
            rows.append({"case": f"maxout {layout}", "dtype": DTYPE_NAMES[dtype],
                         "numel": x.numel(), "ours": ours, "native": native})
            del x
    return rows


def rrelu_saved_rows(args, device) -> list[dict]:
    """RReLU in training mode: torch saves the input and a noise tensor of its
    size (contiguous whatever the input's layout), ours the input and two int64s."""
    rows = []
    n = max(args.sizes)
    for dtype in args.dtypes:
        for layout in ("NCHW", "NHWC"):
            x = randn(nchw_shape(n, args.channels), dtype, device, requires_grad=True,
                      channels_last=layout == "NHWC")
            ours = saved_bytes(lambda: R.rrelu(x, training=True))
            native = saved_bytes(lambda: F.rrelu(x, training=True))
            rows.append({"case": f"rrelu (training) {layout}", "dtype": DTYPE_NAMES[dtype],
                         "numel": x.numel(), "ours": ours, "native": native})
            del x
    return rows


# ---------------------------------------------------------------------------
# output


def markdown_table(rows: list[dict], device: torch.device) -> str:
    thread_col = device.type == "cpu"
    head = ["case", "dtype"] + (["threads"] if thread_col else []) + [
        "size", "ours median", "native median", "native/ours", "ours GB/s",
        "ours / clone bw", "targets"]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] * 2 + (["--:"] if thread_col else []) +
                            ["--:"] * 6 + ["---"]) + "|"]
    for r in rows:
        cells = [r["case"], r["dtype"]] + ([str(r["threads"])] if thread_col else []) + [
            fmt_size(r["numel"]), fmt_time(r["ours"]), fmt_time(r["native"]),
            f"{r['ratio']:.2f}x", f"{r['gbps']:.1f}", f"{r['bw_frac']:.2f}", r["targets"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def saved_table(rows: list[dict], reference: str = "composite", target: float = 1 / 8) -> str:
    lines = [f"| case | dtype | size | ours saved | {reference} saved | ours / {reference} | "
             f"target (<= 1/{1 / target:g}) |",
             "|---|---|--:|--:|--:|--:|---|"]
    for r in rows:
        frac = r["ours"] / r["native"] if r["native"] else float("nan")
        ok = "ok" if frac <= target + 1e-3 else "miss"
        lines.append(f"| {r['case']} | {r['dtype']} | {fmt_size(r['numel'])} | "
                     f"{r['ours']:,} B | {r['native']:,} B | {frac:.4f} (1/{1 / frac:.1f}) | {ok} |")
    return "\n".join(lines)


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def header(args, device: torch.device) -> str:
    if device.type == "cuda":
        where = f"GPU: {torch.cuda.get_device_name(device)}"
    else:
        where = f"CPU: {cpu_name()} ({os.cpu_count()} logical cores visible)"
    timing = ("adaptive_autorange" if args.adaptive else "blocked_autorange") + \
        f"(min_run_time={args.min_run_time}s) x {args.repeats} round(s), medians, " + \
        ("process CPU time" if args.clock == "cpu" else "wall time")
    bwd = ("autograd.grad on a prebuilt F.prelu graph" if args.prelu_native_bwd == "autograd"
           else "aten._prelu_kernel_backward + sum_to_size of its full-size weight gradient")
    return "\n".join([
        f"# rectifiers benchmark ({datetime.datetime.now().isoformat(timespec='seconds')})",
        "",
        f"- torch {torch.__version__}; rectifiers {rectifiers.build_info()}",
        f"- {where}; device `{device}`",
        f"- timing: torch.utils.benchmark.Timer {timing}",
        f"- maxout pool_size={args.pool_size}, dim=1 ([B,F]: F={args.features}; NCHW/NHWC: "
        f"C={args.channels}); prelu: per-channel weight, C={args.channels}; leaky slope {LEAKY_SLOPE}",
        f"- native PReLU backward alone: {bwd}",
        "- native/ours > 1 means ours is faster; bandwidth = the op's minimal bytes moved / "
        "median time, as a fraction of a clone() of the same number of elements "
        "(2 x bytes / its median time) measured in this run",
        f"- targets: a ratio within {args.tie:.0%} of its goal counts as met (a tie of "
        f"medians); bandwidth goals apply from {fmt_size(args.large)} elements on",
    ])


def plot(rows: list[dict], path: str, device: torch.device) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"bench.py: --plot {path} needs matplotlib, which is not installed "
              "(pip install matplotlib); the table was printed anyway, no plot written.",
              file=sys.stderr)
        return
    groups = sorted({(r["dtype"], r["threads"]) for r in rows}, key=str)
    fig, axes = plt.subplots(len(groups), 2, figsize=(15, 4.2 * len(groups)), squeeze=False)
    cmap = plt.get_cmap("tab10")
    colours: dict = {}  # one colour per op/layout, one line style per direction
    for (dtype, threads), (ax_ratio, ax_bw) in zip(groups, axes):
        sub = [r for r in rows if r["dtype"] == dtype and r["threads"] == threads]
        for case in dict.fromkeys(r["case"] for r in sub):
            pts = sorted((r["numel"], r["ratio"], r["bw_frac"]) for r in sub if r["case"] == case)
            xs = [p[0] for p in pts]
            family, direction = case.rsplit(" ", 1)
            style = {"color": colours.setdefault(family, cmap(len(colours) % 10)),
                     "linestyle": LINESTYLES.get(direction, "-"), "marker": "o",
                     "markersize": 4, "label": case}
            ax_ratio.plot(xs, [p[1] for p in pts], **style)
            ax_bw.plot(xs, [p[2] for p in pts], **style)
        title = f"{dtype}" + (f", {threads} thread(s)" if device.type == "cpu" else f", {device}")
        ax_ratio.axhline(1.0, color="black", linewidth=0.8)
        ax_ratio.set_title(f"native / ours (>1: ours faster) - {title}")
        ax_bw.axhline(0.9 if device.type == "cuda" else 0.8, color="black", linewidth=0.8,
                      linestyle="--")
        ax_bw.set_title(f"ours bandwidth / clone bandwidth - {title}")
        for ax in (ax_ratio, ax_bw):
            ax.set_xscale("log", base=2)
            ax.set_xlabel("elements")
            ax.grid(True, which="both", alpha=0.3)
        ax_bw.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot written to {path}", file=sys.stderr)


# ---------------------------------------------------------------------------
# compiled training step (--compiled)
#
# Small models (COMPILED_MODELS), once with torch.nn's activation and once with
# ours, each under torch.compile (inductor), timed side by side: forward and
# backward of one step. The counts come from the code Inductor generates for
# that step (forward and backward graphs).


class _Abs(torch.nn.Module):
    """torch.abs as a module: abs_rectifier's native twin."""

    def forward(self, x):
        return torch.abs(x)


class _MaxoutComposite(torch.nn.Module):
    """maxout written with torch ops, what a model without ours would do."""

    def __init__(self, pool_size: int):
        super().__init__()
        self.pool_size = pool_size

    def forward(self, x):
        return x.unflatten(1, (-1, self.pool_size)).max(2).values


def _activation_pair(op: str, pool_size: int = 2):
    """(native factory, ours factory, channel factor): factories take the channel count;
    maxout's layers produce pool_size times the channels it keeps."""
    nn, rn = torch.nn, rectifiers.nn
    return {
        "relu": (lambda c: nn.ReLU(), lambda c: rn.ReLU(), 1),
        "leaky_relu": (lambda c: nn.LeakyReLU(LEAKY_SLOPE), lambda c: rn.LeakyReLU(LEAKY_SLOPE), 1),
        "abs": (lambda c: _Abs(), lambda c: rn.AbsRectifier(), 1),
        "relu6": (lambda c: nn.ReLU6(), lambda c: rn.ReLU6(), 1),
        "rrelu": (lambda c: nn.RReLU(), lambda c: rn.RReLU(), 1),
        "elu": (lambda c: nn.ELU(), lambda c: rn.ELU(), 1),
        "celu": (lambda c: nn.CELU(0.5), lambda c: rn.CELU(0.5), 1),
        "selu": (lambda c: nn.SELU(), lambda c: rn.SELU(), 1),
        "prelu": (lambda c: nn.PReLU(c), lambda c: rn.PReLU(c), 1),
        "maxout": (lambda c: _MaxoutComposite(pool_size), lambda c: rn.Maxout(pool_size),
                   pool_size),
    }[op]


# Each activation's table entries (rectifiers/_inductor.py). RReLU runs in
# training mode here, which has none: its slopes are the documented Philox stream.
COMPILED_ENTRIES = {
    "relu": ("relu", "relu_", "relu_backward"),
    "leaky_relu": ("leaky_relu", "leaky_relu_", "leaky_relu_backward"),
    "abs": ("abs_rectifier", "abs_rectifier_backward"),
    "relu6": ("relu6", "relu6_", "relu6_backward"),
    "rrelu": (),
    "elu": ("elu", "elu_", "elu_backward"),
    "celu": ("celu", "celu_", "elu_backward"),
    "selu": ("selu", "selu_", "elu_backward"),
    "prelu": ("prelu", "prelu_backward"),
    "maxout": ("maxout_backward",),
}


def _maxout_with_indices_max_values(self, pool_size, dim=1):
    """maxout's forward with the max's own values, no gather: Inductor need not
    keep its input in memory, but a group of 0 and -0 gets the last one's sign
    where eager gives the first's. Measured only."""
    dim = dim % self.dim()
    values, indices = torch.ops.aten.max.dim(self.unflatten(dim, (-1, pool_size)), dim + 1)
    return values, indices.to(torch.uint8 if pool_size <= 256 else torch.int32)


def compiled_choices(op: str) -> tuple:
    """The alternatives measured for the ops whose lowering was a choice:
    (label, {op name: its decomposition while the model compiles, None to take
    its entry out so that Inductor calls our kernel})."""
    from rectifiers import _inductor

    if op == "prelu":
        return (("backward kept", {"prelu_backward": None}),)
    if op == "maxout":
        max_values = {"maxout_with_indices": _maxout_with_indices_max_values,
                      "maxout": lambda self, pool_size, dim=1:
                      _maxout_with_indices_max_values(self, pool_size, dim)[0]}
        return (("forward lowered", dict(_inductor.NOT_LOWERED)),
                ("forward lowered, max's values", max_values),
                ("backward kept too", {"maxout_backward": None}))
    return ()


def compiled_variants(op: str, with_kept: bool) -> tuple:
    if op == "rrelu":
        return (("our kernels", {}),)
    variants = [("shipped", {})]
    if with_kept and op != "maxout":
        variants.append(("kept", dict.fromkeys(COMPILED_ENTRIES[op])))
    return tuple(variants) + compiled_choices(op)


@contextlib.contextmanager
def decomposition_table(changes: dict):
    """Inductor's decomposition table with these entries changed while a model
    compiles in this block (None: the op's entry out, so that Inductor calls
    our kernel), as it was after. Only for measuring: the on-disk caches, which
    do not key on the table, are off in --compiled (set_compile_caches_off)."""
    from torch._inductor import decomposition

    table = decomposition.decompositions
    saved = {}
    for name, fn in changes.items():
        op = getattr(torch.ops.rectifiers, name).default
        saved[op] = table.pop(op, None)
        if fn is not None:
            table[op] = fn
    decomposition.fast_random_decomps.cache_clear()
    try:
        yield
    finally:
        for op, fn in saved.items():
            table.pop(op, None)
            if fn is not None:
                table[op] = fn
        decomposition.fast_random_decomps.cache_clear()


def steady_malloc() -> bool:
    """Fixed glibc malloc thresholds, so that a step's freed buffers are reused
    rather than unmapped and mapped again: glibc adapts its mmap threshold to
    what was freed before, so that the same step could otherwise be served
    from the heap or from fresh mappings depending on what ran before it.
    False where it cannot."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    limit = 4 * 1024 * 1024 * ctypes.sizeof(ctypes.c_long)  # glibc's largest mmap threshold
    return bool(libc.mallopt(m_mmap_threshold, limit) and libc.mallopt(m_trim_threshold, limit))


def set_compile_caches_off():
    import torch._functorch.config
    import torch._inductor.config

    torch._inductor.config.fx_graph_cache = False
    torch._functorch.config.enable_autograd_cache = False


# The models a step is timed on (--compiled-model): the activations each takes,
# and maxout's pool size there. Ours is the model built with our modules rather
# than converted, since abs and maxout have no torch.nn module to convert; the
# others are the modules rectifiers.convert puts in.
COMPILED_MODELS = {
    "cnn": (OPS, 2),
    "mlp": (("relu", "leaky_relu", "abs", "relu6", "rrelu", "elu", "celu", "selu"), 2),
    "maxout_mlp": (("maxout",), 4),
    "prelu_cnn": (("prelu",), 2),
}
MLP_IN, MLP_WIDTH, MLP_CLASSES, MLP_BATCH = 256, 512, 10, 256


def compiled_model_text(kind: str, args) -> str:
    c, hw, b = args.compiled_channels, args.compiled_hw, args.compiled_batch
    mlp = (f"Linear({MLP_IN} -> {{w}}) -> {{act}} -> Linear({MLP_WIDTH} -> {{w}}) -> {{act}} -> "
           f"Linear({MLP_WIDTH} -> {MLP_CLASSES}), input {MLP_BATCH}x{MLP_IN}")
    return {
        "cnn": f"conv3x3(3 -> C) -> BatchNorm2d -> act -> conv1x1(C -> C) -> BatchNorm2d -> "
               f"act, C={c} (maxout: the convs give 2C, maxout k=2 keeps C), input "
               f"{b}x3x{hw}x{hw}, channels_last",
        "mlp": mlp.format(w=MLP_WIDTH, act="act"),
        "maxout_mlp": mlp.format(w=f"4x{MLP_WIDTH}", act="maxout(k=4)"),
        "prelu_cnn": f"three conv3x3 -> BatchNorm2d -> PReLU(channels) blocks of {c}, {2 * c} "
                     f"(stride 2), {4 * c} (stride 2) channels -> global average pool -> "
                     f"Linear({4 * c} -> 10), input {b}x3x{hw}x{hw}, channels_last",
    }[kind]


def compiled_model(kind: str, factory, factor: int, channels: int, seed: int) -> torch.nn.Module:
    """One of COMPILED_MODELS in train mode. cnn: conv3x3(3 -> factor*C) -> BN -> act
    -> conv1x1(C -> factor*C) -> BN -> act: the second block is a pointwise
    convolution, as in bottleneck and depthwise-separable networks, so the
    activations' share of the step is not lost under the convolutions'. The
    CNNs are channels_last, the layout Inductor computes CPU convolutions in
    anyway (given NCHW, it transposes the output back)."""
    torch.manual_seed(seed)  # the same weights on both sides
    nn = torch.nn
    if kind in ("mlp", "maxout_mlp"):
        w = MLP_WIDTH
        return nn.Sequential(
            nn.Linear(MLP_IN, factor * w), factory(w),
            nn.Linear(w, factor * w), factory(w), nn.Linear(w, MLP_CLASSES)).train()
    if kind == "prelu_cnn":
        c = channels
        layers, cin = [], 3
        for cout, stride in ((c, 1), (2 * c, 2), (4 * c, 2)):
            layers += [nn.Conv2d(cin, factor * cout, 3, stride, padding=1, bias=False),
                       nn.BatchNorm2d(factor * cout), factory(cout)]
            cin = cout
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10)]
        return nn.Sequential(*layers).train().to(memory_format=torch.channels_last)
    return nn.Sequential(
        nn.Conv2d(3, factor * channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(factor * channels), factory(channels),
        nn.Conv2d(channels, factor * channels, 1, bias=False),
        nn.BatchNorm2d(factor * channels), factory(channels)).train().to(
            memory_format=torch.channels_last)


def compiled_inputs(kind: str, args, dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's input and the gradient of its output."""
    if kind in ("mlp", "maxout_mlp"):
        return (torch.randn(MLP_BATCH, MLP_IN, dtype=dtype, device=device),
                torch.randn(MLP_BATCH, MLP_CLASSES, dtype=dtype, device=device))
    b, hw, c = args.compiled_batch, args.compiled_hw, args.compiled_channels
    x = torch.randn(b, 3, hw, hw, dtype=dtype, device=device).contiguous(
        memory_format=torch.channels_last)
    if kind == "prelu_cnn":
        return x, torch.randn(b, 10, dtype=dtype, device=device)
    return x, torch.randn(b, c, hw, hw, dtype=dtype, device=device).contiguous(
        memory_format=torch.channels_last)


_CALL = re.compile(r"\b(extern_kernels\.\w+|torch\.ops\.\w+\.\w+(?:\.\w+)?)\(")
_KERNEL_NAME = re.compile(r"\b((?:cpp|triton)_\w+?)_(\d+)\b")


def code_counts(codes: list[str]) -> dict:
    """Kernels Inductor generated and the calls it left to other code (ATen's
    convolutions, our ops), over a step's forward and backward graphs, and the
    code itself without what names the source ops (comment lines, kernel
    names), to compare with another model's."""
    kernels = extern = ours = 0
    text = []
    for code in codes:
        kernels += code.count("async_compile.cpp_pybinding(") + code.count("async_compile.triton(")
        for line in code.splitlines():
            if line.lstrip().startswith("#"):
                continue
            text.append(_KERNEL_NAME.sub(r"kernel_\2", line))
            for call in _CALL.findall(line):
                extern += 1
                ours += call.startswith("torch.ops.rectifiers.")
    return {"kernels": kernels, "extern": extern, "ours": ours, "code": "\n".join(text)}


def count_bytes_accessed() -> bool:
    """Has Inductor count the bytes each compiled graph's kernels and extern
    calls read and write (its metrics logger, kept silent). False if this
    torch has no such logger."""
    import logging

    import torch._inductor.compile_fx as compile_fx

    log = getattr(compile_fx, "inductor_metrics_log", None)
    if log is None:
        return False
    log.setLevel(logging.INFO)
    log.propagate = False
    log.addHandler(logging.NullHandler())
    return True


def compiled_step(model: torch.nn.Module, x: torch.Tensor, g: torch.Tensor, threads: int,
                  changes=None):
    """The compiled model's step, and the counts of its generated code and the
    bytes its graphs access (the first call compiles the forward and the
    backward graphs)."""
    from torch._inductor import metrics
    from torch._inductor.utils import run_and_get_code

    compiled = torch.compile(model, fullgraph=True, dynamic=False)
    params = tuple(model.parameters())

    def step():
        return torch.autograd.grad(compiled(x), params, g)

    old = torch.get_num_threads()
    torch.set_num_threads(threads)  # the generated kernels fix their thread count
    metrics.reset()
    try:
        with decomposition_table(changes or {}):
            _, codes = run_and_get_code(step)
    finally:
        torch.set_num_threads(old)
    counts = code_counts(codes)
    counts["bytes"] = metrics.num_bytes_accessed
    return step, counts


def compiled_rows(args, device: torch.device, log) -> list[dict]:
    rows = []
    c = args.compiled_channels
    cases = [(kind, op) for kind in args.compiled_model for op in args.ops
             if op in COMPILED_MODELS[kind][0]]
    if not cases:
        sys.exit("bench.py: no case left by --ops/--compiled-model")
    for kind in args.compiled_model:
        if not any(k == kind for k, _ in cases):
            log(f"{kind}: none of --ops runs on it (it takes "
                f"{', '.join(COMPILED_MODELS[kind][0])})")
    for dtype in args.dtypes:
        for threads in args.threads:
            for kind, op in cases:
                native_f, ours_f, factor = _activation_pair(op, COMPILED_MODELS[kind][1])
                variants = compiled_variants(op, args.compiled_kept)
                torch._dynamo.reset()
                x, g = compiled_inputs(kind, args, dtype, device)
                native = compiled_model(kind, native_f, factor, c, 0).to(device, dtype)
                native_step, native_counts = compiled_step(native, x, g, threads)
                ours_steps = []
                for label, changes in variants:
                    model = compiled_model(kind, ours_f, factor, c, 0).to(device, dtype)
                    ours_steps.append((label,) + compiled_step(model, x, g, threads, changes))
                t_native: list[float] = []
                t_ours: dict[str, list[float]] = {label: [] for label, _, _ in ours_steps}
                name = f"{kind} {op} {DTYPE_NAMES[dtype]} t{threads}"
                runner = Runner(args, device)
                shifts = random.Random(0)
                for r in range(args.repeats):
                    order = [("native", native_step)] + [(lb, st) for lb, st, _ in ours_steps]
                    if r % 2:
                        order = order[::-1]
                    for label, stp in order:
                        sink = t_native if label == "native" else t_ours[label]
                        # A pad of random size before each block moves where the
                        # step's buffers land, so that no variant is timed at one
                        # placement only.
                        pad = torch.empty(shifts.randrange(1, 1 << 14) * 64, dtype=torch.uint8)
                        sink.extend(runner.times("step()", {"step": stp}, threads,
                                                 f"{name} {label}"))
                        del pad
                mn, minn = statistics.median(t_native), min(t_native)
                for label, _, counts in ours_steps:
                    mo, mino = statistics.median(t_ours[label]), min(t_ours[label])
                    rows.append({"model": kind, "op": op, "variant": label,
                                 "dtype": DTYPE_NAMES[dtype],
                                 "threads": threads, "native": mn, "ours": mo, "ratio": mn / mo,
                                 "native_min": minn, "ours_min": mino, "min_ratio": minn / mino,
                                 "native_counts": native_counts, "ours_counts": counts})
                    log(f"{name} {label}: native {fmt_time(mn)}, ours {fmt_time(mo)}, "
                        f"{mn / mo:.2f}x (minima {minn / mino:.2f}x); kernels "
                        f"{native_counts['kernels']} / {counts['kernels']}, extern calls "
                        f"{native_counts['extern']} / {counts['extern']} (ours {counts['ours']}), "
                        f"{fmt_mb(native_counts['bytes'])} / {fmt_mb(counts['bytes'])} accessed")
                torch._dynamo.reset()
    return rows


def fmt_mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n else "n/a"


def compiled_misses(r: dict, tie: float) -> str:
    """The targets a row of what ships misses: native/ours of the medians under
    1.0 (less --tie), more kernels than native's; '-' for the alternatives. A
    time missed on native's own code is marked so: no code of ours can be."""
    if r["variant"] not in ("shipped", "our kernels"):
        return "-"
    n, o = r["native_counts"], r["ours_counts"]
    misses = []
    if r["ratio"] < 1.0 - tie:
        misses.append("ratio<1.0" + (" (code = native's)" if n["code"] == o["code"] else ""))
    if o["kernels"] > n["kernels"]:
        misses.append("kernels>native")
    return "; ".join(misses) if misses else "ok"


def compiled_table(rows: list[dict], tie: float) -> str:
    head = ["model", "activation", "ours", "dtype", "threads", "native step", "ours step",
            "native/ours", "minima: native / ours", "kernels native / ours",
            "extern calls native / ours (our ops)", "bytes accessed native / ours",
            "code = native's", "targets"]
    lines = ["| " + " | ".join(head) + " |",
             "|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|"]
    for r in rows:
        n, o = r["native_counts"], r["ours_counts"]
        lines.append(f"| {r['model']} | {r['op']} | {r['variant']} | {r['dtype']} | "
                     f"{r['threads']} | "
                     f"{fmt_time(r['native'])} | {fmt_time(r['ours'])} | {r['ratio']:.2f}x | "
                     f"{fmt_time(r['native_min'])} / {fmt_time(r['ours_min'])} = "
                     f"{r['min_ratio']:.2f}x | {n['kernels']} / {o['kernels']} | "
                     f"{n['extern']} / {o['extern']} ({o['ours']}) | "
                     f"{fmt_mb(n['bytes'])} / {fmt_mb(o['bytes'])} | "
                     f"{'yes' if n['code'] == o['code'] else 'no'} | "
                     f"{compiled_misses(r, tie)} |")
    return "\n".join(lines)


def compiled_main(args, device: torch.device, log) -> str:
    set_compile_caches_off()
    malloc = steady_malloc() if device.type == "cpu" else False
    counting = count_bytes_accessed()
    rows = compiled_rows(args, device, log)
    timing = ("adaptive_autorange" if args.adaptive else "blocked_autorange") + \
        f"(min_run_time={args.min_run_time}s) x {args.repeats} round(s), medians, " + \
        ("process CPU time" if args.clock == "cpu" else "wall time")
    head = "\n".join([
        f"# rectifiers compiled-step benchmark "
        f"({datetime.datetime.now().isoformat(timespec='seconds')})",
        "",
        f"- torch {torch.__version__}; rectifiers {rectifiers.build_info()}; device `{device}`",
        *(f"- model {kind}: {compiled_model_text(kind, args)}" for kind in args.compiled_model),
        "- train mode; ours: the model built with rectifiers.nn's modules (those "
        "rectifiers.convert puts in; abs and maxout have no torch.nn module to convert); "
        "torch.compile(fullgraph=True, dynamic=False), inductor; FX graph and AOTAutograd "
        "caches off",
        "- step: torch.autograd.grad(model(x), parameters, g) (forward and backward)"
        + ("; glibc malloc's mmap and trim thresholds fixed at 32 MiB" if malloc else ""),
        f"- timing: torch.utils.benchmark.Timer {timing}; native and every variant of ours "
        "alternate in one process",
        "- native/ours > 1 means ours is faster (of the medians, and of the minima, which "
        "other processes on a shared machine disturb least); kernels: Inductor's generated "
        "kernels; extern calls: calls to other code (ATen convolutions, fallbacks, our ops)",
        "- ours: shipped = Inductor's table as rectifiers registers it (what torch.compile "
        "does); kept = the activation's entries out while it compiles, so that Inductor calls "
        "our kernels (what it did before they existed); backward kept = only the backward "
        "op's entry out; forward lowered = maxout's measured, unregistered decompositions in "
        "(exact: the values gathered at the chosen positions; max's values: those of the max "
        "itself)",
        "- bytes accessed: Inductor's count of what the step's kernels and extern calls read "
        "and write (forward and backward graphs, the convolutions included)"
        + ("" if counting else ": not available in this torch"),
        "- code = native's: the generated code is native's but for kernel names and comments, "
        "so that the row's time ratio is only what timing two equal programs gives here",
        f"- targets (the rows of what ships): native/ours of the medians >= {1 - args.tie:.2f} "
        "(1.0 less --tie) and kernels <= native's; ok, or the ones missed",
    ])
    return head + "\n\n" + compiled_table(rows, args.tie) + "\n"


# ---------------------------------------------------------------------------
# main


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="Time the rectifier ops against PyTorch native (targets: docs/benchmarks.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help=f"a short subset: sizes {QUICK_SIZES}, float32+bfloat16, 1 and 2 threads, "
                        "maxout only NCHW/NHWC, shorter timing (explicit options still win)")
    p.add_argument("--ops", default=",".join(OPS), help="comma list of " + ", ".join(OPS))
    p.add_argument("--directions", default=",".join(DIRECTIONS),
                   help="comma list of fwd, fwd+bwd, bwd (bwd: PReLU only)")
    p.add_argument("--dtypes", default=None,
                   help="comma list, e.g. float32,bfloat16 (default float32,bfloat16; "
                        "--compiled: float32)")
    p.add_argument("--threads", default=None,
                   help="comma list of CPU thread counts (default 1,2; --compiled: 1); "
                        "ignored with --device cuda")
    p.add_argument("--sizes", default=None,
                   help=f"comma list of element counts, K/M suffixes (default {FULL_SIZES}; "
                        f"--quick: {QUICK_SIZES})")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--min-run-time", type=float, default=None,
                   help="seconds per autorange (default 0.2; --quick, --compiled: 0.05)")
    p.add_argument("--repeats", type=int, default=None,
                   help="rounds of ours/native measured alternately, run times pooled "
                        "(default 1; --compiled: 20)")
    p.add_argument("--adaptive", action="store_true",
                   help="adaptive_autorange (stops once the IQR/median is under 10%%) "
                        "instead of blocked_autorange")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="what the timer reads: wall time, or this process's CPU time (CPU "
                        "only, with 1 thread: on a shared machine, what other processes take "
                        "from its cores does not count)")
    p.add_argument("--pool-size", type=int, default=2, help="maxout pool size k")
    p.add_argument("--channels", type=int, default=64, help="C of the NCHW/NHWC cases")
    p.add_argument("--features", type=int, default=1024, help="F of the maxout [B,F] case")
    p.add_argument("--prelu-native-bwd", choices=("kernel", "autograd"), default="kernel",
                   help="native side of 'prelu bwd': kernel = aten._prelu_kernel_backward + "
                        "sum_to_size of the full-size weight grad (what native's autograd runs, "
                        "without the engine's overhead, like ours); autograd = "
                        "torch.autograd.grad on a prebuilt F.prelu graph")
    p.add_argument("--large", default="16M",
                   help="from this many elements on, the bandwidth targets apply")
    p.add_argument("--tie", type=float, default=0.02,
                   help="relative slack on the ratio goals of the targets column (0.02: 0.98x "
                        "meets a 1.0x goal), since equal, memory-bound medians jitter around 1.0")
    p.add_argument("--markdown", metavar="FILE", help="also write the tables to FILE")
    p.add_argument("--plot", metavar="FILE.png",
                   help="plot ratio and bandwidth fraction vs size (needs matplotlib)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--compiled", action="store_true",
                   help="instead of the op table: a compiled training step (small models "
                        "under torch.compile, see --compiled-model) with torch.nn's "
                        "activation and with ours, side by side, and the counts of the "
                        "kernels and extern calls Inductor generates (defaults: float32, "
                        "1 thread, 20 repeats of 0.05 s)")
    p.add_argument("--compiled-model", default="cnn",
                   help="--compiled: comma list of " + ", ".join(COMPILED_MODELS) + ", or all. "
                        "cnn: two conv -> BatchNorm -> activation blocks, every activation; "
                        "mlp: three Linear layers, the elementwise activations; maxout_mlp: "
                        "the mlp with maxout k=4; prelu_cnn: three conv -> BatchNorm -> PReLU "
                        "blocks, pooled, Linear")
    p.add_argument("--compiled-kept", action="store_true",
                   help="--compiled: also time every activation with its table entries out "
                        "(Inductor calls our kernels: what it did before they existed)")
    p.add_argument("--compiled-channels", type=int, default=32, help="C of --compiled's model")
    p.add_argument("--compiled-hw", type=int, default=32, help="image side of --compiled's input")
    p.add_argument("--compiled-batch", type=int, default=8, help="batch of --compiled's input")
    args = p.parse_args(argv)

    ops = [OP_ALIASES.get(o.lower(), o.lower()) for o in split_list(args.ops)]
    bad = [o for o in ops if o not in OPS]
    if bad:
        p.error(f"unknown op(s) {', '.join(bad)}; choose from {', '.join(OPS)}")
    args.ops = ops
    models = split_list(args.compiled_model.lower())
    models = list(COMPILED_MODELS) if models == ["all"] else models
    bad = [m for m in models if m not in COMPILED_MODELS]
    if bad or not models:
        p.error(f"unknown model(s) {', '.join(bad)}; choose from {', '.join(COMPILED_MODELS)}, all")
    args.compiled_model = list(dict.fromkeys(models))
    args.directions = split_list(args.directions)
    bad = [d for d in args.directions if d not in DIRECTIONS]
    if bad:
        p.error(f"unknown direction(s) {', '.join(bad)}; choose from {', '.join(DIRECTIONS)}")
    try:
        dtypes = args.dtypes or ("float32" if args.compiled else "float32,bfloat16")
        args.dtypes = list(dict.fromkeys(DTYPES[d.lower()] for d in split_list(dtypes)))
    except KeyError as e:
        p.error(f"unknown dtype {e}; choose from {', '.join(sorted(set(DTYPE_NAMES.values())))}")
    try:
        args.sizes = [parse_size(s) for s in
                      split_list(args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES))]
        args.large = parse_size(args.large)
    except ValueError as e:
        p.error(f"bad size: {e}")
    if any(s < 1 for s in args.sizes):
        p.error("sizes must be positive")
    args.threads = [int(t) for t in split_list(args.threads or ("1" if args.compiled else "1,2"))]
    if any(t < 1 for t in args.threads):
        p.error("thread counts must be >= 1")
    if args.min_run_time is None:
        args.min_run_time = 0.05 if args.quick or args.compiled else 0.2
    if args.clock == "cpu" and (args.device != "cpu" or args.threads != [1]):
        p.error("--clock cpu needs --device cpu and --threads 1 (the CPU time of several "
                "threads adds up)")
    if args.repeats is None:
        args.repeats = 20 if args.compiled else 1
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    if args.pool_size < 1 or args.channels % args.pool_size or args.features % args.pool_size:
        p.error("--pool-size must divide --channels and --features")
    return args


def pick_device(name: str) -> torch.device:
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        sys.exit(
            "bench.py: --device cuda was asked for, but torch sees no CUDA GPU "
            f"(torch {torch.__version__}, built with CUDA {torch.version.cuda}, "
            f"torch.cuda.device_count() = {torch.cuda.device_count()}). "
            "Run it on a machine with a GPU, or leave out --device cuda for the CPU table.")
    device = torch.device("cuda", torch.cuda.current_device())
    try:
        torch.ops.rectifiers.relu(torch.zeros(4, device=device))
        torch.cuda.synchronize()
    except (NotImplementedError, RuntimeError) as e:
        sys.exit("bench.py: a GPU is there, but the rectifiers library has no working CUDA "
                 f"kernels ({rectifiers.build_info()}): {str(e).splitlines()[0]}. Build it "
                 "with CUDA (see README) to benchmark on the GPU.")
    return device


def main(argv=None) -> int:
    args = parse_args(argv)
    device = pick_device(args.device)
    thread_list = args.threads if device.type == "cpu" else [torch.get_num_threads()]
    start = timeit.default_timer()

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    if args.compiled:
        args.threads = thread_list
        text = compiled_main(args, device, log)
        print(text)
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write(text)
            log(f"table written to {args.markdown}")
        log(f"done in {timeit.default_timer() - start:.0f}s")
        return 0
    cases = make_cases(args)
    if not cases:
        sys.exit("bench.py: no case left by --ops/--directions")
    runner = Runner(args, device)
    rows: list[dict] = []
    total = len(args.dtypes) * len(thread_list) * len(args.sizes) * len(cases)
    done = 0

    torch.manual_seed(0)
    for dtype in args.dtypes:
        dname = DTYPE_NAMES[dtype]
        for threads in thread_list:
            for n in args.sizes:
                clone_cache: dict[int, float] = {}
                for case in cases:
                    done += 1
                    setup = case.build(n, dtype, device)
                    if setup.numel not in clone_cache:
                        clone_cache[setup.numel] = runner.clone(setup.numel, dtype, threads)
                    t_clone = clone_cache[setup.numel]
                    label = f"{case.name} {dname} {fmt_size(setup.numel)} t{threads}"
                    t_ours, t_native = runner.pair(setup, threads, label)
                    es = torch.empty((), dtype=dtype).element_size()
                    clone_bw = 2 * setup.numel * es / t_clone
                    gbps = setup.bytes_moved / t_ours
                    ratio = t_native / t_ours
                    row = {"case": case.name, "dtype": dname, "threads": threads,
                           "numel": setup.numel, "ours": t_ours, "native": t_native,
                           "ratio": ratio, "gbps": gbps / 1e9, "bw_frac": gbps / clone_bw,
                           "clone": t_clone}
                    row["targets"] = target_misses(case, setup.numel, ratio, row["bw_frac"], args)
                    rows.append(row)
                    log(f"[{done}/{total} {timeit.default_timer() - start:5.0f}s] {label}: "
                        f"ours {fmt_time(t_ours)}, native {fmt_time(t_native)}, "
                        f"{ratio:.2f}x, {row['bw_frac']:.2f} of clone")
                    del setup
    saved = maxout_saved_rows(args, device) if "maxout" in args.ops else []
    rrelu_saved = rrelu_saved_rows(args, device) if "rrelu" in args.ops else []

    text = header(args, device) + "\n\n" + markdown_table(rows, device) + "\n"
    if saved:
        text += ("\nMaxout bytes saved for backward (sum of numel x element size of the "
                 "tensors packed by saved_tensors_hooks, at the largest size):\n\n"
                 + saved_table(saved) + "\n")
    if rrelu_saved:
        text += ("\nRReLU (training mode) bytes saved for backward, against torch's "
                 "F.rrelu (its input and a noise tensor of the input's size):\n\n"
                 + saved_table(rrelu_saved, "torch", 1 / 2) + "\n")
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
        log(f"tables written to {args.markdown}")
    if args.plot:
        plot(rows, args.plot, device)
    log(f"done in {timeit.default_timer() - start:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
