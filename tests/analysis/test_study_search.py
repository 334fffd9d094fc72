"""Best-trials table, optimization history and boundary warnings, on hand-made studies."""

import json
import os

import pytest
import yaml

from kt_toolkit.analysis.search import (best_trials_table, boundary_warnings,
                                        optimization_history)
from kt_toolkit.rundir.study import Domain, Study, load_study

LR = Domain("learning_rate", "float", min=1e-4, max=0.1, sampling="log")


def _study(domains, trials, *, direction="max", run_dir="/nonexistent"):
    """A `Study` from `(objective, {knob: value})` pairs; `None` objective = FAILED."""
    domains = {domain.name: domain for domain in domains}
    rows = []
    for number, (objective, values) in enumerate(trials):
        row = {"trial_id": str(number), "status": "COMPLETED" if objective is not None
               else "FAILED", "objective": objective, "best_epoch": 3, "epochs_run": 5,
               "seconds": 2.0, "reason": None}
        row.update({name: values.get(name) for name in domains})
        rows.append(row)
    return Study(run_dir=run_dir, objective="val_accuracy" if direction == "max" else "val_loss",
                 direction=direction, task=None, config={}, domains=domains, rows=rows)


OTHER = Domain("other", "float", min=0.0, max=1.0)


def _one_knob(domain, best, rest, *, direction="max"):
    """`best` values in the best trials, best first; `rest` in clearly worse ones.

    Another knob, always mid-range, keeps the configurations distinct.
    """
    sign = 1 if direction == "max" else -1
    values = [*best, *rest]
    trials = [(sign * (1.0 - i / 100 - (i >= len(best)) / 2),
               {domain.name: v, "other": 0.3 + i / 100}) for i, v in enumerate(values)]
    return _study([domain, OTHER], trials, direction=direction)


# --- best_trials_table ----------------------------------------------------------------

def _mixed_study(direction):
    domains = [Domain("units", "choice", values=(32, 64)),
               Domain("optimizer", "choice", values=("adam", "sgd")),
               Domain("momentum", "float", min=0.0, max=0.9),
               Domain("batch_size", "fixed", values=(64,))]
    return _study(domains, [
        (0.7, {"units": 32, "optimizer": "adam", "batch_size": 64}),
        (0.9, {"units": 64, "optimizer": "sgd", "momentum": 0.5, "batch_size": 64}),
        (None, {"units": 64, "optimizer": "sgd", "momentum": 0.9, "batch_size": 64}),
        (0.8, {"units": 32, "optimizer": "sgd", "momentum": 0.1, "batch_size": 64}),
    ], direction=direction)


def test_best_table_for_max_ranks_highest_first_with_tuned_knobs_only():
    table = best_trials_table(_mixed_study("max"), count=5)
    assert [row["trial_id"] for row in table] == ["1", "3", "0"]  # the failure is left out
    assert [row["rank"] for row in table] == [1, 2, 3]
    assert list(table[0]) == ["rank", "trial_id", "objective", "units", "optimizer",
                              "momentum", "best_epoch", "epochs_run", "seconds"]
    assert table[2]["momentum"] is None  # inactive under adam


def test_best_table_for_min_ranks_lowest_first_and_counts():
    table = best_trials_table(_mixed_study("min"), count=2)
    assert [(row["trial_id"], row["objective"]) for row in table] == [("0", 0.7), ("3", 0.8)]


# --- optimization_history --------------------------------------------------------------

def _write_run(root, trials, *, with_clock=True):
    """A run directory as `kt-toolkit tune` writes it. `trials`: (id, score, start, end)."""
    space = {"learning_rate": {"min": 1e-4, "max": 0.1, "sampling": "log"}}
    (root / "config.yaml").write_text(yaml.safe_dump(
        {"model": {"space": space}, "tuner": {"objective": "val_loss", "direction": "min"}}))
    (root / "run.json").write_text(json.dumps({"objective": "val_loss", "direction": "min"}))
    for trial_id, score, start, end in trials:
        status = "COMPLETED" if score is not None else "FAILED"
        record = {"trial_id": trial_id, "status": status, "score": score, "best_step": 0,
                  "message": None if score is not None else "FailedTrialError: loss is NaN",
                  "hyperparameters": {"values": {"learning_rate": 0.01}, "space": [
                      {"class_name": "Float", "config": {"name": "learning_rate",
                                                         "conditions": []}}]}}
        os.makedirs(root / "tuner" / f"trial_{trial_id}")
        (root / "tuner" / f"trial_{trial_id}" / "trial.json").write_text(json.dumps(record))
        meta = {"trial_id": trial_id, "seconds": end - start}
        if with_clock:
            meta.update(started_at=1000.0 + start, finished_at=1000.0 + end)
        os.makedirs(root / "trials" / trial_id)
        (root / "trials" / trial_id / "meta.json").write_text(json.dumps(meta))


