"""Pruning (B2): end a trial early when it falls behind or never leaves chance level.

`MedianPruning` stops a trial whose best objective so far is worse than the
median of the completed trials' objective at the same epoch (Optuna's
`MedianPruner`); `ChancePruning` stops one whose objective has not moved beyond
what a model that learned nothing scores. Both only set `model.stop_training`:
KerasTuner then ends the trial as COMPLETED with the best score it reached, so
every oracle (Bayesian, Hyperband, …) keeps its data point, and
`RecordingMixin` writes `"pruned": {"epoch": …, "reason": …}` into the trial's
`meta.json`, which `trial_rows` reads as the status PRUNED.

A pruned trial's score never beats the best completed one: it is below the
median of at least `min_trials` completed trials' values at that epoch, each of
which is at most that trial's own score. The analysis keeps PRUNED out of
`Study.completed` all the same, so it is never reported as the best.
"""

import logging
import math
import os
import statistics

import keras
import numpy as np

from kt_toolkit._io import as_float, read_csv
from kt_toolkit.errors import invalid

__all__ = ["ChancePruning", "MedianPruning", "TrialCurves", "chance_level",
           "pruning_callbacks", "pruning_record"]

logger = logging.getLogger(__name__)


class TrialCurves:
    """The per-epoch objective of a run's completed trials, each file read once.

    The tuner keeps one and hands it to its `MedianPruning` callbacks (`bind`);
    after each trial it is `update`d with the rows of `trials.csv`, reading the
    `history.csv` of trials it has not seen. Epochs are absolute: a Hyperband
    round that continues a trial from `tuner/initial_epoch` holds epochs after it.

    Args:
        run_dir: Optional string, the run directory (`trials/<id>/history.csv`).
    """

    def __init__(self, run_dir=None):
        self.run_dir = run_dir
        self.is_loaded = False
        self._histories = {}  # trial_id -> list of {"epoch", "execution", metrics}
        self._values = {}  # objective -> {epoch: {trial_id: value}}

    def add(self, trial_id, history):
        """Adds one completed trial's epochs (dicts with `epoch` and metrics)."""
        trial_id = str(trial_id)
        self._histories[trial_id] = [
            {name: as_float(value) for name, value in row.items()} for row in history]
        for objective, by_epoch in self._values.items():
            self._index(by_epoch, trial_id, objective)

    def update(self, rows):
        """Reads the history of every COMPLETED row not seen yet (PRUNED and FAILED
        trials are no reference, as in Optuna)."""
        self.is_loaded = True
        for row in rows:
            trial_id = str(row["trial_id"])
            if row.get("status") == "COMPLETED" and trial_id not in self._histories:
                path = os.path.join(self.run_dir or "", "trials", trial_id, "history.csv")
                self.add(trial_id, read_csv(path) if self.run_dir else [])

    def values_at(self, epoch, objective, *, exclude=None):
        """The completed trials' `objective` at absolute `epoch` (1-based), as a list."""
        if objective not in self._values:
            self._values[objective] = {}
            for trial_id in self._histories:
                self._index(self._values[objective], trial_id, objective)
        found = self._values[objective].get(int(epoch), {})
        return [value for trial_id, value in found.items() if trial_id != exclude]

    def bind(self, callbacks, trial_id, *, rows=None):
        """Hands this cache and the trial's id to the `MedianPruning` in `callbacks`.

        Args:
            callbacks: List of callbacks (others are left alone).
            trial_id: String, the trial about to run (never its own reference).
            rows: Optional callable returning the trial rows, called once while
                nothing was read yet (a resumed search's first trial).
        """
        pruners = [c for c in callbacks if isinstance(c, MedianPruning)]
        if pruners and not self.is_loaded and rows is not None:
            self.update(rows())
        for callback in pruners:
            callback.bind(self, trial_id)

    def _index(self, by_epoch, trial_id, objective):
        per_epoch = {}
        for row in self._histories[trial_id]:
            value = row.get(objective, math.nan)
            if math.isfinite(row.get("epoch", math.nan)) and math.isfinite(value):
                per_epoch.setdefault(int(row["epoch"]), []).append(value)
        for epoch, values in per_epoch.items():  # the mean over executions
            by_epoch.setdefault(epoch, {})[trial_id] = sum(values) / len(values)


