"""Callbacks driven directly: NaN guard, plateau reduction vs schedules, epoch logger."""

import math
import os

import keras
import numpy as np
import pytest
from keras_tuner.errors import FailedTrialError

from kt_toolkit._io import read_csv
from kt_toolkit.callbacks import EpochLogger, NanGuard, default_callbacks
from kt_toolkit.callbacks.plateau import ReduceLROnPlateau
from kt_toolkit.config import CallbacksConfig


def _model(learning_rate):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    return model


@pytest.mark.parametrize("logs", [{"loss": math.nan}, {"loss": 1.0, "val_loss": math.inf}])
def test_nan_guard_fails_the_trial_with_the_reason(logs):
    guard = NanGuard()
    guard.set_model(_model(0.1))
    with pytest.raises(FailedTrialError, match="became (nan|inf) at epoch 3"):
        guard.on_epoch_end(2, logs)


def test_nan_guard_lets_finite_logs_pass():
    guard = NanGuard()
    guard.set_model(_model(0.1))
    guard.on_train_batch_end(0, {"loss": 0.5})
    guard.on_epoch_end(0, {"loss": 0.5, "val_accuracy": 0.9})


def test_plateau_reduction_halves_a_constant_rate_and_steps_aside_for_a_schedule():
    plain = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1)
    plain.set_model(_model(0.1))
    plain.on_train_begin()
    for epoch, loss in enumerate([1.0, 1.0, 1.0]):
        plain.on_epoch_end(epoch, {"val_loss": loss})
    # Epoch 1 and epoch 2 both waited `patience` epochs without improving: 0.1 → 0.025.
    assert float(plain.model.optimizer.learning_rate) == pytest.approx(0.025)

    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    scheduled = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1)
    scheduled.set_model(_model(schedule))
    scheduled.on_train_begin()
    for epoch in range(3):
        scheduled.on_epoch_end(epoch, {"val_loss": 1.0})  # Keras's own would raise here
    assert scheduled.model.optimizer._learning_rate is schedule


def test_default_callbacks_follow_the_config():
    config = CallbacksConfig()
    names = [type(c).__name__ for c in default_callbacks(config, objective="val_accuracy",
                                                          direction="max")]
    assert names == ["NanGuard", "EarlyStopping", "ReduceLROnPlateau"]
    stop = default_callbacks(config, objective="val_accuracy", direction="max")[1]
    assert stop.monitor == "val_accuracy" and stop.restore_best_weights
    config.early_stopping.enabled = False
    config.reduce_lr_on_plateau.enabled = False
    assert [type(c).__name__ for c in default_callbacks(
        config, objective="val_loss", direction="min")] == ["NanGuard"]


def test_epoch_logger_keeps_other_executions_and_replaces_a_rerun(tmp_path):
    path = tmp_path / "history.csv"
    model = _model(0.1)
    x, y = np.zeros((4, 2), "float32"), np.zeros((4, 1), "float32")
    model.fit(x, y, epochs=2, verbose=0, callbacks=[EpochLogger(path, execution=0)])
    model.fit(x, y, epochs=3, verbose=0, callbacks=[EpochLogger(path, execution=1)])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[EpochLogger(path, execution=0)])
    rows = read_csv(path)
    assert [(r["execution"], r["epoch"]) for r in rows] == [
        ("1", "1"), ("1", "2"), ("1", "3"), ("0", "1")]
    assert float(rows[0]["learning_rate"]) == pytest.approx(0.1)


class _SameFile(keras.callbacks.Callback):
    """Whether the history file opened after the first epoch is still the one at `path`
    (a rewrite replaces it: the open one is then unlinked)."""

    def __init__(self, path):
        super().__init__()
        self.path, self.handle, self.same = path, None, []

    def on_epoch_end(self, epoch, logs=None):
        if self.handle is None:
            self.handle = open(self.path, "rb")
        self.same.append(os.fstat(self.handle.fileno()).st_nlink == 1)


def test_epoch_logger_appends_each_epoch_and_rewrites_only_for_a_rerun(tmp_path):
    path = tmp_path / "history.csv"
    model = _model(0.1)
    x, y = np.zeros((4, 2), "float32"), np.zeros((4, 1), "float32")
    same = _SameFile(path)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[EpochLogger(path, execution=0), same])
    text = path.read_text()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[EpochLogger(path, execution=1), same])
    same.handle.close()
    assert same.same == [True] * 5  # written once, then only appended to
    assert path.read_text().startswith(text)
    # A resumed trial runs execution 0 again: its old rows go, the others stay.
    model.fit(x, y, epochs=2, verbose=0, callbacks=[EpochLogger(path, execution=0)])
    rows = read_csv(path)
    assert [(r["execution"], r["epoch"]) for r in rows] == [
        ("1", "1"), ("1", "2"), ("0", "1"), ("0", "2")]
    assert set(rows[0]) == {"execution", "epoch", "loss", "learning_rate"}
    assert all(r["loss"] and r["learning_rate"] for r in rows)


def test_epoch_logger_adds_a_column_a_later_epoch_logs(tmp_path):
    path = tmp_path / "history.csv"
    model = _model(0.1)
    x, y = np.zeros((4, 2), "float32"), np.zeros((4, 1), "float32")
    model.fit(x, y, epochs=1, verbose=0, callbacks=[EpochLogger(path, execution=0)])
    model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y),
              callbacks=[EpochLogger(path, execution=1)])
    rows = read_csv(path)
    assert [r["execution"] for r in rows] == ["0", "1"]
    assert rows[0]["val_loss"] == "" and float(rows[1]["val_loss"]) >= 0
