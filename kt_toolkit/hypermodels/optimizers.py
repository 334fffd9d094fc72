"""Optimizers and weight penalties named by the search space (E2, E4, E11)."""

import keras

__all__ = ["make_optimizer", "make_regularizer"]

_OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "adamax": keras.optimizers.Adamax,
    "nadam": keras.optimizers.Nadam,
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
    "adagrad": keras.optimizers.Adagrad,
    "adadelta": keras.optimizers.Adadelta,
}


def make_optimizer(name, learning_rate, *, momentum=None):
    """A Keras optimizer by name.

    Args:
        name: String, a key of the optimizer table (`"adam"`, `"sgd"`…).
        learning_rate: Float, or a `LearningRateSchedule`.
        momentum: Optional float, used by `sgd` only. Defaults to `0.0`.

    Returns:
        A `keras.optimizers.Optimizer`.
    """
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum or 0.0)
    return _OPTIMIZERS[name](learning_rate=learning_rate)


def make_regularizer(kind, *, l1=None, l2=None):
    """`None`, `L1`, `L2` or `L1L2` for the `regularizer` knob."""
    if kind == "l1":
        return keras.regularizers.L1(l1)
    if kind == "l2":
        return keras.regularizers.L2(l2)
    if kind == "l1_l2":
        return keras.regularizers.L1L2(l1=l1, l2=l2)
    return None
