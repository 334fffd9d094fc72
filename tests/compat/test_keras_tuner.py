"""kt_toolkit.compat.keras_tuner: what each small workaround relies on in keras-tuner 1.4.x."""

import json
import os

import keras_tuner
import pytest
from compat_helpers import end, in_project, space

from kt_toolkit.compat import is_consecutive_failure, quiet_backends
from kt_toolkit.compat.keras_tuner import (filtered_native_logs, set_oracle_seed, tried_hashes,
                                          values_hash, was_tried)

SCORE = keras_tuner.Objective("score", "max")


def test_consecutive_failure_error_is_recognised(tmp_path):
    oracle = in_project(keras_tuner.oracles.RandomSearchOracle(
        objective=SCORE, max_trials=10, seed=1, hyperparameters=space(),
        max_consecutive_failed_trials=2), tmp_path)
    end(oracle, oracle.create_trial("tuner0"), "FAILED")
    with pytest.raises(RuntimeError) as raised:
        end(oracle, oracle.create_trial("tuner0"), "FAILED")
    assert is_consecutive_failure(raised.value)
    assert not is_consecutive_failure(RuntimeError("something else"))
    assert not is_consecutive_failure(ValueError("2 consecutive failures"))


def test_quiet_backends_turns_keras_tuner_debug_off(tmp_path, monkeypatch, capsys):
    from keras_tuner.src import config as keras_tuner_config

    class Failing(keras_tuner.Tuner):
        def run_trial(self, trial, *args, **kwargs):
            raise keras_tuner.errors.FailedTrialError("no luck")

    def search(name):
        tuner = Failing(oracle=keras_tuner.oracles.RandomSearchOracle(
            objective=SCORE, max_trials=1, seed=1, hyperparameters=space()),
            directory=str(tmp_path), project_name=name)
        tuner.search(verbose=0)
        return capsys.readouterr().err

    monkeypatch.setattr(keras_tuner_config, "DEBUG", True)
    assert "FailedTrialError: no luck" in search("debug")  # the traceback it prints
    quiet_backends()
    assert keras_tuner_config.DEBUG is False
    assert "no luck" not in search("quiet")


NATIVE = [b"WARNING: All log messages before absl::InitializeLog() is called are written "
          b"to STDERR\n",
          b"I0000 00:00:1796188046.639329   21588 port.cc:153] oneDNN custom operations are "
          b"on.\n",
          b"W0000 00:00:1796188046.639695   21588 some.cc:1] a warning\n",
          b"E0000 00:00:1796188046.639695   21588 some.cc:2] a real error\n",
          b"plain text from a library\n"]


@pytest.mark.parametrize("level, shown", [("3", [4]), ("2", [3, 4]), ("0", [0, 1, 2, 3, 4])])
def test_filtered_native_logs_keeps_what_the_level_allows(monkeypatch, capfd, level, shown):
    """TensorFlow 2.21 writes its absl lines to descriptor 2 at import, whatever
    TF_CPP_MIN_LOG_LEVEL says; the filter applies the level to them (and only them)."""
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", level)
    with pytest.raises(ValueError, match="raised inside"):
        with filtered_native_logs():
            for line in NATIVE:
                os.write(2, line)
            raise ValueError("raised inside")  # descriptor 2 is restored all the same
    os.write(2, b"after\n")
    expected = b"".join(NATIVE[i] for i in shown) + b"after\n"
    assert capfd.readouterr().err == expected.decode()


def test_set_oracle_seed_keeps_zero_and_the_saved_seed_state(tmp_path):
    oracle = keras_tuner.oracles.RandomSearchOracle(objective=SCORE, seed=0,
                                                    hyperparameters=space())
    assert oracle.seed != 0  # KerasTuner 1.4.8 replaces a seed of 0
    set_oracle_seed(in_project(oracle, tmp_path), 0)
    assert oracle.seed == 0
    state = oracle.get_state()
    assert state["seed"] == 0 and state["seed_state"] == 0
    first = oracle.create_trial("tuner0").hyperparameters.values  # drawn from seed_state 0
    again = in_project(keras_tuner.oracles.RandomSearchOracle(
        objective=SCORE, seed=0, hyperparameters=space()), tmp_path / "again")
    set_oracle_seed(again, 0)
    assert again.create_trial("tuner0").hyperparameters.values == first
    oracle.save()
    saved = json.loads((tmp_path / "project" / "oracle.json").read_text())
    assert saved["seed"] == 0 and saved["seed_state"] > 0  # `_random_values` continued


def test_tried_values_are_recognised_by_their_hash(tmp_path):
    oracle = in_project(keras_tuner.oracles.RandomSearchOracle(
        objective=SCORE, max_trials=10, seed=1, hyperparameters=space()), tmp_path)
    trial = oracle.create_trial("tuner0")
    values = dict(trial.hyperparameters.values)
    assert was_tried(oracle, values)
    assert values_hash(oracle, values) in tried_hashes(oracle)
    assert not was_tried(oracle, {"x": (values["x"] + 1) % 100})
    assert isinstance(tried_hashes(oracle), set)
    assert set(oracle.get_state()["tried_so_far"]) == tried_hashes(oracle)  # what is saved
    # Hyperband's hash leaves its bookkeeping values out.
    hyperband = keras_tuner.oracles.HyperbandOracle(objective=SCORE, max_epochs=3)
    assert values_hash(hyperband, {"x": 1, "tuner/epochs": 3}) == values_hash(
        hyperband, {"x": 1})


@pytest.mark.parametrize("builder", ["mlp", "cnn"])
def test_activate_all_conditions_declares_the_space_a_build_does(tmp_path, builder):
    """The declare-only loop finds the same knobs, conditions and ranges as KerasTuner's
    build-per-condition loop, without building a model."""
    from kt_toolkit.compat.keras_tuner import activate_all_conditions
    from kt_toolkit.hypermodels import get_builder

    shape = (8, 8, 1) if builder == "cnn" else (6,)
    hypermodel = get_builder(builder)(shape, task="multiclass", num_classes=3)
    assert hypermodel.declares_whole_space

    built = keras_tuner.RandomSearch(hypermodel, objective="val_loss", max_trials=1,
                                     directory=str(tmp_path), project_name="built")
    declared = keras_tuner.Oracle(objective="val_loss", max_trials=1)
    builds = []
    original = type(hypermodel).build
    type(hypermodel).build = lambda self, hp: builds.append(hp) or original(self, hp)
    try:
        activate_all_conditions(declared, hypermodel.declare)
    finally:
        type(hypermodel).build = original
    assert builds == []

    def described(oracle):
        return sorted((hp.name, json.dumps(hp.get_config(), sort_keys=True, default=str))
                      for hp in oracle.get_space().space)

    assert described(declared) == described(built.oracle)
    assert len(declared.get_space().space) > 10


def test_a_builder_that_overrides_build_is_explored_by_builds():
    from kt_toolkit.hypermodels import get_builder

    class Custom(get_builder("mlp")):
        def build(self, hp):
            hp.Int("extra", 1, 3)
            return super().build(hp)

    assert not Custom((4,), task="binary").declares_whole_space
