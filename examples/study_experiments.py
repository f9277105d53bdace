"""The activation study's experiments: one per question of the chapter that the
main study (examples/activation_study.py) leaves open. Run them through it:

    python examples/activation_study.py --experiment NAME [--quick] [--seeds S] [--out DIR] [--no-progress]
    python examples/activation_study.py --experiment all          # the eight, one after another

NAME is one of (or a comma-separated list of):
  gradients       gradient norm per layer against depth in a 20-layer MLP, per
                  activation, at three weight scales: vanishing, stable, exploding
  sparsity        exact zeros and dead units against accuracy, ReLU with an L1
                  penalty on its activations against non-sparse activations
  kink            how often ReLU's input is exactly 0 in float32, bfloat16 and
                  float16 training, and whether the derivative chosen at 0 matters
  bias            hidden biases started at torch's default, 0, 0.01, 0.1 and 1.0
  polarity        the absolute-value rectifier against ReLU on polarity-inverted
                  digits, in the first layer only or in every layer
  convex          one maxout unit (1 input, k pieces) fitting convex functions
                  and a non-convex one, error against k
  forgetting      digits, then pixel-permuted digits: accuracy on the first task
                  while training on the second, maxout / ReLU / Leaky ReLU, with
                  and without dropout
  regularisation  maxout (k = 2, 4) against ReLU with 100, 300 and all training
                  images, without regularisation, with dropout, with weight decay

Data: scikit-learn's digits (bundled) with the study's fixed split, and
synthetic functions; nothing is downloaded. Every run starts from
torch.manual_seed(seed) and draws its batches from a generator with the same
seed, so a rerun with the same --threads gives the same numbers. Each
experiment writes <out>/<NAME>.md (its table), <NAME>.json (the table's rows,
every run, the configuration, the wall and CPU time) and <NAME>.png.
--quick shrinks the steps (and --seeds defaults to 1) but keeps every row, so
the CI test sees the full tables; its numbers mean nothing.
docs/activation-study.md has what each experiment found in a full run.
"""

import json
import math
import os
import statistics
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F

from rectifiers import diagnostics
from rectifiers import nn as rnn

import activation_study as study

NAMES = ["gradients", "sparsity", "kink", "bias", "polarity", "convex", "forgetting",
         "regularisation"]
BATCH = 32
LABELS = dict(study.LABELS, maxout="maxout", softplus="softplus")
COLORS = dict(study.COLORS, softplus="tab:olive")


# ----------------------------------------------------------------------------- shared

_DIGITS = None


def digits(seed):
    """The study's split (the permutation of activation_study.load_data) with
    raw pixels in [0, 1]: a blank pixel is exactly 0. (N, 1, 8, 8)."""
    global _DIGITS
    if _DIGITS is None:
        from sklearn.datasets import load_digits

        d = load_digits()
        _DIGITS = (torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0,
                   torch.tensor(d.target, dtype=torch.long))
    images, labels = _DIGITS
    perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    n_test = len(labels) // 4
    test, train = perm[:n_test], perm[n_test:]
    return images[train], labels[train], images[test], labels[test]


def standardised(seed):
    """As activation_study.load_data: standardised with the training set's
    mean and standard deviation."""
    x_train, y_train, x_test, y_test = digits(seed)
    mean, std = x_train.mean(), x_train.std()
    return (x_train - mean) / std, y_train, (x_test - mean) / std, y_test


def activation(act, features):
    if act == "softplus":
        return nn.Softplus()
    return study.make_activation(act, features)


def mlp(act, widths, k=2, dropout=0.0, input_dropout=0.0, bias_init=None, he_init=False):
    """Flatten, then per hidden width Linear + activation (or MaxoutLinear with
    k pieces), each followed by dropout if asked, then Linear to 10 classes.
    he_init: hidden weights normal with std sqrt(2 / fan_in) instead of
    torch's default."""
    layers = [nn.Flatten()]
    if input_dropout:
        layers.append(nn.Dropout(input_dropout))
    fan_in = 64
    for width in widths:
        if act == "maxout":
            affine = rnn.MaxoutLinear(fan_in, width, k)
            layers.append(affine)
        else:
            affine = nn.Linear(fan_in, width)
            layers += [affine, activation(act, width)]
        if he_init:
            nn.init.kaiming_normal_(affine.weight, nonlinearity="relu")
        if bias_init is not None:
            with torch.no_grad():
                affine.bias.fill_(bias_init)
        if dropout:
            layers.append(nn.Dropout(dropout))
        fan_in = width
    layers.append(nn.Linear(fan_in, 10))
    return nn.Sequential(*layers)


