"""TPE search: the oracle driven as KerasTuner drives it, a tuner, and a real search."""

import json
import math
import os

import keras
import keras_tuner
import optuna
import pytest
from keras_tuner.engine import hyperparameters as hp_module

from kt_toolkit.errors import ConfigError
from kt_toolkit.experiment import run_experiment
from kt_toolkit.rundir import PROJECT_NAME
from kt_toolkit.tuners import TPEOracle, TPESearch, build_tuner
from kt_toolkit.tuners.tpe import _frozen_trial, _Knob


def _oracle(directory, space, *, seed=1, max_trials=100, direction="max", **kwargs):
    oracle = TPEOracle(objective=keras_tuner.Objective("score", direction),
                       max_trials=max_trials, seed=seed, hyperparameters=space, **kwargs)
    oracle._set_project_dir(str(directory), "project")
    oracle.verbose = 0
    return oracle


def _end(oracle, trial, score):
    oracle.update_trial(trial.trial_id, {"score": score(trial.hyperparameters.values)})
    trial.status = "COMPLETED"
    oracle.end_trial(trial)


def _run(oracle, count, score=lambda values: 0.5):
    """Creates and completes up to `count` trials, scored by `score(values)`."""
    values = []
    for _ in range(count):
        trial = oracle.create_trial("tuner0")
        if trial.status != "RUNNING":
            break
        values.append(dict(trial.hyperparameters.values))
        _end(oracle, trial, score)
    return values


def _peaked(values):
    return -abs(values["x"] - 0.8)  # best at x = 0.8


def _space():
    hp = keras_tuner.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    hp.Float("y", 0.0, 1.0)
    hp.Choice("colour", ["red", "green", "blue"])
    return hp


def _mlp_space():
    from kt_toolkit.hypermodels import HyperMLP

    space = keras_tuner.HyperParameters()
    # The default MLP space with SGD opened (its conditional momentum and nesterov).
    HyperMLP((64,), num_classes=10, space={"optimizer": [
        "adam", "adamw", "nadam", "sgd", "rmsprop", "adagrad", "adadelta"]}).declare(space)
    return space


@pytest.mark.parametrize("direction", ["max", "min"])
def test_tpe_concentrates_on_the_good_region(tmp_path, direction):
    sign = 1 if direction == "max" else -1
    values = _run(_oracle(tmp_path, _space(), direction=direction, num_initial_points=10),
                  40, lambda v: sign * _peaked(v))
    assert len(values) == 40
    distance = [abs(v["x"] - 0.8) for v in values]
    # Uniform x: E|x - 0.8| = (0.8**2 + 0.2**2) / 2 = 0.34. Measured over seeds 0-9,
    # trials 20-39: 0.08 to 0.14 (Optuna 5.0).
    later = sum(distance[20:]) / 20
    assert later < 0.2
    assert later < 0.6 * sum(distance[:10]) / 10  # the random startup trials


def test_conditional_knobs_are_set_only_when_active(tmp_path):
    space = _mlp_space()
    conditional = [hp.name for hp in space.space
                   if hp.conditions and not isinstance(hp, hp_module.Fixed)]
    assert "momentum" in conditional  # the test would prove nothing without them
    oracle = _oracle(tmp_path, space, num_initial_points=10)
    # Only sgd's momentum scores: TPE must learn a knob that half its history lacks.
    values = _run(oracle, 40, lambda v: v["momentum"] if v["optimizer"] == "sgd" else 0.0)
    assert len(values) == 40
    knobs = {hp.name: _Knob(hp) for hp in space.space if not isinstance(hp, hp_module.Fixed)}
    for trial_values, trial in zip(values, oracle.trials.values()):
        for hp in space.space:
            active = all(c.is_active(trial_values) for c in hp.conditions)
            assert (hp.name in trial_values) == active, (hp.name, trial_values)
        # Every active tunable value reached Optuna's history, and nothing else did.
        frozen = _frozen_trial(trial, knobs)
        assert set(frozen.params) == set(trial_values) & set(knobs)
    # Random search would pick sgd in 1 of 7 trials (~3 of 20), momentum 0.5 on average.
    # Measured over seeds 0-4, trials 20-39: 13-15 sgd trials, momentum 0.80-0.88.
    sgd = [v["momentum"] for v in values[20:] if v["optimizer"] == "sgd"]
    assert len(sgd) >= 10 and sum(sgd) / len(sgd) > 0.7


def test_same_seed_same_trials_other_seed_other_trials(tmp_path):
    def trials(name, seed):
        return _run(_oracle(tmp_path / name, _space(), seed=seed, num_initial_points=4), 10,
                    _peaked)

    first = trials("a", 7)
    assert len(first) == 10 and first == trials("b", 7)
    other = trials("c", 8)
    assert all(a != b for a, b in zip(first, other))
    # KerasTuner turns a seed of 0 into a random one; this oracle keeps it.
    assert trials("z0", 0) == trials("z1", 0)