def test_history_follows_finish_time_across_parallel_workers(tmp_path):
    # Two workers: trial 1 starts first and fails; trial 0 finishes after trial 2.
    _write_run(tmp_path, [("0", 0.5, 1.0, 9.0), ("1", None, 0.0, 3.0), ("2", 0.7, 3.0, 6.0),
                          ("3", 0.4, 9.0, 12.0)])
    history = optimization_history(load_study(tmp_path))
    assert [row["trial_id"] for row in history] == ["1", "2", "0", "3"]
    assert [row["status"] for row in history] == ["FAILED", "COMPLETED", "COMPLETED",
                                                  "COMPLETED"]
    assert [row["objective"] for row in history] == [None, 0.7, 0.5, 0.4]
    assert [row["best_so_far"] for row in history] == [None, 0.7, 0.5, 0.4]  # min direction
    assert [row["is_best"] for row in history] == [False, True, True, True]
    assert [row["elapsed_seconds"] for row in history] == [3.0, 6.0, 9.0, 12.0]  # wall clock


def test_history_without_clock_falls_back_to_cumulative_seconds(tmp_path):
    _write_run(tmp_path, [("0", 0.5, 0.0, 2.0), ("1", 0.6, 0.0, 3.0), ("2", None, 0.0, 1.5),
                          ("3", 0.2, 0.0, 4.0)], with_clock=False)
    history = optimization_history(load_study(tmp_path))
    assert [row["trial_id"] for row in history] == ["0", "1", "2", "3"]
    assert [row["elapsed_seconds"] for row in history] == [2.0, 5.0, 6.5, 10.5]
    assert [row["best_so_far"] for row in history] == [0.5, 0.5, 0.5, 0.2]
    assert [row["is_best"] for row in history] == [True, False, False, True]


def test_history_skips_running_trials():
    study = _mixed_study("max")
    study.rows[0]["status"] = "RUNNING"
    assert [row["trial_id"] for row in optimization_history(study)] == ["1", "2", "3"]


# --- boundary_warnings ------------------------------------------------------------------

def test_log_knob_at_upper_edge_widens_one_decade():
    study = _one_knob(LR, [0.087, 0.09, 0.08], [0.001, 0.0003, 0.01, 0.002])
    [warning] = boundary_warnings(study)
    assert (warning.knob, warning.edge, warning.sampling) == ("learning_rate", "upper", "log")
    assert (warning.domain_min, warning.domain_max) == (1e-4, 0.1)
    assert (warning.suggested_min, warning.suggested_max) == (1e-4, 1.0)
    assert warning.best_values == (0.087, 0.09, 0.08)
    assert warning.message == ("learning_rate: 3 of the top 3 trials are at the upper edge "
                               "of [0.0001, 0.1] (best 0.087): widen to [0.0001, 1].")


def test_log_edge_is_measured_in_log_space():
    # In [1e-4, 0.1] the outer 10% of the decades are below 2e-4 and above 0.05.
    linear_lower = _one_knob(LR, [0.005, 0.004, 0.006], [0.001, 0.0003, 0.01])
    assert boundary_warnings(linear_lower) == []
    log_upper = _one_knob(LR, [0.06, 0.07, 0.055], [0.001, 0.0003, 0.01])
    assert [w.edge for w in boundary_warnings(log_upper)] == ["upper"]


