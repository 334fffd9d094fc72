"""Real tiny searches: every algorithm, failures, the run directory, resume."""

import json
import os

import keras
import numpy as np
import pytest
import yaml

from kt_toolkit._io import read_csv
from kt_toolkit.errors import ConfigError
from kt_toolkit.experiment import run_experiment

ALGORITHMS = {
    "random": {"algorithm": "random", "max_trials": 2},
    "bayesian": {"algorithm": "bayesian", "max_trials": 3, "num_initial_points": 2},
    "hyperband": {"algorithm": "hyperband", "max_epochs": 3, "factor": 3, "max_trials": 3},
    "grid": {"algorithm": "grid", "max_trials": None},
    "tpe": {"algorithm": "tpe", "max_trials": 2, "num_initial_points": 1},
}


def _grid_space(**extra):
    space = {"num_layers": 1, "units": [16, 32], "optimizer": "adam", "learning_rate": 0.01,
             "batch_norm": False, "regularizer": "none", "dropout": 0.0,
             "activation": "relu", "kernel_initializer": "glorot_uniform",
             "lr_schedule": "constant"}
    space.update(extra)
    return space


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_every_algorithm_runs_a_real_search(make_config, algorithm):
    model = {"space": _grid_space()} if algorithm == "grid" else {}
    config = make_config(tuner=ALGORITHMS[algorithm], model=model)
    result = run_experiment(config)
    expected = {"random": 2, "bayesian": 3, "hyperband": 3, "grid": 2, "tpe": 2}[algorithm]
    assert len(result.trials) == expected
    assert result.count("COMPLETED") == expected
    scores = [float(row["objective"]) for row in result.trials]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert result.best_score == pytest.approx(max(scores), abs=1e-5)
    if algorithm == "grid":
        assert sorted(int(row["units"]) for row in result.trials) == [16, 32]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, config_in):
    config = config_in(tmp_path_factory.mktemp("run"), tuner={"max_trials": 3})
    return config, run_experiment(config)


def test_run_directory_contents(finished_run):
    config, result = finished_run
    run_dir = result.run_dir
    assert os.path.basename(run_dir).startswith("tiny-")
    with open(os.path.join(run_dir, "config.yaml")) as handle:
        stored = yaml.safe_load(handle)
    assert stored["tuner"]["max_trials"] == 3
    assert stored["model"]["space"]["units"] == {"values": [16, 32], "default": 16}
    assert os.path.exists(os.path.join(run_dir, "tuner", "oracle.json"))

    rows = read_csv(os.path.join(run_dir, "trials.csv"))
    assert [r["trial_id"] for r in rows] == ["0", "1", "2"]
    header = list(rows[0])
    for column in ("trial_id", "status", "units", "learning_rate", "dropout", "objective",
                   "best_epoch", "epochs_run", "seconds"):
        assert column in header
    for row in rows:
        assert row["status"] == "COMPLETED"
        assert 1 <= int(row["best_epoch"]) <= int(row["epochs_run"]) <= 2
        assert float(row["seconds"]) > 0
        history = read_csv(os.path.join(run_dir, "trials", row["trial_id"], "history.csv"))
        assert [h["epoch"] for h in history] == ["1", "2"][: int(row["epochs_run"])]
        assert {"loss", "val_loss", "accuracy", "val_accuracy", "learning_rate"} <= set(history[0])
        best_val = max(float(h["val_accuracy"]) for h in history)
        assert float(row["objective"]) == pytest.approx(best_val, abs=1e-5)


def test_best_model_reloads_and_matches_its_score(finished_run):
    config, result = finished_run
    best_dir = os.path.join(result.run_dir, "best")
    model = keras.saving.load_model(os.path.join(best_dir, "model.keras"))
    with open(os.path.join(best_dir, "evaluation.yaml")) as handle:
        evaluation = yaml.safe_load(handle)
    with open(os.path.join(best_dir, "hyperparameters.yaml")) as handle:
        best = yaml.safe_load(handle)
    from kt_toolkit.data import load_dataset

    data = load_dataset(config.data, seed=config.experiment.seed)
    scores = model.evaluate(data.x_val, data.y_val, verbose=0, return_dict=True)
    assert scores["accuracy"] == pytest.approx(evaluation["metrics"]["accuracy"], abs=1e-6)
    assert evaluation["samples"] == len(data.y_val)
    assert best["trial_id"] == result.best_trial_id
    assert best["objective"]["value"] == pytest.approx(scores["accuracy"], abs=1e-6)
    row = next(r for r in result.trials if r["trial_id"] == best["trial_id"])
    assert int(row["units"]) == best["hyperparameters"]["units"]


