"""ONNX export of models that use ``torch.ops.rectifiers``.

Every op becomes standard ONNX (default domain, opset 18 or later), so the
exported model runs in any ONNX runtime without custom operators:

=========================================  ====================================
op                                         ONNX
=========================================  ====================================
``relu``                                   ``Relu``
``leaky_relu(negative_slope)``             ``LeakyRelu(alpha=negative_slope)``
``prelu(weight)``                          ``PRelu`` (weight reshaped to
                                           ``(C, 1, ..., 1)`` for inputs of rank
                                           >= 3, so it applies on dim 1)
``abs_rectifier``                          ``Abs``
``relu6``                                  ``Clip(0, 6)``
``rrelu(lower, upper)`` in eval mode        ``LeakyRelu(alpha=(lower + upper) / 2)``
                                           (training mode has no ONNX form:
                                           refused)
``elu(alpha)``, ``celu(alpha)``, ``selu``   ``Elu(alpha)``, ``Celu(alpha)``,
                                           ``Selu`` (torch's alpha and scale;
                                           ONNX's ``Celu`` is float32 only)
``maxout(pool_size=k, dim)``               ``Reshape`` (``dim`` split into
                                           ``(size / k, k)``, the target shape
                                           computed from ``Shape`` so dynamic
                                           dims stay dynamic) + ``ReduceMax``
                                           over the new axis (``keepdims=0``)
``maxout_with_indices``                    the same, plus ``ArgMax`` and a
                                           ``Cast`` to uint8 (``k <= 256``) or
                                           int32
the in-place forms (``relu_``, ...)        as the out-of-place op (under
                                           ``torch.export`` the functional
                                           forms trace them as the out-of-place
                                           op and a ``copy_``)
=========================================  ====================================

After ``import rectifiers``, a plain ``torch.onnx.export(model, args, dynamo=True)``
finds these translations (they are registered with onnxscript's torchlib
registry when the ONNX exporter is imported). Or use :func:`export` (a thin
wrapper around ``torch.onnx.export(..., dynamo=True)``)::

    import rectifiers.onnx
    program = rectifiers.onnx.export(model.eval(), (x,), "model.onnx",
                                     dynamic_shapes=({0: "batch"},))

or pass the translation table to ``torch.onnx.export`` yourself::

    torch.onnx.export(model, (x,), "model.onnx", dynamo=True,
                      custom_translation_table=rectifiers.onnx.custom_translation_table())

onnxscript (and so onnx) is imported only when a function of this module is
called; ``import rectifiers`` does not need them.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import torch

__all__ = ["OPSET", "custom_translation_table", "export", "register_default"]

#: The ONNX opset the translations are written against (``ReduceMax`` takes its
#: axes as an input from opset 18 on). ``torch.onnx.export`` defaults to a newer
#: one, which is fine; older ones go through ONNX's version converter.
OPSET = 18

# ONNX TensorProto data types (kept as ints so that this module does not import onnx).
_UINT8 = 2
_INT32 = 6

# torch's (ONNX's defaults are these rounded to float32).
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _rank(value: Any, op_name: str) -> int:
    shape = getattr(value, "shape", None)
    if shape is None:
        raise RuntimeError(f"rectifiers.onnx: {op_name}: the rank of the input is unknown")
    return len(shape)


@functools.lru_cache(maxsize=None)
def _functions() -> dict[str, Callable]:
    """The translation functions, built on first use (imports onnxscript)."""
    from onnxscript import opset18 as op

    def relu(self):
        return op.Relu(self)

    def leaky_relu(self, negative_slope: float = 0.01):
        return op.LeakyRelu(self, alpha=float(negative_slope))

    def abs_rectifier(self):
        return op.Abs(self)

    def relu6(self):
        # Clip's bounds are inputs of the input's type.
        return op.Clip(self, op.CastLike(op.Constant(value_float=0.0), self),
                       op.CastLike(op.Constant(value_float=6.0), self))

    def rrelu(self, lower: float = 0.125, upper: float = 1.0 / 3, training: bool = False,
              generator=None):
        if training:
            raise RuntimeError("rectifiers.onnx: rrelu in training mode (random slopes) has no "
                               "ONNX form; export the model in eval mode (model.eval())")
        return op.LeakyRelu(self, alpha=float((lower + upper) / 2))

    def rrelu_with_state(self, lower: float, upper: float, generator=None):
        raise RuntimeError("rectifiers.onnx: rrelu_with_state (rrelu in training mode, random "
                           "slopes) has no ONNX form; export the model in eval mode (model.eval())")

    def elu(self, alpha: float = 1.0):
        return op.Elu(self, alpha=float(alpha))

    def celu(self, alpha: float = 1.0):
        return op.Celu(self, alpha=float(alpha))

    def selu(self):
        return op.Selu(self, alpha=_SELU_ALPHA, gamma=_SELU_SCALE)

    def prelu(self, weight):
        # torch: the slope index is the position along dim 1 (one channel when
        # the input has < 2 dims); weight is 0-dim, or 1-D with 1 or C elements.
        # ONNX PRelu broadcasts the slope against the input from the right.
        x_rank = _rank(self, "prelu")
        w_rank = _rank(weight, "prelu")
        if w_rank == 1 and x_rank == 0:
            weight = op.Squeeze(weight)  # (1,) -> (): a 0-dim input stays 0-dim
        elif w_rank == 1 and x_rank >= 3:
            weight = op.Reshape(weight, op.Constant(value_ints=[-1] + [1] * (x_rank - 2)))
        return op.PRelu(self, weight)

    def group(self, pool_size: int, dim: int, op_name: str):
        """self reshaped so that ``dim`` is split into (size(dim) / k, k); returns it
        and the axis of the groups' elements (dim + 1)."""
        rank = _rank(self, op_name)
        if rank == 0:
            raise RuntimeError(f"rectifiers.onnx: {op_name}: input must have at least 1 dimension")
        d = dim + rank if dim < 0 else dim
        if not 0 <= d < rank:
            raise RuntimeError(f"rectifiers.onnx: {op_name}: dim {dim} out of range for rank {rank}")
        k = op.Constant(value_ints=[int(pool_size)])
        parts = []
        if d > 0:
            parts.append(op.Shape(self, start=0, end=d))
        parts.append(op.Div(op.Shape(self, start=d, end=d + 1), k))
        parts.append(k)
        if d + 1 < rank:
            parts.append(op.Shape(self, start=d + 1))
        # Explicit sizes (no -1) with allowzero=1: right for empty tensors too,
        # where -1 cannot be inferred and a 0 would otherwise mean "copy".
        grouped = op.Reshape(self, op.Concat(*parts, axis=0), allowzero=1)
        return grouped, d + 1

    def maxout(self, pool_size: int, dim: int = 1):
        grouped, axis = group(self, pool_size, dim, "maxout")
        return op.ReduceMax(grouped, op.Constant(value_ints=[axis]), keepdims=0)

    def maxout_with_indices(self, pool_size: int, dim: int = 1):
        grouped, axis = group(self, pool_size, dim, "maxout_with_indices")
        values = op.ReduceMax(grouped, op.Constant(value_ints=[axis]), keepdims=0)
        indices = op.ArgMax(grouped, axis=axis, keepdims=0, select_last_index=0)
        indices = op.Cast(indices, to=_UINT8 if pool_size <= 256 else _INT32)
        return values, indices

    return {
        "relu": relu,
        "leaky_relu": leaky_relu,
        "prelu": prelu,
        "abs_rectifier": abs_rectifier,
        "relu6": relu6,
        "rrelu": rrelu,
        "rrelu_with_state": rrelu_with_state,
        "elu": elu,
        "celu": celu,
        "selu": selu,
        "maxout": maxout,
        "maxout_with_indices": maxout_with_indices,
    }


