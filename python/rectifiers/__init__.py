"""rectifiers: ReLU, Leaky ReLU, PReLU, the absolute-value rectifier, maxout,
ReLU6, RReLU, ELU, CELU and SELU as PyTorch custom operators
(``torch.ops.rectifiers.*``) with C++ autograd, CPU and CUDA kernels, and
``torch.nn``-style modules.

    import rectifiers
    model = rectifiers.convert(model)        # swap torch.nn activations for ours
    y = rectifiers.functional.maxout(x, pool_size=2)

ONNX export: ``rectifiers.onnx`` (imported on first use, so that
``import rectifiers`` needs neither onnx nor onnxscript).
"""

import os

import torch

from ._library import load as _load

_C = _load()

from . import _dtensor, _vmap  # noqa: E402
from ._on_import import when_imported  # noqa: E402

_vmap.register()
_dtensor.register_when_imported()


def _register_onnx():
    from . import onnx
    onnx.register_default()


# A plain torch.onnx.export(..., dynamo=True) finds the ONNX translations.
when_imported("torch.onnx._internal.exporter._registration", _register_onnx)


def _register_inductor():
    from . import _inductor
    _inductor.register()


# torch.compile's Inductor lowers our ops as it lowers their native twins.
when_imported("torch._inductor.decomposition", _register_inductor)

from . import diagnostics, functional, nn  # noqa: E402
from .convert import convert  # noqa: E402

__version__ = "0.1.0"


def build_info() -> str:
    """What the loaded library was built with: torch, CUDA version and archs, CPU code paths."""
    return _C.build_info()


def library_path() -> str:
    """Path of the compiled op library, librectifiers.so (already loaded by
    this import; a process without rectifiers can torch.ops.load_library it)."""
    return os.path.join(os.path.dirname(_C.__file__), "librectifiers.so")


__all__ = ["functional", "nn", "convert", "diagnostics", "build_info", "library_path"]

# Submodules imported on first access, as their imports are slow or optional.
# Not in __all__: `from rectifiers import *` would import them.
_LAZY = ("onnx",)


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
