"""Quasi-random search: the oracle driven as KerasTuner drives it, and a real search."""

import collections
import json
import math
import os

import keras_tuner
import numpy as np
import pytest
from scipy.stats import qmc

from kt_toolkit.compat.keras_tuner import first_values
from kt_toolkit.config.knobs import SCHEDULE_NAMES
from kt_toolkit.rundir import PROJECT_NAME
from kt_toolkit.errors import ConfigError
from kt_toolkit.experiment import run_experiment
from kt_toolkit.tuners import QuasiRandomOracle, build_tuner


def _oracle(directory, space, *, seed=1, max_trials=64, cls=QuasiRandomOracle, **kwargs):
    oracle = cls(objective=keras_tuner.Objective("score", "max"), max_trials=max_trials,
                 seed=seed, hyperparameters=space, **kwargs)
    oracle._set_project_dir(str(directory), "project")
    oracle.verbose = 0
    return oracle


def _run(oracle, count):
    """Creates and completes up to `count` trials; returns their values."""
    values = []
    for _ in range(count):
        trial = oracle.create_trial("tuner0")
        if trial.status != "RUNNING":
            break
        oracle.update_trial(trial.trial_id, {"score": 0.5})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
        values.append(dict(trial.hyperparameters.values))
    return values


def _floats():
    hp = keras_tuner.HyperParameters()
    hp.Float("learning_rate", 1e-5, 1e-1, sampling="log")
    hp.Float("dropout", 0.0, 0.5)
    hp.Float("momentum", 0.8, 0.99)
    return hp


def _unit_cube(space, values):
    # value_to_prob is KerasTuner's CDF: log-aware for the learning rate.
    return np.array([[hp.value_to_prob(v[hp.name]) for hp in space.space] for v in values])


def _discrepancies(tmp_path, cls, seeds, count=64):
    return [qmc.discrepancy(_unit_cube(_floats(), _run(_oracle(
        tmp_path / f"{cls.__name__}{seed}", _floats(), seed=seed, max_trials=count, cls=cls),
        count))) for seed in seeds]


def test_points_cover_the_space_more_evenly_than_random_search(tmp_path):
    # KerasTuner's random search seeds knob k of trial t with `seed + 3t + k`:
    # seeds 1 and 2 give the same numbers shifted by one knob. Spaced seeds
    # give independent random samples.
    seeds = [1 + 1000 * k for k in range(5)]
    quasi = _discrepancies(tmp_path, QuasiRandomOracle, seeds)
    random = _discrepancies(tmp_path, keras_tuner.oracles.RandomSearchOracle, seeds)
    # Measured (centered L2 discrepancy, 64 trials): quasi-random 6.8e-4 to 1.3e-3
    # (mean 8.4e-4), random search 7.5e-3 to 1.8e-2 (mean 1.2e-2).
    assert max(quasi) < min(random)
    assert np.mean(quasi) < 0.2 * np.mean(random)


def test_same_seed_same_values_other_seed_other_values(tmp_path):
    first = _run(_oracle(tmp_path / "a", _floats(), seed=7), 8)
    again = _run(_oracle(tmp_path / "b", _floats(), seed=7), 8)
    other = _run(_oracle(tmp_path / "c", _floats(), seed=8), 8)
    assert len(first) == 8 and first == again
    assert all(a != b for a, b in zip(first, other))
    # KerasTuner turns a seed of 0 into a random one; this oracle keeps it.
    zero = [_run(_oracle(tmp_path / f"z{i}", _floats(), seed=0), 4) for i in range(2)]
    assert zero[0] == zero[1]


def _mixed():
    hp = keras_tuner.HyperParameters()
    hp.Float("learning_rate", 1e-5, 1e-1, sampling="log")
    hp.Float("dropout", 0.0, 0.5, step=0.1)
    hp.Int("units", 16, 256, step=16)
    hp.Int("num_layers", 1, 4)
    hp.Int("filters", 8, 128, step=2, sampling="log")
    hp.Choice("activation", ["relu", "tanh", "gelu"])
    hp.Boolean("batch_norm")
    hp.Fixed("epsilon", 1e-7)
    return hp


