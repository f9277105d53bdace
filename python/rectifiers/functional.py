"""Functional forms, with the argument names and defaults of torch.nn.functional.

Every function is TorchScript-compatible and calls ``torch.ops.rectifiers``.
"""

import torch
from torch import Tensor

__all__ = ["relu", "leaky_relu", "prelu", "abs_rectifier", "maxout"]


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(0, x), like ``torch.nn.functional.relu``. d/dx at 0 is 0."""
    if inplace:
        torch.ops.rectifiers.relu_(input)
        return input
    return torch.ops.rectifiers.relu(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope * x, like ``F.leaky_relu``. d/dx at 0 is negative_slope."""
    if inplace:
        torch.ops.rectifiers.leaky_relu_(input, negative_slope)
        return input
    return torch.ops.rectifiers.leaky_relu(input, negative_slope)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x if x > 0 else weight[c] * x, c the index along dim 1, like ``F.prelu``."""
    return torch.ops.rectifiers.prelu(input, weight)


def abs_rectifier(input: Tensor) -> Tensor:
    """|x| (the rectifier with a = -1), like ``torch.abs``. d/dx at 0 is 0."""
    return torch.ops.rectifiers.abs_rectifier(input)


def maxout(input: Tensor, pool_size: int, dim: int = 1) -> Tensor:
    """Max over groups of ``pool_size`` consecutive elements along ``dim``.

    Equals ``input.unflatten(dim, (-1, pool_size)).max(dim + 1).values``; the
    gradient goes to the element ``torch.max`` picks (the first maximum; a NaN
    wins).
    """
    return torch.ops.rectifiers.maxout(input, pool_size, dim)
