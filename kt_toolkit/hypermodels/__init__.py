"""KerasTuner `HyperModel` builders whose defaults are the PRACTICES priors.

The builders are imported lazily (they import Keras); the knob tables they use
(`kt_toolkit.config.knobs`, `kt_toolkit.config.space`) import no Keras.
"""

import importlib
from typing import TYPE_CHECKING, Any

from kt_toolkit.config.knobs import BUILDERS, is_custom_builder
from kt_toolkit.errors import ConfigError

if TYPE_CHECKING:
    from kt_toolkit.config.schema import ExperimentConfig
    from kt_toolkit.data.dataset import Dataset
    from kt_toolkit.hypermodels.base import TunableModel
    from kt_toolkit.hypermodels.cnn import HyperCNN
    from kt_toolkit.hypermodels.mlp import HyperMLP
    from kt_toolkit.hypermodels.sequence import HyperSequence

__all__ = ["HyperCNN", "HyperMLP", "HyperSequence", "TunableModel", "build_hypermodel",
           "get_builder"]

_LAZY = {"HyperMLP": "mlp", "HyperCNN": "cnn", "HyperSequence": "sequence",
         "TunableModel": "base"}
_NEEDS = {"cnn": ("image", "digits_images"), "sequence": ("tokens", "synthetic_sentiment")}


def get_builder(name: str) -> type:
    """The builder class registered as `name` (e.g. `"mlp"` → `HyperMLP`)."""
    module, cls, _ = BUILDERS[name]
    return getattr(importlib.import_module(module), cls)


def build_hypermodel(config: "ExperimentConfig", data: "Dataset") -> "TunableModel":
    """The experiment's builder for `data`, with the config's space and seed.

    Args:
        config: A validated `kt_toolkit.config.ExperimentConfig`.
        data: The `kt_toolkit.data.Dataset` it searches on.

    Returns:
        A `TunableModel` (a `keras_tuner.HyperModel`); for your own model
        (`builder: "module:Name"`, `kt_toolkit.hypermodels.custom`) a
        `keras_tuner.HyperModel`, and `config.model.space` becomes its resolved space.

    Raises:
        ConfigError: when the builder needs another kind of input than `data` has.
    """
    name = config.model.builder
    if is_custom_builder(name):  # your own model (hypermodels/custom.py)
        from kt_toolkit.hypermodels.custom import build_user_model
        return build_user_model(config, data)
    needs = _NEEDS.get(name)
    if needs and data.input_kind != needs[0]:
        raise ConfigError(
            f"`builder` {name!r} needs {needs[0]} data, and {data.name!r} gives "
            f"{data.input_kind}. Received: builder={name!r}. Use the mlp builder, or a "
            f"dataset of {needs[0]} (e.g. {needs[1]}).", key="model.builder")
    training = config.training  # the speed switches go to every builder's compile
    return get_builder(name).from_data(data, space=config.model.space,
                                       discrete=config.tuner.algorithm == "grid",
                                       seed=config.experiment.seed,
                                       mixed_precision=training.mixed_precision,
                                       jit_compile=training.jit_compile,
                                       steps_per_execution=training.steps_per_execution,
                                       objective=config.tuner.objective,
                                       module_dir=config.model.module_dir)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f"kt_toolkit.hypermodels.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
