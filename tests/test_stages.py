"""Coarse to fine (C3): stages, validation, and ranges narrowed around the top trials."""

import math
import os

import pytest
import yaml

from kt_toolkit.rundir.study import Study
from kt_toolkit.errors import ConfigError
from kt_toolkit.stages import narrow_space

SPACE = {
    "learning_rate": {"min": 1e-5, "max": 1.0, "step": None, "sampling": "log", "default": 1e-3},
    "dropout": {"min": 0.0, "max": 0.6, "step": 0.1, "sampling": "linear", "default": 0.5},
    "num_layers": {"min": 1, "max": 5, "step": None, "sampling": "linear", "default": 1},
    "units": {"values": [32, 64, 128, 256], "default": 128},
    "momentum": {"min": 0.0, "max": 0.99, "step": None, "sampling": "linear", "default": 0.9},
    "beta_1": {"fixed": 0.9},
}


def _study(rows):
    rows = [dict(row, trial_id=str(i), status="COMPLETED") for i, row in enumerate(rows)]
    return Study(run_dir="/nowhere", objective="val_accuracy", direction="max", task=None,
                 config={}, domains={}, rows=rows)


def test_ranges_narrow_around_the_top_trials_log_aware():
    study = _study([
        {"objective": 0.97, "learning_rate": 1e-3, "dropout": 0.2, "num_layers": 2,
         "units": 128, "momentum": None},
        {"objective": 0.96, "learning_rate": 1e-2, "dropout": 0.3, "num_layers": 3,
         "units": 256, "momentum": None},
        {"objective": 0.50, "learning_rate": 0.9, "dropout": 0.0, "num_layers": 5,
         "units": 32, "momentum": 0.5},
    ])
    space = narrow_space(study, SPACE, top_k=2, margin=0.25)
    lr = space["learning_rate"]
    # 1e-3..1e-2 is one decade; a quarter decade on each side, in log space.
    assert lr["sampling"] == "log"
    assert lr["min"] == pytest.approx(10 ** -3.25, rel=1e-3)
    assert lr["max"] == pytest.approx(10 ** -1.75, rel=1e-3)
    assert lr["default"] == 1e-3  # the best trial's value
    assert space["dropout"]["min"] == pytest.approx(0.1) and space["dropout"]["max"] == \
        pytest.approx(0.4) and space["dropout"]["step"] == 0.1  # on the old grid
    assert (space["num_layers"]["min"], space["num_layers"]["max"]) == (1, 4)
    assert isinstance(space["num_layers"]["min"], int)
    assert space["units"] == {"values": [128, 256], "default": 128}
    assert space["momentum"] == SPACE["momentum"]  # unused by the top trials: kept
    assert space["beta_1"] == {"fixed": 0.9}
    # The old ranges bound the new ones.
    assert SPACE["learning_rate"]["min"] <= lr["min"] < lr["max"] <= SPACE["learning_rate"]["max"]


def test_one_shared_value_widens_by_a_share_of_the_old_range_and_clamps():
    study = _study([{"objective": 0.9, "learning_rate": 1.0, "dropout": 0.6, "num_layers": 1,
                     "units": 64, "momentum": None}] * 3)
    space = narrow_space(study, SPACE, top_k=3, margin=0.25)
    assert space["learning_rate"]["max"] == 1.0  # clamped to the old range
    assert space["learning_rate"]["min"] == pytest.approx(10 ** (-5 * 0.125), rel=1e-3)
    assert space["dropout"]["max"] == pytest.approx(0.6)
    assert space["units"] == {"values": [64], "default": 64}


def _raw(tmp_path, stages, **extra):
    raw = {"experiment": {"name": "staged", "seed": 1},
           "data": {"dataset": "digits", "subsample": 200},
           "model": {"space": {"num_layers": 1, "units": {"values": [16, 32]},
                               "optimizer": "adam", "batch_norm": False,
                               "learning_rate": {"min": 1e-4, "max": 1e-1, "sampling": "log"}}},
           "tuner": {"algorithm": "random", "max_trials": 3},
           "training": {"epochs": 2, "batch_size": 64},
           "output": {"directory": str(tmp_path / "runs"), "report": False},
           "stages": stages}
    raw.update(extra)
    return raw


