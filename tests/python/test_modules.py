"""rectifiers.nn modules against their torch.nn twins, state dicts, MaxoutLinear,
rectifiers.convert, dtype/layout handling and the import-time rebuild message."""

import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as TF

import rectifiers
from rectifiers import nn as rn
from references import assert_bitwise, maxout_ref

EXACT = dict(rtol=0, atol=0, equal_nan=True)
LAYOUTS = ["contiguous", "channels_last"]
FLOAT_DTYPES = [torch.float32, torch.float64]


def maxout_values(x, pool_size, dim=1):
    return maxout_ref(x, pool_size, dim).values


class _AbsRef(torch.nn.Module):
    def forward(self, x):
        return torch.abs(x)


class _MaxoutRef(torch.nn.Module):
    def __init__(self, pool_size, dim=1):
        super().__init__()
        self.pool_size, self.dim = pool_size, dim

    def forward(self, x):
        return maxout_values(x, self.pool_size, self.dim)


def make_input(shape, dtype, device, layout, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=torch.float64) * 3
    flat = x.view(-1)
    flat[::7] = 0.0  # the kink, where the one-sided derivative matters
    flat[1] = -0.0
    x = x.to(dtype=dtype, device=device)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    return x


# name -> (ours, reference), built fresh per test
TWINS = {
    "ReLU": lambda: (rn.ReLU(), torch.nn.ReLU()),
    "LeakyReLU-default": lambda: (rn.LeakyReLU(), torch.nn.LeakyReLU()),
    "LeakyReLU-0.2": lambda: (rn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    "LeakyReLU-neg": lambda: (rn.LeakyReLU(-0.5), torch.nn.LeakyReLU(-0.5)),
    "PReLU-1": lambda: (rn.PReLU(), torch.nn.PReLU()),
    "PReLU-C": lambda: (rn.PReLU(6, init=0.1), torch.nn.PReLU(6, init=0.1)),
    "AbsRectifier": lambda: (rn.AbsRectifier(), _AbsRef()),
    "ReLU6": lambda: (rn.ReLU6(), torch.nn.ReLU6()),
    "ELU-default": lambda: (rn.ELU(), torch.nn.ELU()),
    "ELU-0.5": lambda: (rn.ELU(0.5), torch.nn.ELU(0.5)),
    "ELU-neg": lambda: (rn.ELU(-0.5), torch.nn.ELU(-0.5)),
    "CELU-default": lambda: (rn.CELU(), torch.nn.CELU()),
    "CELU-2": lambda: (rn.CELU(2.0), torch.nn.CELU(2.0)),
    "CELU-neg": lambda: (rn.CELU(-0.5), torch.nn.CELU(-0.5)),
    "SELU": lambda: (rn.SELU(), torch.nn.SELU()),
    "Maxout-dim1": lambda: (rn.Maxout(2), _MaxoutRef(2)),
    "Maxout-dim-1": lambda: (rn.Maxout(5, dim=-1), _MaxoutRef(5, -1)),
    "Maxout-dim2": lambda: (rn.Maxout(3, dim=2), _MaxoutRef(3, 2)),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", list(TWINS))
def test_module_matches_twin(name, dtype, layout, device):
    ours, ref = TWINS[name]()
    ours, ref = ours.to(device=device, dtype=dtype), ref.to(device=device, dtype=dtype)
    if name == "PReLU-C":  # distinct per-channel slopes, the same in both
        with torch.no_grad():
            ref.weight.copy_(torch.linspace(-0.5, 0.7, 6, dtype=dtype))
        ours.load_state_dict(ref.state_dict())
    x = make_input((2, 6, 3, 5), dtype, device, layout)
    xa = x.clone().requires_grad_()
    xb = x.clone().requires_grad_()
    ya, yb = ours(xa), ref(xb)
    assert ya.dtype == dtype and ya.shape == yb.shape
    torch.testing.assert_close(ya, yb, **EXACT)
    if layout == "channels_last" and not name.startswith("Maxout"):
        assert ya.is_contiguous(memory_format=torch.channels_last)
    g = make_input(yb.shape, dtype, device, "contiguous", seed=1)
    ya.backward(g)
    yb.backward(g)
    torch.testing.assert_close(xa.grad, xb.grad, **EXACT)
    for (na, pa), (nb, pb) in zip(ours.named_parameters(), ref.named_parameters()):
        assert na == nb
        torch.testing.assert_close(pa.grad, pb.grad)  # PReLU weight grad is a reduction


# name -> (ours, reference), both in place
INPLACE_TWINS = {
    "ReLU": lambda: (rn.ReLU(inplace=True), torch.nn.ReLU(inplace=True)),
    "LeakyReLU": lambda: (rn.LeakyReLU(0.2, inplace=True), torch.nn.LeakyReLU(0.2, inplace=True)),
    "ReLU6": lambda: (rn.ReLU6(inplace=True), torch.nn.ReLU6(inplace=True)),
    "ELU": lambda: (rn.ELU(0.5, inplace=True), torch.nn.ELU(0.5, inplace=True)),
    "ELU-default": lambda: (rn.ELU(inplace=True), torch.nn.ELU(inplace=True)),
    "CELU": lambda: (rn.CELU(2.0, inplace=True), torch.nn.CELU(2.0, inplace=True)),
    "SELU": lambda: (rn.SELU(inplace=True), torch.nn.SELU(inplace=True)),
}


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", list(INPLACE_TWINS))
def test_inplace_module_matches_twin(name, dtype, device):
    ours, ref = INPLACE_TWINS[name]()
    x = make_input((3, 4, 5), dtype, device, "contiguous")
    xa = x.clone().requires_grad_()
    xb = x.clone().requires_grad_()
    ha, hb = xa * 1.5, xb * 1.5
    ya, yb = ours(ha), ref(hb)
    assert ya.data_ptr() == ha.data_ptr()  # really in place
    torch.testing.assert_close(ya, yb, **EXACT)
    torch.testing.assert_close(ha, hb, **EXACT)
    ya.sum().backward()
    yb.sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad, **EXACT)


def test_inplace_leaky_relu_negative_slope_backward_is_an_error():
    x = torch.randn(3, 4, requires_grad=True)
    with pytest.raises(RuntimeError, match="negative slope"):
        rn.LeakyReLU(-0.2, inplace=True)(x * 1).sum().backward()


@pytest.mark.parametrize("cls", [rn.ELU, rn.CELU])
def test_inplace_elu_celu_negative_alpha_backward_is_an_error(cls):
    x = torch.randn(3, 4, requires_grad=True)
    h = x * 1
    y = cls(-0.5, inplace=True)(h)  # the forward works, as torch's
    torch.testing.assert_close(y, getattr(TF, cls.__name__.lower())(x.detach(), -0.5), **EXACT)
    with pytest.raises(RuntimeError, match=r"rectifiers::elu_backward: .*negative alpha"):
        y.sum().backward()
    # torch refuses it too
    with pytest.raises(RuntimeError, match="negative slope"):
        getattr(torch.nn, cls.__name__)(-0.5, inplace=True)(x * 1).sum().backward()


def test_parameters_match_twin():
    assert [n for n, _ in rn.PReLU(4).named_parameters()] == [n for n, _ in torch.nn.PReLU(4).named_parameters()]
    assert rn.PReLU(4).weight.shape == (4,)
    torch.testing.assert_close(rn.PReLU(4, init=0.3).weight, torch.nn.PReLU(4, init=0.3).weight, **EXACT)
    for m in (rn.ReLU(), rn.LeakyReLU(), rn.AbsRectifier(), rn.Maxout(2), rn.ReLU6(), rn.ELU(),
              rn.CELU(), rn.SELU()):
        assert list(m.parameters()) == [] and list(m.buffers()) == []
    ml = rn.MaxoutLinear(5, 3, 4)
    assert {n: tuple(p.shape) for n, p in ml.named_parameters()} == {"weight": (12, 5), "bias": (12,)}
    assert rn.MaxoutLinear(5, 3, 4, bias=False).bias is None
    assert [n for n, _ in rn.MaxoutLinear(5, 3, 4, bias=False).named_parameters()] == ["weight"]


@pytest.mark.parametrize(
    "ours,expected",
    [
        (rn.ReLU(), ""),
        (rn.ReLU(inplace=True), "inplace=True"),
        (rn.LeakyReLU(), "negative_slope=0.01"),
        (rn.LeakyReLU(0.2, inplace=True), "negative_slope=0.2, inplace=True"),
        (rn.PReLU(), "num_parameters=1"),
        (rn.PReLU(7), "num_parameters=7"),
        (rn.AbsRectifier(), ""),
        (rn.ReLU6(), ""),
        (rn.ReLU6(inplace=True), "inplace=True"),
        (rn.ELU(), "alpha=1.0"),
        (rn.ELU(0.5, inplace=True), "alpha=0.5, inplace=True"),
        (rn.CELU(), "alpha=1.0"),
        (rn.CELU(2.0, inplace=True), "alpha=2.0, inplace=True"),
        (rn.SELU(), ""),
        (rn.SELU(inplace=True), "inplace=True"),
        (rn.Maxout(3), "pool_size=3, dim=1"),
        (rn.Maxout(2, dim=-1), "pool_size=2, dim=-1"),
        (rn.MaxoutLinear(4, 3, 2), "in_features=4, out_features=3, pool_size=2, bias=True"),
        (rn.MaxoutLinear(4, 3, 2, bias=False), "in_features=4, out_features=3, pool_size=2, bias=False"),
    ],
    ids=lambda v: repr(v) if isinstance(v, torch.nn.Module) else None,
)
def test_extra_repr(ours, expected):
    assert ours.extra_repr() == expected
    assert repr(ours) == f"{type(ours).__name__}({expected})"


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (rn.ReLU(), torch.nn.ReLU()),
        (rn.ReLU(inplace=True), torch.nn.ReLU(inplace=True)),
        (rn.LeakyReLU(), torch.nn.LeakyReLU()),
        (rn.LeakyReLU(0.3, inplace=True), torch.nn.LeakyReLU(0.3, inplace=True)),
        (rn.PReLU(), torch.nn.PReLU()),
        (rn.PReLU(5), torch.nn.PReLU(5)),
        (rn.ReLU6(), torch.nn.ReLU6()),
        (rn.ReLU6(inplace=True), torch.nn.ReLU6(inplace=True)),
        (rn.ELU(), torch.nn.ELU()),
        (rn.ELU(0.5, inplace=True), torch.nn.ELU(0.5, inplace=True)),
        (rn.ELU(alpha=-2.0), torch.nn.ELU(alpha=-2.0)),
        (rn.CELU(), torch.nn.CELU()),
        (rn.CELU(1.5, inplace=True), torch.nn.CELU(1.5, inplace=True)),
        (rn.SELU(), torch.nn.SELU()),
        (rn.SELU(inplace=True), torch.nn.SELU(inplace=True)),
    ],
    ids=repr,
)
def test_repr_equals_torch_twin(ours, theirs):
    assert repr(ours) == repr(theirs)
    assert ours.extra_repr() == theirs.extra_repr()