def _snapshot(run_dir):
    state = {}
    for root, _, files in os.walk(run_dir):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                state[os.path.relpath(path, run_dir)] = handle.read()
    return state


def test_resume_after_a_finished_search_adds_no_trials(make_config):
    config = make_config()
    first = run_experiment(config)
    trial_files = {k: v for k, v in _snapshot(first.run_dir).items()
                   if k.startswith("tuner/trial_") or k.startswith("trials/")}
    again = run_experiment(make_config())
    assert again.run_dir == first.run_dir
    assert len(again.trials) == len(first.trials) == 2
    after = _snapshot(again.run_dir)
    for name, content in trial_files.items():
        assert after[name] == content, name
    # A larger budget continues the same search: only the difference runs.
    more = run_experiment(make_config(tuner={"max_trials": 3}))
    assert more.run_dir == first.run_dir
    assert [r["trial_id"] for r in more.trials] == ["0", "1", "2"]


def test_other_settings_never_touch_an_existing_run(tmp_path, make_config):
    named = {"directory": str(tmp_path / "runs"), "run_name": "fixed"}
    first = run_experiment(make_config(output=named))
    before = _snapshot(first.run_dir)
    changed = make_config(output=named, model={"space": {"dropout": 0.2}})
    with pytest.raises(ConfigError, match=r"model\.space\.dropout") as caught:
        run_experiment(changed)
    assert "--overwrite" in str(caught.value)
    assert _snapshot(first.run_dir) == before
    # Without a run name, other settings get their own directory.
    other = run_experiment(make_config(model={"space": {"dropout": 0.2}}))
    assert other.run_dir != first.run_dir
    # --overwrite starts afresh.
    fresh = run_experiment(changed, overwrite=True)
    assert fresh.run_dir == first.run_dir and len(fresh.trials) == 2


def test_nan_trial_fails_with_reason_and_search_goes_on(make_config):
    space = _grid_space(units=16, optimizer="sgd", momentum=0.9, nesterov=False,
                        learning_rate=[1.0e4, 1.0e-2])
    result = run_experiment(make_config(model={"space": space},
                                        tuner={"algorithm": "grid", "max_trials": None}))
    statuses = {float(row["learning_rate"]): row for row in result.trials}
    failed = statuses[1.0e4]
    assert failed["status"] == "FAILED"
    assert ("nan" in failed["reason"] or "inf" in failed["reason"])
    assert "learning rate" in failed["reason"]
    assert failed["objective"] == ""
    assert statuses[0.01]["status"] == "COMPLETED"
    assert result.best_trial_id == statuses[0.01]["trial_id"]
    assert result.stopped_reason is None


def test_consecutive_failures_stop_the_search_with_reasons(make_config):
    space = _grid_space(units=16, optimizer="sgd", momentum=0.9, nesterov=False,
                        learning_rate=[1.0e4, 2.0e4, 5.0e4, 1.0e-2])
    config = make_config(model={"space": space},
                         tuner={"algorithm": "grid", "max_trials": None,
                                "max_consecutive_failed_trials": 3})
    result = run_experiment(config)
    assert [row["status"] for row in result.trials] == ["FAILED"] * 3
    assert "3 consecutive trials failed" in result.stopped_reason
    assert "diverged" in result.stopped_reason
    assert result.best_trial_id is None


