"""Swap torch.nn activations of an existing model for rectifiers' modules."""

from torch import nn as _nn

from . import nn as _ours


def _replacement(module: _nn.Module):
    if type(module) is _nn.ReLU:
        return _ours.ReLU(inplace=module.inplace)
    if type(module) is _nn.LeakyReLU:
        return _ours.LeakyReLU(negative_slope=module.negative_slope, inplace=module.inplace)
    if type(module) is _nn.PReLU:
        new = _ours.PReLU(num_parameters=module.num_parameters, init=module.init,
                          device=module.weight.device, dtype=module.weight.dtype)
        # The same Parameter object, so optimizers holding it keep training it.
        new.weight = module.weight
        new.train(module.training)
        return new
    return None


def convert(model: _nn.Module) -> _nn.Module:
    """Replace every ``torch.nn.ReLU``, ``LeakyReLU`` and ``PReLU`` in ``model`` (in place,
    recursively) with the rectifiers module of the same settings and weights, and
    return ``model``. A bare activation module passed as ``model`` is returned replaced."""
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
