"""`EpochLogger`: writes every epoch's logs and learning rate to a CSV (A2)."""

import math
import os
from typing import Any

import keras

from kt_toolkit._io import as_float, read_csv, write_csv

__all__ = ["EpochLogger"]


class EpochLogger(keras.callbacks.Callback):
    """Appends one row per epoch to `path`: execution, epoch, every log, learning rate.

    The file is rewritten atomically after each epoch, so a killed run leaves a
    readable history of every finished epoch.

    Args:
        path: String, the CSV file.
        execution: Integer, which execution of the trial this is. Defaults to `0`.
    """

    def __init__(self, path: str | os.PathLike[str], execution: int = 0) -> None:
        super().__init__()
        self.path = os.fspath(path)
        self.execution = execution
        self._rows = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        # Keep earlier executions' rows; replace this execution's (a rerun).
        self._rows = [row for row in read_csv(self.path)
                      if int(row["execution"]) != self.execution]

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        row = {"execution": self.execution, "epoch": epoch + 1}
        for name, value in (logs or {}).items():
            row[name] = as_float(value)
        row["learning_rate"] = _learning_rate(self.model)
        self._rows.append(row)
        write_csv(self.path, self._rows)

    def get_config(self) -> dict[str, Any]:
        return {"path": self.path, "execution": self.execution}



def _learning_rate(model):
    try:
        return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    except (AttributeError, TypeError, ValueError):
        return math.nan
