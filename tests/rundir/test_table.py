"""The trials table from a run directory's files (KerasTuner's trial.json format)."""

import json
import os

import pytest

from kt_toolkit.rundir import trial_rows, write_trials_table
from kt_toolkit._io import read_csv


def _trial(project, trial_id, *, status="COMPLETED", score=0.5, best_step=1, values=None,
           message=None):
    values = values or {"units": 32, "optimizer": "sgd", "momentum": 0.9}
    space = [{"class_name": "Choice", "config": {"name": "units", "conditions": []}},
             {"class_name": "Choice", "config": {"name": "optimizer", "conditions": []}},
             {"class_name": "Float", "config": {"name": "momentum", "conditions": [
                 {"class_name": "Parent", "config": {"name": "optimizer",
                                                     "values": ["sgd"]}}]}}]
    record = {"trial_id": trial_id, "status": status, "score": score, "best_step": best_step,
              "message": message, "hyperparameters": {"space": space, "values": values},
              "metrics": {"metrics": {"val_accuracy": {"direction": "max", "observations": [
                  {"value": [score], "step": best_step}]}}}}
    folder = os.path.join(project, f"trial_{trial_id}")
    os.makedirs(folder)
    with open(os.path.join(folder, "trial.json"), "w") as handle:
        json.dump(record, handle)


def test_rows_are_ordered_by_number_whatever_the_id_width(tmp_path):
    project = tmp_path / "tuner"
    for trial_id in ("0", "1", "9", "10", "11"):
        _trial(str(project), trial_id)
    assert [r["trial_id"] for r in trial_rows(str(tmp_path))] == ["0", "1", "9", "10", "11"]


def test_inactive_values_failures_and_hyperband_epochs(tmp_path):
    project = str(tmp_path / "tuner")
    _trial(project, "0", values={"units": 16, "optimizer": "adam", "momentum": 0.9})
    _trial(project, "1", status="FAILED", score=None, message=(
        "Traceback (most recent call last):\n  ...\nkeras_tuner.src.errors."
        "FailedTrialError: loss became nan at epoch 2: training diverged."))
    _trial(project, "2", best_step=1, values={"units": 16, "optimizer": "sgd",
                                              "momentum": 0.5, "tuner/initial_epoch": 3})
    _trial(project, "3", score=float("nan"))
    rows = {r["trial_id"]: r for r in write_trials_table(str(tmp_path))}
    assert rows["0"]["momentum"] == ""  # inactive under adam
    assert rows["1"]["status"] == "FAILED" and rows["1"]["objective"] == ""
    assert rows["1"]["reason"] == "loss became nan at epoch 2: training diverged."
    assert rows["2"]["best_epoch"] == 5  # 1 + initial epoch 3, counted from 1
    assert rows["3"]["status"] == "FAILED"  # a NaN score is never a completed trial
    on_disk = read_csv(tmp_path / "trials.csv")
    assert list(on_disk[0])[:2] == ["trial_id", "status"]
    assert "metric:val_accuracy" in on_disk[0]


def test_a_cached_table_rereads_only_the_files_that_changed(tmp_path):
    from kt_toolkit.rundir import TrialTable

    project = tmp_path / "tuner"
    for trial_id in ("0", "1"):
        _trial(str(project), trial_id, score=0.5)
    table = TrialTable(str(tmp_path))
    assert [row["objective"] for row in table.rows()] == [0.5, 0.5]
    # A writer that renames (KerasTuner's files through kt_toolkit, every record of ours):
    path = project / "trial_1" / "trial.json"
    record = json.loads(path.read_text())
    record["score"] = 0.75
    (project / "trial_1" / "new.json").write_text(json.dumps(record))
    os.replace(project / "trial_1" / "new.json", path)
    _trial(str(project), "2", score=0.25)
    assert [row["objective"] for row in table.rows()] == [0.5, 0.75, 0.25]
    os.remove(path)  # a trial folder without its record is left out, as before
    assert [row["trial_id"] for row in table.rows()] == ["0", "2"]


def test_a_30_trial_search_reads_each_trial_json_a_bounded_number_of_times(tmp_path,
                                                                           monkeypatch):
    """The table is updated once per trial end from the files that changed: O(N) reads of
    `trial.json` over a search, where re-reading every file after every trial was O(N²)."""
    import builtins

    import keras
    import keras_tuner

    from kt_toolkit.rundir import PROJECT_NAME
    from kt_toolkit.tuners import RecordingRandomSearch

    class Scored(keras_tuner.HyperModel):  # a real search, with a score instead of training
        def build(self, hp):
            hp.Float("x", 0.0, 1.0)
            return keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])

        def fit(self, hp, model, *args, **kwargs):
            return {"val_accuracy": hp["x"]}

    reads = []
    real_open = builtins.open

    def counting_open(file, mode="r", *args, **kwargs):
        if str(file).endswith("trial.json") and "r" in mode and "+" not in mode:
            reads.append(str(file))
        return real_open(file, mode, *args, **kwargs)

    tuner = RecordingRandomSearch(Scored(), objective=keras_tuner.Objective("val_accuracy",
                                                                            "max"),
                                  max_trials=30, seed=1, directory=str(tmp_path),
                                  project_name=PROJECT_NAME, run_dir=str(tmp_path))
    monkeypatch.setattr(builtins, "open", counting_open)
    tuner.search(verbose=0)
    monkeypatch.setattr(builtins, "open", real_open)
    rows = read_csv(tmp_path / "trials.csv")
    assert len(rows) == 30 and {row["status"] for row in rows} == {"COMPLETED"}
    per_file = {path: reads.count(path) for path in set(reads)}
    assert len(per_file) == 30
    # Each trial.json is written twice (RUNNING, then COMPLETED): read at most that often,
    # plus once more for a refresh that races with a write. Re-reading every file after
    # every trial would be 30·31/2 = 465 reads.
    assert max(per_file.values()) <= 3 and len(reads) <= 3 * 30


def test_a_scheduled_learning_rate_is_read_from_the_history_at_the_best_epoch(make_config):
    """Keras logs `learning_rate` only for a constant rate; KerasTuner records what
    Keras logs, so a scheduled trial's comes from history.csv."""
    from kt_toolkit.experiment import run_experiment

    config = make_config(model={"space": {"lr_schedule": "multistep", "units": 16}},
                         tuner={"max_trials": 1}, training={"epochs": 2})
    run_dir = run_experiment(config).run_dir
    row = read_csv(os.path.join(run_dir, "trials.csv"))[0]
    assert row["lr_schedule"] == "multistep" and row["status"] == "COMPLETED"
    history = read_csv(os.path.join(run_dir, "trials", row["trial_id"], "history.csv"))
    rates = [float(r["learning_rate"]) for r in history]
    assert rates[0] != rates[1]  # the schedule changed it: which epoch matters
    best = float(history[int(row["best_epoch"]) - 1]["learning_rate"])
    assert float(row["metric:learning_rate"]) == pytest.approx(best, rel=1e-5)
