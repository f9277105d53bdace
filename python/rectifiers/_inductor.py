"""Inductor's decompositions of our ops: each lowers to Inductor's own IR,
so a compiled model fuses it with its neighbours.

Where an op has a native twin, its decomposition calls that twin's ATen op
with the arguments the twin's own autograd formula passes; the call then runs
through the same table, so Inductor sees what it sees for the twin and ours
compiled computes what native compiled computes, bit for bit. Every entry takes
the argument names and defaults of our op's schema: the in-place ops reach
their decomposition through auto_functionalized, which calls them by keyword.

Only Inductor reads this table (torch.compile, AOTInductor): torch.export and
the ONNX exporter keep our ops as they are. ``register()`` runs when
torch._inductor.decomposition is imported (``rectifiers/__init__.py``), and
always: Inductor's on-disk caches do not key on the table, so a switch could
serve a graph compiled under the other setting.

Kept as our kernels (no entry): RReLU in training mode (``rrelu_with_state``,
``rrelu_with_state_``, ``rrelu_backward``, ``rrelu_with_mask``,
``rrelu_mask_backward``), whose slopes must stay the
documented Philox stream, and maxout's forward (``maxout``,
``maxout_with_indices``), whose Inductor form moved more bytes per training
step than our kernel (``NOT_LOWERED``; docs/benchmarks.md has the
measurements, of PReLU's backward too).
"""

import importlib
import warnings

import torch

aten = torch.ops.aten

# torch's SELU constants, as ATen's selu passes them to elu
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _in_place(out_of_place):
    # what torch's own decompositions of in-place ATen ops do: compute, copy back
    def decomposition(self, *args, **kwargs):
        self.copy_(out_of_place(self, *args, **kwargs))

    return decomposition


def _prelu_weight(self, weight):
    # ATen's prelu reshapes the weight so that it broadcasts along dim 1, then
    # calls _prelu_kernel; its autograd reduces the weight gradient back
    if self.dim() == weight.dim():
        return weight
    shape = [1] * self.dim()
    if self.dim() > 1:
        shape[1] = weight.numel()
    return weight.reshape(shape)


def relu(self):
    return aten.relu(self)


def relu_backward(grad_output, result):
    return aten.threshold_backward(grad_output, result, 0)


def leaky_relu(self, negative_slope=0.01):
    return aten.leaky_relu(self, negative_slope)


def leaky_relu_backward(grad_output, self, negative_slope, self_is_result):
    # our kernel's refusal, which no Meta kernel runs for a backward op here
    torch._check(
        not self_is_result or negative_slope >= 0.0,
        lambda: "rectifiers::leaky_relu_backward: cannot differentiate in-place leaky_relu_ "
        f"with a negative slope (negative_slope = {negative_slope}): the input was "
        "overwritten and the result's sign no longer tells which side of 0 it was on; use "
        "the out-of-place leaky_relu")
    return aten.leaky_relu_backward(grad_output, self, negative_slope, self_is_result)


def _mask_bits(mask, like, mask_strides):
    # bit i of the mask belongs to the element at offset i of a dense tensor
    # laid out by mask_strides (csrc/common/mask.h): the offsets of a dense
    # layout are an arange seen through those strides
    offsets = torch.arange(like.numel(), device=like.device).as_strided(like.shape, mask_strides)
    words = mask[offsets >> 5]
    return ((words >> (offsets & 31).to(words.dtype)) & 1).bool()


def leaky_relu_mask_backward(grad_output, mask, mask_sizes, mask_strides, negative_slope):
    # aten.leaky_relu_backward's decomposition (in the op-math type, as it
    # is) with the mask for self > 0
    positive = _mask_bits(mask, grad_output, mask_strides)
    grad = grad_output.to(torch.promote_types(grad_output.dtype, torch.float32))
    return torch.where(positive, grad, grad * negative_slope).to(grad_output.dtype)


def abs_rectifier(self):
    return aten.abs(self)


def _plane(mask, like, mask_strides, plane, planes):
    words = mask.numel() // planes
    return _mask_bits(mask[plane * words:(plane + 1) * words], like, mask_strides)


def abs_rectifier_mask_backward(grad_output, mask, mask_sizes, mask_strides):
    # grad_output * sgn(self), sgn from the planes self > 0 and self < 0
    positive = _plane(mask, grad_output, mask_strides, 0, 2)
    negative = _plane(mask, grad_output, mask_strides, 1, 2)
    return aten.mul(grad_output, positive.to(grad_output.dtype) - negative.to(grad_output.dtype))


def abs_rectifier_backward(grad_output, self):
    return aten.mul(grad_output, aten.sgn(self))


def relu6(self):
    return aten.hardtanh(self, 0, 6)


def relu6_backward(grad_output, self):
    return aten.hardtanh_backward(grad_output, self, 0, 6)


def relu6_mask_backward(grad_output, mask, mask_sizes, mask_strides):
    # hardtanh_backward's scalar form: the gradient passes inside (0, 6) and at NaN
    passes = (_plane(mask, grad_output, mask_strides, 0, 2)
              | _plane(mask, grad_output, mask_strides, 1, 2))
    return torch.where(passes, grad_output, grad_output.new_zeros(()))


