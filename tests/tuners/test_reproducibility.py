"""The same config and seed give the same hyperparameters and, on CPU, the same scores."""

import pytest

from kt_toolkit.experiment import run_experiment
from kt_toolkit.rundir import RunDirectory

GRID_SPACE = {"num_layers": 1, "units": [16, 32], "optimizer": "adam",  # 4 settings
              "learning_rate": [1e-3, 1e-2], "batch_norm": False, "regularizer": "none",
              "dropout": 0.0, "activation": "relu", "kernel_initializer": "glorot_uniform",
              "lr_schedule": "constant"}
ALGORITHMS = {  # every one of kt_toolkit.config.schema.ALGORITHMS
    "random": {"tuner": {"algorithm": "random", "max_trials": 3}},
    "quasi_random": {"tuner": {"algorithm": "quasi_random", "max_trials": 3}},
    "bayesian": {"tuner": {"algorithm": "bayesian", "max_trials": 3, "num_initial_points": 2}},
    "tpe": {"tuner": {"algorithm": "tpe", "max_trials": 3, "num_initial_points": 2}},
    "hyperband": {"tuner": {"algorithm": "hyperband", "max_epochs": 3, "factor": 3,
                            "max_trials": 3}},
    # No seed picks grid's settings: the weights' seed alone makes its scores repeat.
    "grid": {"tuner": {"algorithm": "grid", "max_trials": 3}, "model": {"space": GRID_SPACE}},
}
SCORE_TOLERANCE = 1e-6  # CPU kernels are deterministic here; see the README


def _trials(result):
    """(trial id, status, every hyperparameter value, score) of each trial, in order."""
    run = RunDirectory(result.run_dir)
    trials = []
    for row in result.trials:
        record = run.trial_record(row["trial_id"])
        trials.append((row["trial_id"], row["status"], record["hyperparameters"]["values"],
                       record["score"]))
    return trials


def test_every_algorithm_is_checked():
    from kt_toolkit.config.schema import ALGORITHMS as NAMES

    assert sorted(ALGORITHMS) == sorted(NAMES)


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_same_seed_same_trials(tmp_path, config_in, algorithm):
    first = run_experiment(config_in(tmp_path / "a", **ALGORITHMS[algorithm]))
    second = run_experiment(config_in(tmp_path / "b", **ALGORITHMS[algorithm]))
    one, two = _trials(first), _trials(second)
    assert len(one) == len(two) == 3
    for a, b in zip(one, two):
        assert a[1] == "COMPLETED"
        assert a[:3] == b[:3]  # the same trial, with the same value of every knob
        assert len(a[2]) >= 10  # the builder's whole space, not only the tuned knobs
        assert b[3] == pytest.approx(a[3], abs=SCORE_TOLERANCE)
    # The settings vary between trials (the seed chose them; grid's 3 of its 4).
    assert len({repr(sorted(trial[2].items())) for trial in one}) == 3
