"""A Hyperband trial's schedule spans its whole budget and continues across rounds."""

import keras
import keras_tuner
import pytest
from sklearn.datasets import load_digits

from kt_toolkit.hypermodels import HyperMLP
from kt_toolkit.schedules import MultiStepDecay
from kt_toolkit.schedules.learning_rate import ContinuedSchedule


def test_continued_schedule_offsets_the_steps_and_round_trips(tmp_path):
    inner = MultiStepDecay(0.1, boundaries=[100, 150], factor=0.1)
    schedule = ContinuedSchedule(inner, offset=60)
    values = [float(keras.ops.convert_to_numpy(schedule(step))) for step in (0, 39, 40, 90)]
    assert values == pytest.approx([0.1, 0.1, 0.01, 0.001])
    again = ContinuedSchedule.from_config(schedule.get_config())
    assert float(keras.ops.convert_to_numpy(again(40))) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="offset"):
        ContinuedSchedule(inner, offset=-1)


def _round(planned_epochs, tmp_path):
    """Round 2 of a Hyperband trial: epochs 4..5 of a budget of 8, multistep decay."""
    x, y = load_digits(return_X_y=True)
    x, y = (x[:128] / 16.0).astype("float32"), y[:128]
    hypermodel = HyperMLP((64,), num_classes=10, space={
        "num_layers": 1, "units": 16, "optimizer": "adam", "learning_rate": 1e-2,
        "lr_schedule": "multistep", "decay_factor": 0.5, "batch_size": 32})
    hypermodel.planned_epochs = planned_epochs
    hp = keras_tuner.HyperParameters()
    hp.values.update({"tuner/epochs": 5, "tuner/initial_epoch": 4})
    model = hypermodel.build(hp)
    hypermodel.fit(hp, model, x, y, epochs=5, initial_epoch=4, verbose=0)
    rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))  # after 4 steps
    path = str(tmp_path / f"model{planned_epochs}.keras")
    model.save(path)
    keras.saving.load_model(path)  # the wrapper reloads
    return rate


def test_a_resumed_hyperband_round_continues_the_schedule(tmp_path):
    # Budget 8 epochs of 4 steps: boundaries at steps 16 and 24. Epoch 5 is steps
    # 16..19: one decay so far. Without the plan, the round's one epoch gets its
    # own schedule and both decays happen inside it.
    assert _round(8, tmp_path) == pytest.approx(1e-2 * 0.5)
    assert _round(None, tmp_path) == pytest.approx(1e-2 * 0.25)