@pytest.mark.parametrize("stages, key, words", [
    ([{"name": "a", "tuner": {"algoritm": "random"}}], "stages.0.tuner.algoritm",
     "Did you mean `algorithm`"),
    ([{"name": "a"}, {"name": "b", "tuner": {"algorithm": "annealing"}}],
     "stages.1.tuner.algorithm", "annealing"),
    ([{"name": "a", "epochs": 3}], "stages.0.epochs", "Allowed here: name, tuner"),
    ([{"tuner": {}}], "stages.0.name", "a short name"),
    ([{"name": "a"}, {"name": "a"}], "stages.1.name", "must differ"),
    ([{"name": "a", "narrow": {"top_k": 3}}], "stages.0.narrow", "no earlier stage"),
    ([{"name": "a"}, {"name": "b", "narrow": {"top_k": 0}}], "stages.1.narrow.top_k",
     "an integer >= 1"),
    ([{"name": "a"}, {"name": "b", "narrow": {"tok_k": 3}}], "stages.1.narrow.tok_k",
     "Did you mean `top_k`"),
])
def test_bad_stages_name_the_key(tmp_path, stages, key, words):
    from kt_toolkit.config import config_from_dict

    with pytest.raises(ConfigError) as caught:
        config_from_dict(_raw(tmp_path, stages))
    assert caught.value.key == key and words in str(caught.value)


def test_two_stages_run_and_the_second_searches_narrower_ranges(tmp_path):
    from kt_toolkit.config import config_from_dict
    from kt_toolkit.experiment import run_experiment

    stages = [{"name": "coarse", "tuner": {"max_trials": 4}, "training": {"epochs": 1}},
              {"name": "fine", "tuner": {"max_trials": 2}, "narrow": {"top_k": 2}}]
    result = run_experiment(config_from_dict(_raw(tmp_path, stages)))
    done = result.stages
    assert result is done[-1].result  # the last stage's result, with every stage's
    assert [s.name for s in done] == ["coarse", "fine"]
    assert [len(s.result.trials) for s in done] == [4, 2]
    assert done[0].config.training.epochs == 1 and done[1].config.training.epochs == 2
    first, second = (s.config.model.space["learning_rate"] for s in done)
    width = lambda spec: math.log10(spec["max"]) - math.log10(spec["min"])  # noqa: E731
    assert width(second) < width(first)
    parent = os.path.dirname(os.path.dirname(done[0].result.run_dir))
    for index, stage in enumerate(done, 1):
        run_dir = stage.result.run_dir
        assert run_dir == os.path.join(parent, "stages", f"{index}-{stage.name}")
        stored = yaml.safe_load(open(os.path.join(run_dir, "config.yaml")))
        assert stored["model"]["space"]["learning_rate"]["min"] == pytest.approx(
            stage.config.model.space["learning_rate"]["min"])
    table = open(os.path.join(parent, "stages.md")).read()
    assert "| 1-coarse | random | 4 | 1 |" in table and "| 2-fine | random | 2 | 2 |" in table
    assert "| learning_rate |" in table


def test_a_log_knob_with_a_multiplier_step_stays_on_its_grid():
    spec = {"min": 16, "max": 512, "step": 2, "sampling": "log", "default": 64}
    study = _study([{"objective": 0.9 - i / 100, "units_log": v} for i, v in
                    enumerate((32, 64, 64))])
    narrowed = narrow_space(study, {"units_log": spec}, top_k=3)["units_log"]
    grid = [16 * 2 ** k for k in range(6)]
    assert narrowed["min"] in grid and narrowed["max"] in grid
    assert narrowed["min"] <= 32 and narrowed["max"] >= 64


def test_a_stage_budget_is_budget_not_a_new_search(tmp_path):
    from kt_toolkit.config import config_from_dict, fingerprint

    stages = [{"name": "a", "tuner": {"max_trials": 2}}, {"name": "b", "narrow": {"top_k": 2}}]
    import copy

    first = fingerprint(config_from_dict(_raw(tmp_path, copy.deepcopy(stages))))
    stages[0]["tuner"]["max_trials"] = 5
    assert fingerprint(config_from_dict(_raw(tmp_path, copy.deepcopy(stages)))) == first
    stages[0]["tuner"]["algorithm"] = "bayesian"
    assert fingerprint(config_from_dict(_raw(tmp_path, copy.deepcopy(stages)))) != first
