"""kt_toolkit.compat.hooks: what OracleHooks / TunerHooks rely on in keras-tuner 1.4.x,
and that a plain KerasTuner tuner in the same process is left as KerasTuner ships it."""

import json
import os
import threading

import keras_tuner
import pytest
from compat_helpers import end, in_project, space, tiny_data, tiny_hypermodel
from keras_tuner.src import utils as keras_tuner_utils
from keras_tuner.src.engine import oracle as oracle_module

from kt_toolkit.compat import is_consecutive_failure
from kt_toolkit.compat.hooks import OracleHooks, TunerHooks

KERAS_TUNER_SAVE_JSON = keras_tuner_utils.save_json  # as imported, before any kt_toolkit tuner


class HookedOracle(OracleHooks, keras_tuner.oracles.RandomSearchOracle):
    pass


class HookedGrid(OracleHooks, keras_tuner.oracles.GridSearchOracle):
    pass


def _oracle(directory, cls=HookedOracle, **kwargs):
    kwargs = {"objective": keras_tuner.Objective("score", "max"), "max_trials": 10, "seed": 1,
              "hyperparameters": space(), **kwargs}
    return in_project(cls(**kwargs), directory)


def _files(directory):
    return sorted(os.path.relpath(os.path.join(root, name), directory)
                  for root, _, names in os.walk(directory) for name in names)


def test_oracle_hooks_write_what_keras_tuner_writes_atomically(tmp_path, monkeypatch):
    # Grid search: its first trial is the defaults with or without the hooks (a hooked
    # random search starts from the defaults too, plain KerasTuner's does not).
    plain = _oracle(tmp_path / "plain", cls=keras_tuner.oracles.GridSearchOracle)
    hooked = _oracle(tmp_path / "hooked", cls=HookedGrid)
    for oracle in (plain, hooked):
        trial = oracle.create_trial("tuner0")  # saves trial.json and oracle.json
        end(oracle, trial, "COMPLETED", score=0.5)
    assert _files(tmp_path / "plain") == _files(tmp_path / "hooked")
    for name in _files(tmp_path / "plain"):
        plain_state = json.loads((tmp_path / "plain" / name).read_text())
        hooked_state = json.loads((tmp_path / "hooked" / name).read_text())
        if name == "project/oracle.json":  # the display's clock differs
            plain_state.pop("display"), hooked_state.pop("display")
        assert plain_state == hooked_state, name

    writes = []
    monkeypatch.setattr(keras_tuner_utils, "save_json",
                        lambda path, obj: writes.append(path) or KERAS_TUNER_SAVE_JSON(path, obj))
    trial = hooked.trials[trial.trial_id]
    hooked.save()
    hooked.save_trial(trial)
    assert writes == []  # not through KerasTuner's writer

    def killed(src, dst):
        raise OSError("killed mid-write")

    before = (tmp_path / "hooked" / "project" / "oracle.json").read_text()
    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(OSError):
        hooked.save()
    with pytest.raises(OSError):
        hooked.save_trial(trial)
    assert (tmp_path / "hooked" / "project" / "oracle.json").read_text() == before
    assert _files(tmp_path / "hooked") == _files(tmp_path / "plain")  # no temporary left


def test_end_trial_releases_the_lock_when_keras_tuner_raises(tmp_path):
    plain = _oracle(tmp_path / "plain", cls=keras_tuner.oracles.RandomSearchOracle,
                    max_consecutive_failed_trials=1)
    hooked = _oracle(tmp_path / "hooked", max_consecutive_failed_trials=1)
    for oracle in (plain, hooked):
        trial = oracle.create_trial("tuner0")
        with pytest.raises(RuntimeError) as raised:
            end(oracle, trial, "FAILED")
        assert is_consecutive_failure(raised.value)
    # KerasTuner 1.4.8's @synchronized keeps the lock when the method raises (the
    # premise: if this fails, KerasTuner fixed it and OracleHooks.end_trial can go).
    assert oracle_module.LOCKS[plain].locked()
    assert not oracle_module.LOCKS[hooked].locked()
    done = []
    other = threading.Thread(target=lambda: done.append(hooked.create_trial("tuner1")),
                             daemon=True)
    other.start()
    other.join(timeout=10)
    assert done and done[0].status == "RUNNING"  # another thread gets the oracle

    # KerasTuner raised before saving the trial; OracleHooks saved it.
    def on_disk(directory):
        path = directory / "project" / f"trial_{trial.trial_id}" / "trial.json"
        return json.loads(path.read_text())

    assert on_disk(tmp_path / "plain")["status"] == "RUNNING"
    assert on_disk(tmp_path / "hooked")["status"] == "FAILED"


