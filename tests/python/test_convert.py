"""rectifiers.convert beyond modules: the functional activation calls in a
model's own forward (eager, torch.compile, torch.export), subclasses of the
torch.nn activations, the report, and what it refuses. The module swap itself
is in test_modules.py."""

import copy
import io
import logging
import re
import warnings

import pytest
import torch
import torch.nn.functional as F

import rectifiers
from rectifiers import nn as rn

NATIVE_ACTIVATIONS = {
    "aten.relu", "aten.relu_", "aten.leaky_relu", "aten.leaky_relu_", "aten.hardtanh",
    "aten.hardtanh_", "aten.elu", "aten.elu_", "aten.celu", "aten.selu", "aten.prelu",
    "aten._prelu_kernel", "aten.rrelu", "aten.rrelu_with_noise", "aten.clamp", "aten.clamp_min",
}


def graph_ops(graph_module):
    """The ops of an FX graph as 'namespace.name' (overloads dropped)."""
    ops = set()
    for node in graph_module.graph.nodes:
        if node.op == "call_function":
            name = str(node.target)
            ops.add(".".join(name.split(".")[:2]))
    return ops


class Functional(torch.nn.Module):
    """Every functional activation convert redirects, called in forward."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(8, 8)
        self.weight = torch.nn.Parameter(torch.tensor([0.3]))

    def forward(self, x):
        h = self.linear(x)
        parts = [
            F.relu(h), torch.relu(h), h.relu(), F.leaky_relu(h, 0.2), F.relu6(h * 4),
            F.hardtanh(h * 4, 0.0, 6.0), F.elu(h, 0.5), F.selu(h), F.celu(h, 1.5),
            F.prelu(h, self.weight), F.rrelu(h, 0.1, 0.3),
            F.relu(h.clone(), inplace=True), F.relu_(h.clone()), torch.relu_(h.clone()),
            F.leaky_relu(h.clone(), 0.1, inplace=True), F.elu(h.clone(), inplace=True),
            F.hardtanh(h, -1.0, 1.0),  # not a ReLU6: stays torch's
        ]
        return torch.stack(parts)


# rrelu in eval mode is leaky_relu with the mean slope, as torch's.
FUNCTIONAL_OURS = {"rectifiers.relu", "rectifiers.leaky_relu", "rectifiers.relu6",
                   "rectifiers.elu", "rectifiers.selu", "rectifiers.celu", "rectifiers.prelu"}


def converted_pair(make, **kwargs):
    torch.manual_seed(0)
    native = make()
    ours = copy.deepcopy(native)
    ours, report = rectifiers.convert(ours, return_report=True, **kwargs)
    return native, ours, report


def test_functional_calls_eager_match_native_bitwise():
    native, ours, report = converted_pair(Functional)
    assert report.redirected == {f"{__name__}.Functional": (1, [
        "celu", "elu", "hardtanh", "leaky_relu", "prelu", "relu", "relu6", "relu_", "rrelu",
        "selu"])}
    x = torch.randn(4, 8)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = ours(xa), native(xb)
    assert torch.equal(ya, yb)
    g = torch.randn_like(ya)
    ya.backward(g)
    yb.backward(g)
    assert torch.equal(xa.grad, xb.grad)
    for (name, pa), pb in zip(ours.named_parameters(), native.parameters()):
        assert torch.equal(pa.grad, pb.grad), name


def test_functional_calls_reach_our_ops():
    """The redirected calls run our ops (a dispatch mode sees them), the
    unconverted twin runs none, and nothing outside the model is affected."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Seen(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops = set()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.ops.add(f"{func.namespace}.{func._opname}")
            return func(*args, **(kwargs or {}))

    native, ours, _ = converted_pair(Functional)
    x = torch.randn(4, 8)
    with Seen() as seen:
        ours(x)
    assert FUNCTIONAL_OURS | {"rectifiers.relu_", "rectifiers.leaky_relu_",
                              "rectifiers.elu_"} <= seen.ops
    assert not {"aten.relu", "aten.relu_", "aten.leaky_relu", "aten.elu", "aten.selu",
                "aten.celu", "aten.rrelu_with_noise", "aten._prelu_kernel"} & seen.ops
    assert "aten.hardtanh" in seen.ops  # hardtanh(-1, 1) is not ours to take
    with Seen() as seen:
        native(x)
        F.relu(x)  # outside the converted model
    assert not any(op.startswith("rectifiers.") for op in seen.ops)


