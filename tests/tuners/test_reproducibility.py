"""The same config and seed give the same hyperparameters and, on CPU, the same scores."""

import pytest

from kt_toolkit.experiment import run_experiment

ALGORITHMS = {
    "random": {"algorithm": "random", "max_trials": 3},
    "quasi_random": {"algorithm": "quasi_random", "max_trials": 3},
    "bayesian": {"algorithm": "bayesian", "max_trials": 3, "num_initial_points": 2},
    "tpe": {"algorithm": "tpe", "max_trials": 3, "num_initial_points": 2},
    "hyperband": {"algorithm": "hyperband", "max_epochs": 3, "factor": 3, "max_trials": 3},
}
SCORE_TOLERANCE = 1e-6  # CPU kernels are deterministic here; see the README


def _sequence(result):
    knobs = ("units", "learning_rate")
    return [(row["trial_id"], *(row[k] for k in knobs), row["status"], row["objective"])
            for row in result.trials]


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_same_seed_same_trials(tmp_path, config_in, algorithm):
    first = run_experiment(config_in(tmp_path / "a", tuner=ALGORITHMS[algorithm]))
    second = run_experiment(config_in(tmp_path / "b", tuner=ALGORITHMS[algorithm]))
    one, two = _sequence(first), _sequence(second)
    assert [row[:4] for row in one] == [row[:4] for row in two]  # the same settings
    for a, b in zip(one, two):
        assert float(a[4]) == pytest.approx(float(b[4]), abs=SCORE_TOLERANCE)
