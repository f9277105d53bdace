"""Functional forms, with the argument names and defaults of torch.nn.functional.

Every function is TorchScript-compatible and calls ``torch.ops.rectifiers``.
In plain eager calls it goes through ``rectifiers._C``'s bindings of the same
dispatcher ops instead, which cost what ``torch.relu``'s binding costs (a
``torch.ops`` call costs about twice that on small tensors). Scripting,
``torch.compile``/``torch.export`` tracing and ``__torch_function__``
overrides (e.g. ``torch.fx`` proxies) see the ``torch.ops`` call.

Arguments of the wrong type raise a ``TypeError`` that names the function, the
argument and its type, never its value (``rectifiers.functional.maxout:
pool_size must be an int, but got float``), on every path. ``input`` and
``weight`` must be tensors; ``pool_size`` and ``dim`` ints (or anything with
``__index__``, such as a numpy integer); ``negative_slope``, ``alpha``,
``lower`` and ``upper`` floats or ints (or numpy numbers); a bool counts as the
int it is, as it does in ``torch.nn.functional``, and a tensor of one element
as its value, as the ops take it; ``inplace`` and ``training`` must be bools
(``True`` or ``False``: a merely truthy value is refused); ``generator`` a
``torch.Generator`` or None. Bad values (a ``pool_size`` of 0, an ``alpha`` of
inf) are the ops' to refuse, with the ``RuntimeError`` of docs/semantics.md.
"""

import torch
from typing import Optional

from torch import Tensor
from torch.compiler import is_compiling as _is_compiling
from torch.compiler import is_exporting as _is_exporting
from torch.overrides import has_torch_function_unary, has_torch_function_variadic

from . import _C, _checks

# Each function is two: the public one, which TorchScript compiles (only its
# `torch.ops` path: torch.jit.is_scripting() is a static condition there), and
# a private one for every other caller. The private one holds the eager path,
# whose try/except TorchScript cannot parse even in code it skips. Eager calls
# go to the binding with no check: a wrong type is caught as the TypeError the
# binding raises (a try costs nothing until it raises), and reported by
# rectifiers._checks without pybind's message, which prints the tensors. The
# `torch.ops` path, which refuses a wrong type with a RuntimeError, checks the
# types first; under torch.compile that check runs while tracing, not in the
# graph. `inplace` and `training` are compared with `is`, which costs what a
# truth test does and lets no merely truthy value pass (the binding would take
# one as True).
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
        return _relu(input, inplace)
    if inplace:
        torch.ops.rectifiers.relu_(input)
        return input
    return torch.ops.rectifiers.relu(input)