def test_log_knob_at_lower_edge_for_a_min_objective():
    l2 = Domain("l2", "float", min=1e-6, max=10.0, sampling="log")
    study = _one_knob(l2, [1.5e-6, 2e-6, 1e-6], [0.1, 1.0, 0.01], direction="min")
    [warning] = boundary_warnings(study)
    assert warning.edge == "lower"
    assert (warning.suggested_min, warning.suggested_max) == (1e-7, 10.0)


def test_linear_knob_widens_by_half_the_width():
    width = Domain("margin", "float", min=2.0, max=4.0)
    upper = boundary_warnings(_one_knob(width, [3.9, 4.0, 3.95], [2.5, 3.0, 3.3]))
    lower = boundary_warnings(_one_knob(width, [2.1, 2.0, 2.05], [2.5, 3.0, 3.3]))
    assert [(w.edge, w.suggested_min, w.suggested_max) for w in upper + lower] == [
        ("upper", 2.0, 5.0), ("lower", 1.0, 4.0)]


def test_int_knob_widens_to_whole_numbers_and_respects_chance():
    layers = Domain("num_layers", "int", min=1, max=4)
    [warning] = boundary_warnings(_one_knob(layers, [4, 4, 4], [1, 2, 3, 2]))
    assert (warning.edge, warning.suggested_min, warning.suggested_max) == ("upper", 1, 6)
    assert isinstance(warning.suggested_max, int)
    # With 3 values, 2 of 3 at the top happen by chance 26% of the time: no warning.
    three = Domain("num_layers", "int", min=1, max=3)
    assert boundary_warnings(_one_knob(three, [3, 3, 2], [1, 2, 1])) == []
    assert boundary_warnings(_one_knob(three, [3, 3, 3], [1, 2, 1]))[0].suggested_max == 4


def test_ordered_choices_suggest_the_next_value():
    units = Domain("units", "choice", values=(32, 64, 128, 256))
    [upper] = boundary_warnings(_one_knob(units, [256, 256, 256], [32, 64, 128]))
    assert (upper.edge, upper.sampling, upper.suggested_min, upper.suggested_max) == (
        "upper", "choice", 32, 512)
    assert upper.message == ("units: 3 of the top 3 trials are at the largest choice 256 "
                             "of [32, 64, 128, 256]: add 512.")
    [lower] = boundary_warnings(_one_knob(units, [32, 32, 32], [64, 128, 256]))
    assert (lower.suggested_min, lower.suggested_max) == (16, 256)
    kernel = Domain("kernel_size", "choice", values=(3, 5, 7))  # arithmetic: + the last gap
    assert boundary_warnings(_one_knob(kernel, [7, 7, 7], [3, 5, 3]))[0].suggested_max == 9


def test_unordered_or_boolean_choices_are_not_checked():
    domains = [Domain("activation", "choice", values=("relu", "tanh", "elu")),
               Domain("batch_norm", "choice", values=(False, True))]
    trials = [(1.0 - i / 10, {"activation": "relu", "batch_norm": True}) for i in range(6)]
    assert boundary_warnings(_study(domains, trials)) == []


def test_no_warning_when_the_best_are_in_the_middle():
    study = _one_knob(LR, [0.003, 0.002, 0.005], [0.0001, 0.1, 0.09, 0.00012])
    assert boundary_warnings(study) == []


def test_no_warning_when_the_edge_is_the_valid_limit():
    dropout = Domain("dropout", "float", min=0.0, max=0.5, step=0.1)
    assert boundary_warnings(_one_knob(dropout, [0.0, 0.0, 0.0], [0.3, 0.5, 0.2])) == []
    layers = Domain("num_layers", "int", min=1, max=4)
    assert boundary_warnings(_one_knob(layers, [1, 1, 1], [3, 4, 2])) == []


def test_widening_is_clamped_to_the_knob_limits():
    dropout = Domain("dropout", "float", min=0.2, max=0.7, step=0.1)
    [warning] = boundary_warnings(_one_knob(dropout, [0.7, 0.7, 0.7], [0.3, 0.2, 0.4]))
    assert (warning.suggested_min, warning.suggested_max) == (0.2, 0.9)
    momentum = Domain("momentum", "float", min=0.5, max=0.99)
    [warning] = boundary_warnings(_one_knob(momentum, [0.99, 0.98, 0.985], [0.6, 0.7, 0.5]))
    assert warning.suggested_max == 0.999  # below 1
    lr = Domain("learning_rate", "float", min=1e-3, max=5.0, sampling="log")
    [warning] = boundary_warnings(_one_knob(lr, [5.0, 4.5, 4.9], [0.01, 0.002, 0.1]))
    assert warning.suggested_max == 10.0  # E2: rarely above 10


