"""Runs a registration when a module is imported, or now if it already is:
for the integrations whose modules are slow or optional to import
(torch.distributed.tensor, the ONNX exporter), so that ``import rectifiers``
does not import them."""

import importlib.abc
import importlib.util
import sys


class _Hook(importlib.abc.MetaPathFinder):
    def __init__(self, name, callback):
        self.name, self.callback = name, callback

    def find_spec(self, name, path, target=None):
        if name != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        execute, callback = spec.loader.exec_module, self.callback

        def exec_module(module):
            execute(module)
            callback()
        spec.loader.exec_module = exec_module
        return spec


def when_imported(name, callback):
    if name in sys.modules:
        callback()
    else:
        sys.meta_path.insert(0, _Hook(name, callback))