class _Pruning(keras.callbacks.Callback):
    """Tracks the trial's best objective; `_prune` stops it and keeps the record."""

    def __init__(self, objective, direction):
        super().__init__()
        if direction not in ("max", "min"):
            raise invalid("direction", "'max' or 'min'", direction)
        self.objective = objective
        self.direction = direction
        self.pruned = None
        self._best = None

    def on_train_begin(self, logs=None):
        self.pruned, self._best = None, None

    def _track(self, logs):
        value = as_float((logs or {}).get(self.objective))
        if math.isfinite(value) and (self._best is None or self._is_better(value, self._best)):
            self._best = value
        return value

    def _is_better(self, a, b):
        return a > b if self.direction == "max" else a < b

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _prune(self, epoch, reason):
        self.pruned = {"epoch": int(epoch), "reason": reason}
        self.model.stop_training = True
        logger.info("Trial stopped: %s", reason)


class MedianPruning(_Pruning):
    """Stops a trial that is behind the median of the completed trials (B2).

    At the end of each epoch after `warmup_epochs`, the trial's best objective so
    far is compared with the completed trials' objective at the same absolute
    epoch; when at least `min_trials` of them reached it and the trial is worse
    than their median, training stops. As Optuna's `MedianPruner`, only COMPLETED
    trials are the reference (not pruned or failed ones). Inside a kt_toolkit
    tuner the reference comes from the run directory (see `TrialCurves`); on its
    own, `bind` one.

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
    """

    def __init__(self, objective, direction, *, warmup_epochs=3, min_trials=4):
        super().__init__(objective, direction)
        _count("warmup_epochs", warmup_epochs, minimum=0)
        _count("min_trials", min_trials, minimum=1)
        self.warmup_epochs = warmup_epochs
        self.min_trials = min_trials
        self.curves = None
        self.trial_id = None

    def bind(self, curves, trial_id=None):
        """Sets the reference (a `TrialCurves`) and the trial's own id (left out)."""
        self.curves, self.trial_id = curves, None if trial_id is None else str(trial_id)

    def on_epoch_end(self, epoch, logs=None):
        self._track(logs)
        number = epoch + 1  # Keras counts from 0, and from `initial_epoch` in a round
        if self.curves is None or self._best is None or number <= self.warmup_epochs:
            return
        values = self.curves.values_at(number, self.objective, exclude=self.trial_id)
        if len(values) < self.min_trials:
            return
        median = statistics.median(values)
        if self._is_better(median, self._best):
            sign = "<" if self.direction == "max" else ">"
            self._prune(number, f"pruned at epoch {number}: {self.objective} "
                        f"{_fmt(self._best)} (best so far) {sign} median {_fmt(median)} of "
                        f"{len(values)} trials at that epoch (B2)")

    def get_config(self):
        return {"objective": self.objective, "direction": self.direction,
                "warmup_epochs": self.warmup_epochs, "min_trials": self.min_trials}


