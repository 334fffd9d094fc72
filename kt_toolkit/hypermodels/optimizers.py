"""Optimizers, schedules and weight penalties named by the search space (E2–E5, E9, E11)."""

from collections.abc import Mapping
from typing import Any

import keras

from kt_toolkit.config.knobs import ADAM_FAMILY
from kt_toolkit.schedules import make_schedule
from kt_toolkit.schedules.learning_rate import ContinuedSchedule

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


def _learning_rate(values, steps_per_epoch, epochs, initial_step):
    name = values.get("lr_schedule") or "constant"
    if name == "constant" or steps_per_epoch is None:
        return values["learning_rate"]
    options = {}
    if values.get("decay_rate") is not None:
        options["decay_rate"] = values["decay_rate"]
    if values.get("decay_factor") is not None:
        options["step_factor"] = values["decay_factor"]
    if values.get("warmup_epochs") is not None:
        options["warmup_epochs"] = values["warmup_epochs"]
    schedule = make_schedule(name, values["learning_rate"], steps_per_epoch=steps_per_epoch,
                             epochs=max(1, int(epochs or 1)), **options)
    return ContinuedSchedule(schedule, initial_step) if initial_step else schedule


def make_optimizer(values: Mapping[str, Any], *, steps_per_epoch: int | None = None,
                   epochs: int | None = None,
                   initial_step: int = 0) -> keras.optimizers.Optimizer:
    """A Keras optimizer from a trial's knob values.

    Args:
        values: Dict with `optimizer` and `learning_rate`, and optionally
            `lr_schedule` (+ its knobs), `momentum`, `nesterov`, `beta_1`,
            `beta_2`, `epsilon`, `weight_decay`, `clipnorm` (0 or None = off).
            Knobs that do not apply to the optimizer are ignored.
        steps_per_epoch: Optional integer; without it, schedules are not applied
            (the learning rate stays constant until `fit` knows the epoch length).
        epochs: Optional integer, the planned epochs (for schedules).
        initial_step: Integer, the steps of those epochs already run (a resumed
            Hyperband trial): the schedule continues from there. Defaults to `0`.

    Returns:
        A `keras.optimizers.Optimizer`.
    """
    name = values["optimizer"]
    kwargs = {"learning_rate": _learning_rate(values, steps_per_epoch, epochs, initial_step)}
    if values.get("clipnorm"):
        kwargs["global_clipnorm"] = float(values["clipnorm"])
    if name == "sgd":
        kwargs["momentum"] = values.get("momentum") or 0.0
        kwargs["nesterov"] = bool(values.get("nesterov"))
    if name in ADAM_FAMILY:
        for knob in ("beta_1", "beta_2", "epsilon"):
            if values.get(knob) is not None:
                kwargs[knob] = values[knob]
    if name == "adamw" and values.get("weight_decay") is not None:
        kwargs["weight_decay"] = values["weight_decay"]
    return _OPTIMIZERS[name](**kwargs)


def make_regularizer(kind: str, *, l1: float | None = None,
                     l2: float | None = None) -> keras.regularizers.Regularizer | None:
    """`None`, `L1`, `L2` or `L1L2` for the `regularizer` knob."""
    if kind == "l1":
        return keras.regularizers.L1(l1)
    if kind == "l2":
        return keras.regularizers.L2(l2)
    if kind == "l1_l2":
        return keras.regularizers.L1L2(l1=l1, l2=l2)
    return None
