"""rectifiers demo: train a small CNN that uses every rectifiers.nn module on
8x8 digits, script it, and check that the saved model gives the same answers
when it is reloaded in Python and when it is loaded by a C++ program.

    bash scripts/setup.sh                 # installs and builds first
    RECTIFIERS_CPP_BUILD=build python examples/demo.py [--quick] [--steps N] [--out DIR] [--threads T]

Steps:
  1. load sklearn's digits (1797 8x8 images, shipped with scikit-learn) and
     split them 75/25 into train and test sets, with fixed seeds;
  2. train, with Adam, a CNN built from all eleven rectifiers.nn modules:
     ReLU, Maxout (conv channels in pairs), ReLU6 and ELU (in residual conv
     blocks), PReLU (one slope per channel), AbsRectifier, MaxoutLinear,
     LeakyReLU, and RReLU, CELU and SELU (in residual linear blocks);
  3. torch.jit.script the model in eval mode (RReLU then uses its mean slope
     instead of random ones), save it, reload it with torch.jit.load and
     compare its outputs on the test set with the trained model's;
  4. run the C++ program $RECTIFIERS_CPP_BUILD/load_scripted (default build/)
     on the saved model and the saved test batch and compare its output;
  5. print a summary and exit 1 if anything does not match or the test
     accuracy is too low (below 90% after at least 200 steps, below 50% after
     at least 50; not checked for shorter runs), 0 otherwise.

--quick trains 50 steps instead of 300 (tests/python/test_examples.py runs it).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import torch
from torch import nn

import rectifiers
from rectifiers import nn as rnn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Python and C++ run the same kernels on the same CPU, but the convolutions
# and matmuls may block their reductions differently across processes, so
# allow float32 rounding noise; the predicted classes must agree exactly.
ATOL = 1e-4
# (steps, lowest test accuracy): the model clears each bar with room to spare
# on every seed tried, so falling below one means something is broken (e.g. a
# gradient is wrong). Shorter runs are not checked: a handful of steps says
# nothing about the ops.
ACCURACY_BARS = ((200, 0.90), (50, 0.50))
DEFAULT_STEPS = 300
QUICK_STEPS = 50


def accuracy_bar(steps: int):
    """The lowest acceptable test accuracy after `steps` steps, or None."""
    for min_steps, bar in ACCURACY_BARS:
        if steps >= min_steps:
            return bar
    return None


class ResidualConv(nn.Module):
    """x + activation(conv(x)): the identity path keeps the deeper stack as easy
    to train as a shallow one, so every activation can have a layer."""

    def __init__(self, channels: int, activation: nn.Module) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.activation(self.conv(x))


class ResidualLinear(nn.Module):
    """x + activation(linear(x)), as ResidualConv."""

    def __init__(self, features: int, activation: nn.Module) -> None:
        super().__init__()
        self.linear = nn.Linear(features, features)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.activation(self.linear(x))


class DigitsNet(nn.Module):
    """1x8x8 image -> 10 logits, with every rectifiers module in it."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            rnn.ReLU(),                       # max(0, z)
            nn.Conv2d(16, 32, 3, padding=1),
            rnn.Maxout(pool_size=2, dim=1),   # 32 channels -> 16: max of channel pairs
            ResidualConv(16, rnn.ReLU6()),    # min(max(0, z), 6)
            nn.MaxPool2d(2),                  # 8x8 -> 4x4
            nn.Conv2d(16, 16, 3, padding=1),
            rnn.PReLU(num_parameters=16),     # a learned negative slope per channel
            ResidualConv(16, rnn.ELU(alpha=1.0)),  # exp(z) - 1 for z < 0
            nn.Flatten(),                     # 16 * 4 * 4 = 256
        )
        self.classifier = nn.Sequential(
            nn.Linear(256, 64),
            rnn.AbsRectifier(),               # |z|
            rnn.MaxoutLinear(64, 32, pool_size=3),  # 32 units, 3 affine pieces each
            nn.Linear(32, 32),
            rnn.LeakyReLU(negative_slope=0.05),
            ResidualLinear(32, rnn.RReLU(lower=0.1, upper=0.3)),  # random slopes while training
            ResidualLinear(32, rnn.CELU(alpha=0.5)),
            ResidualLinear(32, rnn.SELU()),   # self-normalising scale and alpha
            nn.Linear(32, 10),
        )
        # The chapter's advice: a small positive bias keeps ReLUs active at the start.
        nn.init.constant_(self.features[0].bias, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def load_data(seed: int):
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0  # N,1,8,8 in [0,1]
    labels = torch.tensor(digits.target, dtype=torch.long)
    images = (images - images.mean()) / images.std()
    perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    n_test = len(labels) // 4
    test, train = perm[:n_test], perm[n_test:]
    return images[train], labels[train], images[test], labels[test]


def train(model, x, y, steps: int, batch_size: int, seed: int) -> float:
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    loss = torch.tensor(float("nan"))
    running = None
    for step in range(1, steps + 1):
        idx = torch.randint(0, len(y), (batch_size,), generator=gen)
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        running = loss.item() if running is None else 0.9 * running + 0.1 * loss.item()
        if step % 100 == 0 or step == steps:
            print(f"  step {step:4d}  loss {loss.item():.4f}  (smoothed {running:.4f})")
    return loss.item()


def run_cpp(binary: str, model_path: str, input_path: str, output_path: str, threads: int):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    proc = subprocess.run([binary, model_path, input_path, output_path], env=env,
                          capture_output=True, text=True, timeout=120)
    return proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=None,
                        help=f"training steps (default {DEFAULT_STEPS})")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_STEPS} training steps (unless --steps says otherwise)")
    parser.add_argument("--out", default=None,
                        help="directory for the scripted model and tensors "
                             "(default: a temporary directory, removed afterwards)")
    parser.add_argument("--seed", type=int, default=0, help="seed for data split, init and batches")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads for Python and C++ (default 1: the model is tiny, and "
                             "on busy shared cores a second thread makes each step ~10x slower)")
    args = parser.parse_args()
    if args.steps is None:
        args.steps = QUICK_STEPS if args.quick else DEFAULT_STEPS
    if args.steps < 1:
        parser.error("--steps must be >= 1")

    start = time.perf_counter()
    threads = max(1, args.threads)
    torch.set_num_threads(threads)
    torch.manual_seed(args.seed)
    print(f"rectifiers {rectifiers.__version__}: {rectifiers.build_info()}")
    print(f"torch {torch.__version__}, {threads} CPU thread(s)")

    x_train, y_train, x_test, y_test = load_data(args.seed)
    print(f"digits: {len(y_train)} train / {len(y_test)} test images (1x8x8)")

    model = DigitsNet()
    used = {type(m).__name__ for m in model.modules() if type(m).__module__ == rnn.__name__}
    missing = set(rnn.__all__) - used
    assert not missing, f"demo model does not use {sorted(missing)}"
    print(model)

    print(f"training {args.steps} steps (Adam, batch 64)")
    final_loss = train(model, x_train, y_train, args.steps, batch_size=64, seed=args.seed)

    model.eval()
    with torch.no_grad():
        logits = model(x_test)
    accuracy = (logits.argmax(1) == y_test).float().mean().item()
    prelu_slopes = next(m for m in model.modules() if isinstance(m, rnn.PReLU)).weight.detach()
    print(f"test accuracy {accuracy:.4f}; learned PReLU slopes in "
          f"[{prelu_slopes.min().item():.3f}, {prelu_slopes.max().item():.3f}]")

    out_dir = args.out or tempfile.mkdtemp(prefix="rectifiers-demo-")
    os.makedirs(out_dir, exist_ok=True)
    model_path = os.path.join(out_dir, "digits_scripted.pt")
    input_path = os.path.join(out_dir, "test_input.pt")
    python_out_path = os.path.join(out_dir, "python_output.pt")
    cpp_out_path = os.path.join(out_dir, "cpp_output.pt")
    try:
        with warnings.catch_warnings():
            # torch >= 2.10 marks torch.jit as deprecated; it is what C++ loads.
            warnings.simplefilter("ignore", FutureWarning)
            scripted = torch.jit.script(model)
            scripted.save(model_path)
            reloaded = torch.jit.load(model_path)
        # A plain tensor saved with torch.save is what torch::pickle_load reads.
        torch.save(x_test.contiguous(), input_path)
        torch.save(logits, python_out_path)

        with torch.no_grad():
            reloaded_logits = reloaded(x_test)
        diff_reload = (reloaded_logits - logits).abs().max().item()
        ok_reload = diff_reload <= ATOL and torch.equal(reloaded_logits.argmax(1), logits.argmax(1))

        binary = os.path.join(os.environ.get("RECTIFIERS_CPP_BUILD", os.path.join(ROOT, "build")),
                              "load_scripted")
        diff_cpp = float("nan")
        ok_cpp = False
        cpp_note = "not run"
        if not os.path.isfile(binary):
            print(f"C++: {binary} not found; build it with `bash scripts/setup.sh` "
                  "(or set RECTIFIERS_CPP_BUILD to the CMake build directory)")
        else:
            try:
                proc = run_cpp(binary, model_path, input_path, cpp_out_path, threads)
            except subprocess.TimeoutExpired:
                proc = subprocess.CompletedProcess([binary], returncode=-1, stdout="",
                                                   stderr="timed out after 120 s")
            print(f"C++: {proc.stdout.strip()}")
            if proc.returncode != 0:
                print(f"C++: {binary} exited with {proc.returncode}:\n{proc.stderr}")
            else:
                cpp_logits = torch.load(cpp_out_path)
                if cpp_logits.shape != logits.shape:
                    print(f"C++: output shape {tuple(cpp_logits.shape)}, expected {tuple(logits.shape)}")
                else:
                    diff_cpp = (cpp_logits - logits).abs().max().item()
                    cpp_note = ""
                    ok_cpp = diff_cpp <= ATOL and torch.equal(cpp_logits.argmax(1), logits.argmax(1))
    finally:
        if args.out is None:
            shutil.rmtree(out_dir, ignore_errors=True)

    bar = accuracy_bar(args.steps)
    ok_accuracy = bar is None or accuracy >= bar
    passed = ok_reload and ok_cpp and ok_accuracy
    elapsed = time.perf_counter() - start
    print()
    print("== summary")
    print(f"steps                      {args.steps}")
    print(f"final training loss        {final_loss:.4f}")
    if bar is None:
        verdict = f"not checked below {ACCURACY_BARS[-1][0]} steps"
    else:
        verdict = f"ok: >= {bar}" if ok_accuracy else f"below {bar}"
    print(f"test accuracy              {accuracy:.4f}  ({verdict})")
    print(f"max |python - reloaded|    {diff_reload:.3g}  ({'ok' if ok_reload else 'MISMATCH'})")
    cpp_verdict = "ok" if ok_cpp else (cpp_note or "MISMATCH")
    print(f"max |python - C++|         {diff_cpp:.3g}  ({cpp_verdict})")
    if args.out is not None:
        print(f"files                      {out_dir}")
    print(f"time                       {elapsed:.1f} s")
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
