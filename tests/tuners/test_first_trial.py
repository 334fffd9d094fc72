"""Trial 0 of every algorithm is the space's default configuration, and only trial 0."""

import keras
import keras_tuner
import pytest

from kt_toolkit.rundir import PROJECT_NAME
from kt_toolkit.tuners import (QuasiRandomSearch, RecordingBayesianOptimization,
                               RecordingGridSearch, RecordingHyperband, RecordingRandomSearch,
                               TPESearch)

DEFAULTS = {"x": 0.3, "optimizer": "adam", "units": 64}


class Defaults(keras_tuner.HyperModel):
    """Knobs whose defaults are not their first or lowest values; `momentum` is conditional."""

    def build(self, hp):
        hp.Float("x", 0.0, 1.0, default=0.3)
        optimizer = hp.Choice("optimizer", ["sgd", "adam", "rmsprop"], default="adam")
        with hp.conditional_scope("optimizer", ["sgd"]):
            hp.Float("momentum", 0.0, 0.99, default=0.9)
        hp.Choice("units", [16, 32, 64, 128], default=64)
        del optimizer
        return keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])

    def fit(self, hp, model, *args, **kwargs):
        return {"score": hp["x"]}


TUNERS = {
    "random": (RecordingRandomSearch, {"max_trials": 6}),
    "bayesian": (RecordingBayesianOptimization, {"max_trials": 4, "num_initial_points": 2}),
    "hyperband": (RecordingHyperband, {"max_epochs": 9, "factor": 3, "max_trials": 6}),
    "grid": (RecordingGridSearch, {"max_trials": 6}),
    "quasi_random": (QuasiRandomSearch, {"max_trials": 6}),
    "tpe": (TPESearch, {"max_trials": 6, "num_initial_points": 2}),
}


@pytest.mark.parametrize("algorithm", sorted(TUNERS))
def test_trial_zero_is_the_default_configuration(tmp_path, algorithm):
    cls, extra = TUNERS[algorithm]
    tuner = cls(Defaults(), objective=keras_tuner.Objective("score", "max"), seed=5,
                directory=str(tmp_path), project_name=PROJECT_NAME, run_dir=str(tmp_path),
                **extra)
    tuner.search(verbose=0)
    trials = sorted(tuner.oracle.trials.values(), key=lambda t: int(t.trial_id))
    assert len(trials) >= 4

    def values(trial):
        return {k: v for k, v in trial.hyperparameters.values.items()
                if not k.startswith("tuner/")}

    assert values(trials[0]) == DEFAULTS  # momentum is inactive: adam
    if algorithm != "hyperband":  # Hyperband trains a promising trial again, by design
        assert all(values(t) != DEFAULTS for t in trials[1:])


def test_a_resumed_search_does_not_start_over_from_the_defaults(tmp_path):
    def tuner():
        return RecordingRandomSearch(Defaults(), objective=keras_tuner.Objective("score", "max"),
                                     max_trials=3, seed=5, directory=str(tmp_path),
                                     project_name=PROJECT_NAME, run_dir=str(tmp_path))

    first = tuner()
    first.search(verbose=0)
    again = tuner()
    again.oracle.max_trials = 6
    again.search(verbose=0)
    trials = sorted(again.oracle.trials.values(), key=lambda t: int(t.trial_id))
    assert len(trials) == 6
    assert [t.hyperparameters.values for t in trials].count(DEFAULTS) == 1
