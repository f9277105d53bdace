"""Inductor lowers our ops as it lowers their native twins (python/rectifiers/_inductor.py).

One function holds every op, forward, in place and backward; it is compiled
with our ops and, for the ops that have a twin, with torch's, statically and
with dynamic shapes. Ours must give native's bits (maxout and RReLU's training
mode, which have no twin, eager's) and leave no call of a lowered op in the
generated code. Inductor compiles C++ for every graph on CI's two cores, so the
graphs are few and small.
"""

import re
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch._inductor.utils import run_and_get_code

from rectifiers import _inductor
from rectifiers import functional as RF

from conftest import special_values

LOWERED = set(_inductor.DECOMPOSITIONS)
# Our kernels under Inductor: RReLU's training mode, whose slopes are the
# documented Philox stream, and maxout's forward, which measured better so.
KEPT = {"rrelu_with_state", "rrelu_backward", "maxout_with_indices"}


pytestmark = pytest.mark.usefixtures("no_compile_caches")


# the twins under the same names
class Native:
    relu, leaky_relu, relu6, elu, celu, selu, prelu = (
        F.relu, F.leaky_relu, F.relu6, F.elu, F.celu, F.selu, F.prelu)

    @staticmethod
    def abs_rectifier(x):
        return torch.abs(x)

    @staticmethod
    def rrelu(x, inplace=False):
        return F.rrelu(x, training=False, inplace=inplace)


class Ours:
    relu, leaky_relu, relu6, elu, celu, selu, prelu, abs_rectifier = (
        RF.relu, RF.leaky_relu, RF.relu6, RF.elu, RF.celu, RF.selu, RF.prelu, RF.abs_rectifier)

    @staticmethod
    def rrelu(x, inplace=False):
        return RF.rrelu(x, training=False, inplace=inplace)


IN_PLACE = (("relu", ()), ("leaky_relu", (0.2,)), ("relu6", ()), ("elu", (0.5,)),
            ("celu", (2.0,)), ("selu", ()), ("rrelu", ()))


def twins(act, x, w, w1, in_place):
    """Every op with a native twin on an (N, C, L) input: out of place, in place
    on intermediates, PReLU with a per-channel and a shared weight."""
    outs = [act.relu(x), act.leaky_relu(x, 0.2), act.abs_rectifier(x), act.relu6(x),
            act.elu(x, 0.5), act.celu(x, 2.0), act.selu(x), act.rrelu(x), act.prelu(x, w),
            act.prelu(x, w1)]
    for name, args in IN_PLACE if in_place else ():
        t = x * 4
        getattr(act, name)(t, *args, inplace=True)
        outs.append(t)
    return outs


def ours_only(xm, xr):
    """Maxout over channels and over the last dim, and RReLU in training mode,
    on inputs of their own: they have no native twin to compare with."""
    return [RF.maxout(xm, 2, 1), RF.maxout(xm, 2, -1), RF.rrelu(xr, training=True)]


# One function each (not closures or partials, which share their code), so
# that Dynamo keeps their compiled code apart.
def ours(x, w, w1, xm, xr):
    return twins(Ours, x, w, w1, True) + ours_only(xm, xr)


def ours_out_of_place(x, w, w1, xm, xr):
    return twins(Ours, x, w, w1, False) + ours_only(xm, xr)


def native(x, w, w1):
    return twins(Native, x, w, w1, True)


def native_out_of_place(x, w, w1):
    return twins(Native, x, w, w1, False)


