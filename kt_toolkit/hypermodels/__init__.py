"""KerasTuner `HyperModel` builders whose defaults are the PRACTICES priors.

`HyperMLP` is imported lazily (it imports Keras); the knob tables in
`kt_toolkit.hypermodels.knobs` and `space` import no Keras.
"""

import importlib

__all__ = ["HyperMLP", "get_builder"]


def get_builder(name):
    """The builder class registered as `name` (e.g. `"mlp"` → `HyperMLP`)."""
    from kt_toolkit.hypermodels.knobs import BUILDERS

    module, cls, _ = BUILDERS[name]
    return getattr(importlib.import_module(module), cls)


def __getattr__(name):
    if name == "HyperMLP":
        from kt_toolkit.hypermodels.mlp import HyperMLP

        return HyperMLP
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
