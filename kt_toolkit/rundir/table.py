"""The trials table: one row per trial, read from the run directory. No Keras.

Everything comes from files: KerasTuner's `trial.json` (status, values, score,
best step, message) and kt_toolkit's `trials/<id>/history.csv` and `meta.json`,
so the table can be rebuilt from a run directory alone (and after a crash).

`TrialTable` keeps what it parsed, keyed by each file's inode, size and
modification time, so a refresh after a trial ends reads only the files that
trial (or another worker) changed, and a search of N trials reads each
`trial.json` O(1) times, not O(N). Every file it reads is replaced whole by its
writer (kt_toolkit's own records through `_io.atomic_write_text`; KerasTuner's
`trial.json` through `compat.hooks.OracleHooks`) or, for `history.csv`, grows by
whole lines (`_io.append_csv_row`); each change moves the size or the
modification time: the key changes with the content.
"""

import json
import math
import os
from typing import Any, Callable, Optional

from kt_toolkit._io import as_float, read_csv, write_csv
from kt_toolkit.rundir.layout import (HISTORY_FILE, META_FILE, TRIALS_TABLE, project_dir,
                                      trial_dir, trial_json_path)

__all__ = ["TRIAL_COLUMNS", "TrialTable", "failure_reason", "tidy_value", "trial_rows",
           "write_trials_table"]

TRIAL_COLUMNS = ("trial_id", "status")
TAIL_COLUMNS = ("objective", "best_epoch", "epochs_run", "seconds", "reason")
_STATUS = {"COMPLETED": "COMPLETED", "FAILED": "FAILED", "INVALID": "FAILED",
           "RUNNING": "RUNNING", "IDLE": "RUNNING", "STOPPED": "STOPPED"}


def tidy_value(value: Any) -> Any:
    """Hides float artefacts (0.30000000000000004 → 0.3)."""
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.6g}")
    return value


def _is_active(entry, values):
    for condition in entry.get("config", {}).get("conditions", []):
        config = condition.get("config", {})
        if values.get(config.get("name")) not in config.get("values", []):
            return False
    return True


def failure_reason(message: str | None) -> str:
    """The one line that says why a trial failed, from KerasTuner's traceback."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    for line in reversed(lines):
        if "FailedTrialError:" in line:
            return line.split("FailedTrialError:", 1)[1].strip()
    return lines[-1] if lines else ""


class _FileCache:
    """Parsed files, re-read only when a file's inode, size or mtime changed."""

    def __init__(self) -> None:
        self._entries = {}

    def get(self, path: str, parse: Callable[[str], object], default=None):
        """`parse(path)`, or the value parsed before when the file did not change.

        `default` when the file is missing; a `ValueError` of `parse` (a file
        being written by a process that does not rename) gives `default` too,
        and nothing is kept, so the next call reads it again.
        """
        try:
            stat = os.stat(path)
        except OSError:
            self._entries.pop(path, None)
            return default
        key = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        entry = self._entries.get(path)
        if entry is not None and entry[0] == key:
            return entry[1]
        try:
            value = parse(path)
        except (OSError, ValueError):
            return default
        self._entries[path] = (key, value)
        return value


def _parse_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)  # a ValueError (half-written file) is not kept


def _load_trials(project, cache):
    try:
        names = sorted(name for name in os.listdir(project) if name.startswith("trial_"))
    except OSError:
        return []
    trials = []
    for name in names:
        trial = cache.get(trial_json_path(project, name[len("trial_"):]), _parse_json)
        if trial is not None:  # None: a trial being written right now; the next refresh has it
            trials.append(trial)
    return trials


def _metric_values(trial):
    values = {}
    metrics = trial.get("metrics", {}).get("metrics", {})
    for name, record in metrics.items():
        observations = record.get("observations") or []
        value = (observations[-1].get("value") or [None])[0] if observations else None
        if value is not None:
            values[name] = tidy_value(float(value))
    return values