def custom_translation_table() -> dict[torch._ops.OpOverload, Callable]:
    """``{torch.ops.rectifiers.<op>.default: onnxscript function}`` for
    ``torch.onnx.export(..., dynamo=True, custom_translation_table=...)``.

    Returns a new dict on every call (merge your own entries into it freely).
    Imports onnxscript.
    """
    return _table()


def _table() -> dict[torch._ops.OpOverload, Callable]:
    ops = torch.ops.rectifiers
    return {getattr(ops, name).default: fn for name, fn in _functions().items()}


def register_default() -> None:
    """Registers the translations with onnxscript's torchlib registry, which
    ``torch.onnx.export(..., dynamo=True)`` reads: a plain export then needs no
    translation table (one passed in still wins). ``import rectifiers`` calls
    this when the ONNX exporter is imported."""
    from onnxscript.function_libs.torch_lib import registration

    for target, fn in _table().items():
        registration.torch_op(target.name(), trace_only=True)(fn)


def export(model, args: tuple = (), f=None, *, custom_translation_table: dict | None = None,
           **options):
    """``torch.onnx.export(model, args, f, dynamo=True, ...)`` with the translations
    of ``torch.ops.rectifiers`` (:func:`custom_translation_table`) merged with
    ``custom_translation_table`` (whose entries win). The other keyword
    arguments (``dynamic_shapes``, ``opset_version``, ...) go to
    ``torch.onnx.export``; ``dynamo=False`` is refused. Returns its
    ``ONNXProgram``.
    """
    if not options.pop("dynamo", True):
        raise ValueError("rectifiers.onnx.export: only the dynamo exporter (dynamo=True) is supported")
    table = _table()
    table.update(custom_translation_table or {})
    return torch.onnx.export(model, args, f, dynamo=True, custom_translation_table=table, **options)
