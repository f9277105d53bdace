"""Argument checks of the Python API that run before anything reaches an op.

Module constructors (rectifiers.nn) check their arguments as their C++ twins
in csrc/nn.h do, with the same messages (``ValueError`` where C++ throws
``c10::ValueError``), and refuse a wrong type with a ``TypeError``, which C++'s
static types make unnecessary there. The functional wrappers
(rectifiers.functional) name an argument of a wrong type, which the op's binding
would report with the tensors printed, or as a ``RuntimeError``.
"""

import operator
from numbers import Real

import torch

# The largest pool_size the maxout ops take (csrc/ops/maxout.h's kMaxPoolSize).
MAX_POOL_SIZE = 2**31 - 1
INT64_MAX = 2**63 - 1


def type_name(value) -> str:
    """The type of `value` as a message shows it: "float", "None", "numpy.float64"."""
    if value is None:
        return "None"
    kind = type(value)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


# ---- module constructors ----------------------------------------------------
#
# Each returns the value converted to what the module stores (a plain int,
# float or bool), which is also what TorchScript needs of a module constant:
# an int where a float is annotated does not script.


def count(module: str, name: str, value) -> int:
    """An int (anything with __index__, e.g. a numpy integer), not a bool."""
    if not isinstance(value, bool):
        try:
            return operator.index(value)
        except TypeError:
            pass
    raise TypeError(f"{module}: {name} must be an int, but got {type_name(value)}")


def real(module: str, name: str, value) -> float:
    """A float or an int (any real number, e.g. a numpy float), not a bool."""
    if isinstance(value, Real) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"{module}: {name} must be a float or an int, but got {type_name(value)}")


def flag(module: str, name: str, value) -> bool:
    """True or False: a non-bool here is usually an argument in the wrong place
    (``ELU(1.0, 0.5)``), and TorchScript takes only a bool."""
    if value is True or value is False:
        return value
    raise TypeError(f"{module}: {name} must be a bool, but got {type_name(value)}")


def at_least(module: str, name: str, value: int, low: int) -> None:
    if value < low:
        raise ValueError(f"{module}: {name} must be >= {low}, but got {value}")


def pool_size_range(module: str, value: int) -> None:
    at_least(module, "pool_size", value, 1)
    if value > MAX_POOL_SIZE:
        raise ValueError(f"{module}: pool_size must be <= {MAX_POOL_SIZE}, but got {value}")


# ---- functional wrappers ----------------------------------------------------
#
# These run where a wrong type is already known to have been refused (the
# eager binding raised a TypeError) or where the call goes to torch.ops
# (torch.compile, torch.export, __torch_function__ overrides), which refuses a
# wrong type with a RuntimeError. They must trace under torch.compile, and let
# through the stand-ins tracers pass: SymInts, SymFloats, fx Proxies. A proxy
# is known by its type's __torch_function__, not by has_torch_function, which
# is true of any value while a TorchFunctionMode is active.


def _is_proxy(value) -> bool:
    return hasattr(type(value), "__torch_function__")


def _is_tensor(value) -> bool:
    return isinstance(value, torch.Tensor) or _is_proxy(value)


def _is_int(value) -> bool:
    if isinstance(value, (int, torch.SymInt)):
        return True
    if isinstance(value, torch.Tensor):  # as the ops take it: one element
        return value.numel() == 1
    return hasattr(type(value), "__index__") or _is_proxy(value)


def _is_real(value) -> bool:
    if isinstance(value, (float, int, torch.SymFloat, torch.SymInt)):
        return True
    if isinstance(value, torch.Tensor):
        return value.numel() == 1
    return hasattr(type(value), "__float__") or _is_proxy(value)


def _is_bool(value) -> bool:
    return value is True or value is False or isinstance(value, torch.SymBool)


def _is_generator(value) -> bool:
    return value is None or isinstance(value, torch.Generator)


_KINDS = {
    "input": (_is_tensor, "a Tensor"),
    "weight": (_is_tensor, "a Tensor"),
    "pool_size": (_is_int, "an int"),
    "dim": (_is_int, "an int"),
    "negative_slope": (_is_real, "a float or an int"),
    "alpha": (_is_real, "a float or an int"),
    "lower": (_is_real, "a float or an int"),
    "upper": (_is_real, "a float or an int"),
    "training": (_is_bool, "a bool"),
    "inplace": (_is_bool, "a bool"),
    "generator": (_is_generator, "a torch.Generator or None"),
}


def functional_args(op: str, **args) -> None:
    """Raises a TypeError naming `op`, the first argument of a wrong type and its
    type (never the value: it may be a tensor)."""
    for name, value in args.items():
        accepts, wanted = _KINDS[name]
        if not accepts(value):
            raise TypeError(f"rectifiers.functional.{op}: {name} must be {wanted}, but got "
                            f"{type_name(value)}") from None


def binding_refused(op: str, error: TypeError, **args) -> None:
    """Called with the TypeError an eager binding raised: raises the message
    :func:`functional_args` gives. A value that passes these checks and yet was
    refused gets a message naming every argument's type; pybind's own would
    print the tensors. A TypeError from inside the op is left to propagate."""
    functional_args(op, **args)
    if "incompatible function arguments" in str(error):
        types = ", ".join(f"{name}: {type_name(value)}" for name, value in args.items())
        raise TypeError(f"rectifiers.functional.{op}: an argument has a type it does not take "
                        f"({types})") from None
