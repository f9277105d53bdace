"""README.md's Python blocks run, so that the README cannot rot.

The rule (README says it above its first Python block): every ```python block
of README.md runs, in the order it appears, in one namespace, as a reader
pasting them into one interpreter session would, with a temporary directory
as the working directory (the ONNX block writes model.onnx). So a block
defines what it uses or takes it from a block above; a listing of signatures
is written as calls on arguments that its block defines, and those calls must
name the real parameters with their real defaults. Blocks fenced otherwise
(bash, cpp, cmake, a bare fence for printed output) are not run here; the
```py block of Deploying compiles for seconds, so test_aoti.py runs it.
"""

import ast
import inspect
import os
import re

import pytest

import rectifiers
from rectifiers import functional as RF, nn as rnn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = os.path.join(ROOT, "README.md")


def python_blocks():
    """(first line number, code) of each ```python block, in order."""
    with open(README) as f:
        text = f.read()
    blocks = []
    for match in re.finditer(r"^```python\n(.*?)^```$", text, re.M | re.S):
        first_line = text.count("\n", 0, match.start(1)) + 1
        blocks.append((first_line, match.group(1)))
    return blocks


BLOCKS = python_blocks()


def test_readme_has_the_python_blocks():
    # The import block, the two signature listings and ONNX at least: a
    # changed fence must not make this test silently run nothing.
    assert len(BLOCKS) >= 4
    codes = [code for _, code in BLOCKS]
    assert codes[0].startswith("import torch\n")
    assert any("RF.maxout(input, pool_size, dim=1)" in code for code in codes)
    assert any("rnn.MaxoutLinear(in_features, out_features, pool_size" in code for code in codes)
    assert any("torch.onnx.export(" in code for code in codes)


def test_python_blocks_run_in_order(tmp_path, monkeypatch):
    pytest.importorskip("onnxscript")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    for first_line, code in BLOCKS:
        # Padded so that a traceback names the README's own line.
        exec(compile("\n" * (first_line - 1) + code, README, "exec"), namespace)
    assert (tmp_path / "model.onnx").stat().st_size > 0
    # The ONNX program is the model's: the same outputs, at another batch size too.
    onnxruntime = pytest.importorskip("onnxruntime")
    torch = namespace["torch"]
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"))
    x = torch.randn(5, 4)
    (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        expected = namespace["model"](x)
    torch.testing.assert_close(torch.from_numpy(got), expected, rtol=1e-5, atol=1e-5)


def listed_calls():
    """Each statement of the README's Python blocks that is a bare call of
    RF.<function> or rnn.<Module>: the signature listings."""
    owners = {"RF": RF, "rnn": rnn}
    calls = []
    for first_line, code in BLOCKS:
        for statement in ast.parse(code).body:
            call = statement.value if isinstance(statement, ast.Expr) else None
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and isinstance(call.func.value, ast.Name) and call.func.value.id in owners):
                target = getattr(owners[call.func.value.id], call.func.attr)
                calls.append((f"README.md:{first_line + statement.lineno - 1}", target, call))
    return calls


def test_signature_listings_match_the_code():
    calls = listed_calls()
    listed = {target for _, target, _ in calls}
    # Every public function and module is listed.
    public = {getattr(RF, name) for name in RF.__all__} | {getattr(rnn, name) for name in rnn.__all__}
    assert listed == public
    for where, target, call in calls:
        # A module without an __init__ of its own shows Module's (*args, **kwargs).
        parameters = [p for p in inspect.signature(target).parameters.values()
                      if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        # Positional arguments are named after the parameters they fill.
        for argument, parameter in zip(call.args, parameters):
            assert isinstance(argument, ast.Name) and argument.id == parameter.name, where
        # Keyword arguments are given the parameter's default.
        by_name = {p.name: p for p in parameters}
        for keyword in call.keywords:
            assert keyword.arg in by_name, f"{where}: no parameter {keyword.arg}"
            default = by_name[keyword.arg].default
            assert default is not inspect.Parameter.empty, f"{where}: {keyword.arg} has no default"
            value = eval(compile(ast.Expression(keyword.value), where, "eval"), {})
            assert value == default, f"{where}: {keyword.arg}={value!r}, but the default is {default!r}"
        # And every parameter with a default is listed with it.
        listed_names = {a.id for a in call.args} | {k.arg for k in call.keywords}
        assert listed_names == set(by_name), f"{where}: lists {sorted(listed_names)}, has {sorted(by_name)}"