def batches(n, gen, batch=BATCH):
    """Endless minibatch indices: a fresh permutation per epoch, the last
    partial batch dropped (unless the set is smaller than one batch)."""
    per_epoch = max(1, n // batch)
    while True:
        perm = torch.randperm(n, generator=gen)
        for b in range(per_epoch):
            yield perm[b * batch:(b + 1) * batch]


def fit(model, optimizer, x, y, steps, gen, batch=BATCH, every=0, callback=None, extra_loss=None):
    """steps minibatch steps of cross-entropy (plus extra_loss()); callback(step)
    every `every` steps. The logits are cast to float32 for the loss."""
    model.train()
    for step, idx in enumerate(batches(len(y), gen, batch), start=1):
        loss = F.cross_entropy(model(x[idx]).float(), y[idx])
        if extra_loss is not None:
            loss = loss + extra_loss()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if every and callback is not None and step % every == 0:
            callback(step)
        if step >= steps:
            break


@torch.no_grad()
def evaluate(model, x, y):
    """(mean cross-entropy, accuracy) in eval mode."""
    was_training = model.training
    model.eval()
    logits = model(x).float()
    model.train(was_training)
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


def steps_per_epoch(n, batch=BATCH):
    return max(1, n // batch)


def spread(values, fmt="{:.1%}"):
    """mean (min-max), or the value alone for one seed; '-' if none is finite."""
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return "-"
    mean = statistics.fmean(values)
    if len(values) == 1:
        return fmt.format(mean)
    return f"{fmt.format(mean)} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def geomean(values):
    values = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    return math.exp(statistics.fmean(math.log(v) for v in values)) if values else float("nan")


def table(header, rows):
    def cells(row):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |"

    return "\n".join([cells(header), "|" + "|".join("---" for _ in header) + "|"] + [cells(r) for r in rows])


class Context:
    """What every experiment gets: the options and a progress bar."""

    def __init__(self, args, name):
        self.quick = args.quick
        self.seeds = [args.seed + i for i in range(args.seeds if args.seeds is not None
                                                    else (1 if args.quick else 3))]
        self.split_seed = args.seed
        self.no_progress = args.no_progress
        self.name = name
        self._bar = None

    def progress(self, total):
        from tqdm import tqdm

        self._bar = tqdm(total=total, desc=self.name, unit="run", file=sys.stderr,
                         disable=self.no_progress, dynamic_ncols=True)
        return self._bar

    def tick(self, note=""):
        if self._bar is not None:
            self._bar.set_postfix_str(note, refresh=False)
            self._bar.update(1)

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(plt, fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


# ----------------------------------------------------------------------------- gradients

GRAD_ACTS = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu"]
GRAD_DEPTH, GRAD_WIDTH = 20, 64
# The weight scale each activation's literature recommends, as the gain in
# std = gain / sqrt(fan_in): Glorot's for sigmoid and tanh (gain 1 on square
# layers), He's for the ReLU family, LeCun's for SELU.
GRAD_GAIN = {"sigmoid": 1.0, "tanh": 1.0, "relu": math.sqrt(2.0),
             "leaky_relu": math.sqrt(2.0 / (1 + study.LEAKY_SLOPE ** 2)), "elu": math.sqrt(2.0),
             "selu": 1.0}
GRAD_INITS = ["default", "recommended", "doubled"]
GRAD_INIT_TITLES = {
    "default": "torch's default init (std = 1/sqrt(3 fan_in), biases U(+-1/sqrt(fan_in)))",
    "recommended": "recommended init (Glorot / He / LeCun std, biases 0)",
    "doubled": "twice the recommended std (biases 0)",
}


def _grad_model(act, init):
    layers, linears, fan_in = [nn.Flatten()], [], 64
    for _ in range(GRAD_DEPTH):
        linear = nn.Linear(fan_in, GRAD_WIDTH)
        if init != "default":
            std = GRAD_GAIN[act] / math.sqrt(fan_in) * (2.0 if init == "doubled" else 1.0)
            nn.init.normal_(linear.weight, 0.0, std)
            nn.init.zeros_(linear.bias)
        linears.append(linear)
        layers += [linear, activation(act, GRAD_WIDTH)]
        fan_in = GRAD_WIDTH
    layers.append(nn.Linear(fan_in, 10))
    return nn.Sequential(*layers), linears


def _grad_norms(model, linears, x, y):
    """Per hidden layer, the norm of dL/dz (z: the layer's pre-activation, over
    the whole batch) and of dL/dW. Tensor hooks of its own: tanh and sigmoid
    are outside what rectifiers.diagnostics tracks."""
    outputs = []

    def keep(module, inputs, output):
        output.retain_grad()
        outputs.append(output)

    handles = [linear.register_forward_hook(keep) for linear in linears]
    try:
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
    finally:
        for h in handles:
            h.remove()
    z = [o.grad.norm().item() for o in outputs]
    w = [linear.weight.grad.norm().item() for linear in linears]
    model.zero_grad(set_to_none=True)
    return z, w


def exp_gradients(ctx):
    x_train, y_train, x_test, y_test = standardised(ctx.split_seed)
    xb, yb = x_train[:256], y_train[:256]  # a fixed batch for every measurement
    steps = 4 if ctx.quick else steps_per_epoch(len(y_train))
    runs = []
    ctx.progress(len(GRAD_INITS) * len(GRAD_ACTS) * len(ctx.seeds))
    for init in GRAD_INITS:
        for act in GRAD_ACTS:
            for seed in ctx.seeds:
                torch.manual_seed(seed)
                model, linears = _grad_model(act, init)
                z0, w0 = _grad_norms(model, linears, xb, yb)
                opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
                fit(model, opt, x_train, y_train, steps, torch.Generator().manual_seed(seed))
                z1, w1 = _grad_norms(model, linears, xb, yb)
                loss, acc = evaluate(model, x_test, y_test)
                runs.append(dict(init=init, activation=act, seed=seed, grad_z_init=z0, grad_w_init=w0,
                                 grad_z_after=z1, grad_w_after=w1, test_loss=loss, test_accuracy=acc,
                                 steps=steps))
                ctx.tick(f"{init} {act}")
    ctx.close()

    rows, lines = [], []
    for init in GRAD_INITS:
        for act in GRAD_ACTS:
            rs = [r for r in runs if r["init"] == init and r["activation"] == act]
            ratio0 = [r["grad_z_init"][0] / r["grad_z_init"][-1] for r in rs]
            ratio1 = [r["grad_z_after"][0] / r["grad_z_after"][-1] for r in rs]
            nan_after = sum(not all(map(math.isfinite, r["grad_z_after"])) for r in rs)
            row = dict(init=init, activation=act,
                       last_init=geomean([r["grad_z_init"][-1] for r in rs]),
                       first_init=geomean([r["grad_z_init"][0] for r in rs]),
                       ratio_init=geomean(ratio0), ratio_init_min=min(ratio0), ratio_init_max=max(ratio0),
                       per_layer_init=geomean(ratio0) ** (1 / (GRAD_DEPTH - 1)),
                       ratio_after=geomean(ratio1), nan_after=nan_after,
                       acc=[r["test_accuracy"] for r in rs])
            rows.append(row)
            after = "NaN (diverged)" if nan_after == len(rs) else f"{row['ratio_after']:.2g}"
            if 0 < nan_after < len(rs):
                after += f" ({nan_after}/{len(rs)} diverged)"
            span = (f"{row['ratio_init']:.2g}" + (f" ({row['ratio_init_min']:.2g}-{row['ratio_init_max']:.2g})"
                                                   if len(rs) > 1 else ""))
            lines.append([init, LABELS[act], f"{row['last_init']:.2g}", f"{row['first_init']:.2g}",
                          span, f"{row['per_layer_init']:.2f}", after, spread(row["acc"])])
    md = table(["init", "activation", "‖dL/dz‖ layer 20 at init", "‖dL/dz‖ layer 1 at init",
                "layer 1 / layer 20 at init: geometric mean (min-max)", "factor per layer",
                f"layer 1 / layer 20 after {steps} steps", f"test acc after {steps} steps"], lines)

    def plot(path):
        plt = _pyplot()
        fig, axes = plt.subplots(2, 3, figsize=(15, 8.5), sharey="row")
        layers = list(range(1, GRAD_DEPTH + 1))
        for col, init in enumerate(GRAD_INITS):
            for row_i, key in enumerate(("grad_z_init", "grad_z_after")):
                ax = axes[row_i][col]
                for act in GRAD_ACTS:
                    rs = [r for r in runs if r["init"] == init and r["activation"] == act]
                    ys = [geomean([r[key][i] for r in rs]) for i in range(GRAD_DEPTH)]
                    ax.plot(layers, ys, marker=".", color=COLORS[act], label=LABELS[act], lw=1.5,
                            ls="--" if act == "leaky_relu" else "-")
                diverged = [LABELS[a] for a in GRAD_ACTS
                            if all(not all(map(math.isfinite, r[key])) for r in runs
                                   if r["init"] == init and r["activation"] == a)]
                if diverged:
                    ax.text(0.03, 0.03, "diverged (NaN): " + ", ".join(diverged), transform=ax.transAxes,
                            fontsize=8, color="tab:red")
                ax.set_yscale("log")
                ax.set_xticks([1, 5, 10, 15, 20])
                ax.grid(True, alpha=0.3)
                when = "at initialisation" if row_i == 0 else f"after {steps} SGD steps"
                ax.set_title(f"{GRAD_INIT_TITLES[init]}\n{when}", fontsize=9)
                ax.set_xlabel("hidden layer (1 = next to the input)")
                if col == 0:
                    ax.set_ylabel("‖dL/dz‖ at the layer (log)")
        axes[0][0].legend(fontsize=8)
        fig.suptitle(f"Gradient against depth: {GRAD_DEPTH} hidden layers of {GRAD_WIDTH}, 8x8 digits, "
                     f"a fixed batch of 256 (geometric mean of {len(ctx.seeds)} seed(s); missing "
                     "points: NaN)", fontsize=11)
        _save(plt, fig, path)

    problems = [f"{r['init']}/{r['activation']} seed {r['seed']}: non-finite gradient at init"
                for r in runs if not all(map(math.isfinite, r["grad_z_init"]))]
    config = dict(depth=GRAD_DEPTH, width=GRAD_WIDTH, gains=GRAD_GAIN, optimizer="SGD momentum 0.9, lr 0.01",
                  steps=steps, measure_batch=256)
    return dict(title="Gradient norm against depth", table=md, rows=rows, runs=runs, plot=plot,
                problems=problems, config=config)


# ----------------------------------------------------------------------------- sparsity

# (activation, L1 penalty on the hidden activations: lambda * mean |h|)
SPARSITY_ROWS = [("relu", 0.0), ("relu", 0.1), ("relu", 0.3), ("relu", 1.0),
                 ("leaky_relu", 0.0), ("leaky_relu", 0.3), ("softplus", 0.0), ("tanh", 0.0)]
SPARSITY_WIDTHS = (128, 128)


def _activity(model, x):
    """With rectifiers.diagnostics over one pass on x (eval mode): exact-zero
    fraction, dead units, units and each unit's fraction of examples with a
    positive output; None for a model it does not track (softplus, tanh)."""
    try:
        tracker = diagnostics.track(model)
    except ValueError:
        return None
    model.eval()
    with tracker, torch.no_grad():
        model(x)
    model.train()
    sparsity, dead, active = tracker.sparsity(), tracker.dead_units(), tracker.active_examples()
    elements = {name: layer.elements for name, layer in tracker.layers.items()}
    zeros = sum(sparsity[n] * elements[n] for n in elements)
    return dict(zero_fraction=zeros / sum(elements.values()),
                dead=sum(len(d) for d in dead.values()),
                units=sum(a.numel() for a in active.values()),
                # exact zeros that dead units account for (a dead ReLU unit is 0 on every example)
                zeros_from_dead=(sum(len(dead[n]) * len(x) for n in dead) / zeros) if zeros else None,
                active_fraction=torch.cat([a for a in active.values()]).float().div(len(x)).tolist())


def exp_sparsity(ctx):
    x_train, y_train, x_test, y_test = standardised(ctx.split_seed)
    epochs = 6
    steps = 6 if ctx.quick else epochs * steps_per_epoch(len(y_train))
    runs = []
    ctx.progress(len(SPARSITY_ROWS) * len(ctx.seeds))
    for act, lam in SPARSITY_ROWS:
        for seed in ctx.seeds:
            torch.manual_seed(seed)
            model = mlp(act, SPARSITY_WIDTHS)
            acts = [m for m in model if not isinstance(m, (nn.Linear, nn.Flatten))]
            outputs = []
            hooks = [m.register_forward_hook(lambda m_, i, o: outputs.append(o)) for m in acts] if lam else []

            def penalty():
                p = lam * torch.stack([o.abs().mean() for o in outputs]).mean()
                outputs.clear()
                return p

            at_init = _activity(model, x_train)
            outputs.clear()
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            fit(model, opt, x_train, y_train, steps, torch.Generator().manual_seed(seed),
                extra_loss=penalty if lam else None)
            for h in hooks:
                h.remove()
            after = _activity(model, x_train)
            train_loss, train_acc = evaluate(model, x_train, y_train)
            test_loss, test_acc = evaluate(model, x_test, y_test)
            runs.append(dict(activation=act, l1=lam, seed=seed, at_init=at_init, after=after,
                             train_accuracy=train_acc, test_accuracy=test_acc, test_loss=test_loss))
            ctx.tick(f"{act} l1 {lam:g}")
    ctx.close()

    rows, lines = [], []
    for act, lam in SPARSITY_ROWS:
        rs = [r for r in runs if r["activation"] == act and r["l1"] == lam]
        tracked = rs[0]["after"] is not None
        row = dict(activation=act, l1=lam, tracked=tracked, acc=[r["test_accuracy"] for r in rs],
                   train_acc=[r["train_accuracy"] for r in rs])
        if tracked:
            row.update(zeros=[r["after"]["zero_fraction"] for r in rs],
                       zeros_init=[r["at_init"]["zero_fraction"] for r in rs],
                       dead=[r["after"]["dead"] / r["after"]["units"] for r in rs],
                       from_dead=[r["after"]["zeros_from_dead"] or 0.0 for r in rs],
                       # live units' median share of examples they fire on
                       live_median=[statistics.median([a for a in r["after"]["active_fraction"] if a > 0] or [0])
                                    for r in rs])
        rows.append(row)
        dash = "- (never exactly 0)" if not tracked else None
        lines.append([LABELS[act], f"{lam:g}", spread(row["acc"]), spread(row["train_acc"]),
                      dash or spread(row["zeros"]), dash or spread(row["zeros_init"]),
                      "-" if not tracked else spread(row["dead"]),
                      "-" if not tracked or not any(row["zeros"]) else spread(row["from_dead"]),
                      "-" if not tracked else spread(row["live_median"], "{:.0%}")])
    md = table(["activation", "L1 penalty λ", "test acc: mean (min-max)", "train acc",
                "exact zeros after training", "exact zeros at init",
                "units positive on no example (ReLU: dead; Leaky ReLU: on the left side, still learning)",
                "share of the zeros that dead units make", "live units: median share of examples they fire on"],
               lines)

    def plot(path):
        plt = _pyplot()
        fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
        ax = axes[0]
        relu = [r for r in rows if r["activation"] == "relu"]
        xs = [100 * statistics.fmean(r["zeros"]) for r in relu]
        ys = [100 * statistics.fmean(r["acc"]) for r in relu]
        errs = [[ys[i] - 100 * min(r["acc"]) for i, r in enumerate(relu)],
                [100 * max(r["acc"]) - ys[i] for i, r in enumerate(relu)]]
        ax.errorbar(xs, ys, yerr=errs, color=COLORS["relu"], marker="o", capsize=3, label="ReLU, L1 λ sweep")
        for x_, y_, r in zip(xs, ys, relu):
            ax.annotate(f"λ={r['l1']:g}", (x_, y_), textcoords="offset points", xytext=(4, 4), fontsize=8)
        for r in rows:
            if r["activation"] == "relu":
                continue
            x_ = 100 * statistics.fmean(r["zeros"]) if r["tracked"] else 0.0
            ax.scatter([x_], [100 * statistics.fmean(r["acc"])], color=COLORS[r["activation"]],
                       marker="s" if r["l1"] else "D", zorder=3,
                       label=f"{LABELS[r['activation']]}" + (f", λ={r['l1']:g}" if r["l1"] else ""))
        ax.set_xlabel("hidden outputs exactly 0 on the training set (%)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title("accuracy against sparsity (mean, min-max over seeds)", fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")

        ax = axes[1]
        # a bin of its own for exactly 0 (the dead units)
        bins = [-0.05, 1e-9] + [i / 20 for i in range(1, 21)]
        for lam, color in ((0.0, "tab:blue"), (SPARSITY_ROWS[3][1], "tab:red")):
            vals = [a for r in runs if r["activation"] == "relu" and r["l1"] == lam
                    for a in r["after"]["active_fraction"]]
            ax.hist(vals, bins=bins, color=color, alpha=0.5, label=f"ReLU, λ={lam:g}")
        ax.set_yscale("log")
        ax.annotate("dead", (-0.025, 1.2), ha="center", fontsize=8)
        ax.set_xlabel("fraction of training examples on which the unit's output is > 0")
        ax.set_ylabel("hidden units (all seeds)")
        ax.set_title("per unit: sparse (left, > 0) is not dead (the bar at 0)", fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3)

        ax = axes[2]
        labels = [f"λ={r['l1']:g}" for r in relu]
        live = [100 * statistics.fmean(z * (1 - d) for z, d in zip(r["zeros"], r["from_dead"])) for r in relu]
        dead = [100 * statistics.fmean(z * d for z, d in zip(r["zeros"], r["from_dead"])) for r in relu]
        ax.bar(labels, live, color="tab:blue", label="zeros of live units (sparsity)")
        ax.bar(labels, dead, bottom=live, color="tab:gray", label="zeros of dead units (dying)")
        ax.set_ylabel("hidden outputs exactly 0 (%)")
        ax.set_title("ReLU: where the exact zeros come from", fontsize=10)
        ax.set_ylim(0, 100)
        ax.legend(fontsize=8, loc="upper left")
        ax.grid(True, axis="y", alpha=0.3)
        fig.suptitle(f"Sparse activation: MLP 64-128-128-10 on 8x8 digits, Adam, {steps} steps, "
                     f"{len(ctx.seeds)} seed(s)", fontsize=11)
        _save(plt, fig, path)

    problems = [f"{r['activation']} l1 {r['l1']} seed {r['seed']}: test loss not finite"
                for r in runs if not math.isfinite(r["test_loss"])]
    config = dict(widths=SPARSITY_WIDTHS, optimizer="Adam lr 0.001", steps=steps,
                  penalty="lambda * mean over hidden layers of mean |h|")
    return dict(title="Sparse activation", table=md, rows=rows, runs=runs, plot=plot, problems=problems,
                config=config)


# ----------------------------------------------------------------------------- kink

class ReLUOneAtZero(nn.Module):
    """max(0, z) whose derivative at z = 0 is 1 (this project's ReLU uses 0)."""

    def forward(self, z):
        return torch.where(z >= 0, z, torch.zeros_like(z))


KINK_SETTINGS = [
    dict(name="mlp", title="MLP 64-128-128-10, standardised pixels, torch's default init",
         short="mlp: MLP,\nstandardised pixels"),
    dict(name="cnn-nobias", title="CNN, raw pixels (blank = 0), conv layers without bias",
         short="cnn-nobias: CNN, raw pixels\n(blank = 0), no conv bias"),
    dict(name="cnn-bias0", title="CNN, raw pixels (blank = 0), conv biases started at 0",
         short="cnn-bias0: CNN, raw pixels,\nconv biases started at 0"),
]
KINK_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _kink_model(setting, one_at_zero):
    relu = ReLUOneAtZero if one_at_zero else rnn.ReLU
    if setting == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), relu(), nn.Linear(128, 128), relu(),
                             nn.Linear(128, 10))
    bias = setting != "cnn-nobias"
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=bias), relu(),
                          nn.Conv2d(8, 16, 3, padding=1, bias=bias), relu(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 10))
    if bias:
        with torch.no_grad():
            model[0].bias.zero_()
            model[2].bias.zero_()
    return model


