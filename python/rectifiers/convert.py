"""Swap torch.nn activations of an existing model for rectifiers' ops: the
modules, and the functional calls (``F.relu(x)`` and its kin) in the model's
own ``forward`` methods."""

import collections
import dis
import logging
import sys
import warnings
from typing import Dict, List, Tuple

import torch
from torch import Tensor
from torch import nn as _nn
from torch.nn import functional as _F
from torch.overrides import TorchFunctionMode

from . import functional as _RF
from . import nn as _ours

__all__ = ["convert", "ConversionReport"]

_logger = logging.getLogger("rectifiers.convert")


# ---- modules -------------------------------------------------------------------


def _relu(m):
    return _ours.ReLU(inplace=bool(m.inplace))


def _leaky_relu(m):
    return _ours.LeakyReLU(negative_slope=m.negative_slope, inplace=bool(m.inplace))


def _relu6(m):
    return _ours.ReLU6(inplace=bool(m.inplace))


def _rrelu(m):
    return _ours.RReLU(lower=m.lower, upper=m.upper, inplace=bool(m.inplace))


def _elu(m):
    return _ours.ELU(alpha=m.alpha, inplace=bool(m.inplace))


def _celu(m):
    return _ours.CELU(alpha=m.alpha, inplace=bool(m.inplace))


def _selu(m):
    return _ours.SELU(inplace=bool(m.inplace))


def _prelu(m):
    new = _ours.PReLU(num_parameters=m.num_parameters, init=m.init,
                      device=m.weight.device, dtype=m.weight.dtype)
    # The same Parameter object, so optimizers holding it keep training it.
    new.weight = m.weight
    return new


_MODULE_MAKERS = {
    _nn.ReLU: _relu,
    _nn.LeakyReLU: _leaky_relu,
    _nn.ReLU6: _relu6,
    _nn.RReLU: _rrelu,
    _nn.ELU: _elu,
    _nn.CELU: _celu,
    _nn.SELU: _selu,
    _nn.PReLU: _prelu,
}

# The hooks and the state a caller may have attached to the replaced module;
# sharing the dicts keeps the callers' RemovableHandles working.
_HOOK_DICTS = ("_forward_hooks", "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
               "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_backward_hooks",
               "_backward_pre_hooks")


def _instructions(function):
    return [(i.opname, i.argval) for i in dis.get_instructions(function)
            if i.opname not in ("RESUME", "NOP", "CACHE")]


def _same_function(ours, theirs) -> bool:
    """Whether two Python functions are provably the same computation: the same
    instructions on the same constants and names (docstrings and line numbers
    aside), every global name bound to the same object."""
    a, b = getattr(ours, "__code__", None), getattr(theirs, "__code__", None)
    if a is None or b is None or a.co_freevars or b.co_freevars:
        return False
    if (a.co_argcount, a.co_kwonlyargcount, ours.__defaults__, ours.__kwdefaults__) != \
            (b.co_argcount, b.co_kwonlyargcount, theirs.__defaults__, theirs.__kwdefaults__):
        return False
    if _instructions(ours) != _instructions(theirs):
        return False
    missing = object()
    return all(ours.__globals__.get(name, missing) is theirs.__globals__.get(name, missing)
               for name in a.co_names)


def _torch_parent(kind):
    """The torch.nn activation class ``kind`` is or derives from, if any."""
    for base in kind.__mro__:
        if base in _MODULE_MAKERS:
            return base
    return None


def _replacement(module: _nn.Module, report: "ConversionReport"):
    kind = type(module)
    parent = _torch_parent(kind)
    if parent is None or isinstance(module, _ours_classes()):
        return None
    if kind is not parent and not _same_function(kind.forward, parent.forward):
        report._skip(kind, "a subclass whose forward differs from "
                     f"torch.nn.{parent.__name__}.forward")
        warnings.warn(f"rectifiers.convert: left {kind.__module__}.{kind.__qualname__} as it is: "
                      f"it subclasses torch.nn.{parent.__name__} with a forward of its own",
                      stacklevel=3)
        return None
    new = _MODULE_MAKERS[parent](module)
    new.train(module.training)  # RReLU's slopes depend on it; eval models stay eval
    for name in _HOOK_DICTS:
        if hasattr(module, name):
            setattr(new, name, getattr(module, name))
    report._replace(kind)
    return new


