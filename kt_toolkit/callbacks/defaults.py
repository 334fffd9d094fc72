"""The default callbacks of every trial, built from `training.callbacks`."""

import keras

from kt_toolkit.callbacks.guards import NanGuard
from kt_toolkit.callbacks.plateau import ReduceLROnPlateau

__all__ = ["default_callbacks"]


def default_callbacks(config, *, objective, direction):
    """EarlyStopping (restore best), NaN guard and ReduceLROnPlateau, as configured.

    Args:
        config: `kt_toolkit.config.CallbacksConfig`.
        objective: String, the metric both EarlyStopping and ReduceLROnPlateau watch.
        direction: String, `"max"` or `"min"`.

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
    return callbacks
