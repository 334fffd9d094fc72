"""`trials_text`: a run's trials as a plain-text table for the terminal (`kt-toolkit show`).

What KerasTuner's `results_summary()` prints, made readable: one row per trial, only
the knobs whose value differs between the rows shown, the objective, the status and,
for a trial that did not complete, why. A run whose best model was scored on a
held-out test part (`final/evaluation.yaml`) gets a `test` column on that trial's
row, and the refit's test score below the table.
"""

import math
from collections.abc import Sequence
from typing import Any

from kt_toolkit.analysis.final import final_record, test_lines, test_score
from kt_toolkit.errors import invalid, suggest
from kt_toolkit.rundir.study import Study

__all__ = ["SORT_KEYS", "trials_text"]

# Columns `--sort` takes besides the run's tuned knobs.
SORT_KEYS = ("rank", "trial", "objective", "seconds", "epochs")
_STATUS_ORDER = {"COMPLETED": 0, "PRUNED": 1, "FAILED": 2, "INVALID": 3, "RUNNING": 4}


def trials_text(study: Study, *, top: int | None = 10, sort: str = "rank",
                every_status: bool = False) -> str:
    """The run's trials as an aligned text table, best first by default.

    Example:

    ```python
    from kt_toolkit.rundir import load_study
    print(trials_text(load_study("runs/digits_mlp-6379dab0"), top=5))
    ```

    Args:
        study: A `kt_toolkit.rundir.Study`.
        top: Integer or `None`, how many rows (`None`: all). Defaults to `10`.
        sort: String: `"rank"` (the order the best model is chosen by; completed
            trials first), `"trial"` (trial id), `"objective"`, `"seconds"`,
            `"epochs"` or a tuned knob's name. Defaults to `"rank"`.
        every_status: Boolean, also list pruned, failed and running trials
            (after the completed ones when sorting by rank). Defaults to `False`.

    Returns:
        The table, a header line above it and a line saying what was left out.

    Raises:
        ConfigError: `top` below 1, or a `sort` key that is not a column.
    """
    knobs = study.tuned_knobs
    _check_arguments(top, sort, knobs)
    ranked = study.best(len(study.rows))  # completed trials, as best/ is chosen
    rows = _ordered(study, ranked, sort, every_status)
    shown = rows if top is None else rows[:top]
    differing = [knob for knob in knobs if len({_cell(row.get(knob)) for row in shown}) > 1]
    final = final_record(study.run_dir)
    text = [f"{study.run_dir}: {len(study.rows)} trials ({_counts(study.rows)}); objective "
            f"{study.objective} ({study.direction})", ""]
    text += _table(study, ranked, shown, differing, final)
    text += _below_table(study, shown, final)
    notes = _notes(study, rows, shown, knobs, differing, every_status)
    if notes:
        text += [""] + notes
    return "\n".join(text).rstrip() + "\n"


def _check_arguments(top: int | None, sort: str, knobs: list[str]) -> None:
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise invalid("--top", "an integer >= 1", top)
    if sort not in SORT_KEYS and sort not in knobs:
        allowed = list(SORT_KEYS) + knobs
        raise invalid("--sort", "one of " + ", ".join(allowed), sort,
                      suggest(sort, allowed).strip())


def _table(study: Study, ranked: list[dict[str, Any]], shown: list[dict[str, Any]],
           differing: list[str], final: dict[str, Any]) -> list[str]:
    """The aligned header and rows; a `test` column when the best model was tested."""
    tested = test_score(final, study.objective)  # the best model's, on the test part
    test_head = [f"test {tested[0]}"] if tested else []
    head = ["rank", "trial", "status", study.objective] + test_head + differing + [
        "best epoch", "epochs", "seconds"]
    ranks = {row["trial_id"]: number for number, row in enumerate(ranked, start=1)}
    tested_id = str((final.get("best") or {}).get("trial_id"))
    lines = [[_cell(ranks.get(row["trial_id"])), row["trial_id"], row["status"].lower(),
              _cell(row.get("objective"))]
             + ([_cell(tested[1]) if str(row["trial_id"]) == tested_id else ""]
                if tested else [])
             + [_cell(row.get(knob)) for knob in differing]
             + [_cell(row.get("best_epoch")), _cell(row.get("epochs_run")),
                _cell(row.get("seconds"))] for row in shown]
    return _aligned(head, lines)


def _below_table(study: Study, shown: list[dict[str, Any]],
                 final: dict[str, Any]) -> list[str]:
    """Why the rows shown did not complete, and the held-out test part's scores."""
    text = []
    reasons = [f"  trial {row['trial_id']}: {row['reason']}" for row in shown
               if row["status"] != "COMPLETED" and row.get("reason")]
    if reasons:
        text += ["", "Why:"] + reasons
    held_out = test_lines(final, study.objective)
    if held_out:
        text += ["", "Held-out test part (final/evaluation.yaml):"] + [
            f"  {line}" for line in held_out]
    return text


def _notes(study: Study, rows: list[dict[str, Any]], shown: list[dict[str, Any]],
           knobs: list[str], differing: list[str], every_status: bool) -> list[str]:
    """What was left out of the table, and the knobs equal in every row shown."""
    notes = []
    if len(rows) > len(shown):
        notes.append(f"{len(rows) - len(shown)} more not shown (--top {len(rows)} shows "
                     "them).")
    if not every_status and len(rows) < len(study.rows):
        notes.append(f"{len(study.rows) - len(rows)} pruned, failed or running trials not "
                     "shown (--all lists them).")
    same = [knob for knob in knobs if knob not in differing]
    if same and shown:
        notes.append("Same in every row shown: " + ", ".join(
            f"{knob}={_cell(shown[0].get(knob)) or '-'}" for knob in same))
    return notes


def _ordered(study: Study, ranked: list[dict[str, Any]], sort: str,
             every_status: bool) -> list[dict[str, Any]]:
    ranked_ids = {row["trial_id"] for row in ranked}
    others = ([row for row in study.rows if row["trial_id"] not in ranked_ids]
              if every_status else [])
    others.sort(key=lambda row: (_STATUS_ORDER.get(row["status"], 9), _trial_key(row)))
    if sort == "rank":
        return ranked + others
    rows = ranked + others
    if sort == "trial":
        return sorted(rows, key=_trial_key)
    if sort == "objective":
        sign = -1 if study.direction == "max" else 1
        return sorted(rows, key=lambda row: (_missing(row.get("objective")),
                                             sign * (row.get("objective") or 0.0)))
    column = {"seconds": "seconds", "epochs": "epochs_run"}.get(sort, sort)
    return sorted(rows, key=lambda row: (row.get(column) is None, _sortable(row.get(column))))


def _trial_key(row):
    trial = str(row["trial_id"])
    return (0, int(trial), "") if trial.isdigit() else (1, 0, trial)


def _missing(value):
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def _sortable(value):
    return (0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}" if abs(value) < 1e-3 or abs(value) >= 1e4 else f"{value:.4f}"
    return str(value)


def _counts(rows: Sequence[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"].lower()] = counts.get(row["status"].lower(), 0) + 1
    return ", ".join(f"{number} {status}" for status, number in sorted(counts.items()))


def _aligned(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max([len(head[i])] + [len(row[i]) for row in rows]) for i in range(len(head))]
    numeric = [all(_is_number(row[i]) for row in rows if row[i]) for i in range(len(head))]

    def line(cells):
        return "  ".join(cell.rjust(w) if right else cell.ljust(w)
                         for cell, w, right in zip(cells, widths, numeric)).rstrip()

    return [line(head), line(["-" * w for w in widths])] + [line(row) for row in rows]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
