"""`tuner.max_time` and `tuner.target`: stop starting trials, resume correctly, say why."""

import keras
import keras_tuner
import pytest

from kt_toolkit.config import config_from_dict
from kt_toolkit.config.schema import duration_seconds
from kt_toolkit.errors import ConfigError
from kt_toolkit.rundir import PROJECT_NAME
from kt_toolkit.tuners import RecordingRandomSearch
from kt_toolkit.tuners.progress import timing_text


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("15m", 900), ("2h", 7200),
                                           ("2h30m", 9000), ("1.5h", 5400), (45, 45),
                                           (2.5, 2.5), ("90", 90)])
def test_durations(text, seconds):
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("value", ["soon", "-5s", 0, -1, "1 day"])
def test_a_bad_max_time_names_the_key(value):
    raw = {"experiment": {"name": "b"}, "data": {"dataset": "digits"},
           "tuner": {"max_time": value}}
    with pytest.raises(ConfigError) as info:
        config_from_dict(raw)
    assert info.value.key == "tuner.max_time" and "90s, 15m" in str(info.value)


def test_budget_and_target_are_budget_not_a_new_search():
    from kt_toolkit.config import fingerprint

    raw = {"experiment": {"name": "b"}, "data": {"dataset": "digits"}}
    first = fingerprint(config_from_dict(raw))
    raw["tuner"] = {"max_time": "2h", "target": 0.9}
    assert fingerprint(config_from_dict(raw)) == first  # the same run, resumed


class Clock:
    """A search's clock that only the trials move: the tests do not depend on the machine."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Scored(keras_tuner.HyperModel):
    """A real search whose trials take `seconds` on `clock` and score their `x`."""

    def __init__(self, seconds=0.0, clock=None):
        super().__init__()
        self.seconds, self.clock = seconds, clock

    def build(self, hp):
        hp.Float("x", 0.0, 1.0)
        return keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])

    def fit(self, hp, model, *args, **kwargs):
        if self.clock is not None:
            self.clock.now += self.seconds
        return {"val_accuracy": hp["x"]}


def _tuner(folder, hypermodel, *, max_time=None, target=None, max_trials=40, clock=None):
    tuner = RecordingRandomSearch(hypermodel, objective=keras_tuner.Objective("val_accuracy",
                                                                              "max"),
                                  max_trials=max_trials, seed=3, directory=str(folder),
                                  project_name=PROJECT_NAME, run_dir=str(folder))
    tuner.oracle.set_budget(max_time=max_time, target=target, clock=clock)
    return tuner


def test_max_time_stops_starting_trials_and_counts_over_resumes(tmp_path):
    clock = Clock()
    tuner = _tuner(tmp_path, Scored(0.4, clock), max_time=1.5, clock=clock)
    tuner.search(verbose=0)
    # 0.4 s a trial: trials start at 0, 0.4, 0.8 and 1.2 s; at 1.6 s the budget is spent.
    assert len(tuner.oracle.trials) == 4
    assert all(t.status == "COMPLETED" for t in tuner.oracle.trials.values())
    assert "tuner.max_time = 1.5 s" in tuner.oracle.budget_reason
    # Resumed with the same budget: it is spent, so no trial starts.
    clock = Clock()
    again = _tuner(tmp_path, Scored(0.4, clock), max_time=1.5, clock=clock)
    assert again.oracle.elapsed() == pytest.approx(1.6)
    again.search(verbose=0)
    assert len(again.oracle.trials) == 4
    # A larger budget resumes: the 1.6 s already spent count, 1.4 s are left (4 trials).
    clock = Clock()
    more = _tuner(tmp_path, Scored(0.4, clock), max_time=3.0, clock=clock)
    more.search(verbose=0)
    assert len(more.oracle.trials) == 8
    assert more.oracle.elapsed() == pytest.approx(3.2)


def test_target_stops_once_a_trial_reaches_it(tmp_path):
    tuner = _tuner(tmp_path, Scored(), target=0.8)
    tuner.search(verbose=0)
    scores = [t.score for t in sorted(tuner.oracle.trials.values(),
                                      key=lambda t: int(t.trial_id))]
    assert scores[-1] >= 0.8 and all(score < 0.8 for score in scores[:-1])
    assert len(scores) < 40 and "tuner.target = 0.8" in tuner.oracle.budget_reason


def test_without_a_budget_nothing_stops_early(tmp_path):
    tuner = _tuner(tmp_path, Scored(), max_trials=5)
    tuner.search(verbose=0)
    assert len(tuner.oracle.trials) == 5 and tuner.oracle.budget_reason is None


def test_timing_text():
    assert timing_text(13, 30, 42, None) == "0:42 elapsed · ETA 0:55"
    assert timing_text(13, 30, 42, 60) == "0:42 elapsed · ETA 0:18"  # the budget is nearer
    assert timing_text(0, None, 3725, None) == "1:02:05 elapsed"


def test_build_tuner_applies_the_config_budget(tmp_path):
    from kt_toolkit.tuners import build_tuner

    config = config_from_dict({"experiment": {"name": "b"}, "data": {"dataset": "digits"},
                               "tuner": {"algorithm": "random", "max_trials": 40,
                                         "objective": "val_accuracy", "max_time": "1s"}})
    clock = Clock()
    tuner = build_tuner(config, Scored(0.3, clock), str(tmp_path), task="multiclass")
    assert tuner.oracle.max_time == 1.0 and tuner.trial_budget == 40
    tuner.oracle.set_budget(max_time=tuner.oracle.max_time, clock=clock)
    tuner.search(verbose=0)
    assert len(tuner.oracle.trials) == 4  # started at 0, 0.3, 0.6, 0.9 s


def test_a_real_search_says_why_it_stopped(tmp_path):
    from kt_toolkit.experiment import run_experiment

    config = config_from_dict({
        "experiment": {"name": "b"}, "data": {"dataset": "digits", "subsample": 200},
        "model": {"space": {"num_layers": 1, "units": 16}},
        "tuner": {"algorithm": "random", "max_trials": 50, "max_time": "3s"},
        "training": {"epochs": 1}, "output": {"directory": str(tmp_path), "report": False}})
    result = run_experiment(config)
    assert 1 <= len(result.trials) < 50
    assert result.stopped_reason.startswith("the time budget (tuner.max_time = 3 s) is spent")
    assert result.best_trial_id is not None
