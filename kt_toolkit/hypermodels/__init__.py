"""KerasTuner `HyperModel` builders whose defaults are the PRACTICES priors.

The builders are imported lazily (they import Keras); the knob tables in
`kt_toolkit.hypermodels.knobs` and `space` import no Keras.
"""

import importlib

__all__ = ["HyperCNN", "HyperMLP", "HyperSequence", "TunableModel", "get_builder"]

_LAZY = {"HyperMLP": "mlp", "HyperCNN": "cnn", "HyperSequence": "sequence",
         "TunableModel": "base"}


def get_builder(name):
    """The builder class registered as `name` (e.g. `"mlp"` → `HyperMLP`)."""
    from kt_toolkit.hypermodels.knobs import BUILDERS

    module, cls, _ = BUILDERS[name]
    return getattr(importlib.import_module(module), cls)


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(f"kt_toolkit.hypermodels.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
