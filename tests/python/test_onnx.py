"""ONNX export (rectifiers.onnx): every op becomes standard ONNX, and the
exported models run in onnxruntime with eager's results, at other batch sizes
than the one exported with.

Each export takes a few seconds on the 2-core CI machines: one export per
model, shared by the tests that look at it.
"""

import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxscript")
ort = pytest.importorskip("onnxruntime")

import rectifiers  # noqa: E402
import rectifiers.onnx as ronnx  # noqa: E402
from rectifiers import functional as RF  # noqa: E402
from rectifiers import nn as rn  # noqa: E402

R = torch.ops.rectifiers
TOL = dict(rtol=1e-5, atol=1e-6)  # float32; the ONNX ops compute what ours do


def export(model, args, **kwargs):
    kwargs.setdefault("verbose", False)
    return ronnx.export(model, args, **kwargs)


def op_types(program):
    return [n.op_type for n in program.model_proto.graph.node]


def assert_standard_onnx(program):
    """Only default-domain ONNX ops: no rectifiers/pkg.torch custom nodes or functions."""
    proto = program.model_proto
    custom = [(n.domain, n.op_type) for n in proto.graph.node if n.domain not in ("", "ai.onnx")]
    assert not custom, custom
    assert not proto.functions, [f.name for f in proto.functions]
    assert {o.domain for o in proto.opset_import} <= {"", "ai.onnx"}, proto.opset_import
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= ronnx.OPSET


def run_ort(program, *inputs):
    sess = ort.InferenceSession(program.model_proto.SerializeToString(),
                                providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    assert len(names) == len(inputs)
    outs = sess.run(None, {n: x.numpy() for n, x in zip(names, inputs)})
    return [torch.from_numpy(o) for o in outs]


def eager(model, *inputs):
    with torch.no_grad():
        out = model(*[x.clone() for x in inputs])
    return list(out) if isinstance(out, (tuple, list)) else [out]


def assert_matches_eager(program, model, *inputs, exact=False):
    got, expected = run_ort(program, *inputs), eager(model, *inputs)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.dtype == e.dtype and g.shape == e.shape, (g.dtype, g.shape, e.dtype, e.shape)
        if exact:
            torch.testing.assert_close(g, e, rtol=0, atol=0)
        else:
            torch.testing.assert_close(g, e, **TOL)


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# --- an MLP with every module -----------------------------------------------------------------

class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.maxout_lin = rn.MaxoutLinear(6, 8, 3)
        self.prelu_c = rn.PReLU(8)
        self.relu = rn.ReLU()
        self.leaky = rn.LeakyReLU(0.2)
        self.absr = rn.AbsRectifier()
        self.lin = torch.nn.Linear(8, 4)
        self.prelu_1 = rn.PReLU()
        with torch.no_grad():
            self.prelu_c.weight.copy_(torch.linspace(-0.5, 0.7, 8))
            self.prelu_1.weight.fill_(-0.3)

    def forward(self, x):
        h = self.maxout_lin(x)  # (N, 8)
        h = self.prelu_c(h) + self.relu(h) - self.absr(h) + self.leaky(h - 0.25)
        return self.prelu_1(self.lin(h))


@pytest.fixture(scope="module")
def mlp():
    torch.manual_seed(0)
    model = MLP().eval()
    program = export(model, (randn(5, 6),), dynamic_shapes=({0: "batch"},))
    return model, program


def test_mlp_standard_ops(mlp):
    _, program = mlp
    types = op_types(program)
    for t in ("Relu", "LeakyRelu", "PRelu", "Abs", "Reshape", "ReduceMax"):
        assert t in types, (t, types)
    assert types.count("PRelu") == 2, types
    assert_standard_onnx(program)
    (leaky,) = [n for n in program.model_proto.graph.node if n.op_type == "LeakyRelu"]
    assert onnx.helper.get_attribute_value(leaky.attribute[0]) == pytest.approx(0.2)
    # the batch dimension is symbolic
    dim0 = program.model_proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert dim0.dim_param == "batch" and not dim0.HasField("dim_value")


@pytest.mark.parametrize("batch", [5, 1, 9])
def test_mlp_matches_eager(mlp, batch):
    model, program = mlp
    x = randn(batch, 6, seed=batch)
    x[0, :2] = 0.0
    assert_matches_eager(program, model, x)


def test_mlp_onnx_checker(mlp, tmp_path):
    _, program = mlp
    onnx.checker.check_model(program.model_proto, full_check=True)
    path = tmp_path / "mlp.onnx"
    program.save(str(path))
    onnx.checker.check_model(str(path), full_check=True)


# --- a CNN: maxout over channels, per-channel PReLU on NCHW ------------------------------------

class CNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 8, 3, padding=1)
        self.maxout = rn.Maxout(2, dim=1)  # 8 -> 4 channels
        self.prelu = rn.PReLU(4)
        self.conv2 = torch.nn.Conv2d(4, 6, 3)
        self.relu = rn.ReLU()
        self.head = rn.MaxoutLinear(6 * 4 * 4, 3, 2)
        with torch.no_grad():
            self.prelu.weight.copy_(torch.tensor([-0.4, 0.1, 0.25, 0.6]))

    def forward(self, x):
        h = self.prelu(self.maxout(self.conv(x)))  # (N, 4, 6, 6)
        h = self.relu(self.conv2(h))  # (N, 6, 4, 4)
        return self.head(h.flatten(1))