def exp_kink(ctx):
    std = standardised(ctx.split_seed)
    raw = digits(ctx.split_seed)
    steps = 3 if ctx.quick else steps_per_epoch(len(std[1]))
    runs = []
    ctx.progress(len(KINK_SETTINGS) * len(KINK_DTYPES) * 2 * len(ctx.seeds))
    for setting in KINK_SETTINGS:
        x_train, y_train, x_test, y_test = std if setting["name"] == "mlp" else raw
        for dname, dtype in KINK_DTYPES.items():
            for seed in ctx.seeds:
                finals = []
                for one_at_zero in (False, True):
                    torch.manual_seed(seed)
                    model = _kink_model(setting["name"], one_at_zero).to(dtype)
                    relus = [m for m in model if isinstance(m, (rnn.ReLU, ReLUOneAtZero))]
                    counts = dict(zeros=[], seen=0, subnormal=torch.zeros((), dtype=torch.long),
                                  smallest=torch.tensor(math.inf))
                    tiny = torch.finfo(dtype).tiny

                    def count(module, inputs):
                        # ReLU's input, the pre-activation z: exact zeros, and the
                        # nonzero values nearest to 0 that rounding produced
                        z = inputs[0].detach()
                        if module.training:
                            counts["zeros"].append(torch.count_nonzero(z == 0))
                            counts["seen"] += z.numel()
                            a = z.abs().float()
                            counts["subnormal"] += torch.count_nonzero((a > 0) & (a < tiny))
                            counts["smallest"] = torch.minimum(
                                counts["smallest"], a.masked_fill(a == 0, math.inf).min())

                    hooks = [m.register_forward_pre_hook(count) for m in relus]
                    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
                    fit(model, opt, x_train.to(dtype), y_train, steps, torch.Generator().manual_seed(seed))
                    for h in hooks:
                        h.remove()
                    loss, acc = evaluate(model, x_test.to(dtype), y_test)
                    per_step = [int(z) for z in torch.stack(counts["zeros"]).view(steps, -1).sum(1)]
                    finals.append([p.detach().clone() for p in model.parameters()])
                    runs.append(dict(setting=setting["name"], dtype=dname, seed=seed,
                                     derivative_at_0=1 if one_at_zero else 0,
                                     preactivations=counts["seen"], zeros=sum(per_step),
                                     zeros_per_step=per_step, subnormal=int(counts["subnormal"]),
                                     smallest_nonzero=float(counts["smallest"]),
                                     test_accuracy=acc, test_loss=loss))
                    ctx.tick(f"{setting['name']} {dname}")
                same = all(torch.equal(a, b) for a, b in zip(*finals))
                runs[-1]["same_weights_as_derivative_0"] = same
                runs[-2]["same_weights_as_derivative_1"] = same
    ctx.close()

    rows, lines = [], []
    for setting in KINK_SETTINGS:
        for dname, dtype in KINK_DTYPES.items():
            rs0 = [r for r in runs if r["setting"] == setting["name"] and r["dtype"] == dname
                   and r["derivative_at_0"] == 0]
            rs1 = [r for r in runs if r["setting"] == setting["name"] and r["dtype"] == dname
                   and r["derivative_at_0"] == 1]
            seen = sum(r["preactivations"] for r in rs0)
            zeros = sum(r["zeros"] for r in rs0)
            per_step0 = sum(r["zeros_per_step"][0] for r in rs0)
            seen_step0 = sum(r["preactivations"] / steps for r in rs0)
            same = sum(r["same_weights_as_derivative_1"] for r in rs0)
            row = dict(setting=setting["name"], dtype=dname, preactivations=seen, zeros=zeros,
                       zero_fraction=zeros / seen, first_step_zero_fraction=per_step0 / seen_step0,
                       later_zeros=zeros - per_step0, subnormal=sum(r["subnormal"] for r in rs0),
                       smallest_nonzero=min(r["smallest_nonzero"] for r in rs0),
                       smallest_subnormal=torch.finfo(dtype).smallest_normal * torch.finfo(dtype).eps,
                       identical=same, seeds=len(rs0),
                       acc0=[r["test_accuracy"] for r in rs0], acc1=[r["test_accuracy"] for r in rs1])
            rows.append(row)
            lines.append([setting["name"], dname, f"{seen:,}", f"{zeros:,} ({zeros / seen:.3%})",
                          f"{row['first_step_zero_fraction']:.2%}", f"{row['later_zeros']:,}",
                          f"{row['smallest_nonzero']:.2g}", f"{row['subnormal']:,}",
                          f"{same}/{len(rs0)}", spread(row["acc0"]), spread(row["acc1"])])
    md = table(["setting", "dtype", "pre-activations seen in training", "exactly 0",
                "exactly 0 in the first step", "exactly 0 after the first step", "smallest nonzero abs(z)",
                "subnormal z", "ReLU'(0) = 0 and = 1 give bitwise the same weights (seeds)",
                "test acc, ReLU'(0) = 0", "test acc, ReLU'(0) = 1"], lines)

    def plot(path):
        plt = _pyplot()
        fig, axes = plt.subplots(1, 3, figsize=(18, 4.8), gridspec_kw=dict(width_ratios=[1.3, 1, 0.8]))
        ax = axes[0]
        names = [s["name"] for s in KINK_SETTINGS]
        width = 0.26
        for i, dname in enumerate(KINK_DTYPES):
            vals = [100 * next(r["zero_fraction"] for r in rows if r["setting"] == n and r["dtype"] == dname)
                    for n in names]
            xs = [j + (i - 1) * width for j in range(len(names))]
            ax.bar(xs, [max(v, 1e-6) for v in vals], width, label=dname)
            for x_, v in zip(xs, vals):
                ax.text(x_, max(v, 1e-6) * 1.3, "none" if v == 0 else f"{v:.2g}%", ha="center", fontsize=7)
        ax.set_yscale("log")
        ax.set_ylim(1e-6, 300)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels([s["short"] for s in KINK_SETTINGS], fontsize=8)
        ax.set_ylabel("ReLU inputs exactly 0 during training (%, log)")
        ax.set_title("How often z is exactly 0 (bars at the floor: never)", fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(True, axis="y", alpha=0.3)
        ax = axes[1]
        for name, color in (("cnn-nobias", "tab:red"), ("cnn-bias0", "tab:blue")):
            rs = [r for r in runs
                  if r["setting"] == name and r["dtype"] == "float32" and r["derivative_at_0"] == 0]
            n_step = rs[0]["preactivations"] / steps
            ys = [100 * statistics.fmean(r["zeros_per_step"][i] for r in rs) / n_step for i in range(steps)]
            ax.plot(range(1, steps + 1), ys, color=color, label=name, lw=1.5, marker=".")
        ax.set_xlabel("training step")
        ax.set_ylabel("ReLU inputs exactly 0 in the step (%)")
        ax.set_title("Per step, float32 (the other dtypes draw the same lines)", fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3)
        ax = axes[2]
        grid = [[next(r["identical"] / r["seeds"] for r in rows if r["setting"] == n and r["dtype"] == d)
                 for d in KINK_DTYPES] for n in names]
        ax.imshow(grid, cmap="RdYlGn", vmin=-0.6, vmax=1.6)
        for i, n in enumerate(names):
            for j, d in enumerate(KINK_DTYPES):
                r = next(r for r in rows if r["setting"] == n and r["dtype"] == d)
                ax.text(j, i, f"{r['identical']}/{r['seeds']}\nidentical", ha="center", va="center", fontsize=9)
        ax.set_xticks(range(len(KINK_DTYPES)))
        ax.set_xticklabels(list(KINK_DTYPES), fontsize=8)
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names, fontsize=8)
        ax.set_title("Trained with ReLU'(0) = 0 and with = 1:\nbitwise the same weights? (seeds)", fontsize=10)
        fig.suptitle(f"The kink: ReLU's input exactly 0 while training in three precisions "
                     f"({steps} SGD steps, {len(ctx.seeds)} seed(s))", fontsize=11)
        _save(plt, fig, path)

    problems = [f"{r['setting']}/{r['dtype']} seed {r['seed']}: test loss not finite"
                for r in runs if not math.isfinite(r["test_loss"])]
    config = dict(settings=KINK_SETTINGS, dtypes=list(KINK_DTYPES), steps=steps,
                  optimizer="SGD momentum 0.9, lr 0.01, in the model's dtype (no master weights)")
    return dict(title="The kink", table=md, rows=rows, runs=runs, plot=plot, problems=problems, config=config)