def inputs(n, length, dtype, seed):
    """x, w, w1 for the twins, xm and xr for ours_only."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, length, generator=g, dtype=torch.float64) * 3
    # channel 0 holds ±0, ±inf, NaN and the kinks; the other channels keep
    # PReLU's weight gradients (sums over a channel) finite
    x[0, 0].view(-1)[:6] = special_values(torch.float64)[:6]
    x[1, 0].view(-1)[:6] = special_values(torch.float64)[6:12]
    x[2, 0].view(-1)[:3] = special_values(torch.float64)[12:]
    w = torch.tensor([0.25, -0.5, 0.0, 1.5])
    w1 = torch.tensor([-0.3])
    xm = x.clone()
    xm[0, 1, :2] = torch.tensor([0.0, -0.0])  # 0/-0 ties in both maxouts' groups
    xm[0, 2, :2] = torch.tensor([-0.0, 0.0])
    xr = torch.randn(n, 4, length, generator=g)
    return [t.to(dtype).requires_grad_() for t in (x, w, w1, xm, xr)]


def step(fn, args, seed=0):
    """fn's outputs and the gradients of its inputs, with incoming gradients
    that have both signs, zeros and non-integers."""
    torch.manual_seed(seed)  # RReLU's training-mode slopes
    outs = fn(*args)
    grads_out = [torch.linspace(-2, 2, o.numel(), dtype=o.dtype, device=o.device).reshape(o.shape)
                 for o in outs]
    grads_in = torch.autograd.grad(outs, args, grads_out)
    return [o.detach() for o in outs], list(grads_in)


_BITS = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def bits(t):
    return t.view(_BITS[t.element_size()])


def assert_bitwise(got, expected, what):
    assert got.dtype == expected.dtype and got.shape == expected.shape, what
    mismatch = bits(got) != bits(expected)
    assert not mismatch.any(), (f"{what}: {int(mismatch.sum())} elements differ, e.g. "
                                f"{got[mismatch][:4].tolist()} vs "
                                f"{expected[mismatch][:4].tolist()}")


_CALL = re.compile(r"rectifiers(?:\.|::)(\w+)")


def called_ops(codes):
    """Our ops the generated code calls (comment lines, which name the source
    ops of each kernel, left out)."""
    found = set()
    for code in codes:
        for line in code.splitlines():
            if not line.lstrip().startswith("#"):
                found.update(_CALL.findall(line))
    return found


def compile_and_run(fn, args, dynamic, mode=None):
    if dynamic:
        # the batch and the last dim (over which one maxout groups) symbolic; the
        # channels stay static, as PReLU's weight fixes them
        for t in args:
            if t.dim() == 3:
                torch._dynamo.mark_dynamic(t, 0)
                torch._dynamo.mark_dynamic(t, 2)
    compiled = torch.compile(fn, fullgraph=True, dynamic=False, mode=mode)
    # copies: CUDA graphs' outputs live in a pool the next graph reuses
    (outs, grads), codes = run_and_get_code(
        lambda: [[t.clone() for t in ts] for ts in step(compiled, args)])
    return compiled, outs, grads, codes


# The in-place forms only statically: they decompose to the out-of-place ops'
# decompositions and a copy, and would make the dynamic graphs much slower to
# compile.
@pytest.mark.parametrize("dtype,dynamic", [(torch.float32, False), (torch.bfloat16, True)],
                         ids=["float32-static", "bfloat16-dynamic"])
def test_every_op_compiles_as_native(dtype, dynamic):
    args = inputs(3, 6, dtype, seed=0)
    in_place = not dynamic
    ours_fn, native_fn = (ours, native) if in_place else (ours_out_of_place, native_out_of_place)
    ours_c, *ours_result, codes = compile_and_run(ours_fn, args, dynamic)
    native_c, *native_result, native_codes = compile_and_run(native_fn, args[:3], dynamic)
    twin_outputs = 10 + len(IN_PLACE) * in_place

    # no call of a lowered op is left, only of those kept
    assert called_ops(codes) == KEPT, sorted(called_ops(codes))
    assert called_ops(native_codes) == set()

    def check(args, ours_result, native_result, tag):
        (outs, grads), (native_outs, native_grads) = ours_result, native_result
        eager_outs, eager_grads = step(ours_fn, args)
        for i in range(twin_outputs):
            assert_bitwise(outs[i], native_outs[i], f"{tag}: output {i}")
        for name, got, expected in zip(("x", "w", "w1"), grads, native_grads):
            assert_bitwise(got, expected, f"{tag}: gradient of {name}")
        # maxout and RReLU's training mode run our kernels forward (RReLU: the
        # slopes of eager's Philox stream), maxout's lowered backward puts the
        # gradient where eager's does
        for i in range(twin_outputs, len(outs)):
            assert_bitwise(outs[i], eager_outs[i], f"{tag}: output {i}")
        assert_bitwise(grads[3], eager_grads[3], f"{tag}: gradient of maxout's input")
        assert_bitwise(grads[4], eager_grads[4], f"{tag}: gradient of rrelu's input")

    check(args, ours_result, native_result, "first call")
    if dynamic:  # other sizes run the same symbolic graphs
        args = inputs(5, 8, dtype, seed=1)
        with torch._dynamo.config.patch(error_on_recompile=True):
            ours_result, native_result = step(ours_c, args), step(native_c, args[:3])
        check(args, ours_result, native_result, "other sizes")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
@pytest.mark.parametrize("mode", ["default", "reduce-overhead"])
def test_every_op_compiles_as_native_on_cuda(mode):
    """On a GPU, Triton's code; reduce-overhead replays it as a CUDA graph,
    RReLU's Philox stream included."""
    args = [t.detach().cuda().requires_grad_() for t in inputs(3, 6, torch.float32, seed=0)]
    _, outs, grads, codes = compile_and_run(ours, args, False, mode)
    _, native_outs, native_grads, _ = compile_and_run(native, args[:3], False, mode)
    eager_outs, eager_grads = step(ours, args)
    assert called_ops(codes) == KEPT, sorted(called_ops(codes))
    twin_outputs = 10 + len(IN_PLACE)
    for i in range(twin_outputs):
        assert_bitwise(outs[i], native_outs[i], f"output {i}")
    for i in range(twin_outputs, len(outs)):
        assert_bitwise(outs[i], eager_outs[i], f"output {i}")
    for name, got, expected in zip(("x", "w", "w1"), grads, native_grads):
        assert_bitwise(got, expected, f"gradient of {name}")
    for name, got, expected in zip(("xm", "xr"), grads[3:], eager_grads[3:]):
        assert_bitwise(got, expected, f"gradient of {name}")


