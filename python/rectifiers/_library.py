"""Loads the compiled extension and refuses a build that does not match torch."""

import importlib

import torch

REBUILD = (
    "Rebuild it against the installed torch from the repository root with:\n"
    "    pip install --no-build-isolation -e .\n"
    "(--no-build-isolation matters: an isolated build compiles against another torch)."
)


def _torch_release(version: str) -> str:
    return version.split("+")[0]


def load():
    try:
        ext = importlib.import_module("rectifiers._C")
    except ImportError as error:
        raise ImportError(
            f"rectifiers: the compiled op library rectifiers._C could not be loaded ({error}). "
            + REBUILD
        ) from error
    built = _torch_release(ext.built_with_torch)
    running = _torch_release(torch.__version__)
    if built != running:
        raise ImportError(
            f"rectifiers: the compiled op library was built against torch {built}, but torch "
            f"{running} is installed. " + REBUILD
        )
    return ext