# ----------------------------------------------------------------------------- bias

BIAS_VALUES = ["default", 0.0, 0.01, 0.1, 1.0]
# within the experiment's few epochs the study's 0.1 is reached by too few runs to compare
BIAS_LOSS = 0.2
# The study's MLP, and a deeper one with torch's default init (its signal
# shrinks layer by layer, so the bias dominates deep down: see the gradients
# experiment) and with He's init (which keeps the signal's scale).
BIAS_MODELS = {"mlp": (128, 128), "deep": (64,) * 8, "deep-he": (64,) * 8}
BIAS_HE_INIT = {"mlp": False, "deep": False, "deep-he": True}


def _bias_label(b):
    return "torch default" if b == "default" else f"{b:g}"


def _layer_activity(model, x):
    """Per hidden layer (diagnostics, one eval pass): dead units and the mean
    fraction of examples on which a unit is positive."""
    model.eval()
    with diagnostics.track(model) as stats, torch.no_grad():
        model(x)
    model.train()
    dead, active = stats.dead_units(), stats.active_examples()
    return dict(dead=[len(d) for d in dead.values()], units=[a.numel() for a in active.values()],
                active=[a.float().mean().item() / len(x) for a in active.values()])


def exp_bias(ctx):
    x_train, y_train, x_test, y_test = standardised(ctx.split_seed)
    epochs = 5
    per_epoch = steps_per_epoch(len(y_train))
    steps = 6 if ctx.quick else epochs * per_epoch
    every = max(1, per_epoch // 3)
    runs = []
    ctx.progress(len(BIAS_MODELS) * len(BIAS_VALUES) * len(ctx.seeds))
    for mname, widths in BIAS_MODELS.items():
        for b in BIAS_VALUES:
            for seed in ctx.seeds:
                torch.manual_seed(seed)
                model = mlp("relu", widths, bias_init=None if b == "default" else b,
                            he_init=BIAS_HE_INIT[mname])
                init = _layer_activity(model, x_train)
                curve = [(0.0, evaluate(model, x_train, y_train)[0])]
                opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
                fit(model, opt, x_train, y_train, steps, torch.Generator().manual_seed(seed), every=every,
                    callback=lambda s: curve.append((s / per_epoch, evaluate(model, x_train, y_train)[0])))
                after = _layer_activity(model, x_train)
                train_loss, train_acc = evaluate(model, x_train, y_train)
                test_loss, test_acc = evaluate(model, x_test, y_test)
                hit = next((e for e, l in curve if l <= BIAS_LOSS), None)
                runs.append(dict(model=mname, bias=b, seed=seed, init=init, after=after, curve=curve,
                                 epochs_to_threshold=hit, train_loss=train_loss, test_accuracy=test_acc,
                                 test_loss=test_loss))
                ctx.tick(f"{mname} b={b}")
    ctx.close()

    rows, lines = [], []
    for mname in BIAS_MODELS:
        for b in BIAS_VALUES:
            rs = [r for r in runs if r["model"] == mname and r["bias"] == b]
            units = sum(rs[0]["init"]["units"])
            hits = [r["epochs_to_threshold"] for r in rs]
            row = dict(model=mname, bias=b, units=units,
                       dead_init=[sum(r["init"]["dead"]) / units for r in rs],
                       dead_after=[sum(r["after"]["dead"]) / units for r in rs],
                       active_init=[statistics.fmean(r["init"]["active"]) for r in rs],
                       active_init_last=[r["init"]["active"][-1] for r in rs],
                       acc=[r["test_accuracy"] for r in rs], train_loss=[r["train_loss"] for r in rs],
                       hits=hits)
            rows.append(row)
            reached = [h for h in hits if h is not None]
            median = statistics.median(h if h is not None else math.inf for h in hits)
            hit = f"not in {steps / per_epoch:.2g}" if not math.isfinite(median) else f"{median:.2f}"
            if 0 < len(reached) < len(hits):
                hit += f" ({len(reached)}/{len(hits)} seeds reached it)"
            lines.append([mname, _bias_label(b), spread(row["active_init"], "{:.0%}"),
                          spread(row["active_init_last"], "{:.0%}"), spread(row["dead_init"]),
                          spread(row["dead_after"]), spread(row["acc"]),
                          spread(row["train_loss"], "{:.3f}"), hit])
    md = table(["model", "hidden bias at init", "active (unit, example) pairs at init",
                "the same, last hidden layer", "dead units at init", "dead units after training",
                "test acc", "final train loss", f"epochs to train loss <= {BIAS_LOSS:g} (median)"],
               lines)

    def plot(path):
        plt = _pyplot()
        fig, axes = plt.subplots(1, 4, figsize=(20, 4.8))
        cmap = plt.get_cmap("viridis")
        colors = {b: cmap(i / (len(BIAS_VALUES) - 1)) for i, b in enumerate(BIAS_VALUES)}
        colors["default"] = "tab:red"
        depth = len(BIAS_MODELS["deep"])
        for ax, mname in zip(axes[:2], ("deep", "deep-he")):
            for b in BIAS_VALUES:
                rs = [r for r in runs if r["model"] == mname and r["bias"] == b]
                ys = [100 * statistics.fmean(r["init"]["active"][i] for r in rs) for i in range(depth)]
                dead = [100 * statistics.fmean(r["init"]["dead"][i] / r["init"]["units"][i] for r in rs)
                        for i in range(depth)]
                ax.plot(range(1, depth + 1), ys, marker="o", color=colors[b], label=f"b = {_bias_label(b)}")
                ax.plot(range(1, depth + 1), dead, marker="x", ls=":", color=colors[b])
            init = "He init" if BIAS_HE_INIT[mname] else "torch's default init"
            ax.set_xlabel(f"hidden layer of the deep MLP (8 x 64, {init})")
            ax.set_ylabel("% at initialisation")
            ax.set_ylim(-2, 102)
            ax.set_title(f"{mname}, at init: examples a unit fires on (solid), dead units (dotted)", fontsize=9)
            ax.legend(fontsize=7)
            ax.grid(True, alpha=0.3)
        ax = axes[2]
        for mname, style in (("deep", ":"), ("deep-he", "-")):
            for b in BIAS_VALUES:
                rs = [r for r in runs if r["model"] == mname and r["bias"] == b]
                n = min(len(r["curve"]) for r in rs)
                xs = [rs[0]["curve"][i][0] for i in range(n)]
                ys = [statistics.fmean(r["curve"][i][1] for r in rs) for i in range(n)]
                ax.plot(xs, ys, style, color=colors[b], lw=1.5,
                        label=f"b = {_bias_label(b)}" if mname == "deep-he" else None)
        ax.axhline(BIAS_LOSS, color="k", ls=":", lw=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss (log)")
        ax.set_title("training loss, deep-he (solid) and deep (dotted), mean of seeds", fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(True, alpha=0.3)
        ax = axes[3]
        width = 0.8 / len(BIAS_MODELS)
        for i, mname in enumerate(BIAS_MODELS):
            rs = [r for r in rows if r["model"] == mname]
            xs = [j + (i - (len(BIAS_MODELS) - 1) / 2) * width for j in range(len(rs))]
            ys = [100 * statistics.fmean(r["acc"]) for r in rs]
            lo = [y - 100 * min(r["acc"]) for y, r in zip(ys, rs)]
            hi = [100 * max(r["acc"]) - y for y, r in zip(ys, rs)]
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2,
                   label=f"{mname}: {len(BIAS_MODELS[mname])} x {BIAS_MODELS[mname][0]}, "
                         + ("He init" if BIAS_HE_INIT[mname] else "torch's default init"))
        ax.set_xticks(range(len(BIAS_VALUES)))
        ax.set_xticklabels([_bias_label(b) for b in BIAS_VALUES])
        ax.set_xlabel("hidden bias at initialisation")
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 135)
        ax.set_yticks(range(0, 101, 20))
        ax.set_title("test accuracy after training (mean, min-max)", fontsize=9)
        ax.legend(fontsize=7, loc="upper center")
        ax.grid(True, axis="y", alpha=0.3)
        fig.suptitle(f"Initial hidden bias of a ReLU MLP on 8x8 digits (SGD momentum 0.9, lr 0.01, "
                     f"{steps / per_epoch:.2g} epochs, {len(ctx.seeds)} seed(s))", fontsize=11)
        _save(plt, fig, path)

    problems = [f"{r['model']} b={r['bias']} seed {r['seed']}: test loss not finite"
                for r in runs if not math.isfinite(r["test_loss"])]
    config = dict(models=BIAS_MODELS, he_init=BIAS_HE_INIT, biases=BIAS_VALUES, loss_threshold=BIAS_LOSS,
                  optimizer="SGD momentum 0.9, lr 0.01", steps=steps)
    return dict(title="Initial bias", table=md, rows=rows, runs=runs, plot=plot, problems=problems,
                config=config)


# ----------------------------------------------------------------------------- polarity

POLARITY_VARIANTS = [
    dict(name="relu", first="relu", rest="relu", first_bias=False, augment=False,
         title="ReLU everywhere"),
    dict(name="abs-first", first="abs", rest="relu", first_bias=False, augment=False,
         title="abs in the first layer, ReLU after"),
    dict(name="abs-all", first="abs", rest="abs", first_bias=False, augment=False,
         title="abs in every layer"),
    dict(name="abs-first-bias", first="abs", rest="relu", first_bias=True, augment=False,
         title="abs in the first layer, which has a bias"),
    dict(name="relu-augmented", first="relu", rest="relu", first_bias=False, augment=True,
         title="ReLU, trained on both polarities"),
]


def per_image(x):
    """Each image minus its mean, over its standard deviation: a polarity
    inversion x -> 1 - x then negates the input (up to rounding)."""
    flat = x.flatten(1)
    return ((flat - flat.mean(1, keepdim=True)) / flat.std(1, keepdim=True)).view_as(x)


def _polarity_model(v):
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=v["first_bias"]), activation(v["first"], 16),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 64), activation(v["rest"], 64),
                         nn.Linear(64, 10))