def _relu(input, inplace):
    if inplace and _is_exporting():
        _checks.functional_args("relu", input=input, inplace=inplace)
        return input.copy_(torch.ops.rectifiers.relu(input))
    if not _is_compiling() and not has_torch_function_unary(input):
        try:
            if inplace is False:
                return _C.relu(input)
            if inplace is True:
                _C.relu_(input)
                return input
        except TypeError as error:
            _checks.binding_refused("relu", error, input=input, inplace=inplace)
            raise
    _checks.functional_args("relu", input=input, inplace=inplace)
    if inplace:
        torch.ops.rectifiers.relu_(input)
        return input
    return torch.ops.rectifiers.relu(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope * x, like ``F.leaky_relu``. d/dx at 0 is negative_slope."""
    if not torch.jit.is_scripting():
        return _leaky_relu(input, negative_slope, inplace)
    if inplace:
        torch.ops.rectifiers.leaky_relu_(input, negative_slope)
        return input
    return torch.ops.rectifiers.leaky_relu(input, negative_slope)


def _leaky_relu(input, negative_slope, inplace):
    if inplace and _is_exporting():
        _checks.functional_args("leaky_relu", input=input, negative_slope=negative_slope,
                                inplace=inplace)
        return input.copy_(torch.ops.rectifiers.leaky_relu(input, negative_slope))
    if not _is_compiling() and not has_torch_function_unary(input):
        try:
            if inplace is False:
                return _C.leaky_relu(input, negative_slope)
            if inplace is True:
                _C.leaky_relu_(input, negative_slope)
                return input
        except TypeError as error:
            _checks.binding_refused("leaky_relu", error, input=input,
                                    negative_slope=negative_slope, inplace=inplace)
            raise
    _checks.functional_args("leaky_relu", input=input, negative_slope=negative_slope,
                            inplace=inplace)
    if inplace:
        torch.ops.rectifiers.leaky_relu_(input, negative_slope)
        return input
    return torch.ops.rectifiers.leaky_relu(input, negative_slope)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x if x > 0 else weight[c] * x, c the index along dim 1, like ``F.prelu``.

    ``weight`` is 0-dim or 1-D with 1 element (one slope for every channel) or
    ``input.size(1)`` (inputs with fewer than 2 dims have one channel), of the
    input's dtype and device. d/dx at 0 is the channel's weight.
    """
    if not torch.jit.is_scripting():
        return _prelu(input, weight)
    return torch.ops.rectifiers.prelu(input, weight)


def _prelu(input, weight):
    if not _is_compiling() and not has_torch_function_variadic(input, weight):
        try:
            return _C.prelu(input, weight)
        except TypeError as error:
            _checks.binding_refused("prelu", error, input=input, weight=weight)
            raise
    _checks.functional_args("prelu", input=input, weight=weight)
    return torch.ops.rectifiers.prelu(input, weight)


def abs_rectifier(input: Tensor) -> Tensor:
    """|x| (the rectifier with a = -1), like ``torch.abs``. d/dx at 0 is 0."""
    if not torch.jit.is_scripting():
        return _abs_rectifier(input)
    return torch.ops.rectifiers.abs_rectifier(input)


def _abs_rectifier(input):
    if not _is_compiling() and not has_torch_function_unary(input):
        try:
            return _C.abs_rectifier(input)
        except TypeError as error:
            _checks.binding_refused("abs_rectifier", error, input=input)
            raise
    _checks.functional_args("abs_rectifier", input=input)
    return torch.ops.rectifiers.abs_rectifier(input)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6), like ``F.relu6``. d/dx at 0 and at 6 is 0."""
    if not torch.jit.is_scripting():
        return _relu6(input, inplace)
    if inplace:
        torch.ops.rectifiers.relu6_(input)
        return input
    return torch.ops.rectifiers.relu6(input)


def _relu6(input, inplace):
    if inplace and _is_exporting():
        _checks.functional_args("relu6", input=input, inplace=inplace)
        return input.copy_(torch.ops.rectifiers.relu6(input))
    if not _is_compiling() and not has_torch_function_unary(input):
        try:
            if inplace is False:
                return _C.relu6(input)
            if inplace is True:
                _C.relu6_(input)
                return input
        except TypeError as error:
            _checks.binding_refused("relu6", error, input=input, inplace=inplace)
            raise
    _checks.functional_args("relu6", input=input, inplace=inplace)
    if inplace:
        torch.ops.rectifiers.relu6_(input)
        return input
    return torch.ops.rectifiers.relu6(input)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False, generator: Optional[torch.Generator] = None) -> Tensor:
    """Randomized leaky ReLU, like ``F.rrelu``: in training each x <= 0 is scaled by
    its own slope, uniform in [lower, upper], from ``generator`` (or the default
    one); in eval by (lower + upper) / 2. Backward regenerates the slopes instead
    of saving them. d/dx at 0 is the slope. ``lower`` and ``upper`` must be
    finite, with lower <= upper."""
    if not torch.jit.is_scripting():
        return _rrelu(input, lower, upper, training, inplace, generator)
    if inplace:
        torch.ops.rectifiers.rrelu_(input, lower, upper, training, generator)
        return input
    return torch.ops.rectifiers.rrelu(input, lower, upper, training, generator)


def _rrelu(input, lower, upper, training, inplace, generator):
    if inplace and _is_exporting():
        _checks.functional_args("rrelu", input=input, lower=lower, upper=upper,
                                training=training, inplace=inplace, generator=generator)
        return input.copy_(torch.ops.rectifiers.rrelu(input, lower, upper, training, generator))
    if (generator is None and (training is True or training is False) and not _is_compiling()
            and not has_torch_function_unary(input)):
        try:
            if inplace is False:
                return _C.rrelu(input, lower, upper, training)
            if inplace is True:
                _C.rrelu_(input, lower, upper, training)
                return input
        except TypeError as error:
            _checks.binding_refused("rrelu", error, input=input, lower=lower, upper=upper,
                                    training=training, inplace=inplace, generator=generator)
            raise
    _checks.functional_args("rrelu", input=input, lower=lower, upper=upper, training=training,
                            inplace=inplace, generator=generator)
    if inplace:
        torch.ops.rectifiers.rrelu_(input, lower, upper, training, generator)
        return input
    return torch.ops.rectifiers.rrelu(input, lower, upper, training, generator)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha * (exp(x) - 1), like ``F.elu``. d/dx at 0 is alpha.
    ``alpha`` must be finite."""
    if not torch.jit.is_scripting():
        return _elu(input, alpha, inplace)
    if inplace:
        torch.ops.rectifiers.elu_(input, alpha)
        return input
    return torch.ops.rectifiers.elu(input, alpha)