def test_cnn_nchw():
    torch.manual_seed(1)
    model = CNN().eval()
    program = export(model, (randn(3, 2, 6, 6),), dynamic_shapes=({0: "batch"},))
    types = op_types(program)
    for t in ("Conv", "Reshape", "ReduceMax", "PRelu", "Relu"):
        assert t in types, (t, types)
    assert_standard_onnx(program)
    for batch in (3, 1, 6):
        assert_matches_eager(program, model, randn(batch, 2, 6, 6, seed=batch))


# --- maxout along other dims, maxout_with_indices, empty batches -------------------------------

class MaxoutDims(torch.nn.Module):
    def forward(self, x):  # x: (N, 6, 4, 10)
        values, indices = R.maxout_with_indices(x, 5, -1)
        return (RF.maxout(x, 2, -1), RF.maxout(x, 3, 1), RF.maxout(x, 2, 2), RF.maxout(x, 2, -3),
                RF.maxout(x, 4, -2), rn.Maxout(10, dim=3)(x), values, indices,
                # the dynamic (possibly empty) dim after the grouped one
                RF.maxout(x.permute(3, 1, 2, 0), 2, 0))


def test_maxout_dims_and_indices():
    model = MaxoutDims().eval()
    program = export(model, (randn(3, 6, 4, 10),), dynamic_shapes=({0: "batch"},))
    types = op_types(program)
    assert types.count("ReduceMax") == 8 and "Reshape" in types and "ArgMax" in types, types
    assert_standard_onnx(program)
    for batch in (3, 7, 0):
        x = randn(batch, 6, 4, 10, seed=batch)
        # exact: a max is one of its inputs; the indices are uint8 like ours
        assert_matches_eager(program, model, x, exact=True)


# --- PReLU weight and input shapes ----------------------------------------------------------------