def test_int_floats_print_as_floats():
    """An int slope or alpha is stored as a float, as C++ stores a double, so
    both languages print alpha=-2.0 (torch.nn keeps the int and prints -2)."""
    assert repr(rn.ELU(alpha=-2)) == "ELU(alpha=-2.0)"
    assert repr(torch.nn.ELU(alpha=-2)) == "ELU(alpha=-2)"
    assert repr(rn.LeakyReLU(1, inplace=True)) == "LeakyReLU(negative_slope=1.0, inplace=True)"


# What each module prints; tests/cpp/nn_test.cpp (PrettyPrintIsPythonsExtraRepr)
# expects the same text inside the C++ module's pretty_print parentheses.
PRINTED = [
    # defaults
    (lambda: rn.ReLU(), ""),
    (lambda: rn.LeakyReLU(), "negative_slope=0.01"),
    (lambda: rn.PReLU(), "num_parameters=1"),
    (lambda: rn.AbsRectifier(), ""),
    (lambda: rn.ReLU6(), ""),
    (lambda: rn.RReLU(), "lower=0.125, upper=0.3333333333333333"),
    (lambda: rn.ELU(), "alpha=1.0"),
    (lambda: rn.CELU(), "alpha=1.0"),
    (lambda: rn.SELU(), ""),
    (lambda: rn.Maxout(2), "pool_size=2, dim=1"),
    (lambda: rn.MaxoutLinear(5, 4, 3), "in_features=5, out_features=4, pool_size=3, bias=True"),
    # every option set otherwise, with floats in each of repr's layouts
    (lambda: rn.ReLU(inplace=True), "inplace=True"),
    (lambda: rn.LeakyReLU(1e-05, inplace=True), "negative_slope=1e-05, inplace=True"),
    (lambda: rn.PReLU(6, init=0.1), "num_parameters=6"),
    (lambda: rn.ReLU6(inplace=True), "inplace=True"),
    (lambda: rn.RReLU(0.1, 0.1 + 0.2, inplace=True),
     "lower=0.1, upper=0.30000000000000004, inplace=True"),
    (lambda: rn.ELU(100000.0, inplace=True), "alpha=100000.0, inplace=True"),
    (lambda: rn.CELU(1e16, inplace=True), "alpha=1e+16, inplace=True"),
    (lambda: rn.ELU(-2), "alpha=-2.0"),
    (lambda: rn.SELU(inplace=True), "inplace=True"),
    (lambda: rn.Maxout(3, dim=-1), "pool_size=3, dim=-1"),
    (lambda: rn.MaxoutLinear(5, 4, 3, bias=False),
     "in_features=5, out_features=4, pool_size=3, bias=False"),
]


