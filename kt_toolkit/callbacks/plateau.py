"""`ReduceLROnPlateau` that steps aside when a schedule drives the learning rate."""

import keras

__all__ = ["ReduceLROnPlateau"]


class ReduceLROnPlateau(keras.callbacks.ReduceLROnPlateau):
    """Keras's `ReduceLROnPlateau` (E3), inactive under a `LearningRateSchedule`.

    Keras's own callback fails when the optimizer's learning rate is a schedule
    (it cannot be assigned). A trial that tunes `lr_schedule` then gets the
    schedule alone; a constant learning rate gets the plateau reduction.

    Args: as `keras.callbacks.ReduceLROnPlateau`.
    """

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        rate = getattr(self.model.optimizer, "_learning_rate", None)
        if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
            return
        super().on_epoch_end(epoch, logs)
