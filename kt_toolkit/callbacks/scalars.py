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

    The layout is the one Keras's `TensorBoard` callback uses (`<logdir>/train`
    and `<logdir>/validation`, tags `epoch_loss`, `epoch_accuracy`, …,
    `epoch_learning_rate`), so train and validation share one chart per metric.
    Unlike that callback it needs no TensorFlow: it runs on JAX and PyTorch too.
    Steps are 1-based epochs, as in `history.csv`.

    Example:

    >>> model.fit(x, y, validation_split=0.2, callbacks=[EpochScalars("logs/run1")])

    Args:
        logdir: String, the directory; `train/` and `validation/` go under it.
    """

    def __init__(self, logdir: str) -> None:
        super().__init__()
        self.logdir = logdir
        self._writers = {}

    def _writer(self, split):
        if split not in self._writers:
            self._writers[split] = EventWriter(f"{self.logdir}/{split}")
        return self._writers[split]

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        values = {"train": {}, "validation": {}}
        for name, value in (logs or {}).items():
            if name == "learning_rate":
                continue
            split = "validation" if name.startswith("val_") else "train"
            values[split]["epoch_" + name.removeprefix("val_")] = as_float(value)
        learning_rate = _learning_rate(self.model)
        if not math.isnan(learning_rate):
            values["train"]["epoch_learning_rate"] = learning_rate
        for split, scalars in values.items():
            if scalars:
                writer = self._writer(split)
                writer.scalars(epoch + 1, scalars)
                writer.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def get_config(self) -> dict[str, Any]:
        return {"logdir": self.logdir}
