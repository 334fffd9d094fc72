"""Learning-rate schedules Keras lacks: warm-up + inverse square root, multistep (E3).

Both are `keras.optimizers.schedules.LearningRateSchedule` subclasses written with
`keras.ops` only, so they run on the TensorFlow, JAX and PyTorch backends, and both
are registered as `"kt_toolkit>ClassName"`: a model saved with one of them as its
optimizer's `learning_rate` reloads with `keras.saving.load_model` and no
`custom_objects`, as long as `kt_toolkit` has been imported (it imports
`kt_toolkit.schedules` once Keras is imported).
"""

import math
import numbers
from collections.abc import Iterable
from typing import Any

import keras
from keras import ops

__all__ = ["ContinuedSchedule", "MultiStepDecay", "WarmupInverseSqrtSchedule"]


@keras.saving.register_keras_serializable(package="kt_toolkit")
class WarmupInverseSqrtSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to a peak, then decay proportional to `1 / sqrt(step)` ("Noam").

    The schedule of "Attention Is All You Need" (E3), parametrised by its peak:

    ```
    lr(n) = peak_learning_rate * min(n / warmup_steps, sqrt(warmup_steps / n))
    ```

    where `n = step + 1` is the number of the update: the optimizer calls the
    schedule with its `iterations`, which start at 0, so the first update uses
    `peak_learning_rate / warmup_steps` (never 0 or NaN), the rate rises linearly to
    `peak_learning_rate` at update `warmup_steps` (`step = warmup_steps - 1`), and
    falls to half the peak at update `4 * warmup_steps`. Use `from_model_dimension`
    for the paper's `d_model`-based peak.

    Example:

    ```python
    schedule = WarmupInverseSqrtSchedule(peak_learning_rate=1e-3, warmup_steps=100)
    optimizer = keras.optimizers.Adam(learning_rate=schedule)
    float(keras.ops.convert_to_numpy(schedule(99)))  # 1e-3, the peak
    float(keras.ops.convert_to_numpy(schedule(399)))  # 5e-4
    ```

    Args:
        peak_learning_rate: Float > 0, the rate reached at the end of warm-up.
        warmup_steps: Integer > 0, the number of updates of linear warm-up.
            Defaults to `4000`.

    Raises:
        ValueError: If an argument is out of range.
    """

    def __init__(self, peak_learning_rate: float, warmup_steps: int = 4000) -> None:
        super().__init__()
        self.peak_learning_rate = _check_positive_number(
            "peak_learning_rate", peak_learning_rate, "Pass e.g. 1e-3.")
        self.warmup_steps = _check_positive_int(
            "warmup_steps", warmup_steps, "Pass e.g. 4000.")

    @classmethod
    def from_model_dimension(cls, d_model: int,
                             warmup_steps: int = 4000) -> "WarmupInverseSqrtSchedule":
        """The original Transformer schedule, from the model's width.

        `d_model^-0.5 * min(n^-0.5, n * warmup_steps^-1.5)` with `n = step + 1`,
        which is this schedule with
        `peak_learning_rate = d_model^-0.5 * warmup_steps^-0.5`.

        Example:

        ```python
        schedule = WarmupInverseSqrtSchedule.from_model_dimension(512)
        schedule.peak_learning_rate  # 512**-0.5 * 4000**-0.5, about 7.0e-4
        ```

        Args:
            d_model: Integer > 0, the model (embedding) dimension.
            warmup_steps: See the class's Args. Defaults to `4000`.

        Returns:
            A `WarmupInverseSqrtSchedule`; its config holds the computed peak.

        Raises:
            ValueError: If an argument is out of range.
        """
        d_model = _check_positive_int("d_model", d_model, "Pass e.g. 512.")
        warmup_steps = _check_positive_int(
            "warmup_steps", warmup_steps, "Pass e.g. 4000.")
        peak = d_model ** -0.5 * warmup_steps ** -0.5
        return cls(peak_learning_rate=peak, warmup_steps=warmup_steps)

    def __call__(self, step: Any) -> Any:
        peak = ops.convert_to_tensor(self.peak_learning_rate)
        dtype = peak.dtype
        update = ops.cast(step, dtype) + ops.cast(1, dtype)
        warmup = ops.cast(self.warmup_steps, dtype)
        return peak * ops.minimum(update / warmup, ops.sqrt(warmup / update))

    def get_config(self) -> dict[str, Any]:
        return {"peak_learning_rate": self.peak_learning_rate,
                "warmup_steps": self.warmup_steps}


@keras.saving.register_keras_serializable(package="kt_toolkit")
class MultiStepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Multiplies the learning rate by `factor` at each boundary step.

    `lr(step) = initial_learning_rate * factor ** k`, where `k` is the number of
    `boundaries` less than or equal to `step` (PyTorch's `MultiStepLR`, counted in
    optimizer steps; E3). `keras.optimizers.schedules.PiecewiseConstantDecay` can
    express the same, but wants every value spelled out.

    Example:

    ```python
    schedule = MultiStepDecay(0.1, boundaries=[100, 150], factor=0.1)
    optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)
    float(keras.ops.convert_to_numpy(schedule(99)))   # 0.1
    float(keras.ops.convert_to_numpy(schedule(100)))  # 0.01
    float(keras.ops.convert_to_numpy(schedule(150)))  # 0.001
    ```

    Args:
        initial_learning_rate: Float > 0, the rate before the first boundary.
        boundaries: Non-empty list of strictly increasing integers > 0, the steps
            at which the rate is multiplied by `factor`.
        factor: Float strictly between 0 and 1. Defaults to `0.1`.

    Raises:
        ValueError: If an argument is out of range.
    """

    def __init__(self, initial_learning_rate: float, boundaries: Iterable[int],
                 factor: float = 0.1) -> None:
        super().__init__()
        self.initial_learning_rate = _check_positive_number(
            "initial_learning_rate", initial_learning_rate, "Pass e.g. 0.1.")
        self.boundaries = _check_boundaries(boundaries)
        self.factor = _check_fraction("factor", factor, "Pass e.g. 0.1 or 0.5.")

    def __call__(self, step: Any) -> Any:
        initial = ops.convert_to_tensor(self.initial_learning_rate)
        dtype = initial.dtype
        # Compared as integers, so boundaries past 2**24 steps stay exact.
        passed = ops.greater_equal(
            ops.cast(step, "int32"), ops.convert_to_tensor(self.boundaries, "int32"))
        count = ops.sum(ops.cast(passed, dtype))
        return initial * ops.power(ops.cast(self.factor, dtype), count)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "boundaries": list(self.boundaries),
                "factor": self.factor}