def test_functional_calls_keep_what_ours_do_not_take():
    class IntRelu(torch.nn.Module):
        def forward(self, x):
            return F.relu(x)

    model = rectifiers.convert(IntRelu())
    x = torch.tensor([-2, 0, 3])
    assert torch.equal(model(x), torch.tensor([0, 0, 3]))


def test_functional_calls_under_export_and_compile():
    native, ours, _ = converted_pair(Functional)
    ours.eval()
    native.eval()
    x = torch.randn(4, 8)
    program = torch.export.export(ours, (x,))
    ops = graph_ops(program.graph_module)
    assert FUNCTIONAL_OURS <= ops, ops
    assert not ops & (NATIVE_ACTIVATIONS - {"aten.hardtanh"}), ops
    assert torch.equal(program.module()(x), native(x))

    torch._dynamo.reset()
    compiled = torch.compile(ours, backend="aot_eager", fullgraph=True)
    assert torch.equal(compiled(x), native(x))


def test_googlenet_and_densenet_export_with_no_native_activation():
    tv = pytest.importorskip("torchvision")
    cases = [
        (lambda: tv.models.googlenet(weights=None, aux_logits=False, init_weights=False), 57),
        (lambda: tv.models.densenet121(weights=None), 1),
    ]
    x = torch.randn(1, 3, 64, 64)
    for make, calls in cases:
        native, ours, report = converted_pair(make)
        native.eval()
        ours.eval()
        assert sum(n for n, _ in report.redirected.values()) == calls, str(report)
        program = torch.export.export(ours, (x,))
        ops = graph_ops(program.graph_module)
        assert not ops & NATIVE_ACTIVATIONS, (type(native).__name__, ops & NATIVE_ACTIVATIONS)
        assert "rectifiers.relu_" in ops or "rectifiers.relu" in ops
        with torch.no_grad():
            expected = native(x)
            assert torch.equal(ours(x), expected)
            assert torch.equal(program.module()(x), expected)


def test_timm_prelu_subclass_is_converted():
    timm = pytest.importorskip("timm")
    torch.manual_seed(0)
    native = timm.create_model("resnet18", act_layer="prelu", num_classes=10).eval()
    kinds = {type(m) for m in native.modules() if isinstance(m, torch.nn.PReLU)}
    assert kinds and all(k is not torch.nn.PReLU for k in kinds)  # timm's own subclass
    count = sum(isinstance(m, torch.nn.PReLU) for m in native.modules())
    ours = copy.deepcopy(native)
    weights = [m.weight for m in ours.modules() if isinstance(m, torch.nn.PReLU)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours, report = rectifiers.convert(ours, return_report=True)
    assert not any(isinstance(m, torch.nn.PReLU) for m in ours.modules())
    converted = [m for m in ours.modules() if type(m) is rn.PReLU]
    assert len(converted) == count and not report.skipped
    assert [m.weight for m in converted] == weights  # the very same Parameters
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(ours(x), native(x))


def test_subclass_with_own_forward_is_skipped_with_a_warning():
    class Doubled(torch.nn.ReLU):
        def forward(self, x):
            return 2 * super().forward(x)

    class Same(torch.nn.LeakyReLU):
        pass

    model = torch.nn.Sequential(Doubled(), Same(0.2))
    with pytest.warns(UserWarning, match=r"rectifiers.convert: left .*Doubled as it is: it "
                                         r"subclasses torch.nn.ReLU with a forward of its own"):
        model, report = rectifiers.convert(model, return_report=True)
    assert type(model[0]) is Doubled
    assert type(model[1]) is rn.LeakyReLU and model[1].negative_slope == 0.2
    assert report.replaced == {f"{__name__}.test_subclass_with_own_forward_is_skipped_with_a_"
                               f"warning.<locals>.Same": 1}
    (name, (n, why)), = report.skipped.items()
    assert name.endswith("Doubled") and n == 1 and "forward differs" in why


def test_report_is_logged_and_readable(caplog):
    model = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.ReLU(), torch.nn.ELU(), Functional())
    with caplog.at_level(logging.INFO, logger="rectifiers.convert"):
        _, report = rectifiers.convert(model, return_report=True)
    text = str(report)
    assert caplog.records[-1].getMessage() == text
    assert text.splitlines()[:3] == ["rectifiers.convert: replaced 3 modules:", "  ELU: 1",
                                     "  ReLU: 2"]
    assert re.search(r"Functional: 1 module \(celu, elu, hardtanh, leaky_relu, prelu, relu, "
                     r"relu6, relu_, rrelu, selu\)", text)
    _, report = rectifiers.convert(torch.nn.Linear(2, 2), return_report=True)
    assert str(report) == "rectifiers.convert: replaced 0 modules"


