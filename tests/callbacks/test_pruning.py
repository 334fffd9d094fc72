"""Pruning (B2): the callbacks driven epoch by epoch, the curve cache, one real search.

The rules themselves are tested as plain functions in `tests/pruning/test_rules.py`.
"""

import json
import math
import os

import keras
import numpy as np
import pytest

from kt_toolkit._io import read_csv, write_csv
from kt_toolkit.callbacks import ChancePruning, MedianPruning, TrialCurves, default_callbacks
from kt_toolkit.callbacks.pruning import _Pruning, chance_level, pruning_record
from kt_toolkit.config import CallbacksConfig
from kt_toolkit.errors import ConfigError


def _model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _curves(*finals, epochs=6, first=1, objective="val_accuracy"):
    """Completed trials "0", "1", … whose objective climbs linearly to `finals`."""
    curves = TrialCurves()
    for trial_id, final in enumerate(finals):
        curves.add(trial_id, [{"execution": 0, "epoch": e, objective: final * e / epochs}
                              for e in range(first, epochs + 1)])
    return curves


def _drive(callback, values, *, objective="val_accuracy", initial_epoch=0):
    """Feeds one value per epoch; returns the epochs (1-based) that ended training."""
    callback.set_model(_model())
    callback.on_train_begin()
    for index, value in enumerate(values):
        callback.on_epoch_end(initial_epoch + index, {objective: value, "loss": 1.0})
        if callback.model.stop_training:
            return initial_epoch + index + 1
    return None


# --- MedianPruning ---

def test_median_pruning_stops_a_trial_behind_the_median_after_warmup():
    pruning = MedianPruning("val_accuracy", "max", warmup_epochs=2, min_trials=3)
    pruning.bind(_curves(0.9, 0.8, 0.6, 0.96), trial_id="7")
    # Medians at epochs 1-4: 0.142, 0.283, 0.425, 0.567. Behind from epoch 1; judged from 3.
    assert _drive(pruning, [0.1, 0.2, 0.3, 0.4]) == 3
    assert pruning.pruned["epoch"] == 3
    assert pruning.pruned["reason"] == ("pruned at epoch 3: val_accuracy 0.3 (best so far) < "
                                        "median 0.425 of 4 trials at that epoch (B2)")


def test_median_pruning_leaves_a_trial_at_or_above_the_median_alone():
    pruning = MedianPruning("val_accuracy", "max", warmup_epochs=0, min_trials=3)
    pruning.bind(_curves(0.9, 0.8, 0.6))
    assert _drive(pruning, [0.14, 0.27, 0.41, 0.6, 0.7, 0.81]) is None  # median: 0.8 × e/6
    assert pruning.pruned is None and pruning_record([pruning]) is None


def test_median_pruning_judges_the_best_so_far_not_the_last_epoch():
    pruning = MedianPruning("val_accuracy", "max", warmup_epochs=0, min_trials=2)
    pruning.bind(_curves(0.6, 0.6))  # median 0.1 per epoch
    # Epoch 3 drops below the median (0.3) but its best so far (0.5) is ahead.
    assert _drive(pruning, [0.2, 0.5, 0.1]) is None


def test_median_pruning_waits_for_min_trials_at_that_epoch():
    curves = _curves(0.9, 0.9, 0.9, epochs=3)  # three trials that ran 3 epochs
    curves.add("3", [{"epoch": e, "val_accuracy": 0.9} for e in range(1, 7)])
    pruning = MedianPruning("val_accuracy", "max", warmup_epochs=0, min_trials=2)
    pruning.bind(curves)
    # Epochs 1-3 have 4 trials, but the trial is ahead; epoch 4 has 1 (< 2): never judged.
    assert _drive(pruning, [0.5, 0.7, 0.95, 0.1, 0.1]) is None
    strict = MedianPruning("val_accuracy", "max", warmup_epochs=0, min_trials=5)
    strict.bind(curves)
    assert _drive(strict, [0.0] * 5) is None  # never 5 trials at one epoch