def _mixed():
    hp = keras_tuner.HyperParameters()
    hp.Float("learning_rate", 1e-5, 1e-1, sampling="log")
    hp.Float("decay", 0.1, 10.0, sampling="reverse_log")
    hp.Float("dropout", 0.0, 0.5, step=0.1)
    hp.Int("units", 16, 250, step=16)
    hp.Int("num_layers", 1, 4)
    hp.Int("filters", 8, 128, step=2, sampling="log")
    hp.Int("heads", 1, 64, sampling="log")
    hp.Choice("activation", ["relu", "tanh", "gelu"])
    hp.Boolean("batch_norm")
    hp.Fixed("epsilon", 1e-7)
    return hp


def test_values_respect_log_scales_steps_integers_and_choices(tmp_path):
    oracle = _oracle(tmp_path, _mixed(), num_initial_points=5)
    values = _run(oracle, 30, lambda v: v["dropout"] - abs(math.log10(v["learning_rate"]) + 3))
    assert len(values) == 30
    column = {name: [v[name] for v in values] for name in values[0]}
    space = {hp.name: hp for hp in _mixed().space}
    assert all(1e-5 <= x <= 1e-1 for x in column["learning_rate"])
    assert all(0.1 <= x <= 10.0 for x in column["decay"])
    # reverse_log crowds its values near the top: below the middle of the range is rare.
    assert sum(x < 5.05 for x in column["decay"]) < 10
    # KerasTuner's own grids, float artefacts included (0.30000000000000004), and only
    # them: (0.5 - 0.0) // 0.1 == 4.0 in floating point, so KerasTuner stops at 0.4.
    assert set(column["dropout"]) <= set(space["dropout"].values)
    assert set(column["units"]) <= set(range(16, 241, 16))  # 250 is off the step grid
    assert set(column["filters"]) <= {8, 16, 32, 64, 128}
    assert all(1 <= x <= 64 for x in column["heads"] + column["num_layers"])
    assert all(type(x) is int for x in column["units"] + column["filters"]
               + column["num_layers"] + column["heads"])
    assert set(column["activation"]) <= {"relu", "tanh", "gelu"}
    assert set(column["epsilon"]) == {1e-7}
    assert len(set(column["filters"])) > 2 and len(set(column["activation"])) > 1
    # TPE found the scored region: the largest dropout and a learning rate near 1e-3.
    assert column["dropout"][-10:].count(0.4) >= 5
    knobs = {name: _Knob(hp) for name, hp in space.items() if name != "epsilon"}
    for trial in oracle.trials.values():
        assert set(_frozen_trial(trial, knobs).params) == set(knobs)


@pytest.mark.filterwarnings("ignore:All-NaN:RuntimeWarning")  # KerasTuner, on the NaN score
def test_history_keeps_scored_and_running_trials_and_leaves_out_the_rest(tmp_path):
    space = _space()
    oracle = _oracle(tmp_path, space)
    trials = [oracle.create_trial(f"tuner{i}") for i in range(4)]
    _end(oracle, trials[0], _peaked)
    oracle.update_trial(trials[1].trial_id, {"score": float("nan")})
    trials[1].status = "COMPLETED"
    oracle.end_trial(trials[1])
    trials[2].status = "FAILED"
    oracle.end_trial(trials[2])
    knobs = {hp.name: _Knob(hp) for hp in space.space}
    frozen = [_frozen_trial(oracle.trials[t.trial_id], knobs) for t in trials]
    assert frozen[0].state == optuna.trial.TrialState.COMPLETE
    assert frozen[0].value == pytest.approx(_peaked(trials[0].hyperparameters.values))
    assert frozen[1] is None and frozen[2] is None  # NaN score, failed
    assert frozen[3].state == optuna.trial.TrialState.RUNNING  # another worker's
    assert frozen[3].params == trials[3].hyperparameters.values
    # A value outside the current range (a range narrowed before a resume) is left out.
    oracle.trials[trials[0].trial_id].hyperparameters.values["x"] = 1.5
    assert set(_frozen_trial(oracle.trials[trials[0].trial_id], knobs).params) == {
        "y", "colour"}


