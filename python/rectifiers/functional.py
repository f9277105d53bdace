"""Functional forms, with the argument names and defaults of torch.nn.functional.

Every function is TorchScript-compatible and calls ``torch.ops.rectifiers``.
In plain eager calls it goes through ``rectifiers._C``'s bindings of the same
dispatcher ops instead, which cost what ``torch.relu``'s binding costs (a
``torch.ops`` call costs about twice that on small tensors). Scripting,
``torch.compile``/``torch.export`` tracing and ``__torch_function__``
overrides (e.g. ``torch.fx`` proxies) see the ``torch.ops`` call.
"""

import torch
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

__all__ = ["relu", "leaky_relu", "prelu", "abs_rectifier", "maxout"]


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
