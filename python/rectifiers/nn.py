"""Modules that drop into torch.nn models, with torch.nn's argument names.

Constructors check their arguments as the C++ modules of csrc/nn.h do, with the
same messages: a bad value is a ``ValueError`` (``PReLU: num_parameters must
be >= 1, but got 0``), a wrong type a ``TypeError``. Counts (``num_parameters``,
``in_features``, ``out_features``, ``pool_size``, ``dim``) take an int (or
anything with ``__index__``, such as a numpy integer) but not a bool; slopes and
``alpha`` a float or an int, stored as a float (as C++ stores a double: so the
module scripts, and ``ELU(2)`` prints ``alpha=2.0`` in both languages);
``inplace`` and ``bias`` a bool. What the C++ modules leave to the ops (maxout's
divisibility and ``dim``, PReLU's channel count, a finite ``alpha``, CELU's
``alpha != 0``, RReLU's ``lower <= upper``) the ops report, when the module
runs, with the ``RuntimeError`` of docs/semantics.md.
"""

import math

import torch
from torch import Tensor
from torch import nn as _nn

from . import _checks
from . import functional as F

__all__ = ["ReLU", "LeakyReLU", "PReLU", "AbsRectifier", "ReLU6", "RReLU", "ELU", "CELU",
           "SELU", "Maxout", "MaxoutLinear"]