def elu(self, alpha=1.0):
    return aten.elu(self, alpha)


def celu(self, alpha=1.0):
    return aten.celu(self, alpha)


def selu(self):
    # ATen's selu is this elu, which is what Inductor gets of F.selu; torch's
    # reference selu multiplies by scale in another order
    return aten.elu(self, SELU_ALPHA, SELU_SCALE)


def _scalar(value):
    # torch's autograd formulas pass an unscaled ELU's coefficients as the int 1
    # (the schema's default), which Inductor drops from a product; a float 1.0
    # it multiplies by: the same values, but other code
    return 1 if value == 1.0 else value


def elu_backward(grad_output, self_or_result, alpha, scale, input_scale, is_result):
    torch._check(
        not is_result or alpha >= 0.0,
        lambda: "rectifiers::elu_backward: cannot differentiate an in-place elu_/celu_ with a "
        f"negative alpha (alpha = {alpha}): the input was overwritten and the result's sign "
        "no longer tells which side of 0 it was on; use the out-of-place op")
    return aten.elu_backward(grad_output, alpha, _scalar(scale), _scalar(input_scale), is_result,
                             self_or_result)


def prelu(self, weight):
    return aten._prelu_kernel(self, _prelu_weight(self, weight))


def prelu_backward(grad_output, self, weight):
    w = _prelu_weight(self, weight)
    grad_input, grad_weight = aten._prelu_kernel_backward(grad_output, self, w)
    return grad_input, grad_weight.sum_to_size(w.shape).reshape(weight.shape)


def _groups(self, pool_size, dim):
    dim = dim % self.dim()
    return self.unflatten(dim, (-1, pool_size)), dim + 1


def maxout_with_indices(self, pool_size, dim=1):
    grouped, group_dim = _groups(self, pool_size, dim)
    indices = aten.max.dim(grouped, group_dim)[1]
    # the value at the chosen position, as eager: Inductor's max of a group
    # whose maximum is both 0 and -0 is the last one's
    values = grouped.gather(group_dim, indices.unsqueeze(group_dim)).squeeze(group_dim)
    return values, indices.to(torch.uint8 if pool_size <= 256 else torch.int32)


def maxout(self, pool_size, dim=1):
    return maxout_with_indices(self, pool_size, dim)[0]


def maxout_backward(grad_output, indices, pool_size, dim):
    # pointwise: each input position takes the gradient if it is its group's
    # chosen one, so it fuses with the gradient's producer and consumer
    dim = dim % grad_output.dim()
    shape = [1] * (grad_output.dim() + 1)
    shape[dim + 1] = pool_size
    positions = torch.arange(pool_size, device=grad_output.device).view(shape)
    chosen = indices.unsqueeze(dim + 1) == positions
    grad = torch.where(chosen, grad_output.unsqueeze(dim + 1), 0)
    return grad.flatten(dim, dim + 1)


DECOMPOSITIONS = {
    "relu": relu,
    "relu_": _in_place(relu),
    "relu_backward": relu_backward,
    "leaky_relu": leaky_relu,
    "leaky_relu_": _in_place(leaky_relu),
    "leaky_relu_backward": leaky_relu_backward,
    "leaky_relu_mask_backward": leaky_relu_mask_backward,
    "abs_rectifier": abs_rectifier,
    "abs_rectifier_backward": abs_rectifier_backward,
    "abs_rectifier_mask_backward": abs_rectifier_mask_backward,
    "relu6": relu6,
    "relu6_": _in_place(relu6),
    "relu6_backward": relu6_backward,
    "relu6_mask_backward": relu6_mask_backward,
    "elu": elu,
    "elu_": _in_place(elu),
    "celu": celu,
    "celu_": _in_place(celu),
    "selu": selu,
    "selu_": _in_place(selu),
    "elu_backward": elu_backward,
    "prelu": prelu,
    "prelu_backward": prelu_backward,
    "maxout_backward": maxout_backward,
}

# Written and measured, not registered: with them, Inductor's gather needs the
# maxout input in memory, and the step moved more bytes than with our kernel
# (benchmarks/bench.py --compiled times both).
NOT_LOWERED = {
    "maxout": maxout,
    "maxout_with_indices": maxout_with_indices,
}


def _overload(name):
    return getattr(torch.ops.rectifiers, name).default


def register():
    # by name: this runs while the module's import finishes, before its
    # package has the attribute
    decomposition = importlib.import_module("torch._inductor.decomposition")
    try:
        for name, fn in DECOMPOSITIONS.items():
            decomposition.register_decomposition(_overload(name))(fn)
    except Exception as e:
        # this runs inside the import of Inductor's table: failing there would
        # take torch.compile down, where our kernels still work as extern calls
        warnings.warn(f"rectifiers: Inductor will call our kernels instead of lowering our ops: "
                      f"registering their decompositions failed: {e}")
    # select_decomp_table() serves a cached merge of the table
    decomposition.fast_random_decomps.cache_clear()