def test_values_respect_log_scales_steps_integers_and_choices(tmp_path):
    values = _run(_oracle(tmp_path, _mixed()), 64)
    assert len(values) == 64
    column = {name: [v[name] for v in values] for name in values[0]}
    assert all(1e-5 <= x <= 1e-1 for x in column["learning_rate"])
    # KerasTuner's own step grid (what grid and random search use too): 0.0 ... 0.4,
    # with its float artefacts (0.30000000000000004); (0.5 - 0.0) // 0.1 == 4.0 in
    # floating point, so KerasTuner never reaches 0.5 with this range.
    dropout = next(hp for hp in _mixed().space if hp.name == "dropout")
    assert set(column["dropout"]) == set(dropout.values)
    assert all(abs(10 * x - round(10 * x)) < 1e-9 for x in column["dropout"])
    assert set(column["units"]) == set(range(16, 257, 16))
    assert set(column["filters"]) == {8, 16, 32, 64, 128}
    assert all(isinstance(x, int) for x in column["units"] + column["filters"]
               + column["num_layers"])
    assert set(column["epsilon"]) == {1e-7}
    # Halton's one-dimensional projections are stratified (the learning rate is the
    # base-2 dimension: 64 points put exactly one point in each 1/64 of its axis),
    # so the counts are about as even as they can be; random search's are not.
    logs = np.log10(column["learning_rate"])
    assert sum(logs < -3) == 32  # below the geometric midpoint of [1e-5, 1e-1]
    assert np.histogram(logs, bins=4, range=(-5, -1))[0].tolist() == [16] * 4

    def counts(name):
        return sorted(collections.Counter(column[name]).values())

    assert 15 <= counts("num_layers")[0] and counts("num_layers")[-1] <= 17
    assert len(counts("units")) == 16 and 2 <= counts("units")[0]
    assert counts("units")[-1] <= 6
    for name in ("dropout", "filters"):
        assert 12 <= counts(name)[0] and counts(name)[-1] <= 14, name
    assert 19 <= counts("activation")[0] and counts("activation")[-1] <= 23
    assert 30 <= column["batch_norm"].count(True) <= 34


def test_resume_continues_the_sequence(tmp_path):
    uninterrupted = _run(_oracle(tmp_path / "whole", _mixed()), 9)

    killed = _oracle(tmp_path / "resumed", _mixed())
    before = _run(killed, 5)
    running = killed.create_trial("tuner0")  # the process dies during this trial
    with open(os.path.join(tmp_path, "resumed", "project", "oracle.json")) as handle:
        assert json.load(handle)["sequence_index"] == 6

    resumed = _oracle(tmp_path / "resumed", _mixed(), seed=None)  # seed comes from state
    resumed.reload()
    # Without the saved index, the duplicate check would skip the six used points
    # again and give the same values: the index itself must come back.
    assert resumed.sequence_index == 6 and resumed.seed == 1
    retried = resumed.create_trial("tuner0")
    assert retried.trial_id == running.trial_id
    assert retried.hyperparameters.values == running.hyperparameters.values
    resumed.update_trial(retried.trial_id, {"score": 0.5})
    retried.status = "COMPLETED"
    resumed.end_trial(retried)
    after = _run(resumed, 3)
    assert before + [dict(retried.hyperparameters.values)] + after == uninterrupted
    assert resumed.sequence_index == 9


@pytest.mark.parametrize("sizes, duplicates", [((2, 2), 1000), ((3, 5, 7), 1000),
                                               ((3, 5, 7), 1)])
def test_a_finite_space_stops_when_every_configuration_was_tried(tmp_path, sizes, duplicates):
    # With one duplicate draw allowed, the last cells come from the listed space.
    hp = keras_tuner.HyperParameters()
    for position, size in enumerate(sizes):
        hp.Choice(f"knob{position}", list(range(size)))
    oracle = _oracle(tmp_path, hp, max_trials=1000, max_duplicate_draws=duplicates)
    values = _run(oracle, 1000)
    assert len(values) == math.prod(sizes)
    assert len({tuple(sorted(v.items())) for v in values}) == len(values)
    assert oracle.create_trial("tuner0").status == "STOPPED"


