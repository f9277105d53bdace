"""The activation study (examples/activation_study.py) in its --quick
configuration: it runs, writes its table, JSON and pictures, the numbers are
sane, and a rerun in a fresh process gives exactly the same numbers."""

import json
import math
import os
import subprocess
import sys

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")
pytest.importorskip("tqdm")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "examples", "activation_study.py")
ACTIVATIONS = ["relu", "leaky_relu", "prelu", "abs", "maxout", "relu6", "rrelu", "elu", "selu",
               "tanh", "sigmoid"]
RECTIFIERS = ["relu", "leaky_relu", "prelu", "abs", "relu6", "rrelu", "elu", "selu"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_study(out_dir, *extra):
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--quick", "--no-progress", "--out", str(out_dir), *extra],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, f"study failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    with open(os.path.join(out_dir, "activation-study-results.json")) as f:
        return proc, json.load(f)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    proc, result = run_study(out)
    return out, proc, result


def test_outputs_written(quick):
    out, proc, result = quick
    assert proc.stdout.rstrip().endswith("PASS")
    assert result["problems"] == []
    for name in ("activation-study-loss.png", "activation-study-dead-units.png"):
        with open(os.path.join(out, name), "rb") as f:
            data = f.read()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000, name
    with open(os.path.join(out, "activation-study-table.md")) as f:
        table, dying = f.read().strip().split("\n\n")
    assert table.startswith("| setting | activation | params |")
    assert dying.startswith("| setting | activation | hidden units")
    # The printed tables are the saved ones: one row per setting x activation,
    # and one per setting x elementwise rectifier.
    assert table in proc.stdout and dying in proc.stdout
    settings = {s["name"] for s in result["config"]["settings"]}
    assert {"mlp-sgd", "cnn-sgd", "mlp-adam", "mlp-adam-hot", "mlp-adam-negbias",
            "mlp-adam-small"} <= settings
    assert len(table.splitlines()) == 2 + len(settings) * len(ACTIVATIONS)
    assert len(dying.splitlines()) == 2 + len(settings) * len(RECTIFIERS)
    assert {(r["setting"], r["activation"]) for r in result["runs"]} == {
        (s, a) for s in settings for a in ACTIVATIONS}


def test_numbers_sane(quick):
    _, _, result = quick
    runs = {(r["setting"], r["activation"]): r for r in result["runs"]}
    # Far above chance (10%) even after one epoch.
    assert runs["mlp-adam", "relu"]["test_accuracy"] > 0.6
    assert runs["mlp-sgd", "relu"]["test_accuracy"] > 0.4
    assert runs["cnn-sgd", "relu"]["test_accuracy"] > 0.3
    for (setting, act), r in runs.items():
        assert 0.0 <= r["test_accuracy"] <= 1.0
        for key in ("dead_at_init", "dead_after"):
            st = r[key]
            assert 0.0 <= st["dead_fraction"] <= 1.0
            assert 0.0 <= st["zero_fraction"] <= 1.0
            assert st["units"] == sum(layer["units"] for layer in st["layers"].values())
            if act in RECTIFIERS:
                assert 0.0 <= st["left_fraction"] <= 1.0
            else:
                assert st["left_fraction"] is None
            if act == "relu":
                assert st["left_fraction"] == st["dead_fraction"]
            assert st["dead"] <= st["ever_dead"] and st["revived"] <= st["ever_dead"]
        if act in ("leaky_relu", "prelu", "maxout", "tanh", "rrelu", "elu", "selu"):
            # These output exactly 0 only where z is exactly 0 (or a maxout
            # group's max is): no unit does that on every example.
            assert r["dead_after"]["dead_fraction"] == 0.0
        assert 0.0 <= r["train_accuracy"] <= 1.0
        if setting in ("mlp-sgd", "cnn-sgd", "mlp-adam", "mlp-adam-small"):
            assert all(math.isfinite(v) for v in r["curve"]["train_loss"])
        assert r["epoch_time_s"] is None or r["epoch_time_s"] > 0


def test_parameter_counts(quick):
    _, _, result = quick
    params = {(r["setting"], r["activation"]): r["params"] for r in result["runs"]}
    # MLP 64-128-128-10: the two hidden layers have 8,320 + 16,512 parameters;
    # maxout with k=2 doubles exactly those; PReLU adds one slope per unit.
    assert params["mlp-sgd", "relu"] == 8_320 + 16_512 + 1_290
    assert params["mlp-sgd", "maxout"] == 2 * (8_320 + 16_512) + 1_290
    assert params["mlp-sgd", "prelu"] == params["mlp-sgd", "relu"] + 2 * 128
    for act in ("leaky_relu", "abs", "tanh", "sigmoid"):
        assert params["mlp-sgd", act] == params["mlp-sgd", "relu"]
    # CNN: conv 160 + 4,640, fc 32,832, out 650.
    assert params["cnn-sgd", "relu"] == 160 + 4_640 + 32_832 + 650
    assert params["cnn-sgd", "maxout"] == 2 * (160 + 4_640 + 32_832) + 650


def test_negative_bias_kills_relu(quick):
    """Hidden biases at -1: the ReLU net starts with its whole second layer
    dead and cannot recover; Leaky ReLU / PReLU units on the left side can."""
    _, _, result = quick
    runs = {(r["setting"], r["activation"]): r for r in result["runs"]}
    relu = runs["mlp-adam-negbias", "relu"]
    assert relu["dead_at_init"]["layers"]["fc2"]["dead"] == 128
    assert relu["dead_after"]["layers"]["fc2"]["dead"] == 128
    assert relu["test_accuracy"] < 0.2
    for act in ("leaky_relu", "prelu"):
        r = runs["mlp-adam-negbias", act]
        assert r["dead_after"]["left_fraction"] < r["dead_at_init"]["left_fraction"]


def test_rerun_is_identical(quick, tmp_path):
    """Fixed seeds and thread count: a fresh process gives the same numbers
    (checked on a subset of the runs to keep the test short)."""
    _, _, first = quick
    _, second = run_study(tmp_path, "--settings", "mlp-sgd,cnn-sgd",
                          "--activations", "relu,maxout,rrelu")
    before = {(r["setting"], r["activation"], r["seed"]): r for r in first["runs"]}
    assert len(second["runs"]) == 6  # rrelu too: its slopes come from the seeded generator
    for r in second["runs"]:
        a = before[r["setting"], r["activation"], r["seed"]]
        assert r["test_accuracy"] == a["test_accuracy"]
        assert r["final_train_loss"] == a["final_train_loss"]
        assert r["curve"]["train_loss"] == a["curve"]["train_loss"]
        assert r["dead_after"] == a["dead_after"]