@pytest.mark.parametrize("build,text", PRINTED, ids=[t or "-" for _, t in PRINTED])
def test_extra_repr_is_cpp_pretty_print(build, text):
    module = build()
    assert module.extra_repr() == text
    assert repr(module) == f"{type(module).__name__}({text})"


# tests/cpp/nn_test.cpp's FloatsArePrintedAsPythonReprs has this table: the C++
# formatter must give Python's repr of each value.
PYTHON_FLOATS = [
    (0.0, "0.0"), (-0.0, "-0.0"), (1.0, "1.0"), (-2.0, "-2.0"), (2.5, "2.5"), (0.01, "0.01"),
    (0.1, "0.1"), (0.1 + 0.2, "0.30000000000000004"), (1.0 / 3.0, "0.3333333333333333"),
    (0.125, "0.125"), (1e-05, "1e-05"), (0.0001, "0.0001"), (0.00012345, "0.00012345"),
    (0.000100000001, "0.000100000001"), (1.0000000000000003e-05, "1.0000000000000003e-05"),
    (-1.5e-07, "-1.5e-07"), (100000.0, "100000.0"), (123456.789, "123456.789"),
    (-1234.5678, "-1234.5678"), (1e15, "1000000000000000.0"),
    (9999999999999998.0, "9999999999999998.0"), (9007199254740993.0, "9007199254740992.0"),
    (1e16, "1e+16"), (1.2345678901234567e16, "1.2345678901234568e+16"), (1e22, "1e+22"),
    (1e100, "1e+100"), (1.7976931348623157e308, "1.7976931348623157e+308"),
    (2.2250738585072014e-308, "2.2250738585072014e-308"), (5e-324, "5e-324"),
    (float("inf"), "inf"), (float("-inf"), "-inf"), (float("nan"), "nan"),
]


