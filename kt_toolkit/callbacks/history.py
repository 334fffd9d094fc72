"""`EpochLogger`: writes every epoch's logs and learning rate to a CSV (A2)."""

import csv
import math
import os
from typing import Any

import keras

from kt_toolkit._io import append_csv_row, as_float, read_csv, write_csv

__all__ = ["EpochLogger"]


class EpochLogger(keras.callbacks.Callback):
    """Appends one row per epoch to `path`: execution, epoch, every log, learning rate.

    Each epoch appends its line in one write, so a killed run leaves a readable
    history of every finished epoch. The file is rewritten whole (atomically)
    only when it must change otherwise: at the start of training when it holds
    rows of this execution from an earlier, interrupted attempt (they are
    replaced), and when an epoch logs a value the header has no column for.

    Args:
        path: String, the CSV file.
        execution: Integer, which execution of the trial this is. Defaults to `0`.
    """

    def __init__(self, path: str | os.PathLike[str], execution: int = 0) -> None:
        super().__init__()
        self.path = os.fspath(path)
        self.execution = execution
        self._fields = None  # the file's header, None while there is no file

    def on_train_begin(self, logs: dict | None = None) -> None:
        # Keep earlier executions' rows; replace this execution's (a rerun).
        rows = read_csv(self.path)
        kept = [row for row in rows if int(row["execution"]) != self.execution]
        self._fields = _header(self.path) if os.path.exists(self.path) else None
        if len(kept) != len(rows):
            write_csv(self.path, kept, self._fields)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        row = {"execution": self.execution, "epoch": epoch + 1}
        for name, value in (logs or {}).items():
            row[name] = as_float(value)
        row["learning_rate"] = _learning_rate(self.model)
        if self._fields is not None and all(name in self._fields for name in row):
            append_csv_row(self.path, row, self._fields)
            return
        # No file yet, or a new column: the whole file, header first.
        fields = list(self._fields or [])
        fields.extend(name for name in row if name not in fields)
        write_csv(self.path, [*read_csv(self.path), row], fields)
        self._fields = fields

    def get_config(self) -> dict[str, Any]:
        return {"path": self.path, "execution": self.execution}


def _header(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle), [])


def _learning_rate(model):
    try:
        return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    except (AttributeError, TypeError, ValueError):
        return math.nan