def test_median_pruning_minimizes_and_leaves_its_own_trial_out():
    curves = TrialCurves()
    for trial_id in ("0", "1", "2"):  # val_loss 1, 1/2, 1/3
        curves.add(trial_id, [{"epoch": e, "val_loss": 1 / e} for e in (1, 2, 3)])
    curves.add("9", [{"epoch": e, "val_loss": 5.0} for e in (1, 2, 3)])
    pruning = MedianPruning("val_loss", "min", warmup_epochs=0, min_trials=4)
    pruning.bind(curves, trial_id="9")  # its own earlier attempt is no reference
    assert _drive(pruning, [0.1, 0.8, 0.9], objective="val_loss") is None  # 3 trials < 4
    pruning = MedianPruning("val_loss", "min", warmup_epochs=0, min_trials=3)
    pruning.bind(curves, trial_id="9")
    assert _drive(pruning, [0.9, 0.8, 0.2], objective="val_loss") == 2
    assert "val_loss 0.8 (best so far) > median 0.5 of 3 trials" in pruning.pruned["reason"]


def test_median_pruning_compares_hyperband_rounds_at_the_absolute_epoch():
    curves = TrialCurves()
    for trial_id in ("0", "1", "2"):  # rounds that continued from epoch 3: epochs 4-6
        curves.add(trial_id, [{"epoch": e, "val_accuracy": 0.9} for e in range(4, 7)])
    for trial_id in ("3", "4", "5"):  # first rounds: epochs 1-3, low
        curves.add(trial_id, [{"epoch": e, "val_accuracy": 0.2} for e in range(1, 4)])
    pruning = MedianPruning("val_accuracy", "max", warmup_epochs=3, min_trials=3)
    pruning.bind(curves)
    # A round from initial_epoch=3: Keras's epoch index 3 is the 4th epoch.
    assert _drive(pruning, [0.5], initial_epoch=3) == 4
    assert "at epoch 4" in pruning.pruned["reason"] and "median 0.9 of 3" in (
        pruning.pruned["reason"])
    first_round = MedianPruning("val_accuracy", "max", warmup_epochs=0, min_trials=3)
    first_round.bind(curves)
    assert _drive(first_round, [0.5, 0.5, 0.5]) is None  # ahead of 0.2 at epochs 1-3


def test_median_pruning_without_a_reference_never_prunes():
    pruning = MedianPruning("val_accuracy", "max", warmup_epochs=0, min_trials=1)
    assert _drive(pruning, [0.0, 0.0, 0.0]) is None


# --- TrialCurves ---

def _row(trial_id, status):
    return {"trial_id": trial_id, "status": status}


def test_trial_curves_read_each_completed_history_once(tmp_path):
    for trial_id, value in (("0", 0.5), ("1", 0.7), ("2", 0.1), ("3", 0.2)):
        write_csv(tmp_path / "trials" / trial_id / "history.csv",
                  [{"execution": x, "epoch": e, "val_accuracy": value + 0.1 * x}
                   for x in (0, 1) for e in (1, 2)])
    loaded = []

    def load_history(trial_id):
        loaded.append(trial_id)
        return read_csv(os.path.join(tmp_path, "trials", trial_id, "history.csv"))

    curves = TrialCurves(load_history=load_history)
    assert not curves.is_loaded
    curves.update([_row("0", "COMPLETED"), _row("1", "COMPLETED"), _row("2", "PRUNED"),
                   _row("3", "FAILED")])
    assert curves.is_loaded
    # Pruned and failed trials are no reference; executions are averaged per epoch.
    assert sorted(curves.values_at(2, "val_accuracy")) == pytest.approx([0.55, 0.75])
    assert curves.values_at(3, "val_accuracy") == []
    os.remove(tmp_path / "trials" / "0" / "history.csv")  # cached: not read again
    curves.update([_row("0", "COMPLETED"), _row("1", "COMPLETED"), _row("3", "COMPLETED")])
    assert sorted(curves.values_at(1, "val_accuracy")) == pytest.approx([0.25, 0.55, 0.75])
    assert sorted(curves.values_at(1, "val_accuracy", exclude="1")) == pytest.approx(
        [0.25, 0.55])
    assert loaded == ["0", "1", "3"]  # each completed trial's history loaded once