@pytest.mark.parametrize("value,text", PYTHON_FLOATS, ids=[t for _, t in PYTHON_FLOATS])
def test_float_table_is_python_repr(value, text):
    assert repr(value) == text
    assert rn.ELU(value).extra_repr() == f"alpha={text}"


@pytest.mark.parametrize("name", ["ReLU6", "ELU", "CELU", "SELU"])
def test_stateless_state_dict_round_trip(name):
    """No state: the state dicts are empty and load strictly both ways (a
    checkpoint of a torch.nn model loads after convert, and back)."""
    kwargs = {} if name in ("ReLU6", "SELU") else {"alpha": 0.5}
    ours, theirs = getattr(rn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert ours.state_dict() == {} and theirs.state_dict() == {}
    for dst, src in ((ours, theirs), (theirs, ours)):
        result = dst.load_state_dict(src.state_dict())
        assert not result.missing_keys and not result.unexpected_keys
    with pytest.raises(RuntimeError, match="Unexpected key"):
        ours.load_state_dict({"weight": torch.ones(1)})
    # in a model: the same keys before and after convert
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), getattr(torch.nn, name)(**kwargs),
                                torch.nn.Linear(4, 2))
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    rectifiers.convert(model)
    assert type(model[1]) is getattr(rn, name)
    assert list(model.state_dict()) == list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    model.load_state_dict(sd)


