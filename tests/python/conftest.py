"""Shared fixtures: the device is a parameter of every suite; CUDA cases skip
with a reason when no GPU is present."""

import contextlib
import os

import pytest
import torch

import rectifiers  # noqa: F401  (registers torch.ops.rectifiers)

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine"),
    ),
]


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


@pytest.fixture(params=DTYPES, ids=lambda d: str(d).replace("torch.", ""))
def dtype(request):
    return request.param


@contextlib.contextmanager
def compile_caches_off():
    """Compiles afresh: Inductor's on-disk FX graph and AOTAutograd caches do
    not key on its decomposition table, through which our ops lower
    (rectifiers/_inductor.py), so a graph cached by an older build would be
    served instead of compiled."""
    import torch._functorch.config
    import torch._inductor.config

    with torch._inductor.config.patch(fx_graph_cache=False), \
            torch._functorch.config.patch(enable_autograd_cache=False):
        torch._dynamo.reset()
        yield
        torch._dynamo.reset()


@pytest.fixture
def no_compile_caches():
    # a fixture of wider scope that compiles uses compile_caches_off itself:
    # it is set up before this one
    with compile_caches_off():
        yield


@pytest.fixture
def cpp_build():
    """The CMake build directory (scripts/test.sh sets RECTIFIERS_CPP_BUILD)."""
    path = os.environ.get("RECTIFIERS_CPP_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
    path = os.path.abspath(path)
    if not os.path.exists(os.path.join(path, "load_scripted")):
        pytest.skip(f"C++ build not found in {path} (run scripts/setup.sh)")
    return path


def special_values(dtype, device="cpu"):
    """±0, ±inf, NaN and values around the kinks (relu6's at 6 too; -90 where
    elu's exp underflows in float32), in dtype."""
    return torch.tensor(
        [0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1.0, -1.0, 1e-3, -1e-3, 3.5, -2.25,
         6.0, 6.0625, 5.9375, -90.0],
        dtype=dtype,
        device=device,
    )

