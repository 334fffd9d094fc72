"""Pruning (B2): end a trial early when it falls behind or never leaves chance level.

`MedianPruning` stops a trial whose best objective so far is worse than the
median of the completed trials' objective at the same epoch (Optuna's
`MedianPruner`); `ChancePruning` stops one whose objective has not moved beyond
what a model that learned nothing scores. These callbacks only track the logged
values: the decisions are the plain functions of `kt_toolkit.pruning`
(`median_decision`, `chance_decision`), and the reference of the median rule is
a `kt_toolkit.pruning.TrialCurves` (re-exported here with `chance_level`).

Both only set `model.stop_training`: KerasTuner then ends the trial as
COMPLETED with the best score it reached, so every oracle (Bayesian,
Hyperband, …) keeps its data point, and `RecordingMixin` writes
`"pruned": {"epoch": …, "reason": …}` into the trial's `meta.json`, which
`trial_rows` reads as the status PRUNED.

A pruned trial's score never beats the best completed one: it is below the
median of at least `min_trials` completed trials' values at that epoch, each of
which is at most that trial's own score. The analysis keeps PRUNED out of
`Study.completed` all the same, so it is never reported as the best.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import keras

from kt_toolkit._io import as_float
from kt_toolkit.config.tasks import known_direction
from kt_toolkit.errors import invalid
from kt_toolkit.pruning import TrialCurves, chance_decision, chance_level, median_decision

if TYPE_CHECKING:
    from kt_toolkit.config import CallbacksConfig

__all__ = ["ChancePruning", "MedianPruning", "TrialCurves", "chance_level",
           "pruning_callbacks", "pruning_record"]

logger = logging.getLogger(__name__)


class _Pruning(keras.callbacks.Callback):
    """Tracks the trial's best objective; `_prune` stops it and keeps the record."""

    def __init__(self, objective: str, direction: str) -> None:
        super().__init__()
        if direction not in ("max", "min"):
            raise invalid("direction", "'max' or 'min'", direction)
        self.objective = objective
        self.direction = direction
        self.pruned: dict[str, Any] | None = None
        self._best: float | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.pruned, self._best = None, None

    def _track(self, logs: dict | None) -> float:
        value = as_float((logs or {}).get(self.objective))
        if math.isfinite(value) and (self._best is None or self._is_better(value, self._best)):
            self._best = value
        return value

    def _is_better(self, a: float, b: float) -> bool:
        return a > b if self.direction == "max" else a < b

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> _Pruning:
        return cls(**config)

    def _prune(self, epoch: int, reason: str | None) -> None:
        if reason is None:
            return
        self.pruned = {"epoch": int(epoch), "reason": reason}
        self.model.stop_training = True
        logger.info("Trial stopped: %s", reason)


class MedianPruning(_Pruning):
    """Stops a trial that is behind the median of the completed trials (B2).

    At the end of each epoch after `warmup_epochs`, the trial's best objective so
    far is compared with the completed trials' objective at the same absolute
    epoch; when at least `min_trials` of them reached it and the trial is worse
    than their median, training stops (`kt_toolkit.pruning.median_decision`).
    As Optuna's `MedianPruner`, only COMPLETED trials are the reference (not
    pruned or failed ones). Inside a kt_toolkit tuner the reference comes from
    the run directory (see `TrialCurves`, which finds this callback by its
    `bind_curves` method); on its own, `bind` one.

    Example:

    ```python
    curves = TrialCurves()
    for trial_id, final in enumerate([0.9, 0.8, 0.85]):
        curves.add(trial_id, [{"epoch": e, "val_accuracy": final * e / 4} for e in range(1, 5)])
    pruning = MedianPruning("val_accuracy", "max", warmup_epochs=1, min_trials=3)
    pruning.bind(curves)
    model.fit(x, y, validation_data=(x_val, y_val), epochs=4, callbacks=[pruning])
    pruning.pruned  # {"epoch": 2, "reason": "pruned at epoch 2: ..."} or None
    ```

    Args:
        objective: String, the logged metric, e.g. `"val_accuracy"`.
        direction: String, `"max"` or `"min"`.
        warmup_epochs: Integer, epochs never judged (the first ones are noisy).
            Defaults to `3`.
        min_trials: Integer, completed trials that must have reached the epoch
            before it is judged. Defaults to `4`.

    Raises:
        ConfigError: for a bad `direction`, `warmup_epochs` or `min_trials`.
    """

    def __init__(self, objective: str, direction: str, *, warmup_epochs: int = 3,
                 min_trials: int = 4) -> None:
        super().__init__(objective, direction)
        _count("warmup_epochs", warmup_epochs, minimum=0)
        _count("min_trials", min_trials, minimum=1)
        self.warmup_epochs = warmup_epochs
        self.min_trials = min_trials
        self.curves: TrialCurves | None = None
        self.trial_id: str | None = None

    def bind(self, curves: TrialCurves | None, trial_id: str | int | None = None) -> None:
        """Sets the reference and the trial's own id (left out of the reference).

        Args:
            curves: `TrialCurves` or `None` (no reference: never prunes).
            trial_id: Optional string, the trial being run.
        """
        self.curves, self.trial_id = curves, None if trial_id is None else str(trial_id)

    bind_curves = bind  # the duck-typed hook `TrialCurves.bind` looks for

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._track(logs)
        number = epoch + 1  # Keras counts from 0, and from `initial_epoch` in a round
        if self.curves is None:
            return
        reference = self.curves.values_at(number, self.objective, exclude=self.trial_id)
        self._prune(number, median_decision(
            self._best, reference, epoch=number, direction=self.direction,
            warmup_epochs=self.warmup_epochs, min_trials=self.min_trials,
            objective=self.objective))

    def get_config(self) -> dict[str, Any]:
        return {"objective": self.objective, "direction": self.direction,
                "warmup_epochs": self.warmup_epochs, "min_trials": self.min_trials}