@pytest.mark.parametrize("num_parameters", [1, 4])
def test_prelu_state_dict_round_trip(num_parameters, device):
    theirs = torch.nn.PReLU(num_parameters, device=device)
    with torch.no_grad():
        theirs.weight.copy_(torch.linspace(-0.3, 0.9, num_parameters))
    ours = rn.PReLU(num_parameters, device=device)
    result = ours.load_state_dict(theirs.state_dict())  # strict: same keys and shapes
    assert not result.missing_keys and not result.unexpected_keys
    torch.testing.assert_close(ours.weight, theirs.weight, **EXACT)
    x = make_input((2, 4, 3), torch.float32, device, "contiguous")
    torch.testing.assert_close(ours(x), theirs(x), **EXACT)

    # and back: our state dict loads into torch.nn.PReLU unchanged
    with torch.no_grad():
        ours.weight.mul_(-2)
    sd = ours.state_dict()
    assert list(sd) == ["weight"] and sd["weight"].shape == (num_parameters,)
    back = torch.nn.PReLU(num_parameters, device=device)
    back.load_state_dict(sd)
    torch.testing.assert_close(back.weight, ours.weight, **EXACT)
    torch.testing.assert_close(back(x), ours(x), **EXACT)


def test_prelu_state_dict_wrong_size_is_rejected():
    with pytest.raises(RuntimeError, match="size mismatch"):
        rn.PReLU(3).load_state_dict(torch.nn.PReLU(4).state_dict())


# ---------------------------------------------------------------- MaxoutLinear


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=["float32", "float64"])
def test_maxout_linear_matches_reference(bias, dtype, device):
    torch.manual_seed(0)
    m = rn.MaxoutLinear(7, 4, 3, bias=bias).to(device=device, dtype=dtype)
    ref_w = m.weight.detach().clone().requires_grad_()
    ref_b = m.bias.detach().clone().requires_grad_() if bias else None
    x = make_input((5, 2, 7), dtype, device, "contiguous")
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya = m(xa)
    yb = TF.linear(xb, ref_w, ref_b).unflatten(-1, (4, 3)).max(-1).values
    assert ya.shape == (5, 2, 4)
    torch.testing.assert_close(ya, yb, **EXACT)
    g = make_input(ya.shape, dtype, device, "contiguous", seed=2)
    ya.backward(g)
    yb.backward(g)
    torch.testing.assert_close(xa.grad, xb.grad)
    torch.testing.assert_close(m.weight.grad, ref_w.grad)
    if bias:
        torch.testing.assert_close(m.bias.grad, ref_b.grad)


