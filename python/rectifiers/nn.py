"""Modules that drop into torch.nn models, with torch.nn's argument names."""

import math

import torch
from torch import Tensor
from torch import nn as _nn

from . import functional as F

__all__ = ["ReLU", "LeakyReLU", "PReLU", "AbsRectifier", "ReLU6", "RReLU", "ELU", "CELU",
           "SELU", "Maxout", "MaxoutLinear"]


class ReLU(_nn.Module):
    """max(0, x) elementwise; ``torch.nn.ReLU``'s twin."""

    __constants__ = ["inplace"]
    inplace: bool

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

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
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        inplace_str = ", inplace=True" if self.inplace else ""
        return f"negative_slope={self.negative_slope}{inplace_str}"


class PReLU(_nn.Module):
    """x if x > 0 else weight[c] * x with a learned slope per channel (dim 1) or
    one shared; ``torch.nn.PReLU``'s twin, whose state dicts it loads as they are."""

    __constants__ = ["num_parameters"]
    num_parameters: int

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
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
        self.inplace = inplace

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
        self.lower = lower
        self.upper = upper
        self.inplace = inplace

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
        self.alpha = alpha
        self.inplace = inplace

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
        self.alpha = alpha
        self.inplace = inplace

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
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.selu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Maxout(_nn.Module):
    """Max over groups of ``pool_size`` consecutive elements along ``dim``."""

    __constants__ = ["pool_size", "dim"]
    pool_size: int
    dim: int

    def __init__(self, pool_size: int, dim: int = 1) -> None:
        super().__init__()
        if pool_size < 1:
            raise ValueError(f"Maxout: pool_size must be >= 1, but got {pool_size}")
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
    """

    __constants__ = ["in_features", "out_features", "pool_size"]
    in_features: int
    out_features: int
    pool_size: int

    def __init__(self, in_features: int, out_features: int, pool_size: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        if pool_size < 1:
            raise ValueError(f"MaxoutLinear: pool_size must be >= 1, but got {pool_size}")
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