class ChancePruning(_Pruning):
    """Stops a trial whose objective has not moved beyond chance level (B2, C4).

    Judged at the end of every epoch from epoch `epochs` on (absolute), on the
    trial's best objective so far:

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
    """

    def __init__(self, objective, direction, *, epochs=3, margin=0.05, chance=None):
        super().__init__(objective, direction)
        _count("epochs", epochs, minimum=1)
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin < 1:
            raise invalid("margin", "a number in [0, 1)", margin)
        if chance is not None and not math.isfinite(chance):
            raise invalid("chance", "a finite number or None", chance)
        self.epochs = epochs
        self.margin = margin
        self.chance = chance
        self._first = None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._first = None

    def on_epoch_end(self, epoch, logs=None):
        value = self._track(logs)
        if epoch == 0:
            self._first = value if math.isfinite(value) else None
        number = epoch + 1
        if self._best is None or number < self.epochs:
            return
        reason = self._stuck()
        if reason:
            self._prune(number, f"pruned at epoch {number}: {self.objective} "
                        f"{_fmt(self._best)} (best so far) {reason} (B2, C4)")

    def _stuck(self):
        """Why the best value so far is at chance level, or `None` when it is not."""
        best, first, chance, margin = self._best, self._first, self.chance, self.margin
        if self.direction == "max":
            if chance is not None:
                limit = chance + margin
                return f"<= chance level {_fmt(chance)} + {margin:g}" if best <= limit else None
            if first is None or best > first + margin * abs(first):
                return None
            return f"rose less than {margin:.0%} from epoch 1 ({_fmt(first)})"
        below = None
        if chance is not None:
            if best < chance * (1 - margin):
                return None
            below = f"not {margin:.0%} below the chance level {_fmt(chance)}"
        if first is None:  # a continued Hyperband round: only the chance level judges
            return below
        if best < first - margin * abs(first):
            return None
        tail = f", and is {below}" if below else ""
        return f"fell less than {margin:.0%} from epoch 1 ({_fmt(first)}){tail}"

    def get_config(self):
        return {"objective": self.objective, "direction": self.direction,
                "epochs": self.epochs, "margin": self.margin, "chance": self.chance}


def chance_level(objective, task, y):
    """What a model that learned nothing scores on targets `y`, or `None` if unknown.

    | objective | chance level |
    |---|---|
    | `accuracy` | the majority class's share (1/num_classes when balanced) |
    | `auc` | 0.5 |
    | `loss`, classification | cross-entropy of predicting the class shares: their entropy |
    | `loss`, regression (MSE) | the variance of `y` (predicting the mean) |
    | `mae` | mean absolute deviation from the median |

    Args:
        objective: String, e.g. `"val_accuracy"` (the `val_` prefix is ignored:
            pass the validation targets for it).
        task: String, `"multiclass"`, `"binary"` or `"regression"`.
        y: Array of targets (class indices, or numbers for a regression).

    Returns:
        Float or `None`.
    """
    metric = objective[4:] if objective.startswith("val_") else objective
    if metric == "auc":
        return 0.5
    if y is None or len(y) == 0:
        return None
    y = np.asarray(y).reshape(len(y), -1)[:, 0]
    if task in ("multiclass", "binary"):
        shares = np.unique(y, return_counts=True)[1] / len(y)
        if metric == "accuracy":
            return float(shares.max())
        if metric == "loss":
            return float(-(shares * np.log(shares)).sum())
        return None
    y = y.astype("float64")
    if metric == "loss":
        return float(y.var())
    if metric == "mae":
        return float(np.abs(y - np.median(y)).mean())
    return None


def pruning_callbacks(config, *, objective, direction, chance=None):
    """`MedianPruning` and `ChancePruning` as `training.callbacks` switches them on.

    Args:
        config: `kt_toolkit.config.CallbacksConfig`.
        objective: String, the metric both watch; `direction` is `"max"` or `"min"`.
        chance: Optional float, the objective's chance level (see `chance_level`).

    Returns:
        List of `keras.callbacks.Callback` (empty when both are off, the default).
    """
    callbacks = []
    median = config.median_pruning
    if median.enabled:
        callbacks.append(MedianPruning(objective, direction, warmup_epochs=median.warmup_epochs,
                                       min_trials=median.min_trials))
    stuck = config.chance_pruning
    if stuck.enabled:
        callbacks.append(ChancePruning(objective, direction, epochs=stuck.epochs,
                                       margin=stuck.margin, chance=chance))
    return callbacks


def pruning_record(callbacks):
    """The `{"epoch", "reason"}` of the first pruning callback that stopped, or `None`."""
    return next((c.pruned for c in callbacks if isinstance(c, _Pruning) and c.pruned), None)


def _count(key, value, *, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise invalid(key, f"an integer >= {minimum}", value)


def _fmt(value):
    return f"{value:.4g}"
