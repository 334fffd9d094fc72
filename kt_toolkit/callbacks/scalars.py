"""`EpochScalars`: per-epoch TensorBoard scalars on every backend (A2, B1)."""

import math
from typing import Any

import keras

from kt_toolkit._io import as_float
from kt_toolkit.callbacks.history import _learning_rate
from kt_toolkit._events import EventWriter

__all__ = ["EpochScalars"]


class EpochScalars(keras.callbacks.Callback):
    """Writes each epoch's train and validation logs and the learning rate.

    Everything goes to one TensorBoard run, `logdir` itself, with the split in the
    tag: `loss/train`, `loss/validation`, `accuracy/train`, …, `learning_rate`.
    Keras's own `TensorBoard` callback writes `<logdir>/train` and
    `<logdir>/validation` instead: three runs per trial, so a 30-trial search shows
    91 runs, and TensorBoard's Scalars page ticks no run at all past 40 (its charts
    open empty). One run per trial also holds the trial's HParams session, so the
    HParams table links each trial to its curves. TensorBoard groups the tags by
    metric: each metric's train and validation charts sit side by side, with one
    line per trial. Unlike Keras's callback it needs no TensorFlow: it runs on JAX
    and PyTorch too. Steps are 1-based epochs, as in `history.csv`.

    Example:

    >>> model.fit(x, y, validation_split=0.2, callbacks=[EpochScalars("logs/run1")])

    Args:
        logdir: String, the directory (the TensorBoard run).
    """

    def __init__(self, logdir: str) -> None:
        super().__init__()
        self.logdir = logdir
        self._writer = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        scalars = {}
        for name, value in (logs or {}).items():
            if name == "learning_rate":
                continue
            split = "validation" if name.startswith("val_") else "train"
            scalars[f"{name.removeprefix('val_')}/{split}"] = as_float(value)
        learning_rate = _learning_rate(self.model)
        if not math.isnan(learning_rate):
            scalars["learning_rate"] = learning_rate
        if scalars:
            if self._writer is None:
                self._writer = EventWriter(self.logdir)
            self._writer.scalars(epoch + 1, scalars)
            self._writer.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._writer is not None:
            self._writer.close()
        self._writer = None

    def get_config(self) -> dict[str, Any]:
        return {"logdir": self.logdir}
