"""Builds the Python extension rectifiers._C from csrc/.

Build with the installed torch (no isolated build env, or pip pulls another
torch and the ABI no longer matches):

    pip install --no-build-isolation -e .

Environment switches:
  RECTIFIERS_CUDA=0|1   compile the CUDA kernels (default: 1 when nvcc and a
                        CUDA build of torch are present; a GPU is not needed)
  TORCH_CUDA_ARCH_LIST  CUDA archs (default "8.0;9.0")
  RECTIFIERS_CPU_DEFAULT_ONLY=1  build only the baseline CPU loops
"""

import glob
import os
import shutil

# torch guesses CUDA_HOME from the nvcc on PATH, which may be a symlink
# outside the toolkit; prefer the toolkit's own directory.
if "CUDA_HOME" not in os.environ and os.path.isfile("/usr/local/cuda/bin/nvcc"):
    os.environ["CUDA_HOME"] = "/usr/local/cuda"

import torch  # noqa: E402
from setuptools import setup  # noqa: E402
from torch.utils import cpp_extension  # noqa: E402

ROOT = os.path.dirname(os.path.abspath(__file__))
CUDA_ARCHS_DEFAULT = "8.0;9.0"


def cuda_wanted():
    switch = os.environ.get("RECTIFIERS_CUDA", "auto").lower()
    available = torch.version.cuda is not None and (
        cpp_extension.CUDA_HOME is not None or shutil.which("nvcc") is not None
    )
    if switch in ("0", "off", "false", "no"):
        return False
    if switch in ("1", "on", "true", "yes"):
        if not available:
            raise RuntimeError(
                "RECTIFIERS_CUDA=1 but nvcc or a CUDA build of torch is missing "
                f"(torch.version.cuda={torch.version.cuda}, CUDA_HOME={cpp_extension.CUDA_HOME})"
            )
        return True
    return available


def sources(pattern):
    return sorted(glob.glob(os.path.join("csrc", pattern), recursive=True))


def pip_cuda_includes():
    """cuSPARSE/cuBLAS headers that ATen's CUDA headers include: pip's CUDA torch
    ships them under site-packages/nvidia; a minimal toolkit may lack them."""
    site = os.path.dirname(os.path.dirname(torch.__file__))
    return sorted(glob.glob(os.path.join(site, "nvidia", "cu*", "include")))


def extension():
    with_cuda = cuda_wanted()
    cxx_sources = sources("**/*.cpp")
    cuda_sources = sources("cuda/**/*.cu") if with_cuda else []
    cxx_sources = [s for s in cxx_sources if with_cuda or not s.startswith(os.path.join("csrc", "cuda"))]
    define_macros = []
    if os.environ.get("RECTIFIERS_CPU_DEFAULT_ONLY", "0") == "1":
        # Only the baseline CPU loops (no AVX2/AVX-512 builds).
        define_macros.append(("RECTIFIERS_CPU_DEFAULT_ONLY", None))
    # -fno-trapping-math: the loops compare before they select, and under the
    # default -ftrapping-math g++ keeps each compare as a branch (a compare
    # may raise a floating-point exception flag), so the fused PReLU backward
    # was not vectorised. Results are the same: no reassociation is allowed.
    cxx_flags = ["-O3", "-fvisibility=hidden", "-fno-trapping-math"]
    nvcc_flags = ["-O3", "--expt-relaxed-constexpr", "--extended-lambda"]
    if with_cuda:
        archs = os.environ.setdefault("TORCH_CUDA_ARCH_LIST", CUDA_ARCHS_DEFAULT)
        define_macros += [("RECTIFIERS_WITH_CUDA", None), ("RECTIFIERS_CUDA_ARCHS", '"' + archs.replace(";", ",") + '"')]
        builder = cpp_extension.CUDAExtension
        # -idirafter: searched after the toolkit, so it only fills in what is missing.
        for path in pip_cuda_includes():
            nvcc_flags += ["-Xcompiler", f"-idirafter{path}"]
            cxx_flags += [f"-idirafter{path}"]
    else:
        builder = cpp_extension.CppExtension
    return builder(
        name="rectifiers._C",
        sources=cxx_sources + cuda_sources,
        include_dirs=[os.path.join(ROOT, "csrc")],
        define_macros=define_macros,
        extra_compile_args={"cxx": cxx_flags, "nvcc": nvcc_flags},
    )


setup(
    name="rectifiers",
    version="0.1.0",
    description="The rectified-linear family of activations as PyTorch custom operators",
    package_dir={"": "python"},
    packages=["rectifiers"],
    ext_modules=[extension()],
    cmdclass={"build_ext": cpp_extension.BuildExtension.with_options(use_ninja=True)},
    python_requires=">=3.10",
)