def test_synchronized_methods_nest_in_one_thread(tmp_path):
    """What OracleHooks and the chief's oracle rely on: a @synchronized method may
    call another on the same oracle (KerasTuner's own end_trial) without deadlock."""

    class Nested(HookedOracle):
        @keras_tuner.synchronized
        def outer(self):
            return self.inner()

        @keras_tuner.synchronized
        def inner(self):
            return oracle_module.THREADS[self] == threading.current_thread().name

    oracle = _oracle(tmp_path, cls=Nested)
    result = []
    thread = threading.Thread(target=lambda: result.append(oracle.outer()), daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert result == [True]
    assert not oracle_module.LOCKS[oracle].locked()


def test_a_reloaded_oracle_retries_its_ongoing_trials(tmp_path):
    first = _oracle(tmp_path)
    running = first.create_trial("tuner0")
    finished = first.create_trial("tuner1")
    first.save()  # oracle.json: both ongoing
    state = (tmp_path / "project" / "oracle.json").read_text()
    end(first, finished, "COMPLETED", score=0.5)
    (tmp_path / "project" / "oracle.json").write_text(state)  # killed before the next save

    again = _oracle(tmp_path)
    keras_tuner.Oracle.reload(again)  # KerasTuner's own: retries the finished one too
    assert isinstance(again._retry_queue, list)
    assert sorted(again._retry_queue) == [running.trial_id, finished.trial_id]
    assert again.ongoing_trials == {}
    again.forget_ended_retries()
    assert again._retry_queue == [running.trial_id]
    hooked = _oracle(tmp_path)
    hooked.reload()  # OracleHooks.reload: only the trial that was still running
    assert hooked._retry_queue == [running.trial_id] and hooked.ongoing_trials == {}

    display = again._display
    assert isinstance(display.trial_start, dict) and isinstance(display.trial_number, dict)
    display.trial_start.clear(), display.trial_number.clear()
    again.adopt_trial(running.trial_id)  # a worker reports it to the restarted chief
    assert again._retry_queue == []
    assert running.trial_id in display.trial_start
    assert display.trial_number[running.trial_id] == 1
    state = again.get_state()
    assert state["retry_queue"] == [] and running.trial_id in state["display"]["trial_start"]


def test_tuner_hooks_build_the_same_tuner_as_keras_tuner(tmp_path):
    from kt_toolkit.tuners import (QuasiRandomSearch, RecordingBayesianOptimization,
                                   RecordingGridSearch, RecordingHyperband,
                                   RecordingRandomSearch, TPESearch)

    common = {"objective": keras_tuner.Objective("val_accuracy", "max"), "seed": 3,
              "max_consecutive_failed_trials": 2, "executions_per_trial": 1}
    cases = [(keras_tuner.Hyperband, RecordingHyperband, {"max_epochs": 4, "factor": 2}),
             (keras_tuner.BayesianOptimization, RecordingBayesianOptimization,
              {"max_trials": 4, "num_initial_points": 2}),
             (keras_tuner.RandomSearch, RecordingRandomSearch, {"max_trials": 4}),
             (keras_tuner.GridSearch, RecordingGridSearch, {"max_trials": 4}),
             (keras_tuner.Tuner, QuasiRandomSearch, {"max_trials": 4}),
             (keras_tuner.Tuner, TPESearch, {"max_trials": 4, "num_initial_points": 2})]
    for plain_cls, ours_cls, extra in cases:
        name = ours_cls.__name__
        ours = ours_cls(tiny_hypermodel(), **common, **extra, directory=str(tmp_path / name),
                        project_name="p", run_dir=str(tmp_path / name))
        assert isinstance(ours, plain_cls) and isinstance(ours.oracle, OracleHooks)
        if plain_cls is keras_tuner.Tuner:
            continue
        plain = plain_cls(tiny_hypermodel(), **common, **extra,
                          directory=str(tmp_path / "plain"), project_name=name)
        assert isinstance(ours.oracle, type(plain.oracle)), name
        # Everything KerasTuner's own __init__ sets, TunerHooks sets too (1.4.8).
        assert set(vars(plain)) <= set(vars(ours)), (name, set(vars(plain)) - set(vars(ours)))
        assert set(vars(plain.oracle)) == set(vars(ours.oracle)), name
        for key, value in vars(plain.oracle).items():
            if isinstance(value, (int, float, str, bool, list, type(None))) and \
                    key not in ("_directory", "_project_name"):
                assert getattr(ours.oracle, key) == value, (name, key)
        assert ours.oracle.objective.name == plain.oracle.objective.name
        assert ours.oracle.get_space().get_config() == plain.oracle.get_space().get_config()


def test_tuner_hooks_route_keras_tuner_private_hooks(tmp_path):
    calls = []

    class Probe(TunerHooks, keras_tuner.Tuner):
        def populate_initial_space(self):
            calls.append("populate")
            super().populate_initial_space()

        def build_and_fit_model(self, trial, *args, **kwargs):
            calls.append(("fit", trial.trial_id, type(kwargs.get("callbacks")).__name__))
            return super().build_and_fit_model(trial, *args, **kwargs)

    oracle = keras_tuner.oracles.RandomSearchOracle(objective="val_accuracy", max_trials=1,
                                                    seed=1)
    tuner = Probe(oracle, tiny_hypermodel(), directory=str(tmp_path), project_name="p",
                  executions_per_trial=2)
    assert calls == ["populate"]  # BaseTuner.__init__, not reloading
    assert [hp.name for hp in tuner.oracle.get_space().space] == ["units"]
    x, y = tiny_data()
    tuner.search(x, y, validation_data=(x, y), epochs=1, verbose=0)
    assert calls[1:] == [("fit", "0", "list")] * 2  # once per execution, with callbacks
    assert tuner.oracle.trials["0"].status == "COMPLETED"
    assert tuner.oracle.trials["0"].score is not None  # the fit's result reached the oracle

    writes = []
    real = keras_tuner_utils.save_json
    keras_tuner_utils.save_json = lambda path, obj: writes.append(path) or real(path, obj)
    try:
        tuner.save()
    finally:
        keras_tuner_utils.save_json = real
    # TunerHooks.save writes the tuner's state itself (this plain oracle's goes through
    # KerasTuner's writer).
    assert [os.path.basename(path) for path in writes] == ["oracle.json"]
    assert json.loads((tmp_path / "p" / "tuner0.json").read_text()) == tuner.get_state()
    calls.clear()
    Probe(keras_tuner.oracles.RandomSearchOracle(objective="val_accuracy", max_trials=1,
                                                 seed=1),
          tiny_hypermodel(), directory=str(tmp_path), project_name="p")
    assert calls == []  # reloading: KerasTuner does not populate the space again


def test_a_plain_keras_tuner_tuner_is_untouched(tmp_path, make_config, monkeypatch):
    """A kt_toolkit tuner built first changes nothing for a plain KerasTuner one."""
    import keras

    from kt_toolkit.compat import keras as compat_keras
    from kt_toolkit.rundir import prepare_run_dir
    from kt_toolkit.tuners import build_tuner

    tf_backend = keras.backend.backend() == "tensorflow"
    optimizer_calls = []
    if tf_backend:  # Keras's own optimizer method, seen through a spy
        from keras.src.backend.tensorflow.optimizer import TFOptimizer

        compat_keras.uninstall_tf_memory_fix()
        keras_own = TFOptimizer._all_reduce_sum_gradients
        monkeypatch.setattr(TFOptimizer, "_all_reduce_sum_gradients",
                            lambda self, grads_and_vars: optimizer_calls.append(1) or
                            keras_own(self, grads_and_vars))
    x, y = tiny_data()
    try:
        config = make_config(tuner={"algorithm": "random", "max_trials": 1})
        run_dir = prepare_run_dir(config)
        ours = build_tuner(config, tiny_hypermodel(), run_dir, task="multiclass")
        ours.search(x, y, validation_data=(x, y), epochs=1, verbose=0)
        assert len(ours.oracle.trials) == 1
        assert not optimizer_calls  # inside kt_toolkit's trial: the memory fix's shortcut

        assert keras_tuner_utils.save_json is KERAS_TUNER_SAVE_JSON
        assert keras_tuner_utils.save_json.__module__ == "keras_tuner.src.utils"
        writes = []
        monkeypatch.setattr(keras_tuner_utils, "save_json", lambda path, obj: (
            writes.append(os.path.relpath(path, tmp_path)) or KERAS_TUNER_SAVE_JSON(path, obj)))
        plain = keras_tuner.RandomSearch(tiny_hypermodel(), objective="val_accuracy",
                                         max_trials=1, seed=1, directory=str(tmp_path),
                                         project_name="plain")
        assert type(plain.oracle) is keras_tuner.oracles.RandomSearchOracle
        plain.search(x, y, validation_data=(x, y), epochs=1, verbose=0)
        assert plain.oracle.trials["0"].status == "COMPLETED"
        for name in ("plain/oracle.json", "plain/trial_0/trial.json", "plain/tuner0.json"):
            assert name in writes, (name, writes)  # KerasTuner's own writer
            assert (tmp_path / name).exists()
        if tf_backend:
            assert optimizer_calls  # the plain fit ran Keras's own method
        writes.clear()
        ours.save()
        assert writes == []  # while kt_toolkit's tuner keeps its own atomic writes
    finally:
        compat_keras.uninstall_tf_memory_fix()
