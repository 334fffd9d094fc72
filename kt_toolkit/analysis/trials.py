"""The trials table: one row per trial, read from the run directory. No Keras.

Everything comes from files: KerasTuner's `trial.json` (status, values, score,
best step, message) and kt_toolkit's `trials/<id>/history.csv` and `meta.json`,
so the table can be rebuilt from a run directory alone (and after a crash).
"""

import glob
import json
import math
import os

from kt_toolkit._io import read_csv, write_csv

__all__ = ["PROJECT_NAME", "TRIAL_COLUMNS", "failure_reason", "tidy_value", "trial_rows",
           "write_trials_table"]

PROJECT_NAME = "tuner"  # KerasTuner's project folder inside a run directory
TRIAL_COLUMNS = ("trial_id", "status")
TAIL_COLUMNS = ("objective", "best_epoch", "epochs_run", "seconds", "reason")
_STATUS = {"COMPLETED": "COMPLETED", "FAILED": "FAILED", "INVALID": "FAILED",
           "RUNNING": "RUNNING", "IDLE": "RUNNING", "STOPPED": "STOPPED"}


def tidy_value(value):
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


def failure_reason(message):
    """The one line that says why a trial failed, from KerasTuner's traceback."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    for line in reversed(lines):
        if "FailedTrialError:" in line:
            return line.split("FailedTrialError:", 1)[1].strip()
    return lines[-1] if lines else ""


def _load_trials(project_dir):
    trials = []
    for path in sorted(glob.glob(os.path.join(project_dir, "trial_*", "trial.json"))):
        try:
            with open(path, encoding="utf-8") as handle:
                trials.append(json.load(handle))
        except (OSError, json.JSONDecodeError):
            continue  # a trial being written right now; the next refresh has it
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


def _row(trial, run_dir, hp_names):
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
    trial_dir = os.path.join(run_dir, "trials", trial_id)
    history = read_csv(os.path.join(trial_dir, "history.csv"))
    meta = {}
    if os.path.exists(os.path.join(trial_dir, "meta.json")):
        with open(os.path.join(trial_dir, "meta.json"), encoding="utf-8") as handle:
            meta = json.load(handle)
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
        "epochs_run": sum(1 for r in history if r.get("execution") == "0"),
        "seconds": meta.get("seconds", ""),
        # A worker's trial reaches the chief without its message (KerasTuner's
        # proto has no field for it): the worker's meta.json keeps the reason.
        "reason": ((failure_reason(trial.get("message")) or meta.get("reason", ""))
                   if status == "FAILED"
                   else pruned.get("reason", "pruned") if status == "PRUNED" else ""),
    })
    if status == "FAILED" and not row["reason"]:
        row["reason"] = "objective is NaN" if score is not None else "no result"
    row.update({f"metric:{k}": v for k, v in _metric_values(trial).items()})
    return row


def trial_rows(run_dir, project_dir=None):
    """One dict per trial, ordered by trial id.

    Args:
        run_dir: String, the run directory.
        project_dir: Optional string, KerasTuner's project folder. Defaults to
            `<run_dir>/tuner`.

    Returns:
        List of dicts with `trial_id`, `status` (COMPLETED, FAILED, RUNNING,
        STOPPED, or PRUNED: stopped early by a pruning callback, B2), every
        hyperparameter (empty when inactive), `objective` (a pruned trial's is
        the best it reached before it was stopped), `best_epoch`, `epochs_run`,
        `seconds`, `reason` (why it failed, or when and why it was pruned), and
        `metric:<name>` for each metric at the best epoch.
    """
    project_dir = project_dir or os.path.join(run_dir, PROJECT_NAME)
    trials = _load_trials(project_dir)
    hp_names = []
    for trial in trials:
        for entry in trial["hyperparameters"]["space"]:
            if entry["config"]["name"] not in hp_names:
                hp_names.append(entry["config"]["name"])
        hp_names.extend(n for n in trial["hyperparameters"]["values"] if n not in hp_names)
    rows = [_row(trial, run_dir, hp_names) for trial in trials]
    # KerasTuner pads ids to the width of max_trials: a resumed search with a
    # larger budget mixes widths ("9", "10"), so order by number.
    return sorted(rows, key=lambda row: int(row["trial_id"]))


def write_trials_table(run_dir, project_dir=None):
    """Writes `<run_dir>/trials.csv` atomically; returns its rows."""
    rows = trial_rows(run_dir, project_dir)
    fields = list(TRIAL_COLUMNS)
    for row in rows:
        fields.extend(k for k in row if k not in fields and k not in TAIL_COLUMNS
                      and not k.startswith("metric:"))
    fields.extend(TAIL_COLUMNS)
    for row in rows:
        fields.extend(k for k in row if k not in fields)
    write_csv(os.path.join(run_dir, "trials.csv"), rows, fields)
    return rows
