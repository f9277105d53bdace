"""Activation statistics for any model: dead units, sparsity, pre-activation
extremes and gradient norms of every rectifier-family activation module.

    with rectifiers.diagnostics.track(model) as stats:
        for x, y in loader:
            loss_fn(model(x), y).backward()
    print(stats.report())
    stats.dead_units()       # {"features.3": tensor([ 7, 19])}: never positive

Everything is accumulated on the tensors' device by reductions in forward
hooks (and, with ``gradients=True``, tensor hooks on the outputs): no host
synchronisation per batch and no copy of an activation kept. Numbers reach
the host only when a result method is called.
"""

from typing import Dict, List, Optional

import torch
from torch import Tensor
from torch import nn as _nn

from . import nn as _ours

__all__ = ["track", "Tracker", "ACTIVATIONS"]

# The rectifier family: ours, torch.nn's, and any subclass of either.
ACTIVATIONS = (
    _ours.ReLU, _ours.LeakyReLU, _ours.PReLU, _ours.AbsRectifier, _ours.ReLU6, _ours.RReLU,
    _ours.ELU, _ours.CELU, _ours.SELU, _ours.Maxout, _ours.MaxoutLinear,
    _nn.ReLU, _nn.LeakyReLU, _nn.PReLU, _nn.ReLU6, _nn.RReLU, _nn.ELU, _nn.CELU, _nn.SELU,
)


class _Layer:
    """One module's running statistics, all on the module output's device."""

    def __init__(self, kind: str, unit_dim: int, pool_size: int = 1, sees_input: bool = True) -> None:
        self.kind = kind
        self.unit_dim = unit_dim
        # A maxout unit's pre-activations are its pool_size pieces.
        self.pool_size = pool_size
        # MaxoutLinear's pieces are made inside it: its input is no pre-activation.
        self.sees_input = sees_input
        self.reset()

    def reset(self) -> None:
        self.examples = 0          # host int: from shapes, no synchronisation
        self.elements = 0
        self.positive: Optional[Tensor] = None   # per unit: examples that made it > 0
        self.zeros: Optional[Tensor] = None      # exact zeros in the output
        self.low: Optional[Tensor] = None        # per unit: smallest pre-activation
        self.high: Optional[Tensor] = None       # per unit: largest pre-activation
        self.grad_norms: List[Tensor] = []       # one per backward pass

    def _dims(self, t: Tensor):
        """(the unit dim, the dims other than examples and units) of ``t``;
        a 1-D tensor is one unbatched example."""
        if t.dim() == 1:
            return 0, []
        unit = self.unit_dim % t.dim()
        return unit, [d for d in range(1, t.dim()) if d != unit]

    def record_input(self, z: Tensor) -> None:
        if not self.sees_input or z.dim() == 0 or z.numel() == 0:
            return
        z = z.detach()
        unit, positions = self._dims(z)
        if self.pool_size > 1:  # pieces beside their unit: reduce over them too
            z = z.unflatten(unit, (-1, self.pool_size))
            positions = [d + (d > unit) for d in positions] + [unit + 1]
        dims = ([0] if unit != 0 else []) + positions
        low, high = (z.amin(dims), z.amax(dims)) if dims else (z, z)
        if self.low is None:
            self.low, self.high = low, high
        else:
            # NaN propagates, as a NaN pre-activation is worth seeing.
            self.low = torch.minimum(self.low, low)
            self.high = torch.maximum(self.high, high)

    def record_output(self, y: Tensor) -> None:
        if y.dim() == 0:
            return
        y = y.detach()
        unit, positions = self._dims(y)
        self.examples += 1 if y.dim() == 1 else y.shape[0]
        self.elements += y.numel()
        if y.numel() == 0:
            return
        # A unit is positive on an example when its largest output there is.
        per_example = y.amax(positions) if positions else y
        positive = (per_example > 0).reshape(-1, y.shape[unit]).sum(0)
        zeros = torch.count_nonzero(y == 0)
        if self.positive is None:
            self.positive, self.zeros = positive, zeros
        else:
            self.positive += positive
            self.zeros += zeros

    def record_grad(self, g: Tensor) -> None:
        self.grad_norms.append(torch.linalg.vector_norm(g.detach().float()))


