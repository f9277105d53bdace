"""The activation study's experiments (examples/study_experiments.py, run as
`activation_study.py --experiment NAME`) in their --quick configuration: all
eight in one process (one interpreter start-up), each writes its table, JSON
and picture, and the tables have every row of a full run. The quick numbers
mean nothing, so only what holds for any number of steps is checked."""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")
pytest.importorskip("tqdm")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "examples", "activation_study.py")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# experiment -> rows of its table (the same in --quick as in a full run)
ROWS = {
    "gradients": 3 * 6,        # inits x activations
    "sparsity": 8,             # ReLU with four L1 penalties, Leaky ReLU with two, softplus, tanh
    "kink": 3 * 3,             # settings x dtypes
    "bias": 3 * 5,             # models x initial biases
    "polarity": 5,
    "convex": 6 * 8,           # functions (and the difference of two units) x k
    "forgetting": 4 * 2,       # models x dropout
    "regularisation": 3 * 3 * 3,  # sizes x models x regularisations
}


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("experiments")
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--experiment", "all", "--quick", "--no-progress", "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, f"experiments failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    results = {}
    for name in ROWS:
        with open(os.path.join(out, f"{name}.json")) as f:
            results[name] = json.load(f)
    return out, proc, results


def table_rows(path):
    with open(path) as f:
        lines = [line for line in f.read().splitlines() if line.startswith("|")]
    header, rule, rows = lines[0], lines[1], lines[2:]
    assert set(rule.replace("|", "")) == {"-"}
    return header, [[c.strip() for c in row.strip("|").split("|")] for row in rows]


@pytest.mark.parametrize("name", list(ROWS))
def test_files_and_rows(quick, name):
    out, proc, results = quick
    assert proc.stdout.rstrip().endswith("PASS")
    with open(os.path.join(out, f"{name}.png"), "rb") as f:
        data = f.read()
    assert data.startswith(PNG_MAGIC) and len(data) > 10_000
    header, rows = table_rows(os.path.join(out, f"{name}.md"))
    assert len(rows) == ROWS[name]
    assert all(len(r) == header.count("|") - 1 for r in rows)
    result = results[name]
    assert result["experiment"] == name and result["quick"] is True
    assert result["seeds"] == [0] and result["problems"] == []
    assert len(result["rows"]) == ROWS[name]
    assert result["elapsed_s"] > 0
    assert f"## {name}:" in proc.stdout


def test_row_keys(quick):
    _, _, results = quick
    rows = {name: results[name]["rows"] for name in ROWS}
    assert {(r["init"], r["activation"]) for r in rows["gradients"]} == {
        (i, a) for i in ("default", "recommended", "doubled")
        for a in ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu")}
    assert {(r["setting"], r["dtype"]) for r in rows["kink"]} == {
        (s, d) for s in ("mlp", "cnn-nobias", "cnn-bias0") for d in ("float32", "bfloat16", "float16")}
    assert [r["variant"] for r in rows["polarity"]] == [
        "relu", "abs-first", "abs-all", "abs-first-bias", "relu-augmented"]
    assert {r["k"] for r in rows["convex"]} == {1, 2, 3, 4, 6, 8, 12, 16}
    assert {r["n"] for r in rows["regularisation"]} == {100, 300, 1348}
    assert {str(r["bias"]) for r in rows["bias"]} == {"default", "0.0", "0.01", "0.1", "1.0"}


def test_what_holds_for_any_number_of_steps(quick):
    _, _, results = quick
    # |.| after a bias-free first layer: a polarity-inverted (negated) image
    # gives the same first-layer output, so the same accuracy.
    for r in results["polarity"]["rows"]:
        if r["variant"] in ("abs-first", "abs-all"):
            assert r["acc"] == r["acc_inv"] and r["logit_gap"] < 1e-3
    # Where z is exactly 0 only because the input patch is blank and there is
    # no bias, the weight gradient there is 0 whatever ReLU'(0) is. (In
    # bfloat16 and float16 rounding also makes zeros from nonzero inputs.)
    for r in results["kink"]["rows"]:
        if r["setting"] == "cnn-nobias":
            assert r["zeros"] > 0
            if r["dtype"] == "float32":
                assert r["identical"] == r["seeds"]
    # One maxout unit with one piece is an affine function: its best max
    # error on x^2 over [-2, 2] is at least 2.
    x2 = {r["k"]: r for r in results["convex"]["rows"] if r["function"] == "x^2"}
    assert x2[1]["best"] >= 2.0 - 1e-4
    for r in results["gradients"]["rows"]:
        assert r["last_init"] > 0