def test_trial_curves_without_a_loader_record_empty_histories_and_reject_a_path():
    curves = TrialCurves()
    curves.update([_row("0", "COMPLETED")])
    assert curves.is_loaded and curves.values_at(1, "val_accuracy") == []
    curves.add("0", [{"epoch": "1", "val_accuracy": "0.5"}])  # strings from a CSV count
    assert curves.values_at(1, "val_accuracy") == [0.5]
    with pytest.raises(TypeError, match="`load_history` must be a callable"):
        TrialCurves("runs/some_run")  # the old run_dir argument: it reads no file now


def test_trial_curves_bind_reads_the_rows_once_and_only_for_median_pruning():
    calls = []

    def rows():
        calls.append(1)
        return []

    curves = TrialCurves()
    curves.bind([ChancePruning("val_accuracy", "max", chance=0.1)], "0", rows=rows)
    assert calls == []  # nothing needs the reference
    pruning = MedianPruning("val_accuracy", "max")
    curves.bind([pruning], "1", rows=rows)
    curves.bind([MedianPruning("val_accuracy", "max")], "2", rows=rows)
    assert calls == [1] and pruning.curves is curves and pruning.trial_id == "1"


def test_trial_curves_bind_any_callback_with_a_bind_curves_hook():
    class Taker:
        def bind_curves(self, curves, trial_id):
            self.bound = (curves, trial_id)

    class Bystander:
        bind_curves = None  # not callable: left alone

    taker, bystander = Taker(), Bystander()
    curves = TrialCurves()
    curves.bind([bystander, taker], "4", rows=lambda: [_row("0", "COMPLETED")])
    assert taker.bound == (curves, "4") and curves.is_loaded


# --- ChancePruning ---

def test_chance_pruning_stops_accuracy_at_chance_from_its_epoch():
    pruning = ChancePruning("val_accuracy", "max", epochs=3, margin=0.05, chance=0.1)
    assert _drive(pruning, [0.1, 0.12, 0.14, 0.3]) == 3
    assert pruning.pruned["reason"] == ("pruned at epoch 3: val_accuracy 0.14 (best so far) "
                                        "<= chance level 0.1 + 0.05 (B2, C4)")
    learning = ChancePruning("val_accuracy", "max", epochs=3, margin=0.05, chance=0.1)
    assert _drive(learning, [0.1, 0.1, 0.16, 0.1, 0.1]) is None  # 0.16 > 0.15 and stays best
    early = ChancePruning("val_accuracy", "max", epochs=3, margin=0.05, chance=0.1)
    assert _drive(early, [0.1, 0.1]) is None  # not judged before epoch 3


def test_chance_pruning_stops_a_loss_that_neither_fell_nor_beats_chance():
    stuck = ChancePruning("val_loss", "min", epochs=3, margin=0.05, chance=2.30)
    assert _drive(stuck, [2.31, 2.30, 2.29], objective="val_loss") == 3
    assert "fell less than 5% from epoch 1 (2.31), and is not 5% below the chance level 2.3" in (
        stuck.pruned["reason"])
    falling = ChancePruning("val_loss", "min", epochs=3, margin=0.05, chance=2.30)
    assert _drive(falling, [3.0, 2.9, 2.8, 2.5], objective="val_loss") is None  # fell 6.7%
    # Good after one epoch, then flat or overfitting: far below chance, left alone.
    converged = ChancePruning("val_loss", "min", epochs=3, margin=0.05, chance=2.30)
    assert _drive(converged, [0.2, 0.21, 0.25], objective="val_loss") is None
    # No chance level known: the fall from epoch 1 alone decides.
    unknown = ChancePruning("val_mae", "min", epochs=2, margin=0.1)
    assert _drive(unknown, [5.0, 4.8], objective="val_mae") == 2


def test_chance_pruning_judges_a_continued_round_on_the_chance_level_only():
    below = ChancePruning("val_loss", "min", epochs=3, margin=0.05, chance=2.30)
    assert _drive(below, [1.0, 1.0], objective="val_loss", initial_epoch=3) is None
    at_chance = ChancePruning("val_loss", "min", epochs=3, margin=0.05, chance=2.30)
    assert _drive(at_chance, [2.3], objective="val_loss", initial_epoch=3) == 4
    assert "not 5% below the chance level 2.3" in at_chance.pruned["reason"]
    no_chance = ChancePruning("val_loss", "min", epochs=3, margin=0.05)
    assert _drive(no_chance, [2.3, 2.3], objective="val_loss", initial_epoch=3) is None