def test_maxout_linear_grouping():
    """Unit i is the max over rows i*k .. i*k+k-1 of weight (consecutive pieces)."""
    units, k, n_in = 3, 4, 12
    m = rn.MaxoutLinear(n_in, units, k)
    with torch.no_grad():
        m.weight.copy_(torch.eye(n_in))  # row r picks input feature r
        m.bias.zero_()
    x = torch.tensor([[5.0, 1, 2, 3, 0, 9, 1, 1, -1, -2, -3, -0.5]])
    y = m(x)
    torch.testing.assert_close(y, torch.tensor([[5.0, 9.0, -0.5]]), **EXACT)
    # the bias of a piece only matters for its own unit
    with torch.no_grad():
        m.bias[2 * k + 1] = 10.0  # unit 2, piece 1: -2 + 10 = 8 beats -0.5
    torch.testing.assert_close(m(x), torch.tensor([[5.0, 9.0, 8.0]]), **EXACT)
    # gradient reaches only the winning row of each unit
    m.zero_grad()
    m(x).sum().backward()
    winners = [0, 5, 2 * k + 1]
    rows_with_grad = m.weight.grad.abs().sum(1).nonzero().flatten().tolist()
    assert rows_with_grad == winners
    assert m.bias.grad.nonzero().flatten().tolist() == winners


def test_maxout_linear_init_like_linear():
    torch.manual_seed(3)
    m = rn.MaxoutLinear(16, 4, 2)
    bound = 1 / 16 ** 0.5
    assert m.weight.abs().max() <= bound and m.bias.abs().max() <= bound
    assert m.weight.std() > bound / 4  # really initialised, not zeros


@pytest.mark.parametrize("cls,args", [(rn.Maxout, (0,)), (rn.MaxoutLinear, (4, 3, 0))])
def test_pool_size_must_be_positive(cls, args):
    with pytest.raises(ValueError, match="pool_size must be >= 1"):
        cls(*args)


# ------------------------------------------------------------------- convert


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(3, 4, 3, padding=1),
            torch.nn.ReLU(inplace=True),
            torch.nn.Conv2d(4, 4, 1),
            torch.nn.PReLU(4, init=0.2),
            torch.nn.Sequential(torch.nn.LeakyReLU(0.15), torch.nn.Conv2d(4, 4, 1)),
        )
        self.act = torch.nn.LeakyReLU(0.3, inplace=True)
        self.shared = torch.nn.PReLU()
        self.tail = torch.nn.ReLU()
        self.keep = torch.nn.Tanh()

    def forward(self, x):
        return self.keep(self.tail(self.shared(self.act(self.body(x)))))


def test_convert_nested_model():
    torch.manual_seed(0)
    model = Block()
    with torch.no_grad():
        model.body[3].weight.copy_(torch.tensor([0.1, -0.2, 0.3, 0.4]))
        model.shared.weight.fill_(-0.7)
    reference = Block()
    reference.load_state_dict(model.state_dict())
    prelu_c, prelu_1 = model.body[3].weight, model.shared.weight
    state_before = {k: v.clone() for k, v in model.state_dict().items()}

    out = rectifiers.convert(model)
    assert out is model

    assert type(model.body[1]) is rn.ReLU and model.body[1].inplace is True
    assert type(model.body[3]) is rn.PReLU and model.body[3].weight is prelu_c
    assert model.body[3].num_parameters == 4
    assert type(model.body[4][0]) is rn.LeakyReLU
    assert model.body[4][0].negative_slope == 0.15 and model.body[4][0].inplace is False
    assert type(model.act) is rn.LeakyReLU and model.act.negative_slope == 0.3 and model.act.inplace is True
    assert type(model.shared) is rn.PReLU and model.shared.weight is prelu_1
    assert type(model.tail) is rn.ReLU and model.tail.inplace is False
    assert type(model.keep) is torch.nn.Tanh
    assert type(model.body[0]) is torch.nn.Conv2d
    assert not any(type(m) in (torch.nn.ReLU, torch.nn.LeakyReLU, torch.nn.PReLU) for m in model.modules())
    # same state dict keys and values: checkpoints keep loading
    after = model.state_dict()
    assert list(after) == list(state_before)
    for k in after:
        torch.testing.assert_close(after[k], state_before[k], **EXACT)

    x = torch.randn(2, 3, 5, 5)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = model(xa), reference(xb)
    torch.testing.assert_close(ya, yb, **EXACT)
    ya.sum().backward()
    yb.sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad)
    ref_params = dict(reference.named_parameters())
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, ref_params[name].grad, msg=name)