class PReLUShapes(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("w_c", torch.tensor([-0.5, 0.2, 0.7]))
        self.register_buffer("w_0d", torch.tensor(0.3))
        self.register_buffer("w_1", torch.tensor([-0.4]))
        self.register_buffer("w_5", torch.linspace(-1, 1, 5))

    def forward(self, x4, x1, x0):  # (N, 3, 4, 5), (5,), ()
        return (R.prelu(x4, self.w_c), R.prelu(x4, self.w_0d), R.prelu(x4, self.w_1),
                R.prelu(x4.flatten(2), self.w_c),  # rank 3
                R.prelu(x4[:, 0], self.w_1),  # rank 3, shared
                R.prelu(x4.flatten(1)[:, :5], self.w_5),  # rank 2, per channel
                R.prelu(x1, self.w_1), R.prelu(x1, self.w_0d),  # 1-D: one channel
                R.prelu(x0, self.w_1), R.prelu(x0, self.w_0d))  # 0-dim


def test_prelu_shapes():
    model = PReLUShapes().eval()
    args = (randn(2, 3, 4, 5), randn(5, seed=1), torch.tensor(-2.0))
    program = export(model, args, dynamic_shapes=({0: "batch"}, None, None))
    assert op_types(program).count("PRelu") == 10
    assert_standard_onnx(program)
    assert_matches_eager(program, model, *args, exact=True)
    assert_matches_eager(program, model, randn(4, 3, 4, 5, seed=2), args[1], torch.tensor(1.5),
                         exact=True)


# --- relu6 and the ELU family: Clip, Elu, Celu, Selu ---------------------------------------------

class Smooth(torch.nn.Module):
    """relu6, elu, celu and selu as modules and functions (float32: ONNX's Celu is float32 only)."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(6, 8)
        self.relu6 = rn.ReLU6()
        self.elu = rn.ELU(0.7)
        self.celu = rn.CELU(1.5)
        self.selu = rn.SELU()

    def forward(self, x):  # x: (N, 6), spanning both kinks of relu6
        h = self.lin(x)
        return (self.relu6(h), self.elu(h), self.celu(h), self.selu(h), RF.relu6(x),
                RF.elu(x), RF.elu(x, -0.4), RF.celu(x), RF.celu(x, alpha=0.25), RF.selu(x))


def spanning(batch, seed=0):
    """(batch, 6) values in about [-12, 12], with exact 0, -0 and 6 (relu6's kinks)."""
    x = randn(batch, 6, seed=seed) * 4
    x.view(-1)[:3] = torch.tensor([0.0, -0.0, 6.0])[: x.numel()]
    return x


@pytest.fixture(scope="module")
def smooth():
    torch.manual_seed(3)
    with torch.no_grad():
        model = Smooth().eval()
        model.lin.weight.mul_(8)  # pre-activations well past 6 and well below 0
    program = export(model, (spanning(5),), dynamic_shapes=({0: "batch"},))
    return model, program


def test_smooth_standard_ops(smooth):
    _, program = smooth
    types = op_types(program)
    assert types.count("Clip") == 2 and types.count("Elu") == 3, types
    assert types.count("Celu") == 3 and types.count("Selu") == 2, types
    assert_standard_onnx(program)
    onnx.checker.check_model(program.model_proto, full_check=True)
    attrs = {}
    for n in program.model_proto.graph.node:
        if n.op_type in ("Elu", "Celu", "Selu"):
            attrs.setdefault(n.op_type, []).append(
                {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute})
    assert sorted(a["alpha"] for a in attrs["Elu"]) == pytest.approx([-0.4, 0.7, 1.0])
    assert sorted(a["alpha"] for a in attrs["Celu"]) == pytest.approx([0.25, 1.0, 1.5])
    for a in attrs["Selu"]:  # torch's coefficients, in float32
        assert a["alpha"] == pytest.approx(1.6732632423543772, rel=1e-7)
        assert a["gamma"] == pytest.approx(1.0507009873554805, rel=1e-7)
    # Clip's bounds are given (a missing one means no bound); their values are checked by
    # test_smooth_matches_eager (relu6 of the input is exact, past both bounds)
    for n in program.model_proto.graph.node:
        if n.op_type == "Clip":
            assert len(n.input) == 3 and all(n.input), list(n.input)


@pytest.mark.parametrize("batch", [5, 1, 8, 0])
def test_smooth_matches_eager(smooth, batch):
    model, program = smooth
    x = spanning(batch, seed=batch)
    got, expected = run_ort(program, x), eager(model, x)
    assert len(got) == len(expected) == 10
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g.dtype == e.dtype == torch.float32 and g.shape == e.shape, i
        if i == 4:  # Clip of the input: exact (output 0 went through a Gemm)
            torch.testing.assert_close(g, e, rtol=0, atol=0)
        else:
            torch.testing.assert_close(g, e, **TOL)
    if batch:
        h = model.lin(x)
        ref = (F.relu6(h), F.elu(h, 0.7), F.celu(h, 1.5), F.selu(h), F.relu6(x), F.elu(x),
               F.elu(x, -0.4), F.celu(x), F.celu(x, 0.25), F.selu(x))
        for i, (g, r) in enumerate(zip(got, ref)):
            torch.testing.assert_close(g, r.detach(), **TOL, msg=lambda m: f"output {i}: {m}")
        assert (got[0] == 6).any() and (got[0] == 0).any()  # both kinks reached


# --- in-place modules and functions ------------------------------------------------------------

class InPlace(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin1 = torch.nn.Linear(6, 8)
        self.relu = rn.ReLU(inplace=True)
        self.lin2 = torch.nn.Linear(8, 8)
        self.leaky = rn.LeakyReLU(0.1, inplace=True)

    def forward(self, x):
        RF.relu(x, inplace=True)  # mutates the input
        h = self.lin1(x)
        RF.leaky_relu(h[:, 2:5], 0.3, inplace=True)  # a slice of h
        h = self.relu(h)
        h = self.lin2(h)
        self.leaky(h)  # result unused: h itself changed
        return h


class InPlaceSmooth(torch.nn.Module):
    """The in-place forms of relu6, elu, celu and selu (modules and functions)."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(6, 8)
        self.relu6 = rn.ReLU6(inplace=True)
        self.elu = rn.ELU(0.5, inplace=True)
        self.celu = rn.CELU(2.0, inplace=True)
        self.selu = rn.SELU(inplace=True)

    def forward(self, x):
        h = self.lin(x) * 4.0
        m = h + 1.0  # the modules' own tensor (not a copy of h, which the exporter would merge)
        self.relu6(m[:, 0:2])  # slices of m
        self.elu(m[:, 2:4])
        self.celu(m[:, 4:6])
        self.selu(m[:, 6:8])
        RF.relu6(h[:, 0:2], inplace=True)  # slices of h
        RF.elu(h[:, 2:4], 1.5, inplace=True)
        RF.celu(h[:, 4:6], 0.5, inplace=True)
        RF.selu(h[:, 6:8], inplace=True)
        return m, h


def test_inplace_modules_export():
    """In-place forms trace as the out-of-place op + copy_ under torch.export, so
    plain torch.onnx.export with the table handles them."""
    torch.manual_seed(2)
    model = InPlace().eval()
    with torch.no_grad():
        ep = torch.export.export(model, (randn(4, 6),))
    targets = {n.target for n in ep.graph.nodes if n.op == "call_function"}
    assert not {R.relu_.default, R.leaky_relu_.default} & targets, targets
    program = torch.onnx.export(model, (randn(4, 6),), dynamo=True, verbose=False,
                                custom_translation_table=ronnx.custom_translation_table(),
                                dynamic_shapes=({0: "batch"},))
    types = op_types(program)
    assert types.count("Relu") == 2 and types.count("LeakyRelu") == 2, types
    assert_standard_onnx(program)
    assert len(program.model_proto.graph.output) == 1
    for batch in (4, 1, 7):
        assert_matches_eager(program, model, randn(batch, 6, seed=batch))


def test_inplace_smooth_export():
    torch.manual_seed(4)
    model = InPlaceSmooth().eval()
    with torch.no_grad():
        ep = torch.export.export(model, (randn(4, 6),))
    targets = {n.target for n in ep.graph.nodes if n.op == "call_function"}
    assert not {R.relu6_.default, R.elu_.default, R.celu_.default, R.selu_.default} & targets
    assert {R.relu6.default, R.elu.default, R.celu.default, R.selu.default} <= targets, targets
    program = torch.onnx.export(model, (randn(4, 6),), dynamo=True, verbose=False,
                                custom_translation_table=ronnx.custom_translation_table(),
                                dynamic_shapes=({0: "batch"},))
    types = op_types(program)
    for t in ("Clip", "Elu", "Celu", "Selu"):
        assert types.count(t) == 2, (t, types)
    assert_standard_onnx(program)
    for batch in (4, 1, 7):
        x = randn(batch, 6, seed=batch)
        assert_matches_eager(program, model, x)
        # and the in-place results are torch's
        with torch.no_grad():
            h = model.lin(x) * 4.0
            m = h + 1.0
            ref_m = torch.cat([F.relu6(m[:, 0:2]), F.elu(m[:, 2:4], 0.5), F.celu(m[:, 4:6], 2.0),
                               F.selu(m[:, 6:8])], 1)
            ref_h = torch.cat([F.relu6(h[:, 0:2]), F.elu(h[:, 2:4], 1.5), F.celu(h[:, 4:6], 0.5),
                               F.selu(h[:, 6:8])], 1)
        out_m, out_h = run_ort(program, x)
        torch.testing.assert_close(out_m, ref_m, **TOL)
        torch.testing.assert_close(out_h, ref_h, **TOL)


# --- the table on its own, and merging a user's table ------------------------------------------

def test_table_with_torch_onnx_export_and_user_override():
    from onnxscript import opset18 as op

    model = torch.nn.Sequential(rn.AbsRectifier(), rn.Maxout(2, dim=-1), rn.ReLU()).eval()
    x = randn(3, 8)
    table = ronnx.custom_translation_table()
    assert set(table) == {R.relu.default, R.leaky_relu.default, R.prelu.default,
                          R.abs_rectifier.default, R.relu6.default, R.elu.default, R.celu.default,
                          R.selu.default, R.rrelu.default, R.rrelu_with_state.default,
                          R.maxout.default, R.maxout_with_indices.default}
    program = torch.onnx.export(model, (x,), dynamo=True, verbose=False,
                                custom_translation_table=table)
    assert op_types(program) == ["Abs", "Reshape", "ReduceMax", "Relu"]
    assert_matches_eager(program, model, x, exact=True)

    # rectifiers.onnx.export merges the user's table over ours
    program = export(model, (x,), custom_translation_table={
        R.abs_rectifier.default: lambda self: op.Max(self, op.Neg(self))})
    types = op_types(program)
    assert "Abs" not in types and "Max" in types and "ReduceMax" in types, types
    assert_matches_eager(program, model, x, exact=True)


def test_import_does_not_need_onnx():
    code = ("import sys, rectifiers, rectifiers.onnx\n"
            "bad = [m for m in ('onnx', 'onnxscript', 'onnxruntime') if m in sys.modules]\n"
            "assert not bad, bad\n")
    env = dict(os.environ)
    pkg_root = os.path.dirname(os.path.dirname(rectifiers.__file__))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [pkg_root, env.get("PYTHONPATH")]))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stderr


# --- a plain torch.onnx.export, no translation table ------------------------------------------

PLAIN_EXPORT = """
import sys
{first}
import numpy as np, onnxruntime, torch
import rectifiers
from rectifiers import nn as rn

model = torch.nn.Sequential(rn.PReLU(4, init=0.3), rn.Maxout(2, dim=1), rn.ReLU(),
                            rn.LeakyReLU(0.2), rn.AbsRectifier(), rn.ELU(0.5), rn.CELU(2.0),
                            rn.SELU(), rn.ReLU6(), torch.nn.Flatten(),
                            rn.MaxoutLinear(10, 3, 2)).eval()
x = torch.randn(3, 4, 5) * 4
x[0, 0, :2] = 0.0
program = torch.onnx.export(model, (x,), dynamo=True, verbose=False)
types = [n.op_type for n in program.model_proto.graph.node]
for t in ("PRelu", "Reshape", "ReduceMax", "Relu", "LeakyRelu", "Abs", "Elu", "Celu", "Selu",
          "Clip"):
    assert t in types, (t, types)
assert all(n.domain in ("", "ai.onnx") for n in program.model_proto.graph.node), types
session = onnxruntime.InferenceSession(program.model_proto.SerializeToString())
got = session.run(None, {{session.get_inputs()[0].name: x.numpy()}})[0]
np.testing.assert_allclose(got, model(x).detach().numpy(), rtol=1e-6, atol=1e-6)
print("ok")
"""


@pytest.mark.parametrize("first", ["", "import torch.onnx._internal.exporter._registration"],
                         ids=["rectifiers_first", "exporter_first"])
def test_plain_torch_onnx_export(first):
    """After import rectifiers, torch.onnx.export(dynamo=True) needs no table,
    whichever of rectifiers and the exporter is imported first."""
    env = dict(os.environ)
    pkg_root = os.path.dirname(os.path.dirname(rectifiers.__file__))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [pkg_root, env.get("PYTHONPATH")]))
    r = subprocess.run([sys.executable, "-c", PLAIN_EXPORT.format(first=first)],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-3000:]
