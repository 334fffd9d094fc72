"""The trials table from a run directory's files (KerasTuner's trial.json format)."""

import json
import os

from kt_toolkit.analysis import trial_rows, write_trials_table
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
