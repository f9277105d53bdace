"""The activation study: the same MLP and the same small CNN trained on 8x8
digits with ReLU, Leaky ReLU, PReLU, the absolute-value rectifier, maxout,
ReLU6, RReLU, ELU, SELU, tanh and sigmoid, to check the textbook chapter's
claims about rectifiers.

    bash scripts/demo.sh                     # installs, builds, then runs this
    python examples/activation_study.py [--epochs N] [--seeds S] [--out DIR] [--quick]
    python examples/activation_study.py --experiment NAME   # one open question: study_experiments.py

What it does:
  * data: scikit-learn's load_digits (1797 8x8 images, bundled, no download),
    a fixed 75/25 train/test split, pixels standardised with the training
    set's mean and std;
  * models (the same architecture for every activation):
      MLP  64 -> 128 -> 128 -> 10        (Linear + activation per hidden layer)
      CNN  conv3x3 1->16, act, conv3x3 16->32, act, maxpool 2, 512 -> 64, act, 64 -> 10
    maxout (k = 2 pieces) replaces "Linear + activation" with
    rectifiers.nn.MaxoutLinear and "conv + activation" with a conv to k*C
    channels followed by rectifiers.nn.Maxout(k, dim=1), so each maxout layer
    has k times the parameters of the layer it replaces (the table counts them);
    the rectifiers are this project's modules (rectifiers.nn), tanh and sigmoid
    are torch.nn.Tanh / torch.nn.Sigmoid;
  * settings: each one trains every activation with the same optimizer,
    learning rate, epochs, batch size (32) and batch order, once per seed, and
    each run starts from torch.manual_seed(seed), so activations that draw no
    random numbers of their own start from identical weights:
      mlp-sgd, cnn-sgd    SGD with momentum 0.9, lr 0.01
      mlp-adam            Adam, lr 0.001
      mlp-adam-hot        Adam, lr 0.03 (provoked: units die during training)
      mlp-adam-negbias    Adam, lr 0.001, every hidden bias starts at -1
                          instead of the chapter's +0.1 (provoked: units start dead)
      mlp-adam-small      Adam, lr 0.001, the first 150 training images only,
                          3x the epochs (small data: RReLU's claimed
                          resistance to overfitting)
    In the two provoked settings divergence or a ReLU model that does not learn
    is a finding, not a failure;
  * measurements per run: test accuracy; "epochs to loss <= 0.1", the first
    point (the full training set is evaluated 3 times per epoch) where the
    mean cross-entropy over the whole training set is <= 0.1; the median wall
    time of one training epoch (evaluation excluded); parameter count; the
    fraction of dead units at initialisation and after training; for the
    elementwise rectifiers the fraction of units whose pre-activation z is
    <= 0 on every training example ("left side": for ReLU exactly the dead
    units; Leaky ReLU and PReLU units there still get a gradient); and the
    fraction of hidden outputs that are exactly 0 (sparsity).

Dead units. A hidden unit is dead if its output is exactly 0 for every
training example (for a ReLU unit this means no gradient reaches its incoming
weights, so it stays dead). In a
fully connected layer a unit is one output feature. In a conv layer a unit is
one output channel: the channel is dead if it is 0 at every spatial position
for every training example; only then does its filter receive no gradient
(a channel that is 0 at one position gets gradient through the shared filter
from the others). The overall fraction is dead units / all units over the
model's hidden layers (the layers right after each activation, or each maxout
layer's output). Everything is measured with rectifiers.diagnostics (one
tracked pass over the training set per evaluation point), which sees the
rectifier family only: tanh's and sigmoid's columns print "-", and so does
maxout's dead-unit column (its largest piece always gets the gradient).

Outputs, in --out (default out/activation-study): activation-study-loss.png
(training loss against epoch, one panel per setting, one line per
activation), activation-study-dead-units.png (dead units per setting, and the
left-side fraction during training in the provoked settings),
activation-study-results.json (everything, with the curves and per-layer
counts) and activation-study-table.md (the table it prints).

Exit status 1 if something is broken: a non-finite loss in a setting that is
not provoked, a ReLU model in a setting that is not provoked not learning
(test accuracy below 0.9 after >= 10 epochs; below 0.3 for shorter runs),
ReLU's dead units differing from its left-side units, a dead fraction outside
[0, 1] or a missing picture. Results are deterministic for a given --threads.
"""

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

import torch
from torch import nn

import rectifiers
from rectifiers import diagnostics
from rectifiers import nn as rnn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ACTIVATIONS = ["relu", "leaky_relu", "prelu", "abs", "maxout", "relu6", "rrelu", "elu", "selu",
               "tanh", "sigmoid"]
