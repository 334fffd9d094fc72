"""`make_schedule`: a schedule name (a tuner's choice) to an optimizer's `learning_rate`."""

import difflib

import keras

from kt_toolkit.schedules.learning_rate import (
    MultiStepDecay,
    WarmupInverseSqrtSchedule,
    _check_fraction,
    _check_positive_int,
    _check_positive_number,
)

__all__ = ["SCHEDULES", "make_schedule"]

SCHEDULES = ("constant", "exponential", "step", "multistep", "cosine", "noam")


def make_schedule(name: str, learning_rate: float, *, steps_per_epoch: int, epochs: int,
                  decay_rate: float = 0.96, step_factor: float = 0.5,
                  step_epochs: int | None = None, cosine_epochs: int | None = None,
                  warmup_epochs: int | None = None
                  ) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """Builds the learning rate named `name`, with its lengths given in epochs.

    A search space can then offer `hp.Choice("lr_schedule", SCHEDULES)` and pass
    the choice here together with the sampled `learning_rate`. The PRACTICES priors
    (E3) are the defaults. What each name gives:

    - `"constant"`: the float `learning_rate`.
    - `"exponential"`: `keras.optimizers.schedules.ExponentialDecay`, the rate
      times `decay_rate` per epoch, decaying smoothly within the epoch.
    - `"step"`: `ExponentialDecay` with `staircase=True`, the rate times
      `step_factor` every `step_epochs` epochs.
    - `"multistep"`: `MultiStepDecay`, the rate times `step_factor` after 50% and
      again after 75% of the `epochs * steps_per_epoch` training steps (whole
      epochs when `epochs` is a multiple of 4; coinciding boundaries count once).
    - `"cosine"`: `keras.optimizers.schedules.CosineDecay` from the rate to 0 over
      `cosine_epochs` epochs (T_max), then 0.
    - `"noam"`: `WarmupInverseSqrtSchedule` with peak `learning_rate` after
      `warmup_epochs` epochs of linear warm-up.

    Example:

    ```python
    schedule = make_schedule("exponential", 1e-3, steps_per_epoch=50, epochs=10)
    optimizer = keras.optimizers.Adam(learning_rate=schedule)
    float(keras.ops.convert_to_numpy(schedule(100)))  # 1e-3 * 0.96**2
    ```

    Args:
        name: String, one of `SCHEDULES`.
        learning_rate: Float > 0, the initial (for `"noam"`: peak) learning rate.
        steps_per_epoch: Integer > 0, optimizer updates per epoch
            (`ceil(num_samples / batch_size)`).
        epochs: Integer > 0, the epochs training runs for.
        decay_rate: Float in (0, 1), the factor per epoch of `"exponential"`.
            Defaults to `0.96`.
        step_factor: Float in (0, 1), the factor of each drop of `"step"` and
            `"multistep"`. Defaults to `0.5`.
        step_epochs: Integer > 0, epochs between the drops of `"step"`.
            Defaults to `None`: `max(1, epochs // 3)`.
        cosine_epochs: Integer > 0, the length of `"cosine"`'s decay.
            Defaults to `None`: `epochs`.
        warmup_epochs: Integer > 0, the warm-up of `"noam"`.
            Defaults to `None`: `max(1, epochs // 10)`.

    Returns:
        A float (`"constant"`) or a `keras.optimizers.schedules.LearningRateSchedule`.

    Raises:
        ValueError: If `name` is not in `SCHEDULES` or an argument is out of range.
    """
    if name not in SCHEDULES:
        close = difflib.get_close_matches(str(name), SCHEDULES, n=1)
        hint = f"Did you mean {close[0]!r}?" if close else "Pick one of them."
        raise ValueError(f"`name` must be one of {SCHEDULES}. "
                         f"Received: name={name!r}. {hint}")
    learning_rate = _check_positive_number(
        "learning_rate", learning_rate, "Pass e.g. 1e-3.")
    steps_per_epoch = _check_positive_int(
        "steps_per_epoch", steps_per_epoch,
        "Pass ceil(num_samples / batch_size), e.g. 100.")
    epochs = _check_positive_int("epochs", epochs, "Pass e.g. 10.")
    # Every argument is checked, whichever `name` uses it: a bad value in a search
    # space fails on the first trial, not on the first trial that samples it.
    decay_rate = _check_fraction("decay_rate", decay_rate, "Pass e.g. 0.96.")
    step_factor = _check_fraction("step_factor", step_factor, "Pass e.g. 0.5.")
    step_epochs = _epochs_or_default("step_epochs", step_epochs, max(1, epochs // 3))
    cosine_epochs = _epochs_or_default("cosine_epochs", cosine_epochs, epochs)
    warmup_epochs = _epochs_or_default(
        "warmup_epochs", warmup_epochs, max(1, epochs // 10))

    if name == "constant":
        return learning_rate
    if name == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(
            learning_rate, decay_steps=steps_per_epoch, decay_rate=decay_rate)
    if name == "step":
        return keras.optimizers.schedules.ExponentialDecay(
            learning_rate, decay_steps=step_epochs * steps_per_epoch,
            decay_rate=step_factor, staircase=True)
    if name == "multistep":
        total = epochs * steps_per_epoch
        boundaries = sorted({max(1, total // 2), max(1, total * 3 // 4)})
        return MultiStepDecay(learning_rate, boundaries=boundaries, factor=step_factor)
    if name == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            learning_rate, decay_steps=cosine_epochs * steps_per_epoch)
    return WarmupInverseSqrtSchedule(
        learning_rate, warmup_steps=warmup_epochs * steps_per_epoch)


def _epochs_or_default(name, value, default):
    if value is None:
        return default
    return _check_positive_int(name, value, "Pass a number of epochs, or None.")