def test_inactive_values_are_ignored():
    domains = [Domain("optimizer", "choice", values=("adam", "sgd")),
               Domain("momentum", "float", min=0.0, max=0.9)]
    one_active = [(0.9, {"optimizer": "adam"}), (0.89, {"optimizer": "adam"}),
                  (0.88, {"optimizer": "sgd", "momentum": 0.89}),
                  (0.5, {"optimizer": "sgd", "momentum": 0.3}),
                  (0.4, {"optimizer": "sgd", "momentum": 0.5})]
    assert boundary_warnings(_study(domains, one_active)) == []
    two_active = [(0.9, {"optimizer": "sgd", "momentum": 0.88}), (0.89, {"optimizer": "adam"}),
                  *one_active[2:]]
    [warning] = boundary_warnings(_study(domains, two_active))
    assert warning.best_values == (0.88, 0.89)
    assert warning.message.startswith("momentum: 2 of the top 3 trials (2 use the knob) are "
                                      "at the upper edge of [0, 0.9]")
    assert (warning.suggested_min, warning.suggested_max) == (0.0, 0.999)


def test_repeated_configurations_count_once():
    # Hyperband's later rounds repeat a configuration: three rows, one configuration.
    study = _one_knob(LR, [0.09, 0.09, 0.09, 0.003, 0.004], [0.001, 0.0002])
    for row in study.rows[:3]:
        row["other"] = 0.5
    assert boundary_warnings(study) == []
    study.rows[1]["other"] = study.rows[2]["other"] = 0.6  # now two configurations
    assert [w.best_values for w in boundary_warnings(study)] == [(0.09, 0.09, 0.003)]


def test_top_k_default_grows_with_the_study():
    values = [0.095, 0.09, 0.085, 0.08] + [0.001 + i * 1e-4 for i in range(36)]
    [warning] = boundary_warnings(_one_knob(LR, values, []))
    assert len(warning.best_values) == 4  # 10% of 40 trials
    assert boundary_warnings(_one_knob(LR, values, []), top_k=8) == []  # 4 of 8: not most


def test_fewer_than_three_completed_trials_give_no_warning():
    study = _one_knob(LR, [0.1, 0.1], [])
    assert boundary_warnings(study, max_chance=1.0) == []


@pytest.mark.parametrize("edge_fraction, expected", [(0.1, 0), (0.3, 1)])
def test_edge_fraction_is_a_knob(edge_fraction, expected):
    study = _one_knob(LR, [0.02, 0.03, 0.025], [0.001, 0.0003, 0.0002])
    assert len(boundary_warnings(study, edge_fraction=edge_fraction)) == expected


def test_history_with_parents_follows_hyperband_rounds(tmp_path):
    from kt_toolkit._io import write_csv
    from kt_toolkit.rundir.study import Study

    for trial_id, epochs in (("0", [1, 2]), ("1", [3, 4, 5]), ("2", [6, 7])):
        write_csv(tmp_path / "trials" / trial_id / "history.csv",
                  [{"execution": 0, "epoch": e, "loss": 1.0 / e} for e in epochs])
    rows = [{"trial_id": "0", "status": "COMPLETED"},
            {"trial_id": "1", "status": "COMPLETED", "tuner/trial_id": "0"},
            {"trial_id": "2", "status": "COMPLETED", "tuner/trial_id": "1"}]
    study = Study(run_dir=str(tmp_path), objective="val_accuracy", direction="max",
                  task=None, config={}, domains={}, rows=rows)
    assert [r["epoch"] for r in study.history("2")] == [6, 7]
    whole = study.history("2", with_parents=True)
    assert [r["epoch"] for r in whole] == [1, 2, 3, 4, 5, 6, 7]
    assert [bool(r.get("inherited")) for r in whole] == [True] * 5 + [False] * 2
