"""kt_toolkit.compat.checkpoint: what it relies on in keras-tuner 1.4.8, and that the best
epoch's weights are kept in memory and written once, to the file KerasTuner reads back."""

import inspect
import os

import keras
import keras_tuner
import numpy as np
import pytest
from compat_helpers import tiny_data
from keras_tuner.src.engine import tuner as tuner_module
from keras_tuner.src.engine import tuner_utils

from kt_toolkit.compat.checkpoint import BestEpochCheckpoints, BestEpochWeights


def test_keras_tuner_saves_the_best_epoch_through_one_save_best_epoch_per_trial():
    run_trial = inspect.getsource(keras_tuner.Tuner.run_trial)
    # One callback per trial, appended to every execution's copies of the callbacks.
    assert "tuner_utils.SaveBestEpoch(" in run_trial
    assert "callbacks.append(model_checkpoint)" in run_trial
    assert "filepath=self._get_checkpoint_fname(trial.trial_id)" in run_trial
    save_best = inspect.getsource(tuner_utils.SaveBestEpoch)
    assert "self._save_model()" in inspect.getsource(tuner_utils.SaveBestEpoch.on_epoch_end)
    assert "self.model.save_weights(" in save_best
    callback = tuner_utils.SaveBestEpoch(keras_tuner.Objective("val_loss", "min"), "x")
    assert (callback.objective.name, callback.filepath) == ("val_loss", "x")
    # What reads the file back: load_model (get_best_models, best/ export, Hyperband).
    assert "model.load_weights(self._get_checkpoint_fname(trial.trial_id))" in \
        inspect.getsource(tuner_module.Tuner.load_model)


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    return model


class _Seen(keras.callbacks.Callback):
    """Each epoch's loss and weights, as the callbacks after it see them."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append((logs["loss"], [w.copy() for w in self.model.get_weights()]))


def test_the_best_epoch_stays_in_memory_until_write(tmp_path):
    x, y = tiny_data()
    path = str(tmp_path / "checkpoint.weights.h5")
    model, seen = _model(), _Seen()
    best = BestEpochWeights(keras_tuner.Objective("loss", "min"), path)
    model.fit(x, y, epochs=6, verbose=0, callbacks=[seen, best])
    assert best.writes == 0 and not os.path.exists(path)
    assert best.write() and best.writes == 1
    assert not best.write()  # nothing kept any more
    expected = min(seen.epochs, key=lambda epoch: epoch[0])[1]  # the first lowest loss
    reloaded = _model()
    reloaded.load_weights(path)
    for a, b in zip(reloaded.get_weights(), expected):
        np.testing.assert_array_equal(a, b)


def test_a_model_above_max_bytes_is_written_at_every_better_epoch(tmp_path):
    x, y = tiny_data()
    path = str(tmp_path / "checkpoint.weights.h5")
    model, seen = _model(), _Seen()
    best = BestEpochWeights(keras_tuner.Objective("loss", "min"), path, max_bytes=0)
    model.fit(x, y, epochs=4, verbose=0, callbacks=[seen, best])
    losses = [loss for loss, _ in seen.epochs]
    better = sum(1 for i, loss in enumerate(losses) if loss < min(losses[:i], default=np.inf))
    assert best.writes == better and os.path.exists(path)  # as KerasTuner does
    assert not best.write()


def test_take_over_replaces_only_keras_tuner_callback_and_serves_every_execution(tmp_path):
    checkpoints = BestEpochCheckpoints()
    original = tuner_utils.SaveBestEpoch(keras_tuner.Objective("loss", "min"),
                                         str(tmp_path / "c.weights.h5"))
    other = keras.callbacks.History()
    first = checkpoints.take_over("7", [other, original])
    second = checkpoints.take_over("7", [other, original])
    assert first[0] is other and type(first[1]) is BestEpochWeights
    assert second[1] is first[1]  # one per trial, as KerasTuner's
    assert first[1].filepath == original.filepath
    assert checkpoints.take_over("8", first) == first  # ours is not replaced again
    assert checkpoints.write("7") is first[1] and checkpoints.write("7") is None


def test_a_fold_flushes_its_checkpoint_and_a_resumed_trial_must_beat_it(tmp_path):
    """data.cv_folds: `flush` writes the kept epoch as a fold ends, the trial goes on;
    a resumed trial's callback starts from the value the file holds."""
    x, y = tiny_data()
    path = str(tmp_path / "checkpoint.weights.h5")
    original = tuner_utils.SaveBestEpoch(keras_tuner.Objective("loss", "min"), path)
    checkpoints = BestEpochCheckpoints()
    best = checkpoints.take_over("3", [original])[0]
    _model().fit(x, y, epochs=3, verbose=0, callbacks=[best])
    assert checkpoints.flush("3") == best.best_value and best.writes == 1
    assert os.path.exists(path) and os.listdir(tmp_path) == ["checkpoint.weights.h5"]
    assert checkpoints.flush("3") == best.best_value and best.writes == 1  # nothing new
    checkpoints.write("3")
    resumed = BestEpochCheckpoints()
    resumed.resume("3", -1.0)  # no loss beats it: the file is left as it is
    again = resumed.take_over("3", [original])[0]
    assert again.best_value == -1.0
    _model().fit(x, y, epochs=2, verbose=0, callbacks=[again])
    assert resumed.flush("3") == -1.0 and again.writes == 0 and resumed.write("3") is again


@pytest.mark.parametrize("executions", [1, 2])
def test_a_search_writes_each_checkpoint_once_and_get_best_models_loads_it(
        tmp_path, monkeypatch, executions):
    from kt_toolkit.tuners import RecordingRandomSearch

    writes, seen = [], []
    keras_save = keras.Model.save_weights

    def save_weights(self, path, *args, **kwargs):  # Keras's, counted
        # Written to a temporary `.<pid>-checkpoint.weights.h5`, then renamed.
        writes.append(os.path.relpath(path, tmp_path).replace(f".{os.getpid()}-", ""))
        return keras_save(self, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save_weights", save_weights)

    class Seen(_Seen):  # deep-copied per execution by KerasTuner: keep one list
        def __init__(self):
            super().__init__()
            self.epochs = seen

        def __deepcopy__(self, memo):
            return Seen()

    class Tiny(keras_tuner.HyperModel):
        def build(self, hp):
            hp.Int("units", 4, 64)
            return _model()

    x, y = tiny_data()
    tuner = RecordingRandomSearch(Tiny(), objective=keras_tuner.Objective("loss", "min"),
                                  max_trials=2, seed=1, directory=str(tmp_path),
                                  project_name="p", run_dir=str(tmp_path / "run"),
                                  executions_per_trial=executions)
    tuner.search(x, y, epochs=4, verbose=0, callbacks=[Seen()])
    trials = sorted(tuner.oracle.trials.values(), key=lambda t: t.trial_id)
    assert sorted(writes) == sorted(os.path.join("p", f"trial_{t.trial_id}",
                                                 "checkpoint.weights.h5") for t in trials)
    per_trial = 4 * executions
    best = tuner.get_best_models(1)[0]
    best_trial = tuner.best_trials(1)[0]
    index = next(i for i, t in enumerate(trials) if t.trial_id == best_trial.trial_id)
    epochs = seen[index * per_trial:(index + 1) * per_trial]
    expected = min(epochs, key=lambda epoch: epoch[0])  # across executions, the first lowest
    if executions == 1:  # (with more, the score is the executions' mean)
        assert best_trial.score == pytest.approx(expected[0])
    for a, b in zip(best.get_weights(), expected[1]):
        np.testing.assert_array_equal(a, b)
