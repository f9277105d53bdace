"""What autograd keeps for the backward: ours against torch's, per op and for a model.

The ops that save a packed mask instead of their input (docs/semantics.md,
"What the backward saves"): bytes saved (summed over the tensors packed by
torch.autograd.graph.saved_tensors_hooks, for an input made by another op as
in a network) and the forward and forward+backward times, ours against
torch's twin side by side. Then whole models: the bytes one training step
keeps for its backward (each storage once, however many ops save it) with
torch.nn's activations and with rectifiers.convert's.

    python benchmarks/bench_saved.py [--numel N] [--threads T] [--repeats R]
"""

import argparse
import statistics
import timeit

import torch
import torch.nn.functional as F

import rectifiers
from bench import saved_bytes
from rectifiers import functional as RF

# (name, ours, torch's, target of ours / torch's saved bytes in float32)
OPS = [
    ("leaky_relu(0.2)", lambda t: RF.leaky_relu(t, 0.2), lambda t: F.leaky_relu(t, 0.2), 1 / 16),
    ("relu6", RF.relu6, F.relu6, 1 / 16),
    ("abs_rectifier", RF.abs_rectifier, torch.abs, 1 / 8),
    # torch's training rrelu saves the input and a tensor of slopes
    ("rrelu (training)", lambda t: RF.rrelu(t, training=True), lambda t: F.rrelu(t, training=True),
     1 / 32),
]


def median_time(fn, repeats):
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    return statistics.median(t / number for t in timer.repeat(repeats, number))


def op_rows(numel, repeats):
    rows = []
    for dtype in (torch.float32, torch.bfloat16):
        x = torch.randn(numel, dtype=dtype).requires_grad_()
        g = torch.randn(numel, dtype=dtype)
        for name, ours, native, target in OPS:
            saved = [saved_bytes(lambda: f(x * 1)) for f in (ours, native)]
            times = {}
            for which, f in (("ours", ours), ("native", native)):
                h = (x * 1).detach().requires_grad_()
                for _ in range(5):  # the first calls page in memory and start threads
                    torch.autograd.grad(f(h), h, g)
                times[which, "fwd"] = median_time(lambda: f(h), repeats)
                times[which, "fwd+bwd"] = median_time(
                    lambda: torch.autograd.grad(f(h), h, g), repeats)
            rows.append({
                "op": name, "dtype": str(dtype).replace("torch.", ""), "numel": numel,
                "ours": saved[0], "native": saved[1],
                "target": target * (2 if dtype == torch.bfloat16 else 1),
                "fwd": times["native", "fwd"] / times["ours", "fwd"],
                "fwd+bwd": times["native", "fwd+bwd"] / times["ours", "fwd+bwd"],
            })
    return rows


class LeakyConvNet(torch.nn.Module):
    """A GAN discriminator's body: conv -> BatchNorm -> LeakyReLU(0.2), out of place."""

    def __init__(self, channels=(3, 32, 64, 128)):
        super().__init__()
        layers = []
        for cin, cout in zip(channels, channels[1:]):
            layers += [torch.nn.Conv2d(cin, cout, 4, 2, 1, bias=False), torch.nn.BatchNorm2d(cout),
                       torch.nn.LeakyReLU(0.2)]
        self.body = torch.nn.Sequential(*layers)
        self.head = torch.nn.Conv2d(channels[-1], 1, 4)

    def forward(self, x):
        return self.head(self.body(x))


def rrelu_mlp(width=1024, depth=4):
    layers = [torch.nn.Flatten()]
    for cin in [3 * 32 * 32] + [width] * (depth - 1):
        layers += [torch.nn.Linear(cin, width), torch.nn.RReLU()]
    return torch.nn.Sequential(*layers, torch.nn.Linear(width, 10))


def mobilenet_v2():
    import torchvision

    return torchvision.models.mobilenet_v2(num_classes=10)  # ReLU6(inplace=True)


def stored_bytes(fn):
    """The bytes of the distinct storages autograd keeps for fn's backward: a
    tensor saved by two ops (a conv's input that is an in-place activation's
    result) counts once, as it takes memory once."""
    kept = {}

    def pack(t):
        kept[t.untyped_storage().data_ptr()] = t  # alive until the end, so no address is reused
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(t.untyped_storage().nbytes() for t in kept.values())


def model_rows():
    rows = []
    for name, make, shape in [("LeakyReLU conv net (8x3x64x64)", LeakyConvNet, (8, 3, 64, 64)),
                              ("mobilenet_v2, in-place ReLU6 (8x3x64x64)", mobilenet_v2,
                               (8, 3, 64, 64)),
                              ("RReLU MLP, 4 x 1024 (64x3x32x32)", rrelu_mlp, (64, 3, 32, 32))]:
        torch.manual_seed(0)
        native = make().train()
        ours = rectifiers.convert(make()).train()
        ours.load_state_dict(native.state_dict())
        x = torch.randn(shape)
        saved = [stored_bytes(lambda: m(x).sum()) for m in (ours, native)]
        rows.append({"model": name, "ours": saved[0], "native": saved[1]})
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--numel", type=int, default=1 << 20)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=15)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# saved for backward: torch {torch.__version__}, {args.threads} thread(s), "
          f"median of {args.repeats}\n")
    print("| op | dtype | size | ours saved | torch saved | ours / torch | target | "
          "fwd native/ours | fwd+bwd native/ours |")
    print("|---|---|--:|--:|--:|--:|---|--:|--:|")
    for r in op_rows(args.numel, args.repeats):
        frac = r["ours"] / r["native"]
        met = "met" if frac <= r["target"] else "MISSED"
        print(f"| {r['op']} | {r['dtype']} | {r['numel']:,} | {r['ours']:,} B | {r['native']:,} B | "
              f"1/{1 / frac:.0f} | <= 1/{1 / r['target']:.0f}: {met} | {r['fwd']:.2f}x | "
              f"{r['fwd+bwd']:.2f}x |")
    print("\n| model | ours saved | torch saved | ours / torch |")
    print("|---|--:|--:|--:|")
    for r in model_rows():
        print(f"| {r['model']} | {r['ours']:,} B | {r['native']:,} B | {r['ours'] / r['native']:.3f} |")


if __name__ == "__main__":
    main()
