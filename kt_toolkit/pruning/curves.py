"""The reference of the median rule: completed trials' objective per absolute epoch.

`TrialCurves` is in memory only: it reads no file. Whoever owns the run
directory passes a `load_history` function that returns a trial's history rows.
"""

import math
from collections.abc import Callable, Iterable, Mapping

from kt_toolkit._io import as_float

__all__ = ["HistoryLoader", "TrialCurves"]

HistoryLoader = Callable[[str], list[dict]]
"""A function trial_id -> that trial's history rows (dicts with `epoch` and metrics)."""


class TrialCurves:
    """The per-epoch objective of a run's completed trials, each history loaded once.

    The tuner keeps one and hands it to its `MedianPruning` callbacks (`bind`);
    after each trial it is `update`d with the rows of `trials.csv`, loading the
    history of the COMPLETED trials it has not seen through `load_history`.
    Epochs are absolute: a Hyperband round that continues a trial from
    `tuner/initial_epoch` holds epochs after it. Several executions of a trial
    are averaged per epoch.

    `bind` recognises the callbacks that take the reference by duck typing: any
    callback with a `bind_curves(curves, trial_id)` method (as
    `kt_toolkit.callbacks.MedianPruning`), so this module needs no Keras.

    Example:

    ```python
    curves = TrialCurves(load_history=lambda trial_id: histories[trial_id])
    curves.update([{"trial_id": "0", "status": "COMPLETED"}])
    curves.values_at(2, "val_accuracy")  # [value of trial "0" at epoch 2]
    curves.add("1", [{"epoch": 1, "val_accuracy": 0.5}])  # or add histories directly
    ```

    Args:
        load_history: Optional callable, trial_id (string) -> that trial's
            history rows, dicts of strings or floats with `epoch`, `execution`
            and the metrics (what the run directory's
            `trials/<id>/history.csv` holds). `None` (the default) records an
            empty history for the trials `update` sees.

    Raises:
        TypeError: when `load_history` is neither callable nor `None`.
    """

    def __init__(self, load_history: HistoryLoader | None = None) -> None:
        if load_history is not None and not callable(load_history):
            raise TypeError(
                "`load_history` must be a callable trial_id -> history rows, or None. "
                f"Received: load_history={load_history!r}. TrialCurves reads no file: "
                "pass e.g. `lambda trial_id: read_rows(<run>/trials/<trial_id>/history.csv)`.")
        self.load_history = load_history
        self.is_loaded = False
        self._histories: dict[str, list[dict[str, float]]] = {}
        self._values: dict[str, dict[int, dict[str, float]]] = {}  # objective -> epoch -> id

    def add(self, trial_id: str | int, history: Iterable[Mapping[str, object]]) -> None:
        """Adds one completed trial's epochs (dicts with `epoch` and metrics).

        Args:
            trial_id: String (or integer), the trial's id.
            history: Iterable of dicts, one per epoch and execution; values are
                numbers or strings of numbers (others count as missing).
        """
        trial_id = str(trial_id)
        self._histories[trial_id] = [
            {name: as_float(value) for name, value in row.items()} for row in history]
        for objective, by_epoch in self._values.items():
            self._index(by_epoch, trial_id, objective)

    def update(self, rows: Iterable[Mapping[str, object]]) -> None:
        """Loads the history of every COMPLETED row not seen yet.

        PRUNED and FAILED trials are no reference, as in Optuna. Marks the
        curves as loaded (`is_loaded`).

        Args:
            rows: Iterable of dicts with `trial_id` and `status` (rows of `trials.csv`).
        """
        self.is_loaded = True
        for row in rows:
            trial_id = str(row["trial_id"])
            if row.get("status") == "COMPLETED" and trial_id not in self._histories:
                load = self.load_history
                self.add(trial_id, load(trial_id) if load is not None else [])

    def values_at(self, epoch: int, objective: str, *,
                  exclude: str | None = None) -> list[float]:
        """The completed trials' `objective` at absolute `epoch` (1-based).

        Args:
            epoch: Integer, the absolute epoch.
            objective: String, the metric, e.g. `"val_accuracy"`.
            exclude: Optional string, a trial id left out (the trial being judged).

        Returns:
            List of floats, one per trial that logged a finite value at `epoch`.
        """
        if objective not in self._values:
            self._values[objective] = {}
            for trial_id in self._histories:
                self._index(self._values[objective], trial_id, objective)
        found = self._values[objective].get(int(epoch), {})
        return [value for trial_id, value in found.items() if trial_id != exclude]

    def bind(self, callbacks: Iterable[object], trial_id: str | int, *,
             rows: Callable[[], Iterable[Mapping[str, object]]] | None = None) -> None:
        """Hands this reference and the trial's id to the callbacks that take it.

        Those are the callbacks with a `bind_curves(curves, trial_id)` method
        (`MedianPruning`); the others are left alone.

        Args:
            callbacks: Iterable of callbacks.
            trial_id: String, the trial about to run (never its own reference).
            rows: Optional callable returning the trial rows, called once while
                nothing was loaded yet (a resumed search's first trial), and only
                when a callback takes the reference.
        """
        takers = [c for c in callbacks if callable(getattr(c, "bind_curves", None))]
        if takers and not self.is_loaded and rows is not None:
            self.update(rows())
        for callback in takers:
            callback.bind_curves(self, trial_id)

    def _index(self, by_epoch: dict[int, dict[str, float]], trial_id: str,
               objective: str) -> None:
        per_epoch: dict[int, list[float]] = {}
        for row in self._histories[trial_id]:
            value = row.get(objective, math.nan)
            if math.isfinite(row.get("epoch", math.nan)) and math.isfinite(value):
                per_epoch.setdefault(int(row["epoch"]), []).append(value)
        for epoch, values in per_epoch.items():  # the mean over executions
            by_epoch.setdefault(epoch, {})[trial_id] = sum(values) / len(values)