def decomposed(gm, example_inputs):
    """A backend that applies Inductor's decompositions and runs the graphs op
    by op in ATen: the decompositions' arithmetic, with no C++ to compile."""
    from functorch.compile import make_boxed_func
    from torch._functorch.aot_autograd import aot_module_simplified
    from torch._inductor.decomposition import select_decomp_table

    def run(graph, _):
        return make_boxed_func(graph.forward)

    return aot_module_simplified(gm, example_inputs, fw_compiler=run, bw_compiler=run,
                                 decompositions=select_decomp_table())


def out_of_place_twins(act, *xs):
    return [o for x in xs for o in twins(act, x, x.new_tensor([0.25, -0.5, 0.0, 1.5]),
                                         x.new_tensor([-0.3]), False)]


def ours_out_of_place_twins(*xs):
    return out_of_place_twins(Ours, *xs)


def native_out_of_place_twins(*xs):
    return out_of_place_twins(Native, *xs)


def prelus(act, *args):
    return [act.prelu(x, w) for x, w in zip(args[::2], args[1::2])]


def ours_prelus(*args):
    return prelus(Ours, *args)


def native_prelus(*args):
    return prelus(Native, *args)


def test_decompositions_in_other_dtypes_and_shapes():
    # the twins in float16 and float64, and PReLU on 0-, 1-, 2- and 4-dim
    # inputs with each weight form, equal native's decomposed
    x16, x64 = (inputs(3, 6, dtype, seed=2)[0] for dtype in (torch.float16, torch.float64))
    shapes = [((), ()), ((), (1,)), ((5,), ()), ((5,), (1,)), ((3, 4), (4,)), ((3, 4), (1,)),
              ((2, 3, 4, 5), (3,)), ((2, 3, 4, 5), ())]
    prelu_args = []
    for i, (xs, ws) in enumerate(shapes):
        g = torch.Generator().manual_seed(i)
        x = torch.randn(xs, generator=g)
        if i == 6:
            x = x.contiguous(memory_format=torch.channels_last)
        prelu_args += [x.requires_grad_(), torch.randn(ws, generator=g).requires_grad_()]
    for ours_fn, native_fn, args in ((ours_out_of_place_twins, native_out_of_place_twins,
                                      [x16, x64]),
                                     (ours_prelus, native_prelus, prelu_args)):
        outs, grads = step(torch.compile(ours_fn, backend=decomposed, fullgraph=True), args)
        native_outs, native_grads = step(torch.compile(native_fn, backend=decomposed,
                                                       fullgraph=True), args)
        for i, (o, n) in enumerate(zip(outs + grads, native_outs + native_grads)):
            assert_bitwise(o, n, f"{ours_fn.__name__}: output or gradient {i}")