class SmoothBlock(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(3, 4, 3, padding=1),
            torch.nn.ReLU6(inplace=True),
            torch.nn.Conv2d(4, 4, 1),
            torch.nn.ELU(0.5),
            torch.nn.Sequential(torch.nn.CELU(2.0, inplace=True), torch.nn.Conv2d(4, 4, 1)),
            torch.nn.SELU(),
        )
        self.act = torch.nn.ELU(inplace=True)
        self.celu = torch.nn.CELU()
        self.selu_ = torch.nn.SELU(inplace=True)
        self.relu6 = torch.nn.ReLU6()
        self.keep = torch.nn.Hardtanh(0.0, 6.0)  # not a ReLU6: kept

    def forward(self, x):
        h = self.body(x * 4)
        return self.keep(self.relu6(self.selu_(self.celu(self.act(h))) * 3))


def test_convert_relu6_and_elu_family():
    torch.manual_seed(0)
    model = SmoothBlock()
    reference = SmoothBlock()
    reference.load_state_dict(model.state_dict())
    state_before = {k: v.clone() for k, v in model.state_dict().items()}

    assert rectifiers.convert(model) is model
    expected = [("body.1", rn.ReLU6, dict(inplace=True)),
                ("body.3", rn.ELU, dict(alpha=0.5, inplace=False)),
                ("body.4.0", rn.CELU, dict(alpha=2.0, inplace=True)),
                ("body.5", rn.SELU, dict(inplace=False)),
                ("act", rn.ELU, dict(alpha=1.0, inplace=True)),
                ("celu", rn.CELU, dict(alpha=1.0, inplace=False)),
                ("selu_", rn.SELU, dict(inplace=True)),
                ("relu6", rn.ReLU6, dict(inplace=False))]
    modules = dict(model.named_modules())
    for name, cls, attrs in expected:
        assert type(modules[name]) is cls, name
        for attr, value in attrs.items():
            assert getattr(modules[name], attr) == value, (name, attr)
    assert type(model.keep) is torch.nn.Hardtanh
    assert not any(type(m) in (torch.nn.ReLU6, torch.nn.ELU, torch.nn.CELU, torch.nn.SELU)
                   for m in model.modules())
    after = model.state_dict()
    assert list(after) == list(state_before)
    for k in after:
        torch.testing.assert_close(after[k], state_before[k], **EXACT)

    x = torch.randn(2, 3, 5, 5)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = model(xa), reference(xb)
    torch.testing.assert_close(ya, yb, **EXACT)
    ya.sum().backward()
    yb.sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad, **EXACT)
    ref_params = dict(reference.named_parameters())
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, ref_params[name].grad, **EXACT, msg=name)


@pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:FutureWarning")
def test_convert_mobilenet_v2():
    """All 35 ReLU6 of torchvision's mobilenet_v2 are swapped; in eval mode its
    output is bitwise the unconverted model's, eager and scripted."""
    import copy

    tv = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    model = tv.models.mobilenet_v2(weights=None).eval()
    assert sum(type(m) is torch.nn.ReLU6 for m in model.modules()) == 35
    reference = copy.deepcopy(model)
    assert rectifiers.convert(model) is model
    assert sum(type(m) is rn.ReLU6 for m in model.modules()) == 35
    assert not any(type(m) is torch.nn.ReLU6 for m in model.modules())
    assert all(m.inplace for m in model.modules() if type(m) is rn.ReLU6)
    assert list(model.state_dict()) == list(reference.state_dict())
    model.eval()

    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = reference(x)
        got = model(x)
        assert_bitwise(got, expected, "eager")
        scripted = torch.jit.script(model)
        assert "rectifiers::relu6_(" in str(scripted.inlined_graph)
        for _ in range(2):  # the profiling executor optimises on the second run
            assert_bitwise(scripted(x), expected, "scripted")


def test_convert_keeps_optimizer_training_prelu():
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.PReLU(3))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    rectifiers.convert(model)
    before = model[1].weight.detach().clone()
    model(torch.full((4, 3), -1.0)).sum().backward()
    opt.step()
    assert not torch.equal(model[1].weight, before)


