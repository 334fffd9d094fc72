"""`NanGuard`: ends a trial whose loss or metrics stop being finite, as FAILED (B5)."""

import math
from typing import Any

import keras
from keras_tuner.errors import FailedTrialError

__all__ = ["NanGuard"]


class NanGuard(keras.callbacks.Callback):
    """Raises `FailedTrialError` when a logged value becomes NaN or infinite.

    Keras's `TerminateOnNaN` only stops training, and KerasTuner then records the
    trial as COMPLETED with whatever score the NaN weights give (0.1 accuracy on
    digits). Raising `FailedTrialError` makes KerasTuner mark it FAILED with the
    reason, so it can never become the best trial and the search goes on.

    Example:

    ```python
    model.fit(x, y, epochs=2, callbacks=[NanGuard()])
    ```

    Args:
        check_batches: Boolean, also check the training loss after every batch
            (stops a diverging epoch early). Defaults to `True`.
    """

    def __init__(self, check_batches: bool = True) -> None:
        super().__init__()
        self.check_batches = check_batches
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.check_batches and logs and "loss" in logs:
            self._check("loss", logs["loss"], f"epoch {self._epoch + 1}, batch {batch + 1}")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for name, value in (logs or {}).items():
            self._check(name, value, f"epoch {epoch + 1}")

    def _check(self, name, value, where):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return
        if not math.isfinite(value):
            self.model.stop_training = True
            raise FailedTrialError(
                f"{name} became {value} at {where}: training diverged. The learning rate "
                "is likely too high (B5): lower it, or clip gradients.")

    def get_config(self) -> dict[str, Any]:
        return {"check_batches": self.check_batches}