def _elu(input, alpha, inplace):
    if inplace and _is_exporting():
        _checks.functional_args("elu", input=input, alpha=alpha, inplace=inplace)
        return input.copy_(torch.ops.rectifiers.elu(input, alpha))
    if not _is_compiling() and not has_torch_function_unary(input):
        try:
            if inplace is False:
                return _C.elu(input, alpha)
            if inplace is True:
                _C.elu_(input, alpha)
                return input
        except TypeError as error:
            _checks.binding_refused("elu", error, input=input, alpha=alpha, inplace=inplace)
            raise
    _checks.functional_args("elu", input=input, alpha=alpha, inplace=inplace)
    if inplace:
        torch.ops.rectifiers.elu_(input, alpha)
        return input
    return torch.ops.rectifiers.elu(input, alpha)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha * (exp(x / alpha) - 1), like ``F.celu``. d/dx at 0 is
    (1 / alpha) * alpha, 1 up to rounding. ``alpha`` must be finite and not 0."""
    if not torch.jit.is_scripting():
        return _celu(input, alpha, inplace)
    if inplace:
        torch.ops.rectifiers.celu_(input, alpha)
        return input
    return torch.ops.rectifiers.celu(input, alpha)


def _celu(input, alpha, inplace):
    if inplace and _is_exporting():
        _checks.functional_args("celu", input=input, alpha=alpha, inplace=inplace)
        return input.copy_(torch.ops.rectifiers.celu(input, alpha))
    if not _is_compiling() and not has_torch_function_unary(input):
        try:
            if inplace is False:
                return _C.celu(input, alpha)
            if inplace is True:
                _C.celu_(input, alpha)
                return input
        except TypeError as error:
            _checks.binding_refused("celu", error, input=input, alpha=alpha, inplace=inplace)
            raise
    _checks.functional_args("celu", input=input, alpha=alpha, inplace=inplace)
    if inplace:
        torch.ops.rectifiers.celu_(input, alpha)
        return input
    return torch.ops.rectifiers.celu(input, alpha)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with torch's fixed alpha and scale, like ``F.selu``.
    d/dx at 0 is scale * alpha."""
    if not torch.jit.is_scripting():
        return _selu(input, inplace)
    if inplace:
        torch.ops.rectifiers.selu_(input)
        return input
    return torch.ops.rectifiers.selu(input)


def _selu(input, inplace):
    if inplace and _is_exporting():
        _checks.functional_args("selu", input=input, inplace=inplace)
        return input.copy_(torch.ops.rectifiers.selu(input))
    if not _is_compiling() and not has_torch_function_unary(input):
        try:
            if inplace is False:
                return _C.selu(input)
            if inplace is True:
                _C.selu_(input)
                return input
        except TypeError as error:
            _checks.binding_refused("selu", error, input=input, inplace=inplace)
            raise
    _checks.functional_args("selu", input=input, inplace=inplace)
    if inplace:
        torch.ops.rectifiers.selu_(input)
        return input
    return torch.ops.rectifiers.selu(input)


def maxout(input: Tensor, pool_size: int, dim: int = 1) -> Tensor:
    """Max over groups of ``pool_size`` consecutive elements along ``dim``.

    The size of ``dim`` must be a multiple of ``pool_size``: the elements
    ``i * pool_size ... (i + 1) * pool_size - 1`` along ``dim`` form group ``i``,
    and the result has ``input.size(dim) / pool_size`` elements there (the other
    dims are kept). Otherwise it raises a ``RuntimeError``, ``rectifiers::maxout:
    pool_size 4 does not divide the size of dim 1 (6, input shape [2, 6, 3])``;
    likewise for a ``pool_size`` outside ``[1, 2147483647]``, a ``dim`` out of
    range and a 0-dim input.

    Equals ``input.unflatten(dim, (-1, pool_size)).max(dim + 1).values``; the
    gradient goes to the element ``torch.max`` picks (the first maximum; a NaN
    wins).
    """
    if not torch.jit.is_scripting():
        return _maxout(input, pool_size, dim)
    return torch.ops.rectifiers.maxout(input, pool_size, dim)


def _maxout(input, pool_size, dim):
    if not _is_compiling() and not has_torch_function_unary(input):
        try:
            return _C.maxout(input, pool_size, dim)
        except TypeError as error:
            _checks.binding_refused("maxout", error, input=input, pool_size=pool_size, dim=dim)
            raise
    _checks.functional_args("maxout", input=input, pool_size=pool_size, dim=dim)
    return torch.ops.rectifiers.maxout(input, pool_size, dim)