LABELS = {
    "relu": "ReLU",
    "leaky_relu": "Leaky ReLU",
    "prelu": "PReLU",
    "abs": "abs rectifier",
    "maxout": "maxout (k=2)",
    "relu6": "ReLU6",
    "rrelu": "RReLU",
    "elu": "ELU",
    "selu": "SELU",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
}
COLORS = {
    "relu": "tab:blue",
    "leaky_relu": "tab:orange",
    "prelu": "tab:green",
    "abs": "tab:purple",
    "maxout": "tab:brown",
    "relu6": "tab:cyan",
    "rrelu": "tab:olive",
    "elu": "tab:pink",
    "selu": "black",
    "tanh": "tab:red",
    "sigmoid": "tab:gray",
}
LEAKY_SLOPE = 0.01      # the chapter: "a small value like 0.01"
PRELU_INIT = 0.25       # torch.nn.PReLU's default
MAXOUT_K = 2
BATCH_SIZE = 32
EVALS_PER_EPOCH = 3
LOSS_THRESHOLD = 0.1    # "converged": mean training cross-entropy <= 0.1 (about 90% mean confidence)

# Each setting trains every activation. "provoked" marks the settings meant to
# make ReLUs die: a learning rate 30x the usual Adam one (units die during
# training), and hidden biases started at -1 instead of the chapter's +0.1
# (units dead from the start). Divergence or a ReLU model that does not learn
# is a finding there, not a failure of the study.
SETTINGS = [
    dict(name="mlp-sgd", model="mlp", optimizer="sgd", lr=0.01, provoked=False,
         title="MLP, SGD momentum 0.9, lr 0.01"),
    dict(name="cnn-sgd", model="cnn", optimizer="sgd", lr=0.01, provoked=False,
         title="CNN, SGD momentum 0.9, lr 0.01"),
    dict(name="mlp-adam", model="mlp", optimizer="adam", lr=1e-3, provoked=False,
         title="MLP, Adam, lr 0.001"),
    dict(name="mlp-adam-hot", model="mlp", optimizer="adam", lr=3e-2, provoked=True,
         title="MLP, Adam, lr 0.03 (30x; provoked)"),
    dict(name="mlp-adam-negbias", model="mlp", optimizer="adam", lr=1e-3, bias_init=-1.0,
         provoked=True, title="MLP, Adam, lr 0.001, hidden biases -1 at init (provoked)"),
    # Small data, where RReLU's random slopes are claimed to resist overfitting:
    # the first 150 images of the training split, 60 epochs (240 steps).
    dict(name="mlp-adam-small", model="mlp", optimizer="adam", lr=1e-3, train_subset=150,
         epochs_scale=3, provoked=False, title="MLP, Adam, lr 0.001, 150 training images"),
]
# the elementwise ones with a "left side" z <= 0
RECTIFIERS = ("relu", "leaky_relu", "prelu", "abs", "relu6", "rrelu", "elu", "selu")


# ----------------------------------------------------------------------------- data

def load_data(seed: int):
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0  # N,1,8,8
    labels = torch.tensor(digits.target, dtype=torch.long)
    perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    n_test = len(labels) // 4
    test, train = perm[:n_test], perm[n_test:]
    mean, std = images[train].mean(), images[train].std()
    images = (images - mean) / std
    return images[train], labels[train], images[test], labels[test]


# ----------------------------------------------------------------------------- models

def make_activation(act: str, features: int) -> nn.Module:
    if act == "relu":
        return rnn.ReLU()
    if act == "leaky_relu":
        return rnn.LeakyReLU(negative_slope=LEAKY_SLOPE)
    if act == "prelu":
        return rnn.PReLU(num_parameters=features, init=PRELU_INIT)  # one slope per unit / channel
    if act == "abs":
        return rnn.AbsRectifier()
    if act == "relu6":
        return rnn.ReLU6()
    if act == "rrelu":
        return rnn.RReLU()  # torch's bounds 1/8 and 1/3; random slopes in training mode only
    if act == "elu":
        return rnn.ELU()
    if act == "selu":
        return rnn.SELU()
    if act == "tanh":
        return nn.Tanh()
    if act == "sigmoid":
        return nn.Sigmoid()
    raise ValueError(f"unknown activation {act!r}")


def dense_block(act: str, fan_in: int, fan_out: int):
    """Linear + activation, or a maxout layer; returns (modules, affine layer, probe)."""
    if act == "maxout":
        layer = rnn.MaxoutLinear(fan_in, fan_out, pool_size=MAXOUT_K)
        return [layer], layer, layer
    a = make_activation(act, fan_out)
    linear = nn.Linear(fan_in, fan_out)
    return [linear, a], linear, a


def conv_block(act: str, c_in: int, c_out: int):
    """conv3x3 + activation, or conv to k*c_out channels + Maxout(k, dim=1)."""
    if act == "maxout":
        m = rnn.Maxout(MAXOUT_K, dim=1)
        conv = nn.Conv2d(c_in, MAXOUT_K * c_out, 3, padding=1)
        return [conv, m], conv, m
    a = make_activation(act, c_out)
    conv = nn.Conv2d(c_in, c_out, 3, padding=1)
    return [conv, a], conv, a