def exp_polarity(ctx):
    raw_train, y_train, raw_test, y_test = digits(ctx.split_seed)
    x_train, x_test, x_test_inv = per_image(raw_train), per_image(raw_test), per_image(1.0 - raw_test)
    x_aug, y_aug = torch.cat([x_train, per_image(1.0 - raw_train)]), torch.cat([y_train, y_train])
    epochs = 5
    runs = []
    ctx.progress(len(POLARITY_VARIANTS) * len(ctx.seeds))
    for v in POLARITY_VARIANTS:
        x, y = (x_aug, y_aug) if v["augment"] else (x_train, y_train)
        steps = 6 if ctx.quick else epochs * steps_per_epoch(len(y))
        for seed in ctx.seeds:
            torch.manual_seed(seed)
            model = _polarity_model(v)
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            fit(model, opt, x, y, steps, torch.Generator().manual_seed(seed))
            _, acc = evaluate(model, x_test, y_test)
            _, acc_inv = evaluate(model, x_test_inv, y_test)
            model.eval()
            with torch.no_grad():
                gap = (model(x_test) - model(x_test_inv)).abs().max().item()
            runs.append(dict(variant=v["name"], seed=seed, steps=steps, test_accuracy=acc,
                             inverted_accuracy=acc_inv, max_logit_difference=gap))
            ctx.tick(v["name"])
    ctx.close()

    rows, lines = [], []
    for v in POLARITY_VARIANTS:
        rs = [r for r in runs if r["variant"] == v["name"]]
        row = dict(variant=v["name"], acc=[r["test_accuracy"] for r in rs],
                   acc_inv=[r["inverted_accuracy"] for r in rs],
                   logit_gap=max(r["max_logit_difference"] for r in rs), steps=rs[0]["steps"])
        rows.append(row)
        lines.append([v["name"], v["title"], spread(row["acc"]), spread(row["acc_inv"]),
                      f"{row['logit_gap']:.2g}", row["steps"]])
    md = table(["variant", "model", "test acc", "test acc, polarity inverted",
                "largest logit difference, image against inverted image", "training steps"], lines)

    def plot(path):
        plt = _pyplot()
        fig = plt.figure(figsize=(14, 4.8))
        grid = fig.add_gridspec(2, 4, width_ratios=[0.5, 0.5, 3.2, 0.01])
        sample = raw_test[:2]
        for i in range(2):
            for j, (img, name) in enumerate(((sample[i, 0], "digit"), (1.0 - sample[i, 0], "inverted"))):
                ax = fig.add_subplot(grid[i, j])
                ax.imshow(img, cmap="gray", vmin=0, vmax=1)
                ax.set_xticks([])
                ax.set_yticks([])
                if i == 0:
                    ax.set_title(name, fontsize=9)
        ax = fig.add_subplot(grid[:, 2])
        width = 0.38
        for k, (key, label, color) in enumerate((("acc", "test images", "tab:blue"),
                                                  ("acc_inv", "polarity-inverted test images", "tab:orange"))):
            ys = [100 * statistics.fmean(r[key]) for r in rows]
            lo = [y - 100 * min(r[key]) for y, r in zip(ys, rows)]
            hi = [100 * max(r[key]) - y for y, r in zip(ys, rows)]
            xs = [i + (k - 0.5) * width for i in range(len(rows))]
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=3, color=color, label=label)
            for x_, y_ in zip(xs, ys):
                ax.text(x_, 1.5, f"{y_:.0f}%", ha="center", fontsize=8, color="white" if y_ > 8 else "k")
        ax.axhline(10, color="k", ls=":", lw=0.8)
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels([v["title"].replace(", ", ",\n") for v in POLARITY_VARIANTS], fontsize=8)
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 110)
        ax.legend(fontsize=8, loc="upper center", ncol=2)
        ax.grid(True, axis="y", alpha=0.3)
        ax.set_title("trained on ordinary digits only (but the last: both polarities); dotted: chance",
                     fontsize=9)
        fig.suptitle(f"Absolute-value rectification and polarity: a small CNN on 8x8 digits, each image "
                     f"normalised by its own mean and std ({len(ctx.seeds)} seed(s), mean and min-max)",
                     fontsize=11)
        _save(plt, fig, path)

    problems = []
    for r in runs:
        # No bias before |.|: an inverted (negated) image gives the same first
        # layer output up to rounding, so every later layer agrees too.
        if r["variant"] in ("abs-first", "abs-all") and not r["max_logit_difference"] < 1e-3:
            problems.append(f"{r['variant']} seed {r['seed']}: logits differ by "
                            f"{r['max_logit_difference']} on inverted images")
    config = dict(variants=POLARITY_VARIANTS, model="conv3x3 1->16, act, maxpool 2, 256 -> 64, act, 64 -> 10",
                  optimizer="Adam lr 0.001", epochs=epochs, normalisation="per image")
    return dict(title="Absolute-value rectification and polarity", table=md, rows=rows, runs=runs, plot=plot,
                problems=problems, config=config)


