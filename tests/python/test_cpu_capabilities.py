"""Every CPU build of the kernels (one per instruction set: default, AVX2,
AVX-512; see csrc/common/stub.h) against torch: ATen's DispatchStub calls the
one ATEN_CPU_CAPABILITY names, so each build this CPU can run is run in a
fresh process under that setting through the differential fuzz test. (ATen
trusts the setting: a build the CPU lacks would die of an illegal
instruction, in torch's own kernels too, so those are skipped.)"""

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SECONDS = os.environ.get("RECTIFIERS_CAPABILITY_FUZZ_SECONDS", "8")


ORDER = ["default", "avx2", "avx512"]


def build_info(capability=None):
    env = {k: v for k, v in os.environ.items() if k != "ATEN_CPU_CAPABILITY"}
    if capability:
        env["ATEN_CPU_CAPABILITY"] = capability
    info = subprocess.run([sys.executable, "-c", "import rectifiers; print(rectifiers.build_info())"],
                          env=env, capture_output=True, text=True, timeout=300, check=True).stdout
    return dict(field.split("=", 1) for field in info.split())


def environment_for(capability):
    """The environment that runs `capability`'s build, or a skip where this
    build or CPU has none."""
    detected = build_info()
    if capability not in detected["cpu"].split(","):
        pytest.skip(f"this build has no {capability} kernels (built: {detected['cpu']})")
    if ORDER.index(capability) > ORDER.index(detected["cpu_selected"]):
        pytest.skip(f"this CPU runs {detected['cpu_selected']} at most")
    assert build_info(capability)["cpu_selected"] == capability
    return dict(os.environ, ATEN_CPU_CAPABILITY=capability), detected["cpu_selected"]


@pytest.mark.parametrize("capability", ORDER)
def test_cpu_build_matches_torch(capability):
    env, _ = environment_for(capability)
    proc = subprocess.run([sys.executable, os.path.join(HERE, "fuzz_ops.py"), "--seconds", SECONDS],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    with_capability = " ".join(proc.stdout.split()[-12:])
    print(f"{capability}: {with_capability}")


@pytest.mark.parametrize("capability", ORDER)
def test_mask_loops_bitwise_in_each_build(capability):
    # the mask loops pack and unpack bits with each instruction set's own
    # intrinsics (cpu/mask_loops.h): test_masks' CPU cases in every build,
    # the one this CPU selects being run by the suite itself
    env, selected = environment_for(capability)
    if capability == selected:
        pytest.skip(f"{capability} is this CPU's own build, which test_masks.py runs")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           os.path.join(HERE, "test_masks.py"), "-k", "not cuda"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