def maxouts(x, y):
    return [RF.maxout(x, 300, -1), RF.maxout(x, 1, 0), RF.maxout(y, 3, 0)]


def test_maxout_decompositions_equal_eager():
    # int32 positions (pool_size > 256), pool_size 1, groups along dim 0: the
    # backward's decomposition puts the gradient where our kernel does
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 600, generator=g, dtype=torch.float64).requires_grad_()
    y = torch.randn(6, 5, generator=g)
    y[:3, 0] = torch.tensor([0.0, -0.0, 0.0])  # a group of ties: the first one's sign
    y.requires_grad_()
    outs, grads = step(torch.compile(maxouts, backend=decomposed, fullgraph=True), [x, y])
    eager_outs, eager_grads = step(maxouts, [x, y])
    for i, (o, e) in enumerate(zip(outs + grads, eager_outs + eager_grads)):
        assert_bitwise(o, e, f"output or gradient {i}")
    # the forward's, measured and not registered, is what bench.py --compiled
    # times: it must compute what our kernel does
    for t, k, dim in ((x, 300, -1), (y, 3, 0)):
        got = _inductor.NOT_LOWERED["maxout_with_indices"](t.detach(), k, dim)
        expected = torch.ops.rectifiers.maxout_with_indices(t.detach(), k, dim)
        for a, b in zip(got, expected):
            assert_bitwise(a, b, f"maxout_with_indices pool_size {k}")


def test_import_leaves_inductor_alone():
    # Inductor's import is slow: ours registers when something else imports it
    code = ("import sys, rectifiers\n"
            "assert 'torch._inductor' not in sys.modules, 'rectifiers imported torch._inductor'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)


def test_registered_after_import():
    # whichever of rectifiers and Inductor this process imported first
    from torch._inductor.decomposition import select_decomp_table

    table = select_decomp_table()
    for name, fn in _inductor.DECOMPOSITIONS.items():
        assert table.get(getattr(torch.ops.rectifiers, name).default) is fn, name
    for name in _inductor.NOT_LOWERED:
        assert getattr(torch.ops.rectifiers, name).default not in table, name


def test_register_refreshes_the_cached_table():
    # Inductor caches its merged table: an import of rectifiers after a first
    # compile must still reach it
    from torch._inductor import decomposition

    ops = [getattr(torch.ops.rectifiers, n).default for n in LOWERED]
    saved = {op: decomposition.decompositions.pop(op) for op in ops}
    try:
        decomposition.fast_random_decomps.cache_clear()
        assert not set(ops) & set(decomposition.select_decomp_table())
        _inductor.register()
        table = decomposition.select_decomp_table()
        assert all(table[op] is _inductor.DECOMPOSITIONS[op.name().split("::")[1]]
                   for op in ops)
    finally:
        decomposition.decompositions.update(saved)
        decomposition.fast_random_decomps.cache_clear()


def test_export_keeps_our_ops():
    # the table is Inductor's alone: torch.export (and so ONNX) sees our ops
    import torch._inductor.decomposition  # noqa: F401  (registers the table)

    class M(torch.nn.Module):
        def forward(self, x, w):
            return [RF.relu(x), RF.leaky_relu(x), RF.abs_rectifier(x), RF.relu6(x), RF.elu(x),
                    RF.celu(x), RF.selu(x), RF.prelu(x, w), RF.maxout(x, 2)]

    ep = torch.export.export(M(), (torch.randn(2, 4, 3), torch.rand(4)))
    for program in (ep, ep.run_decompositions()):
        targets = {str(n.target) for n in program.graph.nodes if n.op == "call_function"}
        assert {f"rectifiers.{op}.default" for op in
                ("relu", "leaky_relu", "abs_rectifier", "relu6", "elu", "celu", "selu", "prelu",
                 "maxout")} <= targets