# ----------------------------------------------------------------------------- convex

CONVEX_K = [1, 2, 3, 4, 6, 8, 12, 16]
# (name, f, f', convex)
CONVEX_FUNCS = [
    ("x^2", lambda x: x ** 2, lambda x: 2 * x, True),
    ("abs(x)", lambda x: x.abs(), torch.sign, True),
    ("exp(x)", torch.exp, torch.exp, True),
    ("softplus(3x)/3", lambda x: F.softplus(3 * x) / 3, lambda x: torch.sigmoid(3 * x), True),
    ("sin(pi x)", lambda x: torch.sin(math.pi * x), lambda x: math.pi * torch.cos(math.pi * x), False),
]
DIFFERENCE = "sin(pi x), difference of two units"
# sin(pi x) = g - h with g = sin(pi x) + c x^2 and h = c x^2, both convex
# once c >= pi^2 / 2 (sin's second derivative is at least -pi^2)
SIN_SPLIT = math.pi ** 2 / 2
CONVEX_INITS = ["spread", "default"]


def _optimum(fname, k):
    """The best possible max error of k pieces on [-2, 2], where it has a
    closed form: x^2 with k equal pieces, each line shifted down by half the
    chord's error (h^2 / 8, h = 4 / k); |x| is exact from 2 pieces."""
    if fname == "x^2":
        return (4.0 / k) ** 2 / 8
    if fname == "abs(x)":
        return 1.0 if k == 1 else 0.0
    return None


def _tangents(f, df, k, x):
    """A maxout unit built, not learned: the max of f's tangents at k points
    spread over [-2, 2], raised by half its largest gap below f (f convex).
    Its values at x."""
    t = -2 + 4 * (torch.arange(k, dtype=x.dtype) + 0.5) / k
    lines = df(t) * x + (f(t) - df(t) * t)                 # [points, k]
    below = lines.amax(1)
    return below + (f(x[:, 0]) - below).max() / 2


def _spread_pieces(layer, k, gen):
    """Every piece the max somewhere at the start: piece j tangent to x^2 / 16
    at a point t_j spread over [-2, 2] (jittered per unit), so no piece starts
    dead (a piece that is never the max gets no gradient)."""
    units = layer.out_features
    t = -2 + 4 * (torch.arange(k) + 0.5 + 0.4 * (torch.rand(units, k, generator=gen) - 0.5)) / k
    with torch.no_grad():
        layer.weight.copy_((t / 8).reshape(-1, 1))
        layer.bias.copy_((-t * t / 16).reshape(-1))


def exp_convex(ctx):
    x_fit = torch.linspace(-2, 2, 401).unsqueeze(1)
    x_eval = torch.linspace(-2, 2, 4001).unsqueeze(1)
    steps = 25 if ctx.quick else 1000
    restarts = len(ctx.seeds)
    names = [f[0] for f in CONVEX_FUNCS] + [DIFFERENCE]
    n_funcs = len(CONVEX_FUNCS)
    per_init = restarts * (n_funcs + 2)   # units of one initialisation
    sin = CONVEX_FUNCS[-1][1]
    target_fit = torch.cat([f(x_fit) for _, f, _, _ in CONVEX_FUNCS] + [sin(x_fit)], 1)
    target_eval = torch.cat([f(x_eval) for _, f, _, _ in CONVEX_FUNCS] + [sin(x_eval)], 1)
    # Each target scaled to [0, 1] for the fit, so that every unit needs
    # slopes of the same size; errors are measured back on f's own scale.
    low, span = target_fit.amin(0), target_fit.amax(0) - target_fit.amin(0)
    scaled_fit = ((target_fit - low) / span).unsqueeze(1)
    results, curves, built = [], {}, {}
    ctx.progress(len(CONVEX_K))
    for k in CONVEX_K:
        for name, f, df, convex in CONVEX_FUNCS:
            if convex:
                y = _tangents(f, df, k, x_eval)
                built[name, k] = ((y - f(x_eval[:, 0])).abs().max().item(), y[::20].tolist())
        g = _tangents(lambda x: sin(x) + SIN_SPLIT * x ** 2, lambda x: math.pi * torch.cos(math.pi * x)
                      + 2 * SIN_SPLIT * x, k, x_eval)
        h = _tangents(lambda x: SIN_SPLIT * x ** 2, lambda x: 2 * SIN_SPLIT * x, k, x_eval)
        built[DIFFERENCE, k] = ((g - h - sin(x_eval[:, 0])).abs().max().item(), (g - h)[::20].tolist())

        # One MaxoutLinear holds every learned fit of this k as independent
        # units (they share no parameter, and Adam scales each parameter by
        # itself): per initialisation and restart, one unit per function and
        # two more whose difference fits sin. The first half of the units
        # starts spread, the second half keeps torch's default initialisation.
        torch.manual_seed(ctx.seeds[0] * 1000 + k)
        layer = rnn.MaxoutLinear(1, 2 * per_init, k)
        spread_half = rnn.MaxoutLinear(1, per_init, k)
        _spread_pieces(spread_half, k, torch.Generator().manual_seed(ctx.seeds[0] * 1000 + k))
        with torch.no_grad():
            layer.weight[:per_init * k] = spread_half.weight
            layer.bias[:per_init * k] = spread_half.bias
        opt = torch.optim.Adam(layer.parameters(), lr=0.02)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=2e-4)

        def predict(x):
            h = layer(x).view(len(x), 2 * restarts, n_funcs + 2)
            return torch.cat([h[..., :n_funcs], (h[..., n_funcs] - h[..., n_funcs + 1]).unsqueeze(-1)], -1)

        for _ in range(steps):
            loss = ((predict(x_fit) - scaled_fit) ** 2).mean(0).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        with torch.no_grad():
            pred = predict(x_eval) * span + low                     # [points, inits x restarts, functions]
            err = (pred - target_eval.unsqueeze(1)).abs().amax(0)
            z = F.linear(x_eval, layer.weight, layer.bias).view(len(x_eval), -1, k)
            winners = F.one_hot(z.argmax(-1), k).amax(0).sum(-1).view(2 * restarts, n_funcs + 2)
        for j, init in enumerate(CONVEX_INITS):
            for i, name in enumerate(names):
                for r in range(restarts):
                    u = j * restarts + r
                    used = int(winners[u, i]) if i < n_funcs else int(winners[u, n_funcs:].sum())
                    results.append(dict(function=name, k=k, init=init, restart=r, max_error=float(err[u, i]),
                                        pieces_used=used))
                best = j * restarts + int(err[j * restarts:(j + 1) * restarts, i].argmin())
                curves[name, k, init] = pred[::20, best, i].tolist()
        ctx.tick(f"k={k}")
    ctx.close()

    rows, lines = [], []
    for name in names:
        for k in CONVEX_K:
            row = dict(function=name, k=k, optimum=_optimum(name, k),
                       constructed=built[name, k][0] if (name, k) in built else None)
            cells = []
            for init in CONVEX_INITS:
                rs = [r for r in results if r["function"] == name and r["k"] == k and r["init"] == init]
                best = min(rs, key=lambda r: r["max_error"])
                key = "" if init == "spread" else "_default"
                row["best" + key] = best["max_error"]
                row["median" + key] = statistics.median(r["max_error"] for r in rs)
                row["pieces_used" + key] = best["pieces_used"]
                median = f" ({row['median' + key]:.3g})" if init == "spread" else ""
                cells += [f"{row['best' + key]:.3g}{median}",
                          f"{best['pieces_used']} of {k * (2 if name == DIFFERENCE else 1)}"]
            rows.append(row)
            lines.append([name, k, "-" if row["constructed"] is None else f"{row['constructed']:.3g}"] + cells
                         + ["-" if row["optimum"] is None else f"{row['optimum']:.3g}"])
    md = table(["function on [-2, 2]", "k", "built: k tangents, raised", "learned: best restart (median), "
                "pieces started spread", "pieces that are the max somewhere", "learned, torch's default init",
                "pieces used", "best possible"], lines)

    def plot(path):
        plt = _pyplot()
        fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
        ax = axes[0][0]
        for i, name in enumerate(names):
            if name == "abs(x)":
                continue  # exact from k = 2: off a log scale
            color = f"C{i}"
            ys = [next(r["best"] for r in rows if r["function"] == name and r["k"] == k) for k in CONVEX_K]
            ax.plot(CONVEX_K, ys, marker="o", label=f"{name}: learned", color=color)
            ys = [next(r["constructed"] for r in rows if r["function"] == name and r["k"] == k) for k in CONVEX_K]
            if all(y is not None for y in ys):
                ax.plot(CONVEX_K, ys, marker="x", color=color, ls="--", lw=1, label=f"{name}: built")
        ax.plot(CONVEX_K, [_optimum("x^2", k) for k in CONVEX_K], "k:", label="x^2: best possible, 2/k^2")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(CONVEX_K)
        ax.set_xticklabels(CONVEX_K)
        ax.set_xlabel("pieces k")
        ax.set_ylabel("max |f - fit| on [-2, 2] (log)")
        ax.set_title("error against k: learned by Adam (solid), built from tangents (dashed)", fontsize=9)
        ax.legend(fontsize=6, ncol=2)
        ax.grid(True, alpha=0.3)
        xs = x_eval[::20, 0].tolist()
        panels = [("x^2", (2, 4, 16)), ("exp(x)", (2, 4, 16)), ("softplus(3x)/3", (2, 4, 16)),
                  ("abs(x)", (1, 2)), ("sin(pi x)", (16,))]
        truth = {name: f(x_eval[::20])[:, 0].tolist() for name, f, _, _ in CONVEX_FUNCS}
        for ax, (name, ks) in zip([axes[0][1], axes[0][2], axes[1][0], axes[1][1], axes[1][2]], panels):
            ax.plot(xs, truth[name], color="k", lw=3, alpha=0.3, label=name)
            for k in ks:
                used = next(r["pieces_used"] for r in rows if r["function"] == name and r["k"] == k)
                ax.plot(xs, curves[name, k, "spread"], lw=1.2, label=f"one unit, k={k}, learned ({used} used)")
            if name == "sin(pi x)":
                ax.plot(xs, curves[DIFFERENCE, 16, "spread"], lw=1.2, ls="--",
                        label="difference of two units, k=16, learned")
                ax.plot(xs, built[DIFFERENCE, 16][1], lw=1.2, ls="-.",
                        label="difference of two units, k=16, built")
            ax.set_title(name, fontsize=10)
            ax.legend(fontsize=7)
            ax.grid(True, alpha=0.3)
        fig.suptitle(f"One maxout unit (MaxoutLinear(1, 1, k)) on [-2, 2]: fitted by Adam ({steps} steps, pieces "
                     f"started spread, best of {restarts} restart(s)) or built from k tangents", fontsize=11)
        _save(plt, fig, path)

    problems = [f"{r['function']} k={r['k']}: error not finite" for r in results
                if not math.isfinite(r["max_error"])]
    config = dict(ks=CONVEX_K, functions=names, inits=CONVEX_INITS, steps=steps, restarts=restarts,
                  fit_points=401, eval_points=4001, sin_split=SIN_SPLIT,
                  optimizer="Adam lr 0.02, cosine to 2e-4, full batch, mean squared error on targets scaled "
                            "to [0, 1]")
    return dict(title="Maxout and convex functions", table=md, rows=rows, runs=results, plot=plot,
                problems=problems, config=config)