def _layer(module: _nn.Module, unit_dim: int) -> _Layer:
    kind = type(module).__name__
    if isinstance(module, _ours.Maxout):
        return _Layer(kind, module.dim, pool_size=module.pool_size)
    if isinstance(module, _ours.MaxoutLinear):
        return _Layer(kind, -1, sees_input=False)
    return _Layer(kind, unit_dim)


class Tracker:
    """The statistics of one model's activation modules; made by :func:`track`.

    Usable as a context manager (hooks removed on exit, statistics kept) or
    as a plain object with :meth:`remove`."""

    def __init__(self, model: _nn.Module, gradients: bool = False, unit_dim: int = 1) -> None:
        if not isinstance(model, _nn.Module):
            raise TypeError(f"rectifiers.diagnostics.track: expected a torch.nn.Module, but got "
                            f"{type(model).__name__}")
        if isinstance(unit_dim, bool) or not isinstance(unit_dim, int):
            raise TypeError(f"rectifiers.diagnostics.track: unit_dim must be an int, but got "
                            f"{type(unit_dim).__name__}")
        self.gradients = gradients
        self.layers: Dict[str, _Layer] = {}
        self._handles = []
        for name, module in model.named_modules():
            if not isinstance(module, ACTIVATIONS):
                continue
            layer = _layer(module, unit_dim)
            self.layers[name or "(model)"] = layer
            self._handles.append(module.register_forward_pre_hook(self._pre_hook(layer)))
            self._handles.append(module.register_forward_hook(self._hook(layer)))
        if not self.layers:
            raise ValueError(
                f"rectifiers.diagnostics.track: {type(model).__name__} has no rectifier-family "
                "activation module to track (rectifiers.nn's, or torch.nn's ReLU, LeakyReLU, "
                "PReLU, ReLU6, RReLU, ELU, CELU, SELU); functional calls such as F.relu are not "
                "modules: rectifiers.convert does not make them ones either")

    @staticmethod
    def _pre_hook(layer: _Layer):
        def hook(module, args):
            if args and isinstance(args[0], Tensor):
                # Before the module runs: an in-place activation overwrites it.
                layer.record_input(args[0])
        return hook

    def _hook(self, layer: _Layer):
        def hook(module, args, output):
            if not isinstance(output, Tensor):
                return
            layer.record_output(output)
            if self.gradients and output.requires_grad:
                output.register_hook(layer.record_grad)
        return hook

    # -- lifetime

    def remove(self) -> None:
        """Removes the hooks; the statistics stay readable."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def reset(self) -> None:
        """Forgets everything seen so far (the hooks stay)."""
        for layer in self.layers.values():
            layer.reset()

    def __enter__(self) -> "Tracker":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    # -- results (these synchronise)

    def units(self) -> Dict[str, int]:
        """Module name -> number of units seen (0 before any batch)."""
        return {name: 0 if layer.positive is None else layer.positive.numel()
                for name, layer in self.layers.items()}

    def dead_units(self) -> Dict[str, Tensor]:
        """Module name -> indices (int64, on the CPU) of the units whose output
        was positive on no example seen: for ReLU and ReLU6, the units that got
        no gradient; for the leaky kinds, units only ever on the left side; for
        maxout, units whose largest piece was never positive (the largest
        piece always gets the gradient, so these still learn). Empty for a
        module that saw no batch."""
        return {name: (torch.empty(0, dtype=torch.long) if layer.positive is None
                       else torch.nonzero(layer.positive == 0).flatten().cpu())
                for name, layer in self.layers.items()}

    def sparsity(self) -> Dict[str, float]:
        """Module name -> fraction of the outputs seen that were exactly 0
        (NaN for a module that saw none)."""
        return {name: (float("nan") if not layer.elements or layer.zeros is None
                       else layer.zeros.item() / layer.elements)
                for name, layer in self.layers.items()}

    def active_examples(self) -> Dict[str, Tensor]:
        """Module name -> per unit, how many examples made its output positive."""
        return {name: (torch.empty(0, dtype=torch.long) if layer.positive is None
                       else layer.positive.cpu())
                for name, layer in self.layers.items()}

    def extremes(self) -> Dict[str, Tensor]:
        """Module name -> (2, units): each unit's smallest and largest
        pre-activation (the module's input; a maxout unit's pieces). Empty for
        MaxoutLinear, whose pieces are made inside it."""
        return {name: (torch.empty(2, 0) if layer.low is None
                       else torch.stack([layer.low, layer.high]).float().cpu())
                for name, layer in self.layers.items()}

    def gradient_norms(self) -> Dict[str, Tensor]:
        """Module name -> the 2-norm of the gradient with respect to the
        module's output, one per backward pass (with ``gradients=True``)."""
        return {name: (torch.stack(layer.grad_norms).cpu() if layer.grad_norms
                       else torch.empty(0))
                for name, layer in self.layers.items()}

    def to_dict(self) -> Dict[str, dict]:
        """Everything, as plain Python values (JSON-serialisable but for NaN)."""
        dead, sparsity = self.dead_units(), self.sparsity()
        active, extremes, grads = self.active_examples(), self.extremes(), self.gradient_norms()
        return {name: dict(kind=layer.kind, examples=layer.examples,
                           units=active[name].numel(), dead_units=dead[name].tolist(),
                           sparsity=sparsity[name], active_examples=active[name].tolist(),
                           pre_activation_min=extremes[name][0].tolist(),
                           pre_activation_max=extremes[name][1].tolist(),
                           gradient_norms=grads[name].tolist())
                for name, layer in self.layers.items()}

    def report(self) -> str:
        """A table: one row per module."""
        header = ["module", "kind", "examples", "units", "dead", "zeros", "pre-act min",
                  "pre-act max"] + (["grad norm (last)"] if self.gradients else [])
        rows = []
        dead, sparsity = self.dead_units(), self.sparsity()
        extremes, grads = self.extremes(), self.gradient_norms()
        for name, layer in self.layers.items():
            units = dead[name].numel() if layer.positive is None else layer.positive.numel()
            ext = extremes[name]
            row = [name, layer.kind, str(layer.examples), str(units),
                   f"{dead[name].numel()} ({dead[name].numel() / units:.1%})" if units else "-",
                   f"{sparsity[name]:.1%}" if layer.elements else "-",
                   f"{ext[0].min().item():.4g}" if ext.numel() else "-",
                   f"{ext[1].max().item():.4g}" if ext.numel() else "-"]
            if self.gradients:
                row.append(f"{grads[name][-1].item():.4g}" if grads[name].numel() else "-")
            rows.append(row)
        widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
        lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
                 for r in [header] + rows]
        lines.insert(1, "-+-".join("-" * w for w in widths))
        return "\n".join(lines)


def track(model: _nn.Module, *, gradients: bool = False, unit_dim: int = 1) -> Tracker:
    """Hooks every rectifier-family activation module of ``model`` (ours and
    torch.nn's) and accumulates, per unit: how many examples made its output
    positive, the exact zeros, the pre-activation's extremes, and with
    ``gradients=True`` the norm of the gradient at the module's output per
    backward pass. A unit is a feature (``unit_dim`` of the output, default 1:
    ``(N, C, ...)`` and ``(N, F)`` layouts; pass ``-1`` for ``(N, T, F)``);
    a maxout module's units are along its own ``dim``. Returns a
    :class:`Tracker`; use it as a context manager or call ``remove()``."""
    return Tracker(model, gradients=gradients, unit_dim=unit_dim)