def build_model(kind: str, act: str, bias_init=None):
    """Returns (model, probes): probes are (layer name, module, "dense"|"conv",
    units) whose outputs are the hidden units. bias_init, if given, is the initial
    bias of every hidden layer (the output layer keeps torch's default)."""
    layers, probes, affine = [], [], []
    if kind == "mlp":
        layers.append(nn.Flatten())
        fan_in = 64
        for i, width in enumerate((128, 128)):
            mods, lin, probe = dense_block(act, fan_in, width)
            layers += mods
            affine.append(lin)
            probes.append((f"fc{i + 1}", probe, "dense", width))
            fan_in = width
        layers.append(nn.Linear(fan_in, 10))
    elif kind == "cnn":
        for i, (c_in, c_out) in enumerate(((1, 16), (16, 32))):
            mods, conv, probe = conv_block(act, c_in, c_out)
            layers += mods
            affine.append(conv)
            probes.append((f"conv{i + 1}", probe, "conv", c_out))
        layers += [nn.MaxPool2d(2), nn.Flatten()]                 # 32 x 4 x 4 = 512
        mods, lin, probe = dense_block(act, 512, 64)
        layers += mods
        affine.append(lin)
        probes.append(("fc1", probe, "dense", 64))
        layers.append(nn.Linear(64, 10))
    else:
        raise ValueError(f"unknown model {kind!r}")
    if bias_init is not None:
        with torch.no_grad():
            for layer in affine:
                layer.bias.fill_(bias_init)
    return nn.Sequential(*layers), probes


# ----------------------------------------------------------------------------- measuring

# rectifiers.diagnostics hooks the rectifier family only; tanh and sigmoid are
# baselines it does not see, so their dead-unit and zero columns stay empty.
TRACKED = tuple(a for a in ACTIVATIONS if a not in ("tanh", "sigmoid"))
# Outputs that are never negative: "positive on no example" is "0 on every example".
NONNEGATIVE = ("relu", "relu6")


class DyingLog:
    """One run's hidden layers, measured with rectifiers.diagnostics at each
    evaluation point; remembers the units dead (or on the left side) at some
    point so far, to count the ones that come back."""

    def __init__(self, model, probes, act):
        names = {id(m): n for n, m in model.named_modules()}
        # (study's layer name, module name in the model, "dense" | "conv")
        self.layers = [(name, names[id(module)], kind) for name, module, kind, _ in probes]
        self.units = [(name, kind, units) for name, _, kind, units in probes]
        self.model, self.act = model, act
        self.ever_dead, self.ever_left = {}, {}

    def forward(self, x):
        """The model's logits on x and, for the tracked activations, the
        per-layer statistics of that pass."""
        if self.act not in TRACKED:
            return self.model(x), self.untracked()
        with diagnostics.track(self.model) as stats:
            logits = self.model(x)
        return logits, self._stats(stats)

    def _dead(self, never_positive, low, high):
        """The units whose output was exactly 0 on every example, given those
        positive on none and the extremes of their pre-activations."""
        if self.act in NONNEGATIVE:
            return never_positive
        if self.act == "maxout":
            # The largest piece always passes the gradient on: a maxout unit
            # cannot die, and diagnostics does not see MaxoutLinear's pieces.
            return never_positive[:0]
        # The other rectifiers output 0 only where z is 0.
        return never_positive[(low[never_positive] == 0) & (high[never_positive] == 0)]

    def _stats(self, stats):
        """Per layer: units, dead units (output exactly 0 on every example),
        the fraction of outputs that are exactly 0 and, for the elementwise
        rectifiers, the units whose pre-activation is <= 0 on every example
        ("left side"; for ReLU exactly the dead ones)."""
        record_left = self.act in RECTIFIERS
        units, sparsity, extremes = stats.units(), stats.sparsity(), stats.extremes()
        never_positive = stats.dead_units()
        layers = {}
        for name, module, kind in self.layers:
            n = units[module]
            dead = torch.zeros(n, dtype=torch.bool)
            dead[self._dead(never_positive[module], *extremes[module])] = True
            ever = self.ever_dead.get(name)
            ever = dead.clone() if ever is None else ever | dead
            self.ever_dead[name] = ever
            layer = dict(
                kind=kind,
                units=n,
                dead=int(dead.sum()),
                zero_fraction=sparsity[module],
                outputs=stats.layers[module].elements,
                left=None,
                # dead at some evaluation point so far, and of those, alive now
                ever_dead=int(ever.sum()),
                revived=int((ever & ~dead).sum()),
            )
            if record_left:
                left = extremes[module][1] <= 0
                ever_left = self.ever_left.get(name)
                ever_left = left.clone() if ever_left is None else ever_left | left
                self.ever_left[name] = ever_left
                layer["left"] = int(left.sum())
                layer["ever_left"] = int(ever_left.sum())
                layer["left_returned"] = int((ever_left & ~left).sum())
            layers[name] = layer
        units = sum(v["units"] for v in layers.values())
        dead = sum(v["dead"] for v in layers.values())
        zeros = sum(v["zero_fraction"] * v["outputs"] for v in layers.values())
        total = sum(v["outputs"] for v in layers.values())
        left = (sum(v["left"] for v in layers.values()) / units) if record_left else None
        result = dict(dead_fraction=dead / units, units=units, dead=dead, left_fraction=left,
                      zero_fraction=zeros / total, tracked=True, layers=layers)
        for key in ("ever_dead", "revived") + (("ever_left", "left_returned") if record_left else ()):
            result[key] = sum(v[key] for v in layers.values())
        return result

    def untracked(self):
        """_stats' shape for tanh and sigmoid, which diagnostics does not
        track: no unit counted dead and no output counted as 0 (their outputs
        are 0 only where z is exactly 0, or for sigmoid never), "tracked"
        False; the tables print "-" for them."""
        layers = {name: dict(kind=kind, units=units, dead=0, zero_fraction=0.0, outputs=None,
                             left=None, ever_dead=0, revived=0)
                  for name, kind, units in self.units}
        units = sum(v["units"] for v in layers.values())
        return dict(dead_fraction=0.0, units=units, dead=0, left_fraction=None, zero_fraction=0.0,
                    tracked=False, layers=layers, ever_dead=0, revived=0)