# ----------------------------------------------------------------------------- forgetting

# (activation, hidden width): maxout with k = 2 at the others' width has
# twice their hidden parameters; at width 84 it has about as many as they do
FORGET_MODELS = [("relu", 128), ("leaky_relu", 128), ("maxout", 128), ("maxout", 84)]
FORGET_DROPOUT = [False, True]


def exp_forgetting(ctx):
    x_train, y_train, x_test, y_test = standardised(ctx.split_seed)
    epochs_a, epochs_b = 6, 6
    per_epoch = steps_per_epoch(len(y_train))
    steps_a = 4 if ctx.quick else epochs_a * per_epoch
    steps_b = 4 if ctx.quick else epochs_b * per_epoch
    every = 1 if ctx.quick else max(1, per_epoch // 3)
    runs = []
    ctx.progress(len(FORGET_MODELS) * len(FORGET_DROPOUT) * len(ctx.seeds))
    for act, width in FORGET_MODELS:
        for dropout in FORGET_DROPOUT:
            for seed in ctx.seeds:
                # Task B: the same digits with a fixed permutation of their 64 pixels.
                perm = torch.randperm(64, generator=torch.Generator().manual_seed(10_000 + seed))

                def permuted(x):
                    return x.flatten(1)[:, perm].view_as(x)

                xb_train, xb_test = permuted(x_train), permuted(x_test)
                torch.manual_seed(seed)
                model = mlp(act, (width, width), k=2, dropout=0.5 if dropout else 0.0,
                            input_dropout=0.2 if dropout else 0.0)
                gen = torch.Generator().manual_seed(seed)
                fit(model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
                    x_train, y_train, steps_a, gen)
                a_before = evaluate(model, x_test, y_test)[1]
                curve = [(0.0, a_before, evaluate(model, xb_test, y_test)[1])]
                fit(model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
                    xb_train, y_train, steps_b, gen, every=every,
                    callback=lambda s: curve.append((s / per_epoch, evaluate(model, x_test, y_test)[1],
                                                     evaluate(model, xb_test, y_test)[1])))
                runs.append(dict(activation=act, width=width, dropout=dropout, seed=seed, a_before=a_before,
                                 a_after=curve[-1][1], b_after=curve[-1][2],
                                 a_min=min(c[1] for c in curve), curve=curve,
                                 params=sum(p.numel() for p in model.parameters())))
                ctx.tick(f"{act} {width} dropout {dropout}")
    ctx.close()

    def label(act, width):
        return LABELS[act] + (f" (k=2, {width} units)" if act == "maxout" else "")

    rows, lines = [], []
    for act, width in FORGET_MODELS:
        for dropout in FORGET_DROPOUT:
            rs = [r for r in runs if r["activation"] == act and r["width"] == width and r["dropout"] == dropout]
            row = dict(activation=act, width=width, dropout=dropout, params=rs[0]["params"],
                       a_before=[r["a_before"] for r in rs], a_after=[r["a_after"] for r in rs],
                       b_after=[r["b_after"] for r in rs], a_min=[r["a_min"] for r in rs],
                       retained=[r["a_after"] / r["a_before"] for r in rs],
                       # accuracy on A after one epoch of B: how fast it goes
                       a_one_epoch=[next((c[1] for c in r["curve"] if c[0] >= 1.0), r["a_after"]) for r in rs])
            rows.append(row)
            lines.append([label(act, width), "yes" if dropout else "no",
                          f"{row['params']:,}", spread(row["a_before"]), spread(row["a_one_epoch"]),
                          spread(row["a_after"]), spread(row["b_after"]), spread(row["retained"], "{:.2f}")])
    md = table(["activation", "dropout (input 0.2, hidden 0.5)", "params", "task A test acc after A",
                "task A after 1 epoch of B", "task A after B", "task B after B",
                "A retained (after B / before B)"], lines)

    def plot(path):
        plt = _pyplot()
        fig, axes = plt.subplots(1, 2, figsize=(14, 5))
        colors = {("relu", 128): COLORS["relu"], ("leaky_relu", 128): COLORS["leaky_relu"],
                  ("maxout", 128): COLORS["maxout"], ("maxout", 84): "tab:purple"}
        for act, width in FORGET_MODELS:
            for dropout in FORGET_DROPOUT:
                rs = [r for r in runs
                      if r["activation"] == act and r["width"] == width and r["dropout"] == dropout]
                n = min(len(r["curve"]) for r in rs)
                xs = [rs[0]["curve"][i][0] for i in range(n)]
                a = [100 * statistics.fmean(r["curve"][i][1] for r in rs) for i in range(n)]
                b = [100 * statistics.fmean(r["curve"][i][2] for r in rs) for i in range(n)]
                style = "--" if dropout else "-"
                name = label(act, width) + (", dropout" if dropout else "")
                axes[0].plot(xs, a, style, color=colors[act, width], label=name, lw=1.5)
                axes[1].plot(b, a, style, color=colors[act, width], label=name, lw=1.5, marker=".", ms=3)
        axes[0].set_xlabel("epochs of training on task B (permuted pixels)")
        axes[0].set_ylabel("test accuracy on task A (ordinary digits, %)")
        axes[0].set_title("forgetting task A while learning task B", fontsize=10)
        axes[1].set_xlabel("test accuracy on task B (%)")
        axes[1].set_ylabel("test accuracy on task A (%)")
        axes[1].set_title("the trade-off during training on B (up and right is better)", fontsize=10)
        for ax in axes:
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=8)
        fig.suptitle(f"Catastrophic forgetting: MLP with two hidden layers, SGD, {steps_a} steps on A then "
                     f"{steps_b} on B "
                     f"(mean of {len(ctx.seeds)} seed(s))", fontsize=11)
        _save(plt, fig, path)

    problems = [f"{r['activation']} seed {r['seed']}: accuracy not finite" for r in runs
                if not all(math.isfinite(v) for c in r["curve"] for v in c)]
    config = dict(models=FORGET_MODELS, maxout_k=2, steps_a=steps_a, steps_b=steps_b,
                  optimizer="SGD momentum 0.9, lr 0.01, a fresh optimizer for task B",
                  task_b="the 64 pixels permuted by a fixed permutation per seed")
    return dict(title="Catastrophic forgetting", table=md, rows=rows, runs=runs, plot=plot, problems=problems,
                config=config)


