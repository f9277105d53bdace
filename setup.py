"""Builds the rectifiers package: the CMake build (CMakeLists.txt) compiles
the op library and the extension module rectifiers._C once, and this file
copies both into the package. Build with the installed torch (an isolated
build env pulls another torch and the ABI no longer matches):

    pip install --no-build-isolation -e .      # development (scripts/setup.sh)
    pip install --no-build-isolation .         # or: pip wheel --no-build-isolation .

The CMake build directory persists (build/, or RECTIFIERS_BUILD_DIR), so a
rerun recompiles only what changed; the same directory holds the GoogleTest
suite and the C++ examples when they are switched on.

Environment switches (each one, when set, is passed to CMake and
reconfigures the build if it changes a setting; unset, an existing build
keeps its setting and a new one gets the default):
  RECTIFIERS_CUDA=0|1|auto        compile the CUDA kernels (auto: when nvcc and
                                  a CUDA build of torch are present; no GPU needed)
  TORCH_CUDA_ARCH_LIST            CUDA archs (default in CMakeLists.txt)
  RECTIFIERS_BUILD_TESTS=0|1      the GoogleTest suite (default 0 here)
  RECTIFIERS_BUILD_EXAMPLES=0|1   the C++ examples (default 0 here)
  RECTIFIERS_BUILD_DIR            the CMake build directory (default build/)
  MAX_JOBS                        parallel compile jobs
"""

import importlib.util
import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))
LIBRARY = "librectifiers.so"
SWITCHES = {"0": "OFF", "off": "OFF", "false": "OFF", "no": "OFF",
            "1": "ON", "on": "ON", "true": "ON", "yes": "ON", "auto": "AUTO"}
# (environment variable, CMake cache entry, value for a new build directory);
# an existing build directory keeps what it has unless the variable is set.
SETTINGS = [
    ("RECTIFIERS_CUDA", "RECTIFIERS_CUDA", "AUTO"),
    ("RECTIFIERS_BUILD_TESTS", "RECTIFIERS_BUILD_TESTS", "OFF"),
    ("RECTIFIERS_BUILD_EXAMPLES", "RECTIFIERS_BUILD_EXAMPLES", "OFF"),
    ("TORCH_CUDA_ARCH_LIST", "TORCH_CUDA_ARCH_LIST", None),
]


def setting(variable):
    value = os.environ[variable]
    if variable == "TORCH_CUDA_ARCH_LIST":
        return value
    if value.lower() not in SWITCHES:
        raise RuntimeError(f"{variable}={value!r}: expected one of {sorted(SWITCHES)}")
    return SWITCHES[value.lower()]


def torch_cmake_prefix_path():
    """torch.utils.cmake_prefix_path, without importing torch: pip runs this
    file several times per install, and the import is most of a no-op rerun."""
    spec = importlib.util.find_spec("torch")
    if spec is None:
        raise RuntimeError("rectifiers builds against the installed torch: install torch first, "
                           "then pip install --no-build-isolation .")
    return os.path.join(spec.submodule_search_locations[0], "share", "cmake")


def cached(build):
    """The CMake cache of `build` as {name: value}, or None before the first configure."""
    path = os.path.join(build, "CMakeCache.txt")
    if not os.path.exists(path):
        return None
    values = {}
    with open(path) as f:
        for line in f:
            entry, sep, value = line.rstrip("\n").partition("=")
            if sep and ":" in entry and not line.startswith(("#", "//")):
                values[entry.split(":", 1)[0]] = value
    return values


def wanted(fresh):
    values = {
        "CMAKE_PREFIX_PATH": torch_cmake_prefix_path(),
        "Python_EXECUTABLE": sys.executable,
        "RECTIFIERS_PYTHON": "ON",
    }
    for variable, entry, default in SETTINGS:
        if variable in os.environ:
            values[entry] = setting(variable)
        elif fresh and default is not None:
            values[entry] = default
    return values


def copy_if_changed(source, target):
    if os.path.exists(target):
        s, t = os.stat(source), os.stat(target)
        if s.st_size == t.st_size and s.st_mtime_ns == t.st_mtime_ns:
            return
        os.remove(target)  # a loaded library may be mapped: replace, never rewrite
    shutil.copy2(source, target)


class CMakeBuild(build_ext):
    """Configures CMake when the build directory is new or a setting changed,
    builds, and copies the library and the module into the package."""

    def build_extension(self, ext):
        build = os.path.abspath(os.environ.get("RECTIFIERS_BUILD_DIR", os.path.join(ROOT, "build")))
        cache = cached(build)
        values = wanted(fresh=cache is None)
        if cache is None or any(cache.get(name) != value for name, value in values.items()):
            args = [f"-D{name}={value}" for name, value in values.items()]
            subprocess.check_call(["cmake", "-S", ROOT, "-B", build, "-G", "Ninja", *args])
        jobs = ["-j", os.environ["MAX_JOBS"]] if os.environ.get("MAX_JOBS") else []
        subprocess.check_call(["cmake", "--build", build, *jobs])
        module = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(module), exist_ok=True)
        copy_if_changed(os.path.join(build, os.path.basename(module)), module)
        copy_if_changed(os.path.join(build, LIBRARY), os.path.join(os.path.dirname(module), LIBRARY))

    def library_paths(self):
        """(built, in the source tree) for the op library beside each module."""
        build_py = self.get_finalized_command("build_py")
        for ext in self.extensions:
            inplace_file, regular_file = self._get_inplace_equivalent(build_py, ext)
            yield (os.path.join(os.path.dirname(regular_file), LIBRARY),
                   os.path.join(os.path.dirname(inplace_file), LIBRARY))

    def copy_extensions_to_source(self):  # editable installs
        super().copy_extensions_to_source()
        for built, in_source in self.library_paths():
            copy_if_changed(built, in_source)

    def get_outputs(self):
        extra = [source if self.inplace else built for built, source in self.library_paths()]
        return super().get_outputs() + extra


setup(
    ext_modules=[Extension("rectifiers._C", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
)
