"""rectifiers.diagnostics: per-unit statistics of a model's activation modules,
checked against values worked out by hand or computed directly with torch."""

import json
import math

import pytest
import torch

from rectifiers import diagnostics
from rectifiers import nn as rn


def test_known_input_counts_zeros_extremes_and_dead_units():
    model = torch.nn.Sequential(rn.ReLU())
    x = torch.tensor([[-1.0, 0.0, 2.0, 3.0],
                      [1.0, -2.0, 0.0, 0.0]])
    with diagnostics.track(model) as stats:
        model(x)
    assert stats.dead_units()["0"].tolist() == [1]
    assert stats.active_examples()["0"].tolist() == [1, 0, 1, 1]
    assert stats.sparsity()["0"] == 5 / 8
    assert stats.extremes()["0"].tolist() == [[-1.0, -2.0, 0.0, 0.0], [1.0, 0.0, 2.0, 3.0]]
    assert stats.units() == {"0": 4}


@pytest.mark.parametrize("activation", [torch.nn.ReLU, rn.ReLU, lambda: rn.ReLU(inplace=True),
                                        lambda: torch.nn.LeakyReLU(0.1), rn.ReLU6])
def test_units_with_a_large_negative_bias_are_found_dead(activation):
    torch.manual_seed(0)
    linear = torch.nn.Linear(5, 8)
    with torch.no_grad():
        linear.weight.abs_()  # positive inputs: every other unit is positive
        linear.bias.fill_(0.1)
        linear.bias[[1, 6]] = -100.0
    model = torch.nn.Sequential(linear, activation(), torch.nn.Linear(8, 2))
    with diagnostics.track(model) as stats:
        for _ in range(3):
            model(torch.rand(16, 5))
    assert list(stats.dead_units()) == ["1"]
    assert stats.dead_units()["1"].tolist() == [1, 6]
    assert stats.layers["1"].examples == 48
    high = stats.extremes()["1"][1]
    assert high[1] < -90 and high[6] < -90  # the pre-activation, even in place


def test_conv_layout_units_are_channels_and_channels_last_agrees():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, 3, padding=1)
    with torch.no_grad():
        conv.weight.abs_()
        conv.bias.fill_(0.1)
        conv.bias[2] = -100.0
    model = torch.nn.Sequential(conv, rn.LeakyReLU(0.2))
    x = torch.rand(6, 3, 5, 5)
    for memory_format in (torch.contiguous_format, torch.channels_last):
        x_in = x.to(memory_format=memory_format)
        with diagnostics.track(model) as stats:
            model(x_in)
        assert stats.dead_units()["1"].tolist() == [2]
        z = conv(x_in)
        y = model(x_in)
        per_channel = (y > 0).flatten(2).any(2).sum(0)  # examples positive somewhere
        assert torch.equal(stats.active_examples()["1"], per_channel)
        assert stats.sparsity()["1"] == (y == 0).sum().item() / y.numel()
        assert torch.equal(stats.extremes()["1"], torch.stack([z.amin((0, 2, 3)), z.amax((0, 2, 3))]))


def test_maxout_units_follow_its_dim():
    model = torch.nn.Sequential(rn.Maxout(2, dim=-1))
    x = torch.tensor([[[-1.0, -2.0, 3.0, 0.0]], [[-4.0, -1.0, 0.5, 9.0]]])  # (2, 1, 4) -> (2, 1, 2)
    with diagnostics.track(model) as stats:
        model(x)
    assert stats.units() == {"0": 2}
    assert stats.dead_units()["0"].tolist() == [0]
    # unit 0's pieces: -1, -2, -4, -1; unit 1's: 3, 0, 0.5, 9
    assert stats.extremes()["0"].tolist() == [[-4.0, 0.0], [-1.0, 9.0]]
    lin = torch.nn.Sequential(rn.MaxoutLinear(3, 5, 2))
    with diagnostics.track(lin) as stats:
        lin(torch.randn(7, 4, 3))
    assert stats.units() == {"0": 5} and stats.layers["0"].examples == 7
    assert stats.extremes()["0"].numel() == 0


def test_gradient_norms_match_the_gradient_at_the_output():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), rn.ELU(), torch.nn.Linear(6, 1))
    x = torch.randn(8, 4)
    with diagnostics.track(model, gradients=True) as stats:
        for scale in (1.0, 3.0):
            (model(x).sum() * scale).backward()
    h = model[1](model[0](x)).detach().requires_grad_()
    (grad,) = torch.autograd.grad(model[2](h).sum(), h)
    norms = stats.gradient_norms()["1"]
    torch.testing.assert_close(norms, torch.stack([grad.norm(), 3 * grad.norm()]))


def test_no_grad_hooks_removed_reset_and_plain_object():
    model = torch.nn.Sequential(torch.nn.ReLU())
    stats = diagnostics.track(model)
    with torch.no_grad():
        model(torch.tensor([[-1.0, 1.0]]))
    assert stats.dead_units()["0"].tolist() == [0]
    stats.reset()
    assert stats.layers["0"].examples == 0 and stats.dead_units()["0"].numel() == 0
    assert math.isnan(stats.sparsity()["0"])
    stats.remove()
    assert not model[0]._forward_hooks and not model[0]._forward_pre_hooks
    model(torch.tensor([[-1.0, 1.0]]))
    assert stats.layers["0"].examples == 0


def test_report_and_to_dict():
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), rn.PReLU(3), torch.nn.SELU())
    with diagnostics.track(model, gradients=True) as stats:
        model(torch.randn(4, 2)).sum().backward()
    text = stats.report().splitlines()
    assert [c.strip() for c in text[0].split(" | ")][:4] == ["module", "kind", "examples", "units"]
    assert text[2].startswith("1") and "PReLU" in text[2] and text[3].startswith("2")
    data = json.loads(json.dumps(stats.to_dict()))
    assert data["1"]["kind"] == "PReLU" and data["1"]["examples"] == 4 and data["1"]["units"] == 3
    assert len(data["2"]["gradient_norms"]) == 1


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"rectifiers.diagnostics.track: Sequential has no "
                                         r"rectifier-family activation module"):
        diagnostics.track(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh()))
    with pytest.raises(TypeError, match=r"expected a torch.nn.Module, but got Tensor"):
        diagnostics.track(torch.randn(2))
    with pytest.raises(TypeError, match=r"unit_dim must be an int, but got float"):
        diagnostics.track(torch.nn.ReLU(), unit_dim=1.0)


def test_unbatched_and_sequence_layouts():
    model = torch.nn.Sequential(rn.ReLU())
    with diagnostics.track(model) as stats:
        model(torch.tensor([-1.0, 2.0, 0.0]))
    assert stats.layers["0"].examples == 1 and stats.dead_units()["0"].tolist() == [0, 2]
    assert stats.extremes()["0"].tolist() == [[-1.0, 2.0, 0.0], [-1.0, 2.0, 0.0]]
    x = torch.tensor([[[-1.0, 2.0], [-3.0, -1.0], [-2.0, 0.5]]])  # (N=1, T=3, F=2)
    with diagnostics.track(model, unit_dim=-1) as stats:
        model(x)
    assert stats.units() == {"0": 2} and stats.dead_units()["0"].tolist() == [0]
    assert stats.extremes()["0"].tolist() == [[-3.0, -1.0], [-1.0, 2.0]]
    assert stats.sparsity()["0"] == 4 / 6
