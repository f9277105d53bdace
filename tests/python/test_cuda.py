"""Cases only a GPU can show: CPU/CUDA agreement, cross-device arguments,
tensors past 2**31 elements, non-default streams. Skipped without a GPU."""

import pytest
import torch

import rectifiers.functional as RF

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")

OPS = {
    "relu": lambda x, w: RF.relu(x),
    "leaky_relu": lambda x, w: RF.leaky_relu(x, 0.2),
    "prelu": lambda x, w: RF.prelu(x, w),
    "abs_rectifier": lambda x, w: RF.abs_rectifier(x),
    "maxout": lambda x, w: RF.maxout(x, 2, 1),
}


def sample(dtype, channels_last):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 6, 5, 7, generator=g).to(dtype)
    flat = x.view(-1)
    flat[::11] = 0.0
    flat[1::13] = -0.0
    flat[2::17] = float("inf")
    flat[3::19] = float("-inf")
    flat[4::23] = float("nan")
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def same(a, b, zero_sign=True):
    assert a.shape == b.shape and a.dtype == b.dtype
    assert torch.equal(torch.isnan(a), torch.isnan(b))
    keep = ~torch.isnan(a)
    assert torch.equal(a[keep], b[keep]), (a[keep] - b[keep]).abs().max()
    if zero_sign:
        assert torch.equal(torch.signbit(a[keep]), torch.signbit(b[keep]))


@pytest.mark.parametrize("channels_last", [False, True], ids=["contiguous", "channels_last"])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("op", list(OPS))
def test_cpu_and_cuda_agree(op, dtype, channels_last):
    x_cpu = sample(dtype, channels_last).requires_grad_()
    w_cpu = torch.linspace(-0.5, 0.5, 6, dtype=dtype).requires_grad_()
    x_gpu = x_cpu.detach().cuda().requires_grad_()
    w_gpu = w_cpu.detach().cuda().requires_grad_()
    y_cpu, y_gpu = OPS[op](x_cpu, w_cpu), OPS[op](x_gpu, w_gpu)
    # Each device follows its own reference, and torch.relu(-0.0) is -0.0 on
    # the CPU but +0.0 on CUDA (clamp_min vs fmax); test_ops checks each
    # against torch on its device, bit for bit.
    same(y_gpu.cpu(), y_cpu.detach(), zero_sign=op != "relu")
    assert y_gpu.is_contiguous(memory_format=torch.channels_last) == y_cpu.is_contiguous(
        memory_format=torch.channels_last)
    grad = torch.randn(y_cpu.shape, generator=torch.Generator().manual_seed(1)).to(dtype)
    y_cpu.backward(grad)
    y_gpu.backward(grad.cuda())
    same(x_gpu.grad.cpu(), x_cpu.grad)
    if op == "prelu":
        tol = 1e-2 if dtype in (torch.float16, torch.bfloat16) else 1e-5
        torch.testing.assert_close(w_gpu.grad.cpu(), w_cpu.grad, rtol=tol, atol=tol, equal_nan=True)


def test_prelu_weight_grad_is_deterministic_on_cuda():
    x = torch.randn(64, 32, 33, 33, device="cuda")
    w = torch.rand(32, device="cuda")
    g = torch.randn_like(x)
    first = torch.ops.rectifiers.prelu_backward(g, x, w)[1]
    for _ in range(3):
        assert torch.equal(torch.ops.rectifiers.prelu_backward(g, x, w)[1], first)


def test_cross_device_arguments_are_clear_errors():
    x = torch.randn(2, 3, device="cuda")
    with pytest.raises(RuntimeError, match=r"rectifiers::prelu: expected weight and input on the same device"):
        RF.prelu(x, torch.ones(3))
    with pytest.raises(RuntimeError, match=r"rectifiers::relu_backward: expected grad_output and result on the same device"):
        torch.ops.rectifiers.relu_backward(torch.ones(2, 3), x)
    with pytest.raises(RuntimeError, match=r"rectifiers::maxout_backward: expected indices and grad_output on the same device"):
        torch.ops.rectifiers.maxout_backward(torch.ones(2, 3, device="cuda"),
                                             torch.zeros(2, 3, dtype=torch.uint8), 2, 1)


def test_non_default_stream():
    x = torch.randn(1 << 20, device="cuda")
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        y = RF.relu(x)
        m = RF.maxout(x.view(-1, 4), 2, 1)
    s.synchronize()
    assert torch.equal(y, torch.relu(x))
    assert torch.equal(m, x.view(-1, 4).unflatten(1, (-1, 2)).amax(2))


def test_more_than_2_pow_31_elements_in_a_2_byte_dtype():
    n = (1 << 31) + 4096
    free, _ = torch.cuda.mem_get_info()
    if free < 6 * n * 2:
        pytest.skip("not enough GPU memory for a 2**31-element test")
    x = torch.empty(n, dtype=torch.float16, device="cuda").uniform_(-1, 1)
    y = RF.relu(x)
    tail = slice(n - 8192, n)
    assert torch.equal(y[tail], torch.relu(x[tail]))
    assert torch.equal(y[:8192], torch.relu(x[:8192]))
    del y
    xr = x.view(-1, 2)
    m, idx = torch.ops.rectifiers.maxout_with_indices(xr, 2, 1)
    ref = xr[-4096:].max(1)
    assert torch.equal(m[-4096:, 0], ref.values)
    assert torch.equal(idx[-4096:, 0].long(), ref.indices)
    g = torch.ops.rectifiers.maxout_backward(torch.ones_like(m), idx, 2, 1)
    assert g.shape == xr.shape
    assert torch.equal(g[-4096:].sum(1), torch.ones(4096, dtype=g.dtype, device="cuda"))
