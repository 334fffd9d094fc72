"""The default callbacks of every trial, built from `training.callbacks`."""

from typing import TYPE_CHECKING

import keras

from kt_toolkit.callbacks.guards import NanGuard
from kt_toolkit.callbacks.plateau import ReduceLROnPlateau
from kt_toolkit.callbacks.pruning import pruning_callbacks

if TYPE_CHECKING:
    from kt_toolkit.config.schema import CallbacksConfig

__all__ = ["default_callbacks"]


def default_callbacks(config: "CallbacksConfig", *, objective: str, direction: str,
                      chance: float | None = None,
                      task: str | None = None) -> list[keras.callbacks.Callback]:
    """EarlyStopping (restore best), NaN guard, ReduceLROnPlateau and pruning, as configured.

    Args:
        config: `kt_toolkit.config.CallbacksConfig`.
        objective: String, the metric every one of them watches.
        direction: String, `"max"` or `"min"`.
        chance: Optional float, the objective's chance level for `ChancePruning`
            (see `kt_toolkit.callbacks.pruning.chance_level`). Defaults to `None`.
        task: Optional string, the data's task (`chance_pruning.enabled: auto`
            prunes classification trials only).

    Returns:
        List of `keras.callbacks.Callback`.
    """
    callbacks = []
    if config.terminate_on_nan.enabled:
        callbacks.append(NanGuard())
    if config.early_stopping.enabled:
        stop = config.early_stopping
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=objective, mode=direction, patience=stop.patience,
            min_delta=stop.min_delta, restore_best_weights=stop.restore_best_weights))
    if config.reduce_lr_on_plateau.enabled:
        plateau = config.reduce_lr_on_plateau
        callbacks.append(ReduceLROnPlateau(
            monitor=objective, mode=direction, factor=plateau.factor,
            patience=plateau.patience, min_lr=plateau.min_lr))
    return callbacks + pruning_callbacks(config, objective=objective, direction=direction,
                                         chance=chance, task=task)
