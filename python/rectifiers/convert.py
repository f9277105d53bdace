"""Swap torch.nn activations of an existing model for rectifiers' modules."""

from torch import nn as _nn

from . import nn as _ours


def _new_module(module: _nn.Module):
    kind = type(module)
    if kind is _nn.ReLU:
        return _ours.ReLU(inplace=module.inplace)
    if kind is _nn.LeakyReLU:
        return _ours.LeakyReLU(negative_slope=module.negative_slope, inplace=module.inplace)
    if kind is _nn.ReLU6:
        return _ours.ReLU6(inplace=module.inplace)
    if kind is _nn.RReLU:
        return _ours.RReLU(lower=module.lower, upper=module.upper, inplace=module.inplace)
    if kind is _nn.ELU:
        return _ours.ELU(alpha=module.alpha, inplace=module.inplace)
    if kind is _nn.CELU:
        return _ours.CELU(alpha=module.alpha, inplace=module.inplace)
    if kind is _nn.SELU:
        return _ours.SELU(inplace=module.inplace)
    if kind is _nn.PReLU:
        new = _ours.PReLU(num_parameters=module.num_parameters, init=module.init,
                          device=module.weight.device, dtype=module.weight.dtype)
        # The same Parameter object, so optimizers holding it keep training it.
        new.weight = module.weight
        return new
    return None


def _replacement(module: _nn.Module):
    new = _new_module(module)
    if new is not None:
        new.train(module.training)  # RReLU's slopes depend on it; eval models stay eval
    return new


def convert(model: _nn.Module) -> _nn.Module:
    """Replace every ``torch.nn.ReLU``, ``LeakyReLU``, ``PReLU``, ``ReLU6``, ``RReLU``,
    ``ELU``, ``CELU`` and ``SELU`` in ``model`` (in place, recursively) with the
    rectifiers module of the same settings, weights and training mode, and return
    ``model``. A bare activation module passed as ``model`` is returned replaced."""
    top = _replacement(model)
    if top is not None:
        return top
    for name, child in list(model.named_children()):
        new = _replacement(child)
        if new is not None:
            setattr(model, name, new)
        else:
            convert(child)
    return model