def test_resume_continues_as_an_uninterrupted_search(tmp_path):
    uninterrupted = _run(_oracle(tmp_path / "whole", _mixed(), num_initial_points=3), 10,
                         _peaked_rate)

    killed = _oracle(tmp_path / "resumed", _mixed(), num_initial_points=3)
    before = _run(killed, 5, _peaked_rate)
    running = killed.create_trial("tuner0")  # the process dies during this trial
    resumed = _oracle(tmp_path / "resumed", _mixed(), seed=None, num_initial_points=3)
    resumed.reload()  # the seed comes from the state
    assert resumed.seed == 1
    retried = resumed.create_trial("tuner0")
    assert retried.trial_id == running.trial_id
    assert retried.hyperparameters.values == running.hyperparameters.values
    _end(resumed, retried, _peaked_rate)
    after = _run(resumed, 4, _peaked_rate)
    whole = before + [dict(retried.hyperparameters.values)] + after
    assert whole == uninterrupted
    assert len(resumed.trials) == 10
    assert len({json.dumps(v, sort_keys=True) for v in whole}) == 10  # no repeats


def _peaked_rate(values):
    return -abs(math.log10(values["learning_rate"]) + 3)


@pytest.mark.parametrize("conditional", [False, True])
def test_a_small_finite_space_ends_with_stopped(tmp_path, conditional):
    hp = keras_tuner.HyperParameters()
    hp.Choice("optimizer", ["adam", "sgd", "rmsprop"])
    hp.Boolean("batch_norm")
    size = 6
    if conditional:
        with hp.conditional_scope("optimizer", ["sgd"]):
            hp.Choice("momentum", [0.0, 0.9])
        size = 8  # adam and rmsprop 2 each, sgd 2 x 2
    oracle = _oracle(tmp_path, hp, num_initial_points=2)
    values = _run(oracle, 100, lambda v: float(v["batch_norm"]))
    assert len(values) == size
    assert len({json.dumps(v, sort_keys=True) for v in values}) == size
    assert oracle.create_trial("tuner0").status == "STOPPED"


def test_num_initial_points_is_checked():
    with pytest.raises(ConfigError, match="num_initial_points"):
        TPEOracle(objective="score", num_initial_points=-1)


class Scored(keras_tuner.HyperModel):
    """A real search whose trials score their `x` (no training)."""

    def build(self, hp):
        hp.Float("x", 0.0, 1.0)
        hp.Choice("optimizer", ["adam", "sgd"])
        with hp.conditional_scope("optimizer", ["sgd"]):
            hp.Float("momentum", 0.0, 0.99)
        return keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])

    def fit(self, hp, model, *args, **kwargs):
        return {"val_accuracy": 1.0 - abs(hp["x"] - 0.8)}


def _search(folder, max_trials):
    tuner = TPESearch(Scored(), objective=keras_tuner.Objective("val_accuracy", "max"),
                      max_trials=max_trials, num_initial_points=3, seed=5,
                      directory=str(folder), project_name=PROJECT_NAME, run_dir=str(folder))
    tuner.search(verbose=0)
    return tuner


def test_tpe_search_records_and_resumes(tmp_path):
    tuner = _search(tmp_path, 4)
    assert isinstance(tuner.oracle, TPEOracle) and len(tuner.oracle.trials) == 4
    assert [row["status"] for row in tuner.run.rows()] == ["COMPLETED"] * 4
    resumed = _search(tmp_path, 6)  # a larger budget continues the same search
    trials = resumed.oracle.trials.values()
    assert len(trials) == 6 and all(t.status == "COMPLETED" for t in trials)
    assert len({json.dumps(t.hyperparameters.values, sort_keys=True) for t in trials}) == 6
    assert len(resumed.run.rows()) == 6


def test_build_tuner_makes_a_tpe_search(tmp_path, make_config):
    from kt_toolkit.hypermodels import HyperMLP

    config = make_config(tuner={"algorithm": "tpe", "max_trials": None,
                                "num_initial_points": 4})
    hypermodel = HyperMLP((64,), num_classes=10, space=config.model.space)
    tuner = build_tuner(config, hypermodel, str(tmp_path / "run"), task="multiclass")
    assert isinstance(tuner, TPESearch) and isinstance(tuner.oracle, TPEOracle)
    assert tuner.oracle.max_trials == 30 and tuner.oracle.seed == config.tuner.seed
    assert tuner.oracle.num_initial_points == 4


def test_real_search_and_its_resume(make_config):
    tuner = {"algorithm": "tpe", "max_trials": 3, "num_initial_points": 2}
    result = run_experiment(make_config(tuner=tuner, training={"epochs": 1}))
    assert len(result.trials) == 3 and result.count("COMPLETED") == 3
    more = run_experiment(make_config(tuner={**tuner, "max_trials": 4}, training={"epochs": 1}))
    assert more.run_dir == result.run_dir and more.count("COMPLETED") == 4
    settings = {(row["units"], row["learning_rate"]) for row in more.trials}
    assert len(settings) == 4  # the resumed trial repeats none of the first three
    with open(os.path.join(more.run_dir, PROJECT_NAME, "oracle.json")) as handle:
        assert len(json.load(handle)["tried_so_far"]) == 4