def test_chance_levels_of_the_objectives():
    balanced = np.repeat(np.arange(10), 5)
    assert chance_level("val_accuracy", "multiclass", balanced) == pytest.approx(0.1)
    assert chance_level("val_loss", "multiclass", balanced) == pytest.approx(math.log(10))
    skewed = np.array([0] * 9 + [1])
    assert chance_level("accuracy", "binary", skewed) == pytest.approx(0.9)
    assert chance_level("val_auc", "binary", skewed) == 0.5
    assert chance_level("val_loss", "binary", skewed) == pytest.approx(
        -(0.9 * math.log(0.9) + 0.1 * math.log(0.1)))
    y = np.array([1.0, 2.0, 3.0, 10.0])
    assert chance_level("val_loss", "regression", y) == pytest.approx(np.var(y))
    assert chance_level("val_mae", "regression", y) == pytest.approx(np.mean(np.abs(y - 2.5)))
    assert chance_level("val_precision", "binary", skewed) is None


# --- construction ---

def test_pruning_callbacks_round_trip_through_their_config():
    for callback in (MedianPruning("val_loss", "min", warmup_epochs=1, min_trials=2),
                     ChancePruning("val_auc", "max", epochs=2, margin=0.02, chance=0.5)):
        again = type(callback).from_config(callback.get_config())
        assert again.get_config() == callback.get_config()


@pytest.mark.parametrize("make, key", [
    (lambda: MedianPruning("val_accuracy", "up"), "direction"),
    (lambda: MedianPruning("val_accuracy", "max", min_trials=0), "min_trials"),
    (lambda: MedianPruning("val_accuracy", "max", warmup_epochs=-1), "warmup_epochs"),
    (lambda: ChancePruning("val_accuracy", "max", epochs=0), "epochs"),
    (lambda: ChancePruning("val_accuracy", "max", margin=1.5), "margin"),
    (lambda: ChancePruning("val_accuracy", "max", chance=math.nan), "chance"),
])
def test_bad_arguments_are_config_errors_naming_the_argument(make, key):
    with pytest.raises(ConfigError, match=f"`{key}` must be"):
        make()


def test_default_callbacks_add_pruning_when_switched_on():
    config = CallbacksConfig()
    names = [type(c).__name__ for c in default_callbacks(config, objective="val_accuracy",
                                                          direction="max")]
    assert "MedianPruning" not in names and "ChancePruning" not in names  # no task given
    # chance_pruning.enabled: auto, the default: classification trials only
    for task, pruned in (("multiclass", True), ("binary", True), ("regression", False)):
        names = [type(c).__name__ for c in default_callbacks(
            config, objective="val_loss", direction="min", chance=1.0, task=task)]
        assert ("ChancePruning" in names) is pruned and "MedianPruning" not in names
    config.median_pruning.enabled = True
    config.median_pruning.min_trials = 2
    config.chance_pruning.enabled = True
    added = default_callbacks(config, objective="val_accuracy", direction="max", chance=0.1)
    median, chance = added[-2:]
    assert isinstance(median, MedianPruning) and median.min_trials == 2
    assert isinstance(chance, ChancePruning) and chance.chance == 0.1
    # no chance level known: a score (F1 may start high) is not judged, a loss still is
    for objective, direction, judged in (("val_f1_score", "max", False),
                                         ("val_agreement", "min", False),
                                         ("val_loss", "min", True)):
        names = [type(c).__name__ for c in default_callbacks(
            config, objective=objective, direction=direction, chance=None, task="binary")]
        assert ("ChancePruning" in names) is judged


# --- a real search ---

