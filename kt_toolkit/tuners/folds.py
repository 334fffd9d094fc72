"""k-fold scores (`data.cv_folds`): each execution of a trial trains on one fold.

`run_search` hands the tuner the training and validation parts joined, and
`CrossValidation` the folds over them (`kt_toolkit.data.split.fold_indices`:
stratified for classification, seeded, the same in every process). The tuner
runs `k` executions per trial (KerasTuner's `executions_per_trial`); execution
`i` trains a fresh model on every fold but `i` and validates on fold `i`.
KerasTuner scores the trial with the mean over the executions of each one's
best-epoch metrics, so the trial's objective is the fold mean; `history.csv`
keeps every fold's epochs (column `execution` = fold), the curves draw them
with their mean in bold, and `meta.json`'s `cv` records each fold's score, the
mean and the spread. This works the same with every algorithm but Hyperband,
which continues a trial's model from round to round (refused: see
`kt_toolkit.config.schema.ExperimentConfig`).

Resume at fold granularity: as each fold ends, `trials/<id>/folds.json` gets its
whole Keras history, its score, its seconds and the best value the trial's
checkpoint holds (the tuner writes the checkpoint first when the fold improved
it), atomically. A trial killed mid-way and run again (same id, same
hyperparameters) keeps those folds: their `history.csv` rows and TensorBoard
scalars stay, KerasTuner receives their recorded histories (so the trial's score
and best step are what an uninterrupted trial gets) and only the missing folds
train. `meta.json`'s `cv.resumed_folds` lists the folds kept.

Example:

```python
import numpy as np
from kt_toolkit.tuners.folds import CrossValidation

y = np.array([0, 1] * 10)
cv = CrossValidation(np.zeros((20, 3)), y, folds=5, stratify=True, seed=0)
args, kwargs = cv.arguments(0, {"epochs": 3})
len(args[0]), len(kwargs["validation_data"][0])   # (16, 4)
```
"""

import json
import math
import statistics

import keras
import numpy as np

from kt_toolkit.data.split import fold_indices

__all__ = ["CrossValidation"]


