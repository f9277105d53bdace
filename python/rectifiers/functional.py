"""Functional forms, with the argument names and defaults of torch.nn.functional.

Every function is TorchScript-compatible and calls ``torch.ops.rectifiers``.
In plain eager calls it goes through ``rectifiers._C``'s bindings of the same
dispatcher ops instead, which cost what ``torch.relu``'s binding costs (a
``torch.ops`` call costs about twice that on small tensors). Scripting,
``torch.compile``/``torch.export`` tracing and ``__torch_function__``
overrides (e.g. ``torch.fx`` proxies) see the ``torch.ops`` call.
"""

import torch
from typing import Optional

from torch import Tensor
from torch.compiler import is_compiling as _is_compiling
from torch.compiler import is_exporting as _is_exporting
from torch.overrides import has_torch_function_unary, has_torch_function_variadic

from . import _C

# The eager-path condition below is written out in each function: a helper
# call would cost a fifth of the saving on a small tensor. TorchScript compiles
# only the `torch.ops` branch (torch.jit.is_scripting() is a static condition).
#
# Under torch.export the in-place forms are exported as the out-of-place op and
# an aten copy_: export wraps a mutating custom op in auto_functionalized,
# which exporters such as torch.onnx cannot translate, while copy_
# functionalizes away. The values and the mutation of the input are the same.

__all__ = ["relu", "leaky_relu", "prelu", "abs_rectifier", "relu6", "rrelu", "elu", "celu",
           "selu", "maxout"]


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(0, x), like ``torch.nn.functional.relu``. d/dx at 0 is 0."""
    if not torch.jit.is_scripting():
        if inplace and _is_exporting():
            return input.copy_(torch.ops.rectifiers.relu(input))
        if not _is_compiling() and not has_torch_function_unary(input):
            if inplace:
                _C.relu_(input)
                return input
            return _C.relu(input)
    if inplace:
        torch.ops.rectifiers.relu_(input)
        return input
    return torch.ops.rectifiers.relu(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope * x, like ``F.leaky_relu``. d/dx at 0 is negative_slope."""
    if not torch.jit.is_scripting():
        if inplace and _is_exporting():
            return input.copy_(torch.ops.rectifiers.leaky_relu(input, negative_slope))
        if not _is_compiling() and not has_torch_function_unary(input):
            if inplace:
                _C.leaky_relu_(input, negative_slope)
                return input
            return _C.leaky_relu(input, negative_slope)
    if inplace:
        torch.ops.rectifiers.leaky_relu_(input, negative_slope)
        return input
    return torch.ops.rectifiers.leaky_relu(input, negative_slope)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x if x > 0 else weight[c] * x, c the index along dim 1, like ``F.prelu``."""
    if not torch.jit.is_scripting():
        if not _is_compiling() and not has_torch_function_variadic(input, weight):
            return _C.prelu(input, weight)
    return torch.ops.rectifiers.prelu(input, weight)


def abs_rectifier(input: Tensor) -> Tensor:
    """|x| (the rectifier with a = -1), like ``torch.abs``. d/dx at 0 is 0."""
    if not torch.jit.is_scripting():
        if not _is_compiling() and not has_torch_function_unary(input):
            return _C.abs_rectifier(input)
    return torch.ops.rectifiers.abs_rectifier(input)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6), like ``F.relu6``. d/dx at 0 and at 6 is 0."""
    if not torch.jit.is_scripting():
        if inplace and _is_exporting():
            return input.copy_(torch.ops.rectifiers.relu6(input))
        if not _is_compiling() and not has_torch_function_unary(input):
            if inplace:
                _C.relu6_(input)
                return input
            return _C.relu6(input)
    if inplace:
        torch.ops.rectifiers.relu6_(input)
        return input
    return torch.ops.rectifiers.relu6(input)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False, generator: Optional[torch.Generator] = None) -> Tensor:
    """Randomized leaky ReLU, like ``F.rrelu``: in training each x <= 0 is scaled by
    its own slope, uniform in [lower, upper], from ``generator`` (or the default
    one); in eval by (lower + upper) / 2. Backward regenerates the slopes instead
    of saving them. d/dx at 0 is the slope."""
    if not torch.jit.is_scripting():
        if inplace and _is_exporting():
            return input.copy_(torch.ops.rectifiers.rrelu(input, lower, upper, training, generator))
        if generator is None and not _is_compiling() and not has_torch_function_unary(input):
            if inplace:
                _C.rrelu_(input, lower, upper, training)
                return input
            return _C.rrelu(input, lower, upper, training)
    if inplace:
        torch.ops.rectifiers.rrelu_(input, lower, upper, training, generator)
        return input
    return torch.ops.rectifiers.rrelu(input, lower, upper, training, generator)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha * (exp(x) - 1), like ``F.elu``. d/dx at 0 is alpha."""
    if not torch.jit.is_scripting():
        if inplace and _is_exporting():
            return input.copy_(torch.ops.rectifiers.elu(input, alpha))
        if not _is_compiling() and not has_torch_function_unary(input):
            if inplace:
                _C.elu_(input, alpha)
                return input
            return _C.elu(input, alpha)
    if inplace:
        torch.ops.rectifiers.elu_(input, alpha)
        return input
    return torch.ops.rectifiers.elu(input, alpha)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha * (exp(x / alpha) - 1), like ``F.celu``. d/dx at 0 is 1."""
    if not torch.jit.is_scripting():
        if inplace and _is_exporting():
            return input.copy_(torch.ops.rectifiers.celu(input, alpha))
        if not _is_compiling() and not has_torch_function_unary(input):
            if inplace:
                _C.celu_(input, alpha)
                return input
            return _C.celu(input, alpha)
    if inplace:
        torch.ops.rectifiers.celu_(input, alpha)
        return input
    return torch.ops.rectifiers.celu(input, alpha)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with torch's fixed alpha and scale, like ``F.selu``.
    d/dx at 0 is scale * alpha."""
    if not torch.jit.is_scripting():
        if inplace and _is_exporting():
            return input.copy_(torch.ops.rectifiers.selu(input))
        if not _is_compiling() and not has_torch_function_unary(input):
            if inplace:
                _C.selu_(input)
                return input
            return _C.selu(input)
    if inplace:
        torch.ops.rectifiers.selu_(input)
        return input
    return torch.ops.rectifiers.selu(input)


def maxout(input: Tensor, pool_size: int, dim: int = 1) -> Tensor:
    """Max over groups of ``pool_size`` consecutive elements along ``dim``.

    Equals ``input.unflatten(dim, (-1, pool_size)).max(dim + 1).values``; the
    gradient goes to the element ``torch.max`` picks (the first maximum; a NaN
    wins).
    """
    if not torch.jit.is_scripting():
        if not _is_compiling() and not has_torch_function_unary(input):
            return _C.maxout(input, pool_size, dim)
    return torch.ops.rectifiers.maxout(input, pool_size, dim)