def test_a_configuration_that_cannot_build_is_a_failed_trial(tmp_path, make_config):
    from kt_toolkit.data import load_dataset
    from kt_toolkit.hypermodels import HyperMLP
    from kt_toolkit.tuners import build_tuner

    class Fragile(HyperMLP):
        """A user's builder that cannot build 16-unit layers."""

        def build(self, hp):
            if self.declare(hp)["units"] == 16:
                raise ValueError("16 units are not supported by this builder")
            return super().build(hp)

    config = make_config(model={"space": _grid_space()},
                         tuner={"algorithm": "grid", "max_trials": None})
    data = load_dataset(config.data, seed=1)
    hypermodel = Fragile(data.input_shape, num_classes=10, space=config.model.space)
    run_dir = str(tmp_path / "fragile")
    tuner = build_tuner(config, hypermodel, run_dir, task="multiclass")  # must not raise
    tuner.search(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                 epochs=1, verbose=0)
    rows = {int(row["units"]): row for row in tuner.write_trials_table()}
    assert rows[16]["status"] == "FAILED"
    assert "ValueError: 16 units are not supported" in rows[16]["reason"]
    assert rows[32]["status"] == "COMPLETED"
    with open(os.path.join(run_dir, "trials", rows[32]["trial_id"], "meta.json")) as f:
        assert json.load(f)["seconds"] > 0
    assert np.isfinite(float(rows[32]["objective"]))
    # KerasTuner's own get_best_trials pads with failed trials; ours never does.
    assert [t.trial_id for t in tuner.best_trials(2)] == [rows[32]["trial_id"]]
    assert len(tuner.get_best_hyperparameters(2)) == 1


@pytest.mark.parametrize("error, words", [
    ("oom", "GPU out of memory at batch size"),
    ("fit", "RuntimeError: the data loader broke at batch 3"),
])
def test_an_exception_in_fit_or_out_of_memory_is_a_failed_trial(tmp_path, make_config,
                                                                error, words):
    import keras

    from kt_toolkit.data import load_dataset
    from kt_toolkit.hypermodels import HyperMLP
    from kt_toolkit.tuners import build_tuner

    def failure():
        if error == "oom" and keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            return tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")
        if error == "oom":  # each backend's own type: tests/tuners/test_oom.py
            pytest.skip("the TensorFlow OOM type; other backends in test_oom.py")
        return RuntimeError("the data loader broke at batch 3")

    class Greedy(HyperMLP):
        """Fails while training whenever it has 32 units."""

        def fit(self, hp, model, *args, **kwargs):
            if hp.get("units") == 32:
                raise failure()
            return super().fit(hp, model, *args, **kwargs)

    config = make_config(model={"space": _grid_space()},
                         tuner={"algorithm": "grid", "max_trials": None})
    data = load_dataset(config.data, seed=1)
    hypermodel = Greedy(data.input_shape, num_classes=10, space=config.model.space)
    tuner = build_tuner(config, hypermodel, str(tmp_path / "run"), task="multiclass")
    tuner.search(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                 epochs=1, verbose=0)
    rows = {int(row["units"]): row for row in tuner.write_trials_table()}
    assert rows[32]["status"] == "FAILED" and words in rows[32]["reason"]
    assert rows[16]["status"] == "COMPLETED"
    assert tuner.best_trials(1)[0].trial_id == rows[16]["trial_id"]


def test_bayesian_oracle_goes_on_past_nan_trials(make_config):
    # Gaussian-process fits must never see a NaN score (KerasTuner would crash in
    # `_vectorize_trials`): diverged trials are FAILED and left out.
    space = _grid_space(units=[16, 32], optimizer="sgd", momentum=0.9, nesterov=False,
                        learning_rate=[1.0e4, 3.0e4, 1.0e-2])
    result = run_experiment(make_config(
        model={"space": space},
        tuner={"algorithm": "bayesian", "max_trials": 5, "num_initial_points": 2,
               "max_consecutive_failed_trials": 5}))
    statuses = [row["status"] for row in result.trials]
    assert len(result.trials) >= 4 and "FAILED" in statuses and "COMPLETED" in statuses
    failed = [row for row in result.trials if row["status"] == "FAILED"]
    assert all(float(row["learning_rate"]) >= 1.0e4 and row["reason"] for row in failed)
    assert result.best_trial_id is not None and np.isfinite(result.best_score)
    assert float(result.best_hyperparameters["learning_rate"]) == 1.0e-2