def _row(trial, run_dir, hp_names, cache):
    trial_id = trial["trial_id"]
    values = trial["hyperparameters"]["values"]
    space = {e["config"]["name"]: e for e in trial["hyperparameters"]["space"]}
    score = trial.get("score")
    status = _STATUS.get(trial.get("status"), trial.get("status"))
    if status == "COMPLETED" and (score is None or not math.isfinite(score)):
        status = "FAILED"
    row = {"trial_id": trial_id, "status": status}
    for name in hp_names:
        active = name in values and (name not in space or _is_active(space[name], values))
        row[name] = tidy_value(values[name]) if active else ""
    folder = trial_dir(run_dir, trial_id)
    history = cache.get(os.path.join(folder, HISTORY_FILE), read_csv, default=[])
    meta = cache.get(os.path.join(folder, META_FILE), _parse_json, default={})
    pruned = meta.get("pruned") if status == "COMPLETED" else None
    if isinstance(pruned, dict):
        # KerasTuner saw a COMPLETED trial (its score is the best it reached);
        # a pruning callback had stopped it (B2).
        status = row["status"] = "PRUNED"
    best_step = trial.get("best_step")
    if best_step is not None:
        # Hyperband continues a trial from `tuner/initial_epoch`; KerasTuner counts
        # the best step within the epochs this round ran.
        best_step += int(values.get("tuner/initial_epoch") or 0)
    row.update({
        "objective": tidy_value(score) if status in ("COMPLETED", "PRUNED") else "",
        "best_epoch": (best_step + 1 if status in ("COMPLETED", "PRUNED")
                       and best_step is not None else ""),
        # A plain KerasTuner project has no history: its view's meta.json may know.
        "epochs_run": (sum(1 for r in history if r.get("execution") == "0")
                       or meta.get("epochs_run", 0)),
        "seconds": meta.get("seconds", ""),
        # A worker's trial reaches the chief without its message (KerasTuner's
        # proto has no field for it): the worker's meta.json keeps the reason.
        "reason": ((failure_reason(trial.get("message")) or meta.get("reason", ""))
                   if status == "FAILED"
                   else pruned.get("reason", "pruned") if status == "PRUNED" else ""),
    })
    if status == "FAILED" and not row["reason"]:
        row["reason"] = "objective is NaN" if score is not None else "no result"
    metrics = _metric_values(trial)
    folds = meta.get("cv") if status == "COMPLETED" else None
    if isinstance(folds, dict) and folds.get("std") is not None:
        metrics["cv_std"] = folds["std"]  # data.cv_folds: the spread of the fold scores
    if "learning_rate" not in metrics:
        rate = _history_value(history, "learning_rate", row["best_epoch"])
        if rate is not None:
            metrics["learning_rate"] = rate
    row.update({f"metric:{k}": v for k, v in metrics.items()})
    return row


def _history_value(history, name, epoch):
    """`name` at `epoch` (1-based, else the last epoch) of the first execution's history.

    Keras logs `learning_rate` only for a constant rate (3.15: not for a
    `LearningRateSchedule`), and KerasTuner records only what Keras logs;
    kt_toolkit's `history.csv` has every epoch's rate.
    """
    rows = [r for r in history if r.get("execution") == "0"]
    at = [r for r in rows if epoch != "" and r.get("epoch") == str(epoch)]
    for record in at or rows[-1:]:
        value = as_float(record.get(name))
        if math.isfinite(value):
            return tidy_value(value)
    return None


def trial_rows(run_dir: str, project: Optional[str] = None) -> list:
    """One dict per trial, ordered by trial id (read afresh; see `TrialTable` to cache).

    Args:
        run_dir: String, the run directory.
        project: Optional string, KerasTuner's project folder. Defaults to
            `<run_dir>/tuner`.

    Returns:
        List of dicts with `trial_id`, `status` (COMPLETED, FAILED, RUNNING,
        STOPPED, or PRUNED: stopped early by a pruning callback, B2), every
        hyperparameter (empty when inactive), `objective` (a pruned trial's is
        the best it reached before it was stopped), `best_epoch`, `epochs_run`,
        `seconds`, `reason` (why it failed, or when and why it was pruned), and
        `metric:<name>` for each metric at the best epoch.
    """
    return TrialTable(run_dir, project).rows()


def write_trials_table(run_dir: str, project: Optional[str] = None) -> list:
    """Writes `<run_dir>/trials.csv` atomically; returns its rows."""
    return TrialTable(run_dir, project).write()


class TrialTable:
    """The trials table of one run directory, kept between refreshes.

    Example:

    >>> table = TrialTable("runs/digits_mlp-4c806d68")
    >>> rows = table.write()      # after a trial ends: reads what changed, writes trials.csv

    Args:
        run_dir: String, the run directory.
        project: Optional string, KerasTuner's project folder. Defaults to
            `<run_dir>/tuner`.
    """

    def __init__(self, run_dir: str, project: Optional[str] = None) -> None:
        self.run_dir = os.fspath(run_dir)
        self.project = project or project_dir(self.run_dir)
        self.cache = _FileCache()

    def rows(self) -> list:
        """The rows as `trial_rows` documents them, reading only changed files."""
        trials = _load_trials(self.project, self.cache)
        hp_names = []
        for trial in trials:
            for entry in trial["hyperparameters"]["space"]:
                if entry["config"]["name"] not in hp_names:
                    hp_names.append(entry["config"]["name"])
            hp_names.extend(n for n in trial["hyperparameters"]["values"] if n not in hp_names)
        rows = [_row(trial, self.run_dir, hp_names, self.cache) for trial in trials]
        # KerasTuner pads ids to the width of max_trials: a resumed search with a
        # larger budget mixes widths ("9", "10"), so order by number.
        return sorted(rows, key=lambda row: int(row["trial_id"]))

    def meta(self, trial_id: str) -> dict:
        """A trial's `meta.json` (`{}` when it has none), read again only when it changed."""
        return self.cache.get(os.path.join(trial_dir(self.run_dir, trial_id), META_FILE),
                              _parse_json, default={})

    def write(self) -> list:
        """Refreshes the rows and writes `<run_dir>/trials.csv` atomically; returns them."""
        rows = self.rows()
        fields = list(TRIAL_COLUMNS)
        for row in rows:
            fields.extend(k for k in row if k not in fields and k not in TAIL_COLUMNS
                          and not k.startswith("metric:"))
        fields.extend(TAIL_COLUMNS)
        for row in rows:
            fields.extend(k for k in row if k not in fields)
        write_csv(os.path.join(self.run_dir, TRIALS_TABLE), rows, fields)
        return rows