@keras.saving.register_keras_serializable(package="kt_toolkit")
class ContinuedSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Another schedule, `offset` steps in: `lr(step) = schedule(step + offset)`.

    A compiled optimizer counts its steps from 0. A trial that Hyperband resumes
    for a later round is recompiled, so its schedule would start over (the
    learning-rate curve becomes a sawtooth, and a multistep or cosine schedule
    decays completely inside a 2-epoch first round). `TunableModel.fit` lays the
    schedule over the trial's whole planned budget and continues it from the
    round's first epoch with this wrapper (issue 17).

    Example:

    ```python
    inner = MultiStepDecay(0.1, boundaries=[100], factor=0.1)
    schedule = ContinuedSchedule(inner, offset=60)
    float(keras.ops.convert_to_numpy(schedule(40)))  # 0.01: step 100 of `inner`
    ```

    Args:
        schedule: A `LearningRateSchedule` (or its serialized config).
        offset: Integer >= 0, the steps already taken.
    """

    def __init__(self, schedule: Any, offset: int) -> None:
        super().__init__()
        if isinstance(schedule, dict):
            schedule = keras.saving.deserialize_keras_object(schedule)
        if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            raise ValueError("`schedule` must be a keras LearningRateSchedule. "
                             f"Received: schedule={schedule!r}.")
        if isinstance(offset, bool) or int(offset) != offset or offset < 0:
            raise ValueError(f"`offset` must be an integer >= 0. Received: offset={offset!r}.")
        self.schedule = schedule
        self.offset = int(offset)

    def __call__(self, step: Any) -> Any:
        return self.schedule(ops.add(step, self.offset))

    def get_config(self) -> dict[str, Any]:
        return {"schedule": keras.saving.serialize_keras_object(self.schedule),
                "offset": self.offset}


def _check_positive_number(name, value, hint):
    """Returns `value` as a Python float, or raises ValueError if not finite and > 0."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or value <= 0):
        raise ValueError(f"`{name}` must be a positive number. "
                         f"Received: {name}={value!r}. {hint}")
    return float(value)


def _check_positive_int(name, value, hint):
    """Returns `value` as a Python int, or raises ValueError if not an integer > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer. "
                         f"Received: {name}={value!r}. {hint}")
    return int(value)


def _check_fraction(name, value, hint):
    """Returns `value` as a Python float, or raises ValueError if not in (0, 1)."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not 0 < value < 1):
        raise ValueError(f"`{name}` must be a number strictly between 0 and 1. "
                         f"Received: {name}={value!r}. {hint}")
    return float(value)


def _check_boundaries(boundaries):
    hint = "Pass e.g. [1000, 2000]: steps at which the rate drops."
    problem = "`boundaries` must be a non-empty list of strictly increasing " \
              f"positive integers. Received: boundaries={boundaries!r}. {hint}"
    if isinstance(boundaries, (str, bytes)) or not hasattr(boundaries, "__iter__"):
        raise ValueError(problem)
    boundaries = list(boundaries)
    if not boundaries or any(isinstance(b, bool) or not isinstance(b, numbers.Integral)
                             or b <= 0 for b in boundaries):
        raise ValueError(problem)
    if any(later <= earlier for earlier, later in zip(boundaries, boundaries[1:])):
        raise ValueError(problem)
    return [int(b) for b in boundaries]