def test_convert_bare_module_and_training_flag():
    prelu = torch.nn.PReLU(2).eval()
    new = rectifiers.convert(prelu)
    assert type(new) is rn.PReLU and new.weight is prelu.weight and new.training is False
    relu = rectifiers.convert(torch.nn.ReLU(inplace=True))
    assert type(relu) is rn.ReLU and relu.inplace
    lrelu = rectifiers.convert(torch.nn.LeakyReLU(0.4))
    assert type(lrelu) is rn.LeakyReLU and lrelu.negative_slope == 0.4
    relu6 = rectifiers.convert(torch.nn.ReLU6(inplace=True))
    assert type(relu6) is rn.ReLU6 and relu6.inplace
    elu = rectifiers.convert(torch.nn.ELU(0.3, inplace=True))
    assert type(elu) is rn.ELU and elu.alpha == 0.3 and elu.inplace
    celu = rectifiers.convert(torch.nn.CELU(2.5))
    assert type(celu) is rn.CELU and celu.alpha == 2.5 and not celu.inplace
    selu = rectifiers.convert(torch.nn.SELU(inplace=True))
    assert type(selu) is rn.SELU and selu.inplace


# ------------------------------------------------------- dtype, layout, .to()


def test_modules_float64_and_to_dtype():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        rn.MaxoutLinear(6, 8, 2), rn.PReLU(8), rn.LeakyReLU(0.1), rn.AbsRectifier(), rn.Maxout(2), rn.ReLU()
    )
    x32 = torch.randn(3, 6)
    y32 = model(x32)
    model64 = model.to(torch.float64)
    assert model64 is model
    assert all(p.dtype == torch.float64 for p in model.parameters())
    y64 = model(x32.double())
    assert y64.dtype == torch.float64 and y64.shape == (3, 4)
    torch.testing.assert_close(y64.float(), y32, rtol=1e-5, atol=1e-6)
    y64.sum().backward()
    assert all(p.grad.dtype == torch.float64 for p in model.parameters())
    # torch.nn twin in float64 gives the same
    ref = torch.nn.Sequential(torch.nn.PReLU(8).double())
    ref[0].weight.data.copy_(model[1].weight.data)
    h = model[0](x32.double())
    torch.testing.assert_close(model[1](h), ref(h), **EXACT)
    with pytest.raises(RuntimeError, match="prelu"):
        model[1](h.float())  # float32 input, float64 weight: a clear error naming the op


def test_modules_channels_last_input():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 8, 3, padding=1).to(memory_format=torch.channels_last)
    model = torch.nn.Sequential(conv, rn.PReLU(8), rn.ReLU(), rn.LeakyReLU(0.2), rn.AbsRectifier(), rn.Maxout(2))
    ref = torch.nn.Sequential(conv, torch.nn.PReLU(8), torch.nn.ReLU(), torch.nn.LeakyReLU(0.2), _AbsRef(), _MaxoutRef(2))
    ref[1].load_state_dict(model[1].state_dict())
    x = torch.randn(2, 3, 6, 6).contiguous(memory_format=torch.channels_last)
    h = conv(x)
    assert h.is_contiguous(memory_format=torch.channels_last)
    for i in range(1, 5):
        assert model[i](h).is_contiguous(memory_format=torch.channels_last), model[i]
    y, yr = model(x), ref(x)
    assert y.shape == (2, 4, 6, 6)
    torch.testing.assert_close(y, yr, **EXACT)


# ------------------------------------------------------------- import errors


def test_import_error_on_torch_version_mismatch():
    code = textwrap.dedent(
        """
        import torch
        torch.__version__ = "0.0.1+fake"
        try:
            import rectifiers
        except ImportError as e:
            print("IMPORTERROR:" + str(e))
        else:
            print("IMPORTED")
        """
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "IMPORTERROR:" in r.stdout, r.stdout + r.stderr
    msg = r.stdout.split("IMPORTERROR:", 1)[1]
    assert "pip install --no-build-isolation" in msg
    assert "0.0.1" in msg  # names the running torch
    assert torch.__version__.split("+")[0] in msg  # and the one it was built with