class ChancePruning(_Pruning):
    """Stops a trial whose objective has not moved beyond chance level (B2, C4).

    Judged at the end of every epoch from epoch `epochs` on (absolute), on the
    trial's best objective so far (`kt_toolkit.pruning.chance_decision`):

    - a maximized objective (accuracy, AUC) is stuck while it is at most
      `chance + margin`;
    - a minimized one (a loss, an error) is stuck while it has fallen by less
      than the fraction `margin` from the trial's first epoch and, when `chance`
      is known, is not below `chance × (1 - margin)` either: a model that learns
      slowly, or one that was good after one epoch, is left alone. A Hyperband
      round that continues a trial has no first epoch of its own: only the
      chance level judges it.

    `chance_level` gives the chance level of kt_toolkit's objectives from the
    targets. Without one (`chance=None`) a maximized objective must instead have
    risen by the fraction `margin` from the first epoch.

    Example:

    ```python
    pruning = ChancePruning("val_accuracy", "max", epochs=3, margin=0.05, chance=0.1)
    model.fit(x, y, validation_data=(x_val, y_val), epochs=20, callbacks=[pruning])
    ```

    Args:
        objective: String, the logged metric, e.g. `"val_accuracy"`.
        direction: String, `"max"` or `"min"`.
        epochs: Integer, the first epoch that is judged. Defaults to `3`.
        margin: Float >= 0, how far beyond chance counts as learning: in the
            objective's units for a maximized objective, a fraction for a
            minimized one. Defaults to `0.05`.
        chance: Optional float, the objective of a model that learned nothing
            (see `chance_level`). Defaults to `None`.

    Raises:
        ConfigError: for a bad `direction`, `epochs`, `margin` or `chance`.
    """

    def __init__(self, objective: str, direction: str, *, epochs: int = 3,
                 margin: float = 0.05, chance: float | None = None) -> None:
        super().__init__(objective, direction)
        _count("epochs", epochs, minimum=1)
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin < 1:
            raise invalid("margin", "a number in [0, 1)", margin)
        if chance is not None and not math.isfinite(chance):
            raise invalid("chance", "a finite number or None", chance)
        self.epochs = epochs
        self.margin = margin
        self.chance = chance
        self._first: float | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        self._first = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        value = self._track(logs)
        if epoch == 0:
            self._first = value if math.isfinite(value) else None
        number = epoch + 1
        self._prune(number, chance_decision(
            self._best, self._first, chance=self.chance, margin=self.margin,
            direction=self.direction, epoch=number, epochs=self.epochs,
            objective=self.objective))

    def get_config(self) -> dict[str, Any]:
        return {"objective": self.objective, "direction": self.direction,
                "epochs": self.epochs, "margin": self.margin, "chance": self.chance}


def pruning_callbacks(config: CallbacksConfig, *, objective: str, direction: str,
                      chance: float | None = None,
                      task: str | None = None) -> list[keras.callbacks.Callback]:
    """`MedianPruning` and `ChancePruning` as `training.callbacks` switches them on.

    Example:

    ```python
    config = CallbacksConfig()
    config.median_pruning.enabled = True
    pruning_callbacks(config, objective="val_accuracy", direction="max")  # [MedianPruning]
    ```

    Args:
        config: `kt_toolkit.config.CallbacksConfig`.
        objective: String, the metric both watch.
        direction: String, `"max"` or `"min"`.
        chance: Optional float, the objective's chance level (see `chance_level`).
            Without one, `ChancePruning` runs for a loss or an error only (it then
            asks for a drop from epoch 1); a score whose chance level is unknown
            (F1, precision, recall, a custom metric) may start high on easy data, so
            "no rise from epoch 1" would prune good trials: the rule is skipped.
        task: Optional string, the data's task: `chance_pruning.enabled: auto` (the
            default) prunes classification trials only.

    Returns:
        List of `keras.callbacks.Callback` (empty when both are off).

    Raises:
        ConfigError: for a bad setting (see the callbacks).
    """
    callbacks: list[keras.callbacks.Callback] = []
    median = config.median_pruning
    if median.enabled:
        callbacks.append(MedianPruning(objective, direction, warmup_epochs=median.warmup_epochs,
                                       min_trials=median.min_trials))
    stuck = config.chance_pruning
    if stuck.active(task) and (chance is not None or known_direction(objective) == "min"):
        callbacks.append(ChancePruning(objective, direction, epochs=stuck.epochs,
                                       margin=stuck.margin, chance=chance))
    return callbacks


def pruning_record(callbacks: list[Any]) -> dict[str, Any] | None:
    """The `{"epoch", "reason"}` of the first pruning callback that stopped, or `None`.

    Example:

    ```python
    pruning_record([MedianPruning("val_accuracy", "max")])  # None: it never stopped
    ```

    Args:
        callbacks: List of callbacks (those that are not pruning ones are skipped).

    Returns:
        Dict with `epoch` (integer) and `reason` (string), or `None`.
    """
    return next((c.pruned for c in callbacks if isinstance(c, _Pruning) and c.pruned), None)


def _count(key: str, value: int, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise invalid(key, f"an integer >= {minimum}", value)