@torch.no_grad()
def evaluate(model, log, x, y, record: bool):
    model.eval()
    logits, stats = log.forward(x) if record else (model(x), None)
    model.train()
    loss = nn.functional.cross_entropy(logits, y).item()
    acc = (logits.argmax(1) == y).float().mean().item()
    return loss, acc, stats


def make_optimizer(setting, params):
    if setting["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=setting["lr"], momentum=0.9)
    if setting["optimizer"] == "adam":
        return torch.optim.Adam(params, lr=setting["lr"])
    raise ValueError(setting["optimizer"])


def train_run(setting, act, seed, data, epochs, bar):
    x_train, y_train, x_test, y_test = data
    if "train_subset" in setting:
        x_train, y_train = x_train[:setting["train_subset"]], y_train[:setting["train_subset"]]
    epochs *= setting.get("epochs_scale", 1)
    torch.manual_seed(seed)
    model, probes = build_model(setting["model"], act, setting.get("bias_init"))
    log = DyingLog(model, probes, act)
    n_params = sum(p.numel() for p in model.parameters())
    optimizer = make_optimizer(setting, model.parameters())
    batches = torch.Generator().manual_seed(seed)     # the same batch order for every activation

    steps_per_epoch = len(y_train) // BATCH_SIZE      # the last partial batch is dropped
    eval_every = max(1, steps_per_epoch // EVALS_PER_EPOCH)
    loss0, _, init_stats = evaluate(model, log, x_train, y_train, record=True)
    curve_epoch, curve_loss = [0.0], [loss0]
    curve_dead, curve_left = [init_stats["dead_fraction"]], [init_stats["left_fraction"]]
    epoch_times = []
    diverged_at = None
    step = 0
    model.train()
    for epoch in range(epochs):
        perm = torch.randperm(len(y_train), generator=batches)
        epoch_time = 0.0
        t0 = time.perf_counter()
        for b in range(steps_per_epoch):
            idx = perm[b * BATCH_SIZE:(b + 1) * BATCH_SIZE]
            loss = nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            if not math.isfinite(loss.item()):
                diverged_at = step / steps_per_epoch
                break
            if step % eval_every == 0:
                epoch_time += time.perf_counter() - t0
                l, _, s = evaluate(model, log, x_train, y_train, record=True)
                curve_epoch.append(step / steps_per_epoch)
                curve_loss.append(l)
                curve_dead.append(s["dead_fraction"])
                curve_left.append(s["left_fraction"])
                t0 = time.perf_counter()
        epoch_time += time.perf_counter() - t0
        if diverged_at is not None:
            break
        epoch_times.append(epoch_time)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{curve_loss[-1]:.3f}", refresh=False)
    if bar is not None and diverged_at is not None:
        bar.update(epochs - epoch)

    final_loss, train_acc, final_stats = evaluate(model, log, x_train, y_train, record=True)
    _, test_acc, _ = evaluate(model, log, x_test, y_test, record=False)
    hit = next((e for e, l in zip(curve_epoch, curve_loss) if l <= LOSS_THRESHOLD), None)
    return dict(
        setting=setting["name"], model=setting["model"], activation=act, seed=seed,
        params=n_params, test_accuracy=test_acc, train_accuracy=train_acc,
        final_train_loss=final_loss, epochs=epochs,
        epochs_to_threshold=hit, diverged_at_epoch=diverged_at,
        epoch_time_s=statistics.median(epoch_times) if epoch_times else None,
        dead_at_init=init_stats, dead_after=final_stats,
        curve=dict(epoch=curve_epoch, train_loss=curve_loss, dead_fraction=curve_dead,
                   left_fraction=curve_left),
    )


# ----------------------------------------------------------------------------- reporting

def _mean_or_none(values):
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def summarize(runs):
    """One row per (setting, activation), aggregated over seeds."""
    rows = []
    keys = []
    for r in runs:
        k = (r["setting"], r["activation"])
        if k not in keys:
            keys.append(k)
    for setting, act in keys:
        rs = [r for r in runs if (r["setting"], r["activation"]) == (setting, act)]
        accs = [r["test_accuracy"] for r in rs]
        hits = [r["epochs_to_threshold"] for r in rs]
        reached = [h for h in hits if h is not None]
        times = [r["epoch_time_s"] for r in rs if r["epoch_time_s"] is not None]
        rows.append(dict(
            setting=setting, activation=act, seeds=len(rs), params=rs[0]["params"],
            epochs=rs[0]["epochs"],
            acc_mean=statistics.fmean(accs), acc_min=min(accs), acc_max=max(accs),
            train_acc_mean=statistics.fmean(r["train_accuracy"] for r in rs),
            # a seed that never reached the threshold counts as +inf, so the
            # median says "not reached" when most seeds did not reach it
            epochs_to_threshold_median=statistics.median(
                [h if h is not None else math.inf for h in hits]),
            epochs_to_threshold_min=min(reached) if reached else None,
            epochs_to_threshold_max=max(reached) if reached else None,
            reached=len(reached),
            final_loss_median=statistics.median(r["final_train_loss"] for r in rs),
            diverged=sum(r["diverged_at_epoch"] is not None for r in rs),
            epoch_ms_median=1000 * statistics.median(times) if times else None,
            dead_init_mean=statistics.fmean(r["dead_at_init"]["dead_fraction"] for r in rs),
            dead_after_mean=statistics.fmean(r["dead_after"]["dead_fraction"] for r in rs),
            dead_after_min=min(r["dead_after"]["dead_fraction"] for r in rs),
            dead_after_max=max(r["dead_after"]["dead_fraction"] for r in rs),
            dead_after_layers={
                name: statistics.fmean(r["dead_after"]["layers"][name]["dead"]
                                       / r["dead_after"]["layers"][name]["units"] for r in rs)
                for name in rs[0]["dead_after"]["layers"]},
            left_init_mean=_mean_or_none(r["dead_at_init"]["left_fraction"] for r in rs),
            left_after_mean=_mean_or_none(r["dead_after"]["left_fraction"] for r in rs),
            zero_fraction_mean=statistics.fmean(r["dead_after"]["zero_fraction"] for r in rs),
            # maxout's dead units are 0 by construction, tanh's and sigmoid's unmeasured
            dead_measured=act in RECTIFIERS,
            zeros_measured=act in TRACKED,
            # counts summed over seeds, for the dying table
            units_total=sum(r["dead_after"]["units"] for r in rs),
            dead_init_total=sum(r["dead_at_init"]["dead"] for r in rs),
            dead_after_total=sum(r["dead_after"]["dead"] for r in rs),
            ever_dead_total=sum(r["dead_after"]["ever_dead"] for r in rs),
            revived_total=sum(r["dead_after"]["revived"] for r in rs),
            layers_ever_left_returned=({
                name: [sum(r["dead_after"]["layers"][name]["ever_left"] for r in rs),
                       sum(r["dead_after"]["layers"][name]["left_returned"] for r in rs)]
                for name in rs[0]["dead_after"]["layers"]} if act in RECTIFIERS else None),
            ever_left_total=(sum(r["dead_after"]["ever_left"] for r in rs)
                             if act in RECTIFIERS else None),
            left_returned_total=(sum(r["dead_after"]["left_returned"] for r in rs)
                                 if act in RECTIFIERS else None),
        ))
    return rows


def _plain(v):
    """JSON-safe copy: non-finite floats become None."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def _pct(v, digits=1):
    return f"{100 * v:.{digits}f}%"


def format_table(rows, epochs):
    head = ("| setting | activation | params | test acc: mean (min-max) | train acc | "
            "epochs to train loss "
            f"<= {LOSS_THRESHOLD:g}: median (min-max) | final train loss (median) | ms / epoch | "
            "dead units after training (at init) | dead per hidden layer | z <= 0 on every "
            "example, after (at init) | zero outputs |")
    lines = [head, "|---|---|--:|---|--:|---|--:|--:|---|---|---|--:|"]
    for r in rows:
        acc = _pct(r["acc_mean"])
        if r["seeds"] > 1:
            acc += f" ({_pct(r['acc_min'])}-{_pct(r['acc_max'])})"
        med = r["epochs_to_threshold_median"]
        epochs = r["epochs"]
        if r["reached"] == 0:
            hit = f"not in {epochs}"
        elif not math.isfinite(med):
            hit = (f"not in {epochs} ({r['reached']}/{r['seeds']} seeds reached it: "
                   f"{r['epochs_to_threshold_min']:.2f}-{r['epochs_to_threshold_max']:.2f})")
        else:
            hit = f"{med:.2f}"
            if r["seeds"] > 1:
                hit += f" ({r['epochs_to_threshold_min']:.2f}-{r['epochs_to_threshold_max']:.2f}"
                hit += f"; {r['reached']}/{r['seeds']} seeds)" if r["reached"] < r["seeds"] else ")"
        fl = r["final_loss_median"]
        loss = f"{fl:.4f}" if math.isfinite(fl) else "nan"
        if r["diverged"]:
            loss += f" (nan in {r['diverged']}/{r['seeds']})"
        ms = f"{r['epoch_ms_median']:.0f}" if r["epoch_ms_median"] is not None else "-"
        dead = per_layer = "-"
        if r["dead_measured"]:
            dead = f"{_pct(r['dead_after_mean'])} ({_pct(r['dead_init_mean'])})"
            if r["seeds"] > 1 and r["dead_after_max"] > r["dead_after_min"]:
                dead += f"; {_pct(r['dead_after_min'], 0)}-{_pct(r['dead_after_max'], 0)}"
            per_layer = " / ".join(f"{_pct(v, 0)}" for v in r["dead_after_layers"].values())
        zeros = _pct(r["zero_fraction_mean"], 0) if r["zeros_measured"] else "-"
        left = "-"
        if r["left_after_mean"] is not None:
            left = f"{_pct(r['left_after_mean'])} ({_pct(r['left_init_mean'])})"
        lines.append(f"| {r['setting']} | {LABELS[r['activation']]} | {r['params']:,} | {acc} | "
                     f"{_pct(r['train_acc_mean'])} | {hit} | {loss} | {ms} | {dead} | {per_layer} | {left} | "
                     f"{zeros} |")
    return "\n".join(lines)


def format_dying_table(rows):
    """The elementwise rectifiers only: units dead, and units with z <= 0 on
    every example (for ReLU the same units), at some evaluation point, and how
    many of them came back by the end."""
    lines = ["| setting | activation | hidden units (all seeds) | dead at init | dead at the end | "
             "dead at some point | of those alive at the end | z <= 0 everywhere at some point | "
             "of those with z > 0 somewhere at the end | the last two per hidden layer |",
             "|---|---|--:|--:|--:|--:|--:|--:|--:|---|"]
    for r in rows:
        if r["activation"] not in RECTIFIERS:
            continue
        per_layer = ", ".join(f"{name} {ever}/{back}"
                              for name, (ever, back) in r["layers_ever_left_returned"].items())
        lines.append(f"| {r['setting']} | {LABELS[r['activation']]} | {r['units_total']} | "
                     f"{r['dead_init_total']} | {r['dead_after_total']} | {r['ever_dead_total']} | "
                     f"{r['revived_total']} | {r['ever_left_total']} | "
                     f"{r['left_returned_total']} | {per_layer} |")
    return "\n".join(lines)


def plot(runs, settings, out_dir, epochs):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def runs_of(setting, act):
        return [r for r in runs if r["setting"] == setting["name"] and r["activation"] == act]

    def mean_curve(rs, key):
        n = min(len(r["curve"][key]) for r in rs)
        xs = rs[0]["curve"]["epoch"][:n]
        ys = []
        for i in range(n):
            vals = [r["curve"][key][i] for r in rs]
            ys.append(float("nan") if any(v is None for v in vals) else statistics.fmean(vals))
        return xs, ys

    n_seeds = len({r["seed"] for r in runs})
    paths = []

    # Loss curves: one panel per setting, one line per activation.
    ncols = 2 if len(settings) > 1 else 1
    nrows = math.ceil(len(settings) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.2 * ncols, 4.0 * nrows), squeeze=False)
    for ax, setting in zip(axes.flat, settings):
        for act in ACTIVATIONS:
            rs = runs_of(setting, act)
            if not rs:
                continue
            xs, ys = mean_curve(rs, "train_loss")
            ys = [y if math.isfinite(y) and y < 1e3 else float("nan") for y in ys]
            ax.plot(xs, ys, label=LABELS[act], color=COLORS[act], lw=1.4)
        ax.axhline(LOSS_THRESHOLD, color="k", ls=":", lw=0.8)
        ax.set_yscale("log")
        ax.set_xlim(0, epochs * setting.get("epochs_scale", 1))
        ax.set_title(setting["title"], fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss (whole training set)")
        ax.grid(True, which="major", alpha=0.3)
    for ax in list(axes.flat)[len(settings):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8, loc="upper right")
    fig.suptitle(f"8x8 digits: training loss per activation (mean of {n_seeds} seed(s); "
                 f"dotted: loss {LOSS_THRESHOLD:g})", fontsize=11)
    fig.tight_layout()
    path = os.path.join(out_dir, "activation-study-loss.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    paths.append(path)

    # Dead units: a bar panel per setting, then for each provoked setting the
    # rectifiers' "z <= 0 on every example" fraction during training (for ReLU
    # these are the dead units; Leaky ReLU / PReLU units there still get a gradient).
    provoked = [s for s in settings if s["provoked"]]
    n_panels = len(settings) + len(provoked)
    ncols = min(3, n_panels)
    nrows = math.ceil(n_panels / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.0 * ncols, 4.0 * nrows), squeeze=False)
    flat = list(axes.flat)
    for ax, setting in zip(flat, settings):
        acts = [a for a in ACTIVATIONS if runs_of(setting, a)]
        after, init = [], []
        for act in acts:
            rs = runs_of(setting, act)
            after.append(100 * statistics.fmean(r["dead_after"]["dead_fraction"] for r in rs))
            init.append(100 * statistics.fmean(r["dead_at_init"]["dead_fraction"] for r in rs))
        xs = list(range(len(acts)))
        ax.bar(xs, after, color=[COLORS[a] for a in acts], label="after training")
        ax.scatter(xs, init, marker="_", s=300, color="k", zorder=3, label="at initialisation")
        top = max(10.0, max(after + init) * 1.2)
        for x, v in zip(xs, after):
            ax.text(x, v + top * 0.01, f"{v:.1f}", ha="center", va="bottom", fontsize=7)
        ax.set_xticks(xs)
        ax.set_xticklabels([LABELS[a] for a in acts], rotation=35, ha="right", fontsize=8)
        ax.set_ylim(0, top)
        ax.set_ylabel("dead units (%)")
        ax.set_title(setting["title"], fontsize=8)
        ax.grid(True, axis="y", alpha=0.3)
    flat[0].legend(fontsize=8, loc="upper right")
    for ax, setting in zip(flat[len(settings):], provoked):
        for act in RECTIFIERS:
            rs = runs_of(setting, act)
            if not rs:
                continue
            xs, ys = mean_curve(rs, "left_fraction")
            ax.plot(xs, [100 * y for y in ys], label=LABELS[act] + (" (= dead)" if act == "relu" else ""),
                    color=COLORS[act], lw=1.4)
        ax.set_xlim(0, epochs * setting.get("epochs_scale", 1))
        ax.set_ylim(-2, 102)
        ax.set_xlabel("epoch")
        ax.set_ylabel("units with z <= 0 on every example (%)")
        ax.set_title(f"during training: {setting['title']}", fontsize=8)
        ax.legend(fontsize=7)
        ax.grid(True, alpha=0.3)
    for ax in flat[n_panels:]:
        ax.axis("off")
    fig.suptitle("Dead units: output exactly 0 on every training example (conv layers: the whole "
                 f"channel); mean of {n_seeds} seed(s)", fontsize=10)
    fig.tight_layout()
    path = os.path.join(out_dir, "activation-study-dead-units.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    paths.append(path)
    return paths


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def check(runs, epochs, settings_by_name, pictures):
    """Returns a list of problems (empty if the study looks sane)."""
    problems = []
    # 3x chance for short runs: after 1 epoch the SGD ReLU CNN is at about 0.55
    min_acc = 0.9 if epochs >= 10 else 0.3
    for r in runs:
        s = settings_by_name[r["setting"]]
        where = f"{r['setting']}/{r['activation']} seed {r['seed']}"
        for key in ("dead_at_init", "dead_after"):
            st = r[key]
            for name in ("dead_fraction", "left_fraction", "zero_fraction"):
                v = st[name]
                if v is not None and not 0.0 <= v <= 1.0:
                    problems.append(f"{where}: {key} {name} {v} outside [0, 1]")
            # ReLU outputs exactly 0 where z <= 0 and only there, so its dead
            # units are exactly its "left side" units.
            if r["activation"] == "relu" and st["left_fraction"] != st["dead_fraction"]:
                problems.append(f"{where}: ReLU dead units ({st['dead_fraction']}) differ from "
                                f"units with z <= 0 everywhere ({st['left_fraction']})")
        if s["provoked"]:
            continue
        if r["diverged_at_epoch"] is not None or not all(math.isfinite(v) for v in
                                                           r["curve"]["train_loss"]):
            problems.append(f"{where}: non-finite loss")
        # a tenth of the data generalises less: only "it learned" is checked
        least = min(min_acc, 0.5) if "train_subset" in s else min_acc
        if r["activation"] == "relu" and r["test_accuracy"] < least:
            problems.append(f"{where}: test accuracy {r['test_accuracy']:.3f} < {least} "
                            "(the ReLU model did not learn)")
    for p in pictures:
        if not os.path.isfile(p) or os.path.getsize(p) == 0:
            problems.append(f"picture {p} not written")
    return problems


def environment(threads):
    return dict(torch=torch.__version__, rectifiers=rectifiers.__version__,
                build=rectifiers.build_info(), cpu=cpu_name(), cores=os.cpu_count(),
                threads=threads, python=platform.python_version())


def run_experiments(parser, args) -> int:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import study_experiments

    try:
        names = study_experiments.parse_names(args.experiment)
    except ValueError as e:
        parser.error(str(e))
    if args.seeds is not None and args.seeds < 1 or args.threads < 1:
        parser.error("--seeds and --threads must be >= 1")
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    env = environment(args.threads)
    print(f"rectifiers {env['rectifiers']} ({env['build']})")
    print(f"torch {env['torch']}, {env['cpu']}, {env['cores']} cores, {args.threads} thread(s)")
    return study_experiments.run(names, args, env)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=None, help="epochs per run (default 20; --quick: 1)")
    parser.add_argument("--seeds", type=int, default=None,
                        help="runs per setting and activation, seeds SEED, SEED+1, ... (default 3; --quick: 1)")
    parser.add_argument("--seed", type=int, default=0, help="first seed (also fixes the data split)")
    parser.add_argument("--out", default=os.path.join(ROOT, "out", "activation-study"),
                        help="directory for the PNGs, JSON and table (default out/activation-study)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: the models are tiny; results are "
                             "reproducible for a fixed thread count)")
    parser.add_argument("--settings", default=None,
                        help="comma-separated subset of: " + ", ".join(s["name"] for s in SETTINGS))
    parser.add_argument("--activations", default=None,
                        help="comma-separated subset of: " + ", ".join(ACTIVATIONS))
    parser.add_argument("--quick", action="store_true",
                        help="a tiny configuration for tests: 1 epoch, 1 seed")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--experiment", default=None, metavar="NAME",
                        help="run one of the experiments on the chapter's open questions instead of "
                             "the study (examples/study_experiments.py): gradients, sparsity, kink, bias, "
                             "polarity, convex, forgetting, regularisation, a comma-separated list, or all; "
                             "--quick, --seeds, --seed, --out, --threads and --no-progress apply")
    args = parser.parse_args(argv)
    if args.experiment is not None:
        return run_experiments(parser, args)
    epochs = args.epochs if args.epochs is not None else (1 if args.quick else 20)
    n_seeds = args.seeds if args.seeds is not None else (1 if args.quick else 3)
    if epochs < 1 or n_seeds < 1 or args.threads < 1:
        parser.error("--epochs, --seeds and --threads must be >= 1")
    settings = SETTINGS
    if args.settings:
        names = args.settings.split(",")
        unknown = set(names) - {s["name"] for s in SETTINGS}
        if unknown:
            parser.error(f"unknown settings {sorted(unknown)}")
        settings = [s for s in SETTINGS if s["name"] in names]
    activations = ACTIVATIONS
    if args.activations:
        activations = args.activations.split(",")
        unknown = set(activations) - set(ACTIVATIONS)
        if unknown:
            parser.error(f"unknown activations {sorted(unknown)}")
    settings_by_name = {s["name"]: s for s in SETTINGS}

    start = time.perf_counter()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    seeds = [args.seed + i for i in range(n_seeds)]
    env = environment(args.threads)
    print(f"rectifiers {env['rectifiers']} ({env['build']})")
    print(f"torch {env['torch']}, {env['cpu']}, {env['cores']} cores, {args.threads} thread(s)")
    data = load_data(args.seed)
    print(f"digits: {len(data[1])} train / {len(data[3])} test images; {epochs} epochs, "
          f"batch {BATCH_SIZE}, seeds {seeds}")
    for s in settings:
        print(f"  {s['name']:13s} {s['title']}")

    from tqdm import tqdm

    total = sum(s.get("epochs_scale", 1) for s in settings) * len(activations) * len(seeds) * epochs
    bar = tqdm(total=total, unit="epoch", file=sys.stderr, disable=args.no_progress,
               dynamic_ncols=True)
    runs = []
    try:
        for setting in settings:
            for act in activations:
                for seed in seeds:
                    bar.set_description(f"{setting['name']} {act} seed {seed}", refresh=False)
                    bar.set_postfix_str("")
                    r = train_run(setting, act, seed, data, epochs, bar)
                    runs.append(r)
                    hit = r["epochs_to_threshold"]
                    note = f" DIVERGED at epoch {r['diverged_at_epoch']:.2f}" if r["diverged_at_epoch"] else ""
                    ms = f"{1000 * r['epoch_time_s']:.0f}" if r["epoch_time_s"] is not None else "-"
                    lf = r["dead_after"]["left_fraction"]
                    left = "" if lf is None else f", z<=0 everywhere {_pct(lf)}"
                    bar.write(f"{setting['name']:13s} {act:10s} seed {seed}: test acc "
                              f"{r['test_accuracy']:.4f}, loss {r['final_train_loss']:.4f}, "
                              f"loss<={LOSS_THRESHOLD:g} at epoch "
                              f"{'-' if hit is None else f'{hit:.2f}'}, {ms} ms/epoch, dead "
                              f"{_pct(r['dead_after']['dead_fraction'])}{left}{note}", file=sys.stdout)
    finally:
        bar.close()

    rows = summarize(runs)
    table = format_table(rows, epochs)
    dying = format_dying_table(rows)
    os.makedirs(args.out, exist_ok=True)
    pictures = plot(runs, settings, args.out, epochs)
    elapsed = time.perf_counter() - start
    with open(os.path.join(args.out, "activation-study-table.md"), "w") as f:
        f.write(table + "\n\n" + dying + "\n")
    result = dict(
        config=dict(epochs=epochs, seeds=seeds, batch_size=BATCH_SIZE, threads=args.threads,
                    loss_threshold=LOSS_THRESHOLD, evals_per_epoch=EVALS_PER_EPOCH,
                    leaky_slope=LEAKY_SLOPE, prelu_init=PRELU_INIT, maxout_k=MAXOUT_K,
                    settings=settings, activations=activations, quick=args.quick),
        environment=env, elapsed_s=elapsed, summary=rows, runs=runs,
        pictures=[os.path.basename(p) for p in pictures])
    problems = check(runs, epochs, settings_by_name, pictures)
    result["problems"] = problems
    with open(os.path.join(args.out, "activation-study-results.json"), "w") as f:
        json.dump(_plain(result), f, indent=1, allow_nan=False)

    print()
    print(table)
    print()
    print(f"Dying units (elementwise rectifiers; counts summed over {len(seeds)} seed(s), "
          f"checked {EVALS_PER_EPOCH} times per epoch):")
    print()
    print(dying)
    print()
    print(f"pictures, table and JSON in {args.out}")
    print(f"time {elapsed:.1f} s")
    for p in problems:
        print(f"PROBLEM: {p}")
    print("FAIL" if problems else "PASS")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