class ReLU(_nn.Module):
    """max(0, x) elementwise; ``torch.nn.ReLU``'s twin."""

    __constants__ = ["inplace"]
    inplace: bool

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = _checks.flag("ReLU", "inplace", inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(_nn.Module):
    """x if x > 0 else negative_slope * x; ``torch.nn.LeakyReLU``'s twin."""

    __constants__ = ["inplace", "negative_slope"]
    inplace: bool
    negative_slope: float

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = _checks.real("LeakyReLU", "negative_slope", negative_slope)
        self.inplace = _checks.flag("LeakyReLU", "inplace", inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        inplace_str = ", inplace=True" if self.inplace else ""
        return f"negative_slope={self.negative_slope}{inplace_str}"


class PReLU(_nn.Module):
    """x if x > 0 else weight[c] * x with a learned slope per channel (dim 1) or
    one shared; ``torch.nn.PReLU``'s twin, whose state dicts it loads as they are.

    ``num_parameters`` is 1 (one slope for every channel) or the number of
    channels, ``input.size(1)`` (inputs with fewer than 2 dims have one); an
    input with another channel count is refused when the module runs.
    """

    __constants__ = ["num_parameters"]
    num_parameters: int

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        num_parameters = _checks.count("PReLU", "num_parameters", num_parameters)
        init = _checks.real("PReLU", "init", init)
        _checks.at_least("PReLU", "num_parameters", num_parameters, 1)
        self.num_parameters = num_parameters
        super().__init__()
        self.init = init
        self.weight = _nn.Parameter(torch.empty(num_parameters, **factory_kwargs))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _nn.init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class AbsRectifier(_nn.Module):
    """|x| elementwise: the rectifier max(0, x) + a * min(0, x) with a = -1."""

    def forward(self, input: Tensor) -> Tensor:
        return F.abs_rectifier(input)


class ReLU6(_nn.Module):
    """min(max(x, 0), 6) elementwise; ``torch.nn.ReLU6``'s twin."""

    __constants__ = ["inplace"]
    inplace: bool

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = _checks.flag("ReLU6", "inplace", inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.relu6(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class RReLU(_nn.Module):
    """Randomized leaky ReLU; ``torch.nn.RReLU``'s twin. In training mode each
    x <= 0 gets its own slope, uniform in [lower, upper] (from the default
    generator); in eval mode the slope is (lower + upper) / 2."""

    __constants__ = ["lower", "upper", "inplace"]
    lower: float
    upper: float
    inplace: bool

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False) -> None:
        super().__init__()
        self.lower = _checks.real("RReLU", "lower", lower)
        self.upper = _checks.real("RReLU", "upper", upper)
        self.inplace = _checks.flag("RReLU", "inplace", inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        inplace_str = ", inplace=True" if self.inplace else ""
        return f"lower={self.lower}, upper={self.upper}{inplace_str}"


class ELU(_nn.Module):
    """x if x > 0 else alpha * (exp(x) - 1); ``torch.nn.ELU``'s twin."""

    __constants__ = ["alpha", "inplace"]
    alpha: float
    inplace: bool

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = _checks.real("ELU", "alpha", alpha)
        self.inplace = _checks.flag("ELU", "inplace", inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        inplace_str = ", inplace=True" if self.inplace else ""
        return f"alpha={self.alpha}{inplace_str}"


class CELU(_nn.Module):
    """x if x > 0 else alpha * (exp(x / alpha) - 1); ``torch.nn.CELU``'s twin."""

    __constants__ = ["alpha", "inplace"]
    alpha: float
    inplace: bool

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = _checks.real("CELU", "alpha", alpha)
        self.inplace = _checks.flag("CELU", "inplace", inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.celu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        inplace_str = ", inplace=True" if self.inplace else ""
        return f"alpha={self.alpha}{inplace_str}"


class SELU(_nn.Module):
    """scale * elu(x, alpha) with torch's fixed alpha and scale; ``torch.nn.SELU``'s twin."""

    __constants__ = ["inplace"]
    inplace: bool

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = _checks.flag("SELU", "inplace", inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.selu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Maxout(_nn.Module):
    """Max over groups of ``pool_size`` consecutive elements along ``dim``.

    The size of ``dim`` must be a multiple of ``pool_size``: the elements
    ``i * pool_size ... (i + 1) * pool_size - 1`` along ``dim`` form group
    ``i``, and the output has ``input.size(dim) / pool_size`` elements there (the
    other dims are kept). An input whose size is not a multiple is refused with
    a ``RuntimeError`` when the module runs (``rectifiers::maxout: pool_size 4
    does not divide the size of dim 1 (6, input shape [2, 6, 3])``), as is a
    ``dim`` out of range for the input. ``pool_size`` must be in
    ``[1, 2147483647]`` (else ``ValueError`` here).
    """

    __constants__ = ["pool_size", "dim"]
    pool_size: int
    dim: int

    def __init__(self, pool_size: int, dim: int = 1) -> None:
        super().__init__()
        pool_size = _checks.count("Maxout", "pool_size", pool_size)
        dim = _checks.count("Maxout", "dim", dim)
        _checks.pool_size_range("Maxout", pool_size)
        self.pool_size = pool_size
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.maxout(input, self.pool_size, self.dim)

    def extra_repr(self) -> str:
        return f"pool_size={self.pool_size}, dim={self.dim}"


class MaxoutLinear(_nn.Module):
    """A maxout layer: an affine map to ``out_features * pool_size`` features, then
    the max over each unit's ``pool_size`` consecutive pieces.

    Unit ``i`` uses rows ``i * pool_size ... (i + 1) * pool_size - 1`` of ``weight``
    (shape ``(out_features * pool_size, in_features)``) and ``bias``.

    The maxout step is :class:`Maxout` over the last dim: its size must be a
    multiple of ``pool_size`` (groups of ``pool_size`` consecutive elements, the
    output ``size / pool_size`` long). Here that holds by construction, since
    the affine map's ``out_features * pool_size`` features give ``out_features``
    outputs; the input it refuses is one whose last dim is not ``in_features``
    (``torch.nn.functional.linear``'s ``RuntimeError``). ``pool_size`` must be in
    ``[1, 2147483647]`` and ``in_features``, ``out_features`` >= 0 (else
    ``ValueError`` here).
    """

    __constants__ = ["in_features", "out_features", "pool_size"]
    in_features: int
    out_features: int
    pool_size: int

    def __init__(self, in_features: int, out_features: int, pool_size: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        in_features = _checks.count("MaxoutLinear", "in_features", in_features)
        out_features = _checks.count("MaxoutLinear", "out_features", out_features)
        pool_size = _checks.count("MaxoutLinear", "pool_size", pool_size)
        bias = _checks.flag("MaxoutLinear", "bias", bias)
        # In the order csrc/nn.h checks them, so that both report the same one.
        _checks.pool_size_range("MaxoutLinear", pool_size)
        _checks.at_least("MaxoutLinear", "in_features", in_features, 0)
        _checks.at_least("MaxoutLinear", "out_features", out_features, 0)
        if out_features > _checks.INT64_MAX // pool_size:
            raise ValueError(f"MaxoutLinear: out_features * pool_size must be <= "
                             f"{_checks.INT64_MAX}, but got {out_features} * {pool_size}")
        self.in_features = in_features
        self.out_features = out_features
        self.pool_size = pool_size
        self.weight = _nn.Parameter(
            torch.empty(out_features * pool_size, in_features, **factory_kwargs))
        if bias:
            self.bias = _nn.Parameter(torch.empty(out_features * pool_size, **factory_kwargs))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # torch.nn.Linear's initialisation, per piece.
        _nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            _nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.maxout(torch.nn.functional.linear(input, self.weight, self.bias),
                        self.pool_size, -1)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"pool_size={self.pool_size}, bias={self.bias is not None}")