class CrossValidation:
    """The folds of the joined training and validation parts, and their scores.

    Args:
        x: Array, the training and validation features joined.
        y: Array, their targets.
        folds: Integer >= 2, `data.cv_folds`.
        stratify: Boolean, keep class proportions in each fold (classification).
        seed: Integer, the random state of the folds.
        run: Optional `kt_toolkit.rundir.RunDirectory`: each finished fold is kept
            in its `folds.json` for a resume. Defaults to `None` (kept in memory).
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, *, folds: int, stratify: bool,
                 seed: int, run=None) -> None:
        self.x, self.y = x, y
        self.folds = int(folds)
        self.indices = fold_indices(y, self.folds, stratify=stratify, seed=seed)
        self.run = run
        self._trials: dict = {}  # trial_id -> the folds.json record being filled
        self._resumed: dict = {}  # trial_id -> the folds kept from an earlier attempt

    def arguments(self, fold: int, kwargs: dict) -> tuple[tuple, dict]:
        """`(args, kwargs)` of `fit` for `fold`: its training part and validation part."""
        train, validation = self.indices[fold % self.folds]
        kwargs = {**kwargs, "validation_data": (self.x[validation], self.y[validation])}
        return (self.x[train], self.y[train]), kwargs

    def validation_part(self, fold: int) -> tuple[np.ndarray, np.ndarray]:
        """`(x, y)` that `fold`'s model was validated on (it trained on the rest)."""
        _, validation = self.indices[fold % self.folds]
        return self.x[validation], self.y[validation]

    def checkpoint_fold(self, trial_id: str) -> int | None:
        """The fold whose model the trial's checkpoint holds: the first whose running
        `checkpoint_best` (`folds.json`) is the final one; `None` when unknown."""
        found = self.run.read_folds(trial_id) if self.run is not None else {}
        done = found.get("done") or {}
        if found.get("folds") != self.folds or not done:
            return None
        final = done[max(done, key=int)].get("checkpoint_best")
        return next((int(k) for k in sorted(done, key=int)
                     if final is not None and done[k].get("checkpoint_best") == final), None)

    def start(self, trial) -> dict:
        """Begins (or resumes) `trial`: `{fold: record}` of the folds already finished.

        Finished folds are kept when `folds.json` was written for the same number
        of folds and the same hyperparameters; otherwise the trial starts afresh.
        """
        values = json.loads(json.dumps(trial.hyperparameters.values))
        found = self.run.read_folds(trial.trial_id) if self.run is not None else {}
        done = {}
        if found.get("folds") == self.folds and found.get("hyperparameters") == values:
            done = {int(fold): record for fold, record in (found.get("done") or {}).items()
                    if int(fold) < self.folds}
        self._trials[trial.trial_id] = {"folds": self.folds, "hyperparameters": values,
                                        "done": {str(fold): r for fold, r in done.items()}}
        self._resumed[trial.trial_id] = sorted(done)
        return done

    def finished(self, trial_id: str, fold: int) -> dict | None:
        """The record of `fold` if an earlier attempt of the trial finished it, else `None`."""
        if fold not in self._resumed.get(trial_id, ()):
            return None
        return self._trials[trial_id]["done"][str(fold)]

    @staticmethod
    def results(record: dict):
        """What a finished fold's `fit` returned, rebuilt from its record."""
        if "history" not in record:
            return record["result"]
        history = keras.callbacks.History()
        history.history = {name: list(values) for name, values in record["history"].items()}
        return history

    def record(self, trial_id: str, fold: int, results, objective, **extra) -> None:
        """Keeps `fold`'s history and best objective, and writes `folds.json`.

        Args:
            trial_id: String.
            fold: Integer, the fold (the execution).
            results: What the fit returned (a Keras `History`, a dict or a number).
            objective: KerasTuner's `Objective`.
            **extra: JSON values kept with the fold (`seconds`, `checkpoint_best`,
                `pruned`, `oom_retry`).
        """
        entry = {"score": _best(results, objective), **extra}
        if isinstance(results, keras.callbacks.History):
            entry["history"] = {name: [_plain(v) for v in values]
                                for name, values in results.history.items()}
        else:
            entry["result"] = (_plain(results) if not isinstance(results, dict)
                               else {name: _plain(v) for name, v in results.items()})
        state = self._trials.setdefault(trial_id, {"folds": self.folds, "done": {}})
        state["done"][str(fold)] = entry
        if self.run is not None:
            self.run.write_folds(trial_id, state)

    def kept_seconds(self, trial_id: str) -> float:
        """The seconds the folds kept from an earlier attempt took then."""
        state = self._trials.get(trial_id) or {"done": {}}
        return sum(state["done"][str(fold)].get("seconds") or 0.0
                   for fold in self._resumed.get(trial_id, ()))

    def summary(self, trial_id: str) -> dict | None:
        """`{"folds", "scores", "mean", "std", "resumed_folds"}` of a trial (for `meta.json`),
        or `None`."""
        state = self._trials.pop(trial_id, None)
        resumed = self._resumed.pop(trial_id, [])
        done = (state or {}).get("done") or {}
        if not done:
            return None
        scores = [done[key]["score"] for key in sorted(done, key=int)]
        finite = [s for s in scores if math.isfinite(s)]
        return {"folds": self.folds, "scores": [round(s, 6) for s in scores],
                "mean": round(statistics.fmean(finite), 6) if finite else None,
                "std": round(statistics.pstdev(finite), 6) if len(finite) > 1 else None,
                "resumed_folds": resumed}


def _best(results, objective) -> float:
    """The fold's best value of the objective (a `History`'s best epoch, else the value)."""
    if isinstance(results, keras.callbacks.History):
        values = (results.history or {}).get(objective.name, [])
    elif isinstance(results, dict):
        values = [results.get(objective.name)]
    else:
        values = [results]
    values = [float(v) for v in values if isinstance(v, (int, float, np.floating))
              and math.isfinite(v)]
    return float((max if objective.direction == "max" else min)(values)) if values else math.nan


def _plain(value):
    """A log value as JSON keeps it (a Python float; `None` and text as they are)."""
    if isinstance(value, (bool, str)) or value is None:
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