def test_functional_false_leaves_calls_native():
    _, ours, report = converted_pair(Functional, functional=False)
    assert not report.redirected and not ours._forward_pre_hooks


def test_hooks_move_to_the_replacement():
    relu = torch.nn.ReLU()
    seen = []
    handle = relu.register_forward_hook(lambda m, i, o: seen.append(type(m)))
    model = rectifiers.convert(torch.nn.Sequential(relu))
    model(torch.randn(3))
    assert seen == [rn.ReLU]
    handle.remove()
    model(torch.randn(3))
    assert seen == [rn.ReLU]


def test_converted_model_copies_pickles_and_scripts():
    native, ours, _ = converted_pair(Functional)
    x = torch.randn(4, 8)
    twin = copy.deepcopy(ours)
    buffer = io.BytesIO()
    torch.save(ours, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    for model in (twin, loaded):
        assert torch.equal(model(x), native(x))
        assert model._forward_pre_hooks  # still redirected
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated
        scripted = torch.jit.script(ours.eval())
    assert torch.equal(scripted(x), native.eval()(x))


@pytest.mark.parametrize("bad, text", [
    (torch.randn(3), r"expected a torch.nn.Module, but got Tensor"),
    ("model", r"expected a torch.nn.Module, but got str"),
])
def test_refuses_a_non_module(bad, text):
    with pytest.raises(TypeError, match=r"rectifiers.convert: " + text):
        rectifiers.convert(bad)


def test_refuses_scripted_compiled_and_exported():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        scripted = torch.jit.script(model)
    with pytest.raises(TypeError, match=re.escape(
            "got a scripted module (torch.jit.ScriptModule), whose code is already compiled; "
            "convert the torch.nn.Module, then script it: "
            "torch.jit.script(rectifiers.convert(model))")):
        rectifiers.convert(scripted)
    with pytest.raises(TypeError, match=re.escape(
            "then compile it: torch.compile(rectifiers.convert(model))")):
        rectifiers.convert(torch.compile(model))
    with pytest.raises(TypeError, match=re.escape("torch.export.export(rectifiers.convert(model), args)")):
        rectifiers.convert(torch.export.export(model, (torch.randn(1, 2),)))


def test_truthy_flags_are_taken_as_torch_takes_them():
    class Truthy(torch.nn.Module):
        def forward(self, x):
            return F.relu(x, inplace=1) + F.rrelu(x, training=0)

    model = rectifiers.convert(torch.nn.Sequential(torch.nn.ReLU(inplace=1), Truthy()))
    assert type(model[0]) is rn.ReLU and model[0].inplace is True
    x = torch.tensor([-1.0, 2.0])
    assert torch.equal(model(x.clone()), torch.tensor([0.0, 4.0]))