def _ours_classes():
    return tuple(getattr(_ours, name) for name in _ours.__all__)


# ---- functional calls ----------------------------------------------------------

_FLOATING = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_DEVICES = ("cpu", "cuda", "meta")


# torch takes any truthy inplace/training; so do the converted calls and
# modules, which pass them on as bools.
def _ours_can_run(input) -> bool:
    # Anything our ops do not take (integer tensors, other devices) stays torch's.
    return isinstance(input, Tensor) and input.dtype in _FLOATING and \
        input.device.type in _DEVICES


def _hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val == 0 and max_val == 6:
        return _RF.relu6(input, bool(inplace))
    return NotImplemented


def _leaky(input, negative_slope=0.01, inplace=False):
    return _RF.leaky_relu(input, negative_slope, bool(inplace))


def _relu_fn(input, inplace=False):
    return _RF.relu(input, bool(inplace))


def _relu_in_place(input):
    return _RF.relu(input, True)


def _prelu_fn(input, weight):
    if not isinstance(weight, Tensor):
        return NotImplemented
    return _RF.prelu(input, weight)


def _rrelu_fn(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    return _RF.rrelu(input, lower, upper, bool(training), bool(inplace))


def _elu_fn(input, alpha=1.0, inplace=False):
    return _RF.elu(input, alpha, bool(inplace))


def _celu_fn(input, alpha=1.0, inplace=False):
    return _RF.celu(input, alpha, bool(inplace))


def _selu_fn(input, inplace=False):
    return _RF.selu(input, bool(inplace))


def _relu6_fn(input, inplace=False):
    return _RF.relu6(input, bool(inplace))


# torch's function -> ours, with torch's argument names and defaults. The
# names are those the model's code is scanned for.
_FUNCTIONS = {
    _F.relu: _relu_fn,
    torch.relu: _relu_fn,
    torch.relu_: _relu_in_place,
    Tensor.relu: _relu_fn,
    Tensor.relu_: _relu_in_place,
    _F.leaky_relu: _leaky,
    _F.relu6: _relu6_fn,
    _F.hardtanh: _hardtanh,
    _F.elu: _elu_fn,
    _F.selu: _selu_fn,
    _F.celu: _celu_fn,
    _F.prelu: _prelu_fn,
    torch.prelu: _prelu_fn,
    _F.rrelu: _rrelu_fn,
}
_FUNCTION_NAMES = frozenset(("relu", "relu_", "leaky_relu", "relu6", "hardtanh", "elu", "selu",
                             "celu", "prelu", "rrelu"))


class _Redirect(TorchFunctionMode):
    """Runs torch's functional activations as rectifiers' ops. Entered only
    around the forward of a converted model's modules, so nothing outside the
    model is affected; a TorchFunctionMode is what eager mode, Dynamo
    (torch.compile) and torch.export all honour, where patching
    ``torch.nn.functional`` would change every model in the process and
    rewriting the model's code would not survive scripting or copying."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        ours = _FUNCTIONS.get(func)
        if ours is not None and args and _ours_can_run(args[0]):
            result = ours(*args, **kwargs)
            if result is not NotImplemented:
                return result
        return func(*args, **kwargs)


_REDIRECT = _Redirect()


# TorchScript compiles a module's hooks with it, typed for a module with one
# tensor in and one out (what a module calling F.relu usually is); the body is
# eager-only, so a scripted model runs the functional calls as torch's ops.
def rectifiers_enter_redirect(module: _nn.Module, args: Tuple[Tensor]) -> None:
    if not torch.jit.is_scripting():
        _REDIRECT.__enter__()


def rectifiers_exit_redirect(module: _nn.Module, args: Tuple[Tensor], output: Tensor) -> None:
    if not torch.jit.is_scripting():
        _REDIRECT.__exit__(None, None, None)


def _functions_called_in(code, found: set) -> None:
    """Adds the functional activation names that ``code`` loads: as globals
    (``relu`` imported from torch), or as attributes of anything but its first
    argument (``F.relu``, ``x.relu()``; not ``self.relu``, a submodule)."""
    receiver = code.co_varnames[0] if code.co_argcount else None
    previous = None
    for instruction in dis.get_instructions(code):
        if instruction.argval in _FUNCTION_NAMES:
            if instruction.opname == "LOAD_GLOBAL":
                found.add(instruction.argval)
            elif instruction.opname in ("LOAD_ATTR", "LOAD_METHOD") and not (
                    previous.opname == "LOAD_FAST" and previous.argval == receiver):
                found.add(instruction.argval)
        previous = instruction
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            _functions_called_in(const, found)


def _called_functions(kind) -> List[str]:
    """The functional activation names that ``kind``'s own methods call."""
    found = set()
    for cls in kind.__mro__:
        if cls is _nn.Module or cls is object or cls.__module__.startswith("torch.nn."):
            continue
        for member in vars(cls).values():
            code = getattr(getattr(member, "__func__", member), "__code__", None)
            if code is not None:
                _functions_called_in(code, found)
    return sorted(found)


def _redirect_functional_calls(module: _nn.Module, report: "ConversionReport") -> None:
    if isinstance(module, _ours_classes()) or getattr(module, "_rectifiers_redirect", False):
        return
    names = _called_functions(type(module))
    if not names:
        return
    module.register_forward_pre_hook(rectifiers_enter_redirect)
    module.register_forward_hook(rectifiers_exit_redirect, always_call=True)
    module._rectifiers_redirect = True
    report._redirect(type(module), names)


# ---- the report and the entry point --------------------------------------------


class ConversionReport:
    """What :func:`convert` did: ``replaced`` (torch.nn class name -> how many
    modules were replaced), ``redirected`` (class name -> (how many modules,
    the functional names their methods call)), ``skipped`` (class name ->
    (how many, why)). ``str(report)`` is a readable summary; ``convert`` logs
    it on the ``rectifiers.convert`` logger at INFO level."""

    def __init__(self) -> None:
        self.replaced: Dict[str, int] = collections.Counter()
        self.redirected: Dict[str, Tuple[int, List[str]]] = {}
        self.skipped: Dict[str, Tuple[int, str]] = {}

    @staticmethod
    def _name(kind) -> str:
        return kind.__name__ if kind.__module__.startswith("torch.nn") else \
            f"{kind.__module__}.{kind.__qualname__}"

    def _replace(self, kind) -> None:
        self.replaced[self._name(kind)] += 1

    def _skip(self, kind, why: str) -> None:
        count, _ = self.skipped.get(self._name(kind), (0, why))
        self.skipped[self._name(kind)] = (count + 1, why)

    def _redirect(self, kind, names: List[str]) -> None:
        count, _ = self.redirected.get(self._name(kind), (0, names))
        self.redirected[self._name(kind)] = (count + 1, names)

    def __str__(self) -> str:
        def plural(n, word):
            return f"{n} {word}" if n == 1 else f"{n} {word}s"
        lines = []
        replaced = sum(self.replaced.values())
        lines.append(f"rectifiers.convert: replaced {plural(replaced, 'module')}"
                     + (":" if replaced else ""))
        lines += [f"  {name}: {n}" for name, n in sorted(self.replaced.items())]
        if self.redirected:
            lines.append("functional calls run as rectifiers ops in the forward of:")
            lines += [f"  {name}: {plural(n, 'module')} ({', '.join(names)})"
                      for name, (n, names) in sorted(self.redirected.items())]
        if self.skipped:
            lines.append("left as they are:")
            lines += [f"  {name}: {plural(n, 'module')} ({why})"
                      for name, (n, why) in sorted(self.skipped.items())]
        return "\n".join(lines)

    __repr__ = __str__


def _check_model(model) -> None:
    if isinstance(model, torch.jit.ScriptModule):
        raise TypeError("rectifiers.convert: got a scripted module (torch.jit.ScriptModule), whose "
                        "code is already compiled; convert the torch.nn.Module, then script it: "
                        "torch.jit.script(rectifiers.convert(model))")
    eval_frame = sys.modules.get("torch._dynamo.eval_frame")  # imported once anything compiled
    if eval_frame is not None and isinstance(model, eval_frame.OptimizedModule):
        raise TypeError("rectifiers.convert: got a torch.compile'd module; convert the "
                        "torch.nn.Module, then compile it: torch.compile(rectifiers.convert(model))")
    if isinstance(model, torch.export.ExportedProgram):
        raise TypeError("rectifiers.convert: got a torch.export.ExportedProgram; convert the "
                        "torch.nn.Module, then export it: "
                        "torch.export.export(rectifiers.convert(model), args)")
    if not isinstance(model, _nn.Module):
        raise TypeError(f"rectifiers.convert: expected a torch.nn.Module, but got "
                        f"{type(model).__name__}; pass the model whose activations to replace")


def _convert_children(module: _nn.Module, functional: bool, report: ConversionReport) -> None:
    if functional:
        _redirect_functional_calls(module, report)
    for name, child in list(module.named_children()):
        new = _replacement(child, report)
        if new is not None:
            setattr(module, name, new)
        else:
            _convert_children(child, functional, report)


def convert(model: _nn.Module, *, functional: bool = True, return_report: bool = False):
    """Make ``model`` run rectifiers' ops for its activations, in place, and
    return it (with ``return_report=True``: ``(model, ConversionReport)``).

    - Every ``torch.nn.ReLU``, ``LeakyReLU``, ``PReLU``, ``ReLU6``, ``RReLU``,
      ``ELU``, ``CELU`` and ``SELU`` module is replaced by the rectifiers module
      of the same settings, weights (PReLU keeps the very same ``Parameter``),
      hooks and training mode. A subclass of one of them is replaced when its
      ``forward`` is the parent's or provably the same code; any other is left
      as it is, with a warning naming the class.
    - With ``functional=True`` (the default), the functional activations that
      the model's own methods call (``F.relu``, ``F.relu_``, ``torch.relu``,
      ``torch.relu_``, ``Tensor.relu``, ``F.leaky_relu``, ``F.relu6``,
      ``F.hardtanh(x, 0, 6)``, ``F.elu``, ``F.selu``, ``F.celu``, ``F.prelu``,
      ``F.rrelu``) run as rectifiers ops when the model runs, eagerly, under
      ``torch.compile`` and in ``torch.export``: each module whose class's
      methods name one of them gets a forward pre-hook and hook that enter and
      leave a ``TorchFunctionMode`` around its forward, so nothing outside the
      model is affected. Calls our ops do not take (integer tensors, other
      devices, ``hardtanh`` with other bounds) stay torch's. TorchScript
      compiles the forward's source: a scripted model runs those calls as
      torch's ops (the same values).
    - A summary (:class:`ConversionReport`) is logged on the
      ``rectifiers.convert`` logger at INFO level.

    A bare activation module passed as ``model`` is returned replaced. A
    scripted, compiled or exported model, or anything not a module, is a
    ``TypeError`` that says what to pass instead.
    """
    _check_model(model)
    report = ConversionReport()
    top = _replacement(model, report)
    if top is not None:
        model = top
    else:
        _convert_children(model, functional, report)
    _logger.info("%s", report)
    return (model, report) if return_report else model
