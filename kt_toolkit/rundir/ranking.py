"""Which trial is the best: one ranking for the exported model, the report and the stages.

A trial that diverged (`kt_toolkit.pruning.divergence`: NaN or inf, a training
loss that explodes, a saturated softmax, blown-up logits) can still score the
best objective: on a small validation set an exploded model may hit accuracy
1.0. And small validation sets tie often (36 wine samples: several trials at
1.0). So the completed trials are ranked:

1. trials that did not diverge before trials that did (a diverged trial is the
   best only when every completed trial diverged);
2. by the objective; objectives within `TIE_TOLERANCE` (relative) of the first
   of a group tie;
3. ties by the validation data loss at the best epoch (`metric:val_crossentropy`
   or `metric:val_mse`, penalty-free; else `metric:val_loss`), lower first: the
   more confident of two equally accurate models;
4. then by fewer epochs run, then by trial order.

`TrialJudge` reads each trial's history once and judges it with the same rule
and inputs as the analysis's `diverged` verdict (`judged_rows`: the execution
with the best objective, the fold-mean curve of a `data.cv_folds` run, a
Hyperband round with the rounds it continues). Imports no Keras.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kt_toolkit._io import as_float
from kt_toolkit.config.tasks import DATA_LOSSES
from kt_toolkit.pruning.divergence import (BOUNDED_SCORES, Divergence, chance_crossentropy,
                                           find_divergence)

__all__ = ["TIE_TOLERANCE", "TrialJudge", "chained_history", "fold_mean", "judged_rows",
           "rank_trials", "trial_divergence", "validation_loss"]

TIE_TOLERANCE = 1e-9
"""Relative difference under which two objectives tie."""

_VALIDATION_LOSSES = tuple(f"metric:val_{name}" for name in DATA_LOSSES) + ("metric:val_loss",)

History = list[dict[str, float]]


def validation_loss(row: Mapping[str, Any]) -> float:
    """A trial row's validation data loss at its best epoch, `inf` when it has none.

    The penalty-free loss (`metric:val_crossentropy`, `metric:val_mse`) when the
    run logged it, else `metric:val_loss` (which adds every L1/L2 penalty).
    """
    for name in _VALIDATION_LOSSES:
        value = as_float(row.get(name))
        if math.isfinite(value):
            return value
    return math.inf


def _ties(best: float, value: float) -> bool:
    return abs(best - value) <= TIE_TOLERANCE * max(abs(best), abs(value), 1e-300)


def _tie_order(row: Mapping[str, Any]) -> tuple[float, float]:
    epochs = as_float(row.get("epochs_run"))
    return validation_loss(row), epochs if math.isfinite(epochs) else math.inf


def rank_trials(rows: Iterable[Mapping[str, Any]], direction: str, *,
                is_diverged: Callable[[Mapping[str, Any]], bool] | None = None) -> list:
    """The COMPLETED rows with a finite objective, best first (see the module's rules).

    Example:

    ```python
    rows = [{"trial_id": "0", "status": "COMPLETED", "objective": 1.0,
             "metric:val_crossentropy": 0.4, "epochs_run": 3},
            {"trial_id": "1", "status": "COMPLETED", "objective": 1.0,
             "metric:val_crossentropy": 0.1, "epochs_run": 3}]
    [row["trial_id"] for row in rank_trials(rows, "max")]  # ["1", "0"]
    ```

    Args:
        rows: Trial rows (`trials.csv`'s or a `Study`'s): `status`, `objective`
            (a number, `""` or `None`), the `metric:` columns, `epochs_run`.
        direction: String, `"max"` or `"min"`.
        is_diverged: Optional function row → whether the trial diverged (see
            `TrialJudge.is_diverged`). Defaults to none diverged.

    Returns:
        List of the rows themselves (not copies), best first.
    """
    done = [row for row in rows if row.get("status") == "COMPLETED"
            and math.isfinite(as_float(row.get("objective")))]
    sign = -1.0 if direction == "max" else 1.0
    groups: list[list] = []
    for row in sorted(done, key=lambda r: sign * as_float(r["objective"])):
        if groups and _ties(as_float(groups[-1][0]["objective"]), as_float(row["objective"])):
            groups[-1].append(row)
        else:
            groups.append([row])
    ranked = [row for group in groups for row in sorted(group, key=_tie_order)]
    if is_diverged is None:
        return ranked
    flags = [bool(is_diverged(row)) for row in ranked]
    return ([row for row, flag in zip(ranked, flags) if not flag]
            + [row for row, flag in zip(ranked, flags) if flag])


def chained_history(trial_id: str, load: Callable[[str], History],
                    parent_of: Callable[[str], str | None]) -> History:
    """A trial's epochs with those of the Hyperband rounds it continues, first.

    A Hyperband round continues the weights of an earlier trial
    (`tuner/trial_id`) from `tuner/initial_epoch`: the epochs before its own
    first are taken from that trial (and its own parent), marked `inherited` =
    1.0, so the curve is whole.

    Args:
        trial_id: String.
        load: Function trial_id → its own history rows (dicts of floats with
            `epoch`).
        parent_of: Function trial_id → the trial it continues, or `None`.

    Returns:
        List of dicts, the inherited epochs first.
    """
    rows = load(str(trial_id))
    seen = {str(trial_id)}
    parent = parent_of(str(trial_id))
    while parent is not None and parent not in seen:
        seen.add(parent)
        first = min((row["epoch"] for row in rows), default=math.inf)
        rows = [dict(row, inherited=1.0) for row in load(parent) if row["epoch"] < first] + rows
        parent = parent_of(parent)
    return rows


def _best_execution(history: History, objective: str, direction: str) -> History:
    """The rows of the execution whose best objective is best (as the verdicts read)."""
    executions: dict[float, History] = {}
    for row in history:
        executions.setdefault(as_float(row.get("execution", 0)), []).append(row)
    if len(executions) <= 1:
        return history
    sign = 1 if direction == "max" else -1

    def best(rows: History) -> float:
        values = [sign * as_float(row.get(objective)) for row in rows]
        values = [value for value in values if math.isfinite(value)]
        return max(values) if values else -math.inf

    return max(executions.values(), key=best)


def fold_mean(history: Iterable[Mapping[str, Any]]) -> History:
    """The fold-mean curve of a `data.cv_folds` trial (each execution is a fold).

    One row per epoch that every fold reached; each value is the mean over the
    folds that logged it, NaN (or inf) when one fold's is (a fold that diverged
    shows in the mean). A history of one execution comes back as it is.

    Example:

    >>> fold_mean([{"execution": 0, "epoch": 1, "loss": 1.0},
    ...            {"execution": 0, "epoch": 2, "loss": 0.5},
    ...            {"execution": 1, "epoch": 1, "loss": 2.0}])
    [{'execution': 0, 'epoch': 1, 'loss': 1.5}]

    Args:
        history: The trial's epochs: dicts with `execution` and `epoch`, floats
            or strings (a `history.csv`'s rows).

    Returns:
        List of dicts (`execution` 0, each value a float mean), by epoch.
    """
    history = list(history)
    folds: dict[float, dict[float, Mapping[str, Any]]] = {}
    for row in history:
        folds.setdefault(as_float(row.get("execution", 0)), {})[as_float(row["epoch"])] = row
    if len(folds) <= 1:
        return [dict(row) for row in history]
    common = set.intersection(*(set(epochs) for epochs in folds.values()))
    names = [name for name in dict.fromkeys(key for epochs in folds.values()
                                           for row in epochs.values() for key in row)
             if name not in ("execution", "epoch")]
    rows = []
    for epoch in sorted(common):
        row = {"execution": 0, "epoch": folds[min(folds)][epoch]["epoch"]}
        for name in names:
            values = [as_float(epochs[epoch][name]) for epochs in folds.values()
                      if name in epochs[epoch]]
            row[name] = sum(values) / len(values)
        rows.append(row)
    return rows


def judged_rows(history: Iterable[Mapping[str, Any]], objective: str, direction: str, *,
                folds: bool = False) -> History:
    """The curve a trial is judged on: the fold mean (`folds`, a `data.cv_folds`
    run), else the execution whose best objective is best."""
    history = list(history)
    return fold_mean(history) if folds else _best_execution(history, objective, direction)


def trial_divergence(history: Iterable[Mapping[str, Any]], *, objective: str, direction: str,
                     record: Mapping[str, Any] | None = None,
                     hyperparameters: Mapping[str, Any] | None = None) -> Divergence | None:
    """Whether a trial diverged, from its history (`kt_toolkit.pruning.find_divergence`).

    Args:
        history: Its epochs: dicts of floats or strings, every execution (see
            `chained_history` for a Hyperband round).
        objective: String, e.g. `"val_accuracy"`; `direction` is `"max"`/`"min"`.
        record: Optional dict, the run's `run.json` (`task`, `num_classes`: the
            chance cross-entropy of a classification; `cv_folds`: the fold mean
            is judged, `judged_rows`).
        hyperparameters: Optional dict of the trial's values (`regularizer`).

    Returns:
        A `Divergence`, or `None`.
    """
    record = record or {}
    rows = judged_rows(history, objective, direction, folds=bool(record.get("cv_folds")))
    names = {name for row in rows for name in row}
    columns = {name: [as_float(row.get(name)) for row in rows] for name in names}
    metric = objective[4:] if objective.startswith("val_") else objective
    chance = (chance_crossentropy(record.get("num_classes"))
              if record.get("task") in ("multiclass", "binary") else None)
    return find_divergence(
        columns, data_loss=next((name for name in DATA_LOSSES if name in columns), "loss"),
        score=metric if metric.endswith(BOUNDED_SCORES) else None, chance_loss=chance,
        penalized=(hyperparameters or {}).get("regularizer") not in (None, "", "none"))


class TrialJudge:
    """Each trial of a run judged once: did it diverge? And the ranking that uses it.

    Example:

    ```python
    judge = TrialJudge(rows, objective="val_accuracy", direction="max",
                       record=run_json, load=lambda trial_id: history_rows[trial_id])
    best = judge.rank(rows)[0]
    judge.divergence(best["trial_id"])  # None, unless every completed trial diverged
    ```

    Args:
        rows: Trial rows (`trial_id`, `status`, the hyperparameters,
            `tuner/trial_id` for a continued Hyperband round).
        objective: String; `direction` is `"max"` or `"min"`.
        record: Optional dict, the run's `run.json`.
        load: Function trial_id → its own history rows, dicts of floats with
            `epoch` and `execution` (read once per trial).
    """

    def __init__(self, rows: Iterable[Mapping[str, Any]], *, objective: str, direction: str,
                 record: Mapping[str, Any] | None, load: Callable[[str], History]) -> None:
        self.objective, self.direction = objective, direction
        self.record = dict(record or {})
        self.load = load
        self.rows: dict[str, Mapping[str, Any]] = {}
        self._found: dict[str, Divergence | None] = {}
        self.update(rows)

    def update(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Takes newer rows (more trials); verdicts already given are kept.

        A COMPLETED trial's history no longer changes, so a judge kept between
        refreshes (`RunDirectory.judge`) reads each one once; judge a RUNNING
        trial with a fresh judge.
        """
        self.rows.update((str(row["trial_id"]), row) for row in rows)

    def parent_of(self, trial_id: str) -> str | None:
        """The trial a Hyperband round continued, or `None`."""
        parent = (self.rows.get(str(trial_id)) or {}).get("tuner/trial_id")
        return str(parent) if parent not in (None, "") else None

    def divergence(self, trial_id: str) -> Divergence | None:
        """The trial's `Divergence` (its whole Hyperband curve), or `None`."""
        trial_id = str(trial_id)
        if trial_id not in self._found:
            self._found[trial_id] = trial_divergence(
                chained_history(trial_id, self.load, self.parent_of),
                objective=self.objective, direction=self.direction, record=self.record,
                hyperparameters=self.rows.get(trial_id))
        return self._found[trial_id]

    def is_diverged(self, row: Mapping[str, Any]) -> bool:
        return self.divergence(row["trial_id"]) is not None

    def rank(self, rows: Iterable[Mapping[str, Any]] | None = None) -> list:
        """`rank_trials` of `rows` (default: the judge's) with this judge's verdicts."""
        rows = self.rows.values() if rows is None else rows
        return rank_trials(rows, self.direction, is_diverged=self.is_diverged)