# ----------------------------------------------------------------------------- regularisation

REG_MODELS = [("relu", 1), ("maxout", 2), ("maxout", 4)]
REG_KINDS = ["none", "dropout", "weight decay"]
REG_SIZES = [100, 300, None]   # None: the whole training split
REG_WIDTH = 64
REG_WEIGHT_DECAY = 1e-2
REG_BATCH = 64


def _model_label(act, k):
    return "ReLU" if act == "relu" else f"maxout k={k}"


def exp_regularisation(ctx):
    x_all, y_all, x_test, y_test = standardised(ctx.split_seed)
    steps = 6 if ctx.quick else 200
    runs = []
    ctx.progress(len(REG_MODELS) * len(REG_KINDS) * len(REG_SIZES) * len(ctx.seeds))
    for n in REG_SIZES:
        for act, k in REG_MODELS:
            for reg in REG_KINDS:
                for seed in ctx.seeds:
                    # a different subset per seed: the spread includes the choice of images
                    subset = torch.randperm(len(y_all), generator=torch.Generator().manual_seed(seed))
                    subset = subset[:n] if n else subset
                    x, y = x_all[subset], y_all[subset]
                    torch.manual_seed(seed)
                    model = mlp(act, (REG_WIDTH, REG_WIDTH), k=k, dropout=0.5 if reg == "dropout" else 0.0)
                    opt = torch.optim.Adam(model.parameters(), lr=1e-3,
                                           weight_decay=REG_WEIGHT_DECAY if reg == "weight decay" else 0.0)
                    fit(model, opt, x, y, steps, torch.Generator().manual_seed(seed), batch=REG_BATCH)
                    train_loss, train_acc = evaluate(model, x, y)
                    test_loss, test_acc = evaluate(model, x_test, y_test)
                    runs.append(dict(n=len(y), model=_model_label(act, k), regularisation=reg, seed=seed,
                                     params=sum(p.numel() for p in model.parameters()),
                                     train_accuracy=train_acc, test_accuracy=test_acc, train_loss=train_loss,
                                     test_loss=test_loss))
                    ctx.tick(f"n={len(y)} {act}{k} {reg}")
    ctx.close()

    sizes = sorted({r["n"] for r in runs})
    rows, lines = [], []
    for n in sizes:
        for act, k in REG_MODELS:
            for reg in REG_KINDS:
                rs = [r for r in runs if r["n"] == n and r["model"] == _model_label(act, k)
                      and r["regularisation"] == reg]
                row = dict(n=n, model=_model_label(act, k), regularisation=reg, params=rs[0]["params"],
                           acc=[r["test_accuracy"] for r in rs], train_acc=[r["train_accuracy"] for r in rs],
                           gap=[r["train_accuracy"] - r["test_accuracy"] for r in rs],
                           test_loss=[r["test_loss"] for r in rs],
                           loss_gap=[r["test_loss"] - r["train_loss"] for r in rs])
                rows.append(row)
                lines.append([n, row["model"], reg, f"{row['params']:,}", spread(row["acc"]),
                              spread(row["train_acc"]), spread(row["gap"]), spread(row["test_loss"], "{:.3f}"),
                              spread(row["loss_gap"], "{:.3f}")])
    md = table(["training images", "model", "regularisation", "params", "test acc", "train acc",
                "gap (train - test acc)", "test loss", "test loss - train loss"], lines)

    def plot(path):
        plt = _pyplot()
        fig, axes = plt.subplots(2, len(REG_KINDS), figsize=(15, 8), sharey="row")
        colors = {"ReLU": COLORS["relu"], "maxout k=2": COLORS["maxout"], "maxout k=4": "tab:purple"}
        for col, reg in enumerate(REG_KINDS):
            for act, k in REG_MODELS:
                label = _model_label(act, k)
                rs = [r for r in rows if r["model"] == label and r["regularisation"] == reg]
                for row_i, key in enumerate(("acc", "loss_gap")):
                    ax = axes[row_i][col]
                    ys = [statistics.fmean(r[key]) * (100 if key == "acc" else 1) for r in rs]
                    lo = [y - min(r[key]) * (100 if key == "acc" else 1) for y, r in zip(ys, rs)]
                    hi = [max(r[key]) * (100 if key == "acc" else 1) - y for y, r in zip(ys, rs)]
                    ax.errorbar(sizes, ys, yerr=[lo, hi], marker="o", capsize=3, color=colors[label], label=label)
            for row_i in range(2):
                ax = axes[row_i][col]
                ax.set_xscale("log")
                ax.set_xticks(sizes)
                ax.set_xticklabels(sizes)
                ax.grid(True, alpha=0.3)
                ax.set_xlabel("training images")
            axes[0][col].set_title(f"regularisation: {reg}" + (f" ({REG_WEIGHT_DECAY:g})" if reg == "weight decay"
                                                               else " (0.5)" if reg == "dropout" else ""),
                                   fontsize=10)
        axes[0][0].set_ylabel("test accuracy (%)")
        axes[1][0].set_ylabel("test loss - train loss (overfitting)")
        axes[0][0].legend(fontsize=8)
        fig.suptitle(f"Maxout against ReLU by training-set size: MLP 64-{REG_WIDTH}-{REG_WIDTH}-10, Adam, {steps} "
                     f"steps of {REG_BATCH} (mean, min-max over {len(ctx.seeds)} seed(s))", fontsize=11)
        _save(plt, fig, path)

    problems = [f"n={r['n']} {r['model']} {r['regularisation']} seed {r['seed']}: test loss not finite"
                for r in runs if not math.isfinite(r["test_loss"])]
    config = dict(models=REG_MODELS, regularisations=REG_KINDS, sizes=sizes, width=REG_WIDTH, steps=steps,
                  weight_decay=REG_WEIGHT_DECAY, dropout=0.5, batch=REG_BATCH,
                  optimizer="Adam lr 0.001 (weight decay: its L2 term)")
    return dict(title="Maxout and regularisation", table=md, rows=rows, runs=runs, plot=plot, problems=problems,
                config=config)


# ----------------------------------------------------------------------------- running

EXPERIMENTS = {
    "gradients": exp_gradients,
    "sparsity": exp_sparsity,
    "kink": exp_kink,
    "bias": exp_bias,
    "polarity": exp_polarity,
    "convex": exp_convex,
    "forgetting": exp_forgetting,
    "regularisation": exp_regularisation,
}


def parse_names(text):
    """'all', a name, or a comma-separated list; raises ValueError on an unknown one."""
    names = NAMES if text == "all" else text.split(",")
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"unknown experiment(s) {unknown}: choose from {', '.join(NAMES)} or all")
    return names


def run(names, args, environment):
    """Runs the named experiments one after another; returns the exit status."""
    os.makedirs(args.out, exist_ok=True)
    problems, times = [], {}
    for name in names:
        ctx = Context(args, name)
        start, cpu_start = time.perf_counter(), time.process_time()
        result = EXPERIMENTS[name](ctx)
        paths = {ext: os.path.join(args.out, f"{name}.{ext}") for ext in ("md", "json", "png")}
        result["plot"](paths["png"])
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        times[name] = (elapsed, cpu)
        with open(paths["md"], "w") as f:
            f.write(f"# {result['title']}\n\n{result['table']}\n\n"
                    f"Seeds {ctx.seeds}{' (--quick)' if ctx.quick else ''}; wall time {elapsed:.1f} s "
                    f"(CPU {cpu:.1f} s).\n")
        doc = dict(experiment=name, title=result["title"], quick=ctx.quick, seeds=ctx.seeds,
                   split_seed=ctx.split_seed, elapsed_s=elapsed, cpu_s=cpu, environment=environment,
                   config=result["config"], rows=result["rows"], runs=result["runs"],
                   problems=result["problems"])
        with open(paths["json"], "w") as f:
            json.dump(study._plain(doc), f, indent=1, allow_nan=False)
        for ext, p in paths.items():
            if not os.path.isfile(p) or os.path.getsize(p) == 0:
                result["problems"].append(f"{p} not written")
        print(f"\n## {name}: {result['title']}  ({elapsed:.1f} s, CPU {cpu:.1f} s)\n")
        print(result["table"])
        problems += [f"{name}: {p}" for p in result["problems"]]
    print()
    print("wall time (CPU): " + ", ".join(f"{n} {t:.1f} s ({c:.1f} s)" for n, (t, c) in times.items())
          + f"; total {sum(t for t, _ in times.values()):.1f} s ({sum(c for _, c in times.values()):.1f} s)")
    print(f"tables, JSON and pictures in {args.out}")
    for p in problems:
        print(f"PROBLEM: {p}")
    print("FAIL" if problems else "PASS")
    return 1 if problems else 0