def test_a_finite_conditional_space_counts_only_active_knobs(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Choice("optimizer", ["adam", "sgd"])
    with hp.conditional_scope("optimizer", ["sgd"]):
        hp.Choice("momentum", [0.0, 0.9])
    values = _run(_oracle(tmp_path, hp), 10)
    assert sorted(map(str, values)) == sorted(map(str, [
        {"optimizer": "adam"}, {"optimizer": "sgd", "momentum": 0.0},
        {"optimizer": "sgd", "momentum": 0.9}]))


def test_conditional_knobs_of_the_default_mlp_space(tmp_path):
    from kt_toolkit.hypermodels import HyperMLP

    space = keras_tuner.HyperParameters()
    # The default MLP space with every optimizer and schedule opened: each brings
    # conditional knobs (sgd's momentum and nesterov, exponential's decay_rate…).
    HyperMLP((64,), num_classes=10, space={
        "optimizer": ["adam", "adamw", "nadam", "sgd", "rmsprop", "adagrad", "adadelta"],
        "lr_schedule": list(SCHEDULE_NAMES)}).declare(space)
    conditional = [hp for hp in space.space if hp.conditions]
    assert conditional  # the test would prove nothing without them
    values = _run(_oracle(tmp_path, space), 64)
    assert len(values) == 64
    for trial in values:
        for hp in space.space:
            active = all(c.is_active(trial) for c in hp.conditions)
            assert (hp.name in trial) == active, (hp.name, trial)
    for hp in conditional:
        if not isinstance(hp, keras_tuner.engine.hyperparameters.Fixed):
            drawn = {trial[hp.name] for trial in values if hp.name in trial}
            # Each active conditional knob varies. A scrambled Sobol' sequence fails
            # here: every sgd trial gets the same nesterov (see quasi_random.py).
            assert len(drawn) > 1, hp.name


def test_knobs_added_after_the_first_trials_get_their_own_dimension(tmp_path):
    def grown_run(directory):
        oracle = _oracle(directory, _floats())
        first = _run(oracle, 4)
        later = keras_tuner.HyperParameters()  # as end_trial merges a built model's space
        later.Choice("units", [16, 32, 64, 128])
        oracle.update_space(later)
        return oracle, first + _run(oracle, 12)

    oracle, values = grown_run(tmp_path / "a")
    assert ["units" in v for v in values] == [False] * 4 + [True] * 12
    assert {v["units"] for v in values[4:]} == {16, 32, 64, 128}
    assert oracle.sequence_index == 16  # the sequence went on; nothing restarted
    assert grown_run(tmp_path / "b")[1] == values


def test_max_duplicate_draws_is_checked():
    with pytest.raises(ConfigError, match="max_duplicate_draws"):
        QuasiRandomOracle(objective="score", max_duplicate_draws=0)


def _stored_trials(run_dir):
    directory = os.path.join(run_dir, PROJECT_NAME)  # KerasTuner's project
    names = sorted(n for n in os.listdir(directory) if n.startswith("trial_"))
    values = []
    for name in names:
        with open(os.path.join(directory, name, "trial.json")) as handle:
            values.append(json.load(handle)["hyperparameters"]["values"])
    with open(os.path.join(directory, "oracle.json")) as handle:
        return values, json.load(handle)


def test_real_search_and_its_resume_follow_the_sequence(tmp_path, make_config):
    result = run_experiment(make_config(tuner={"algorithm": "quasi_random", "max_trials": 3}))
    assert len(result.trials) == 3 and result.count("COMPLETED") == 3
    rates = [float(row["learning_rate"]) for row in result.trials]
    assert len(set(rates)) == 3 and all(1e-3 <= r <= 1e-2 for r in rates)
    # A larger budget resumes the run: one more trial, the sequence's next point.
    more = run_experiment(make_config(tuner={"algorithm": "quasi_random", "max_trials": 4}))
    assert more.run_dir == result.run_dir and more.count("COMPLETED") == 4
    stored, state = _stored_trials(result.run_dir)
    assert state["sequence_index"] == 3  # trial 0 was the space's defaults
    # The same points as an oracle that was never interrupted, on the run's space
    # (the default MLP space: conditional knobs included).
    space = keras_tuner.HyperParameters.from_config(state["hyperparameters"])
    assert any(hp.conditions for hp in space.space)
    oracle = _oracle(tmp_path / "fresh", space, seed=state["seed"], max_trials=3)
    assert stored[0] == first_values(oracle)
    assert stored[1:] == _run(oracle, 3)


def test_build_tuner_makes_a_quasi_random_search(tmp_path, make_config):
    from kt_toolkit.hypermodels import HyperMLP
    from kt_toolkit.tuners import QuasiRandomSearch

    config = make_config(tuner={"algorithm": "quasi_random", "max_trials": None})
    hypermodel = HyperMLP((64,), num_classes=10, space=config.model.space)
    tuner = build_tuner(config, hypermodel, str(tmp_path / "run"), task="multiclass")
    assert isinstance(tuner, QuasiRandomSearch)
    assert isinstance(tuner.oracle, QuasiRandomOracle)
    assert tuner.oracle.max_trials == 10 and tuner.oracle.seed == config.tuner.seed
