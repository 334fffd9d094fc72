"""`AblationStore`: the files of one knob's ablation, `<run>/ablations/<knob>/`. No Keras.

| file | what |
|---|---|
| `ablation.json` | the knob, the values and seeds asked for, objective, direction, the other knobs' values (`base`) and the settings a rerun must share (`settings`) |
| `results.csv` | one row per value × seed: `value`, `seed`, `score`, `best_epoch`, `epochs`, `seconds`, `status` (`completed`, `diverged`, `failed`), `reason` |
| `histories/<value>-seed<seed>.csv` | every epoch of that run (`callbacks.EpochLogger`'s columns) |
| `table.md`, `figure.png` | the table with intervals and verdicts, and its figure |

`results.csv` gets one line per finished run, appended in one write: a killed
ablation keeps every finished run, and a rerun trains only the missing pairs.
Values are written as text (`value_text`): `glorot_uniform`, `0.001`, `true`.
"""

import json
import math
import os
import re

from kt_toolkit._io import append_csv_row, as_float, atomic_write_text, read_csv, read_json
from kt_toolkit.rundir.layout import ABLATIONS_DIR, ablation_dir

__all__ = ["AblationStore", "RESULT_COLUMNS", "ablation_knobs", "value_text"]

RESULT_COLUMNS = ("value", "seed", "score", "best_epoch", "epochs", "seconds", "status",
                  "reason")
RECORD_FILE = "ablation.json"
RESULTS_FILE = "results.csv"
HISTORIES_DIR = "histories"
TABLE_FILE = "table.md"
FIGURE_FILE = "figure.png"


def value_text(value: object) -> str:
    """A knob value as `results.csv` writes it: `true`, `0.001`, `1e-05`, `relu`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.12g}"
    return str(value)


def ablation_knobs(run_dir: str) -> list[str]:
    """The knobs of a run with an ablation record, sorted; `[]` when it has none."""
    folder = os.path.join(run_dir, ABLATIONS_DIR)
    if not os.path.isdir(folder):
        return []
    return sorted(name for name in os.listdir(folder)
                  if os.path.isfile(os.path.join(folder, name, RECORD_FILE)))


class AblationStore:
    """Reads and writes one knob's ablation files.

    Example:

    >>> store = AblationStore("runs/digits_mlp-4c806d68", "kernel_initializer")
    >>> store.record()["values"], len(store.results())

    Args:
        run_dir: String, the run directory.
        knob: String, the knob ablated.
    """

    def __init__(self, run_dir: str, knob: str) -> None:
        self.run_dir = os.fspath(run_dir)
        self.knob = knob
        self.path = ablation_dir(self.run_dir, knob)

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    @property
    def results_path(self) -> str:
        return self.file(RESULTS_FILE)

    @property
    def table_path(self) -> str:
        return self.file(TABLE_FILE)

    @property
    def figure_path(self) -> str:
        return self.file(FIGURE_FILE)

    def exists(self) -> bool:
        return os.path.isfile(self.file(RECORD_FILE))

    def record(self) -> dict:
        """`ablation.json`, `{}` when there is none."""
        return read_json(self.file(RECORD_FILE)) or {}

    def write_record(self, record: dict) -> None:
        atomic_write_text(self.file(RECORD_FILE), json.dumps(record, indent=2))

    def results(self) -> list[dict]:
        """`results.csv`'s rows: `seed`, `best_epoch`, `epochs` as ints, `score` and
        `seconds` as floats (NaN when empty), the rest as text."""
        rows = []
        for row in read_csv(self.results_path):
            tidy = dict(row)
            for name in ("seed", "best_epoch", "epochs"):
                number = as_float(row.get(name))
                tidy[name] = int(number) if math.isfinite(number) else None
            tidy["score"] = as_float(row.get("score"))
            tidy["seconds"] = as_float(row.get("seconds"))
            rows.append(tidy)
        return rows

    def append_result(self, row: dict) -> None:
        """Adds one run's row to `results.csv` (the header first, if new)."""
        if not os.path.exists(self.results_path):
            atomic_write_text(self.results_path, ",".join(RESULT_COLUMNS) + "\n")
        row = {name: ("" if value is None or (isinstance(value, float) and math.isnan(value))
                      else value) for name, value in row.items()}
        append_csv_row(self.results_path, row, RESULT_COLUMNS)

    def history_path(self, value: str, seed: int) -> str:
        """`histories/<value>-seed<seed>.csv`; characters unsafe in a file name become `_`."""
        safe = re.sub(r"[^A-Za-z0-9._+-]", "_", value_text(value))
        return os.path.join(self.path, HISTORIES_DIR, f"{safe}-seed{int(seed)}.csv")

    def history(self, value: str, seed: int) -> list[dict[str, float]]:
        """That run's epochs as dicts of floats; `[]` when it has none."""
        return [{name: as_float(cell) for name, cell in row.items()}
                for row in read_csv(self.history_path(value, seed))]

    def write_table(self, text: str) -> None:
        atomic_write_text(self.table_path, text)

    def clear(self) -> None:
        """Deletes this knob's ablation (`--overwrite`)."""
        import shutil

        if os.path.isdir(self.path):
            shutil.rmtree(self.path)
