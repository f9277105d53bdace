"""The fused CPU PReLU backward: every layout it handles in one pass (and
the strided fallback) against PyTorch, and the same bits for any number of
threads."""

import pytest
import torch

CASES = {
    "nchw": lambda: torch.randn(3, 5, 7, 9),
    "channels_last": lambda: torch.randn(3, 5, 7, 9).contiguous(memory_format=torch.channels_last),
    "n_c": lambda: torch.randn(37, 70),
    "n_c_1_1": lambda: torch.randn(6, 33, 1, 1),
    "shared_ragged": lambda: torch.randn(16384 * 2 + 5),
    "strided_fallback": lambda: torch.randn(4, 6, 10)[:, :, ::2],
}


def reference(grad, x, weight):
    x = x.detach().requires_grad_()
    w = weight.detach().requires_grad_()
    torch.nn.functional.prelu(x, w).backward(grad)
    return x.grad, w.grad


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("shared", [False, True], ids=["per_channel", "shared"])
@pytest.mark.parametrize("case", list(CASES))
def test_fused_backward_matches_torch_and_ignores_thread_count(case, shared, dtype):
    torch.manual_seed(0)
    x = CASES[case]().to(dtype)
    x = x.masked_fill(torch.arange(x.numel()).view(x.shape) % 7 == 0, 0.0) if x.is_contiguous() else x
    channels = 1 if shared or x.dim() < 2 else x.size(1)
    weight = torch.linspace(-0.5, 0.75, channels, dtype=dtype)
    grad = torch.randn(x.shape, dtype=dtype)
    expected_input, expected_weight = reference(grad, x, weight)

    previous = torch.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            results.append(torch.ops.rectifiers.prelu_backward(grad, x, weight))
    finally:
        torch.set_num_threads(previous)
    (gi1, gw1), (gi2, gw2) = results
    assert torch.equal(gi1, expected_input)  # elementwise: bitwise
    assert torch.equal(gw1, gw2)  # deterministic across thread counts
    tol = 2e-2 if dtype == torch.bfloat16 else 1e-5
    torch.testing.assert_close(gw1, expected_weight, rtol=tol, atol=tol * x.numel() ** 0.5)
    assert gi1.is_contiguous(memory_format=torch.channels_last) == x.is_contiguous(
        memory_format=torch.channels_last)