class _PruneTheLeader(_Pruning):
    """A rule no one should use: it stops a trial as soon as its best objective so far
    beats every completed trial's best, so the trial it prunes holds the search's best
    score. Only the exclusion of pruned trials can then keep it from being exported."""

    def __init__(self, objective, direction, *, epochs):
        super().__init__(objective, direction)
        self.epochs, self.curves, self.trial_id = epochs, None, None

    def bind_curves(self, curves, trial_id):  # the hook `TrialCurves.bind` looks for
        self.curves, self.trial_id = curves, str(trial_id)

    def on_epoch_end(self, epoch, logs=None):
        self._track(logs)
        completed = [value for e in range(1, self.epochs + 1)
                     for value in self.curves.values_at(e, self.objective,
                                                        exclude=self.trial_id)]
        if completed and self._best is not None and self._best > max(completed):
            self._prune(epoch + 1, f"pruned at epoch {epoch + 1}: {self.objective} "
                                   f"{self._best:.4g} beats every completed trial")


def test_a_real_search_prunes_and_never_exports_a_pruned_trial_even_the_best(
        make_config, monkeypatch):
    from kt_toolkit.analysis import load_study, study_verdicts
    from kt_toolkit.experiment import run_experiment
    from kt_toolkit.tuners import session

    def with_the_leader_rule(*args, **kwargs):
        return [*default_callbacks(*args, **kwargs),
                _PruneTheLeader(kwargs["objective"], kwargs["direction"], epochs=3)]

    monkeypatch.setattr(session, "default_callbacks", with_the_leader_rule)
    space = {"num_layers": 1, "units": 32, "optimizer": "adam", "batch_norm": False,
             "regularizer": "none", "dropout": 0.0, "activation": "relu",
             "kernel_initializer": "glorot_uniform", "lr_schedule": "constant",
             "learning_rate": [0.01, 1.0e-6, 0.03]}  # the grid's order: trials 0, 1, 2
    callbacks = {"median_pruning": {"enabled": True, "warmup_epochs": 1, "min_trials": 1},
                 "early_stopping": False}
    result = run_experiment(make_config(
        model={"space": space}, tuner={"algorithm": "grid", "max_trials": None},
        training={"epochs": 3, "callbacks": callbacks}))
    rows = {float(row["learning_rate"]): row for row in read_csv(
        os.path.join(result.run_dir, "trials.csv"))}
    first, slow, leader = rows[0.01], rows[1.0e-6], rows[0.03]
    # MedianPruning stopped the slow trial, behind the first one at epoch 2.
    assert slow["status"] == "PRUNED"
    assert slow["epochs_run"] == "2"
    assert slow["reason"].startswith("pruned at epoch 2: val_accuracy ")
    assert "of 1 trials at that epoch (B2)" in slow["reason"]
    with open(os.path.join(result.run_dir, "trials", slow["trial_id"], "meta.json")) as handle:
        assert json.load(handle)["pruned"] == {"epoch": 2, "reason": slow["reason"]}
    # The leader rule stopped the last trial: it holds the best objective of the search.
    assert leader["status"] == "PRUNED" and "beats every completed trial" in leader["reason"]
    assert first["status"] == "COMPLETED"
    assert float(leader["objective"]) > float(first["objective"]) > float(slow["objective"])
    # KerasTuner saw completed trials with the best score they reached.
    for row in (slow, leader):
        with open(os.path.join(result.run_dir, "tuner", f"trial_{row['trial_id']}",
                               "trial.json")) as handle:
            record = json.load(handle)
        assert record["status"] == "COMPLETED"
        assert record["score"] == pytest.approx(float(row["objective"]), abs=1e-6)
    # Neither is the exported model: the only completed trial is, on its own score.
    assert result.best_trial_id == first["trial_id"]
    assert result.best_score == pytest.approx(float(first["objective"]), abs=1e-6)
    assert result.best_hyperparameters["learning_rate"] == 0.01
    assert result.count("PRUNED") == 2 and result.count("COMPLETED") == 1
    study = load_study(result.run_dir)
    assert [row["trial_id"] for row in study.completed] == [first["trial_id"]]
    assert [row["trial_id"] for row in study.pruned] == [slow["trial_id"], leader["trial_id"]]
    verdicts = study_verdicts(study)
    assert all("pruned" in [v.kind for v in verdicts[row["trial_id"]]] for row in (slow, leader))
