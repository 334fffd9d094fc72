"""PRUNED trials (B2) through the analysis: table, study, history, verdicts, steps, figures."""

import json
import os

import pytest

from kt_toolkit.analysis import (diagnose, load_study, next_steps, optimization_history,
                                 trial_rows)
from kt_toolkit.analysis import plots

REASON = ("pruned at epoch 2: val_accuracy 0.3 (best so far) < median 0.8 of 4 trials at "
          "that epoch (B2)")


def _trial(run_dir, trial_id, score, *, status="COMPLETED", pruned=None, epochs=3):
    """KerasTuner's trial.json, our meta.json (with `pruned`) and a history.csv."""
    space = [{"class_name": "Float", "config": {"name": "learning_rate", "conditions": []}}]
    record = {"trial_id": trial_id, "status": status, "score": score, "best_step": epochs - 1,
              "message": None, "hyperparameters": {"space": space, "values": {
                  "learning_rate": 0.01 * (int(trial_id) + 1)}},
              "metrics": {"metrics": {}}}
    folder = os.path.join(run_dir, "tuner", f"trial_{trial_id}")
    os.makedirs(folder)
    with open(os.path.join(folder, "trial.json"), "w") as handle:
        json.dump(record, handle)
    trial_dir = os.path.join(run_dir, "trials", trial_id)
    os.makedirs(trial_dir)
    meta = {"trial_id": trial_id, "seconds": 1.0, "started_at": 100.0 + int(trial_id),
            "finished_at": 101.0 + int(trial_id)}
    if pruned:
        meta["pruned"] = pruned
    with open(os.path.join(trial_dir, "meta.json"), "w") as handle:
        json.dump(meta, handle)
    with open(os.path.join(trial_dir, "history.csv"), "w") as handle:
        handle.write("execution,epoch,loss,val_loss,accuracy,val_accuracy,learning_rate\n")
        for epoch in range(1, epochs + 1):
            value = (score or 0.5) * epoch / epochs
            handle.write(f"0,{epoch},{2 / epoch},{2.1 / epoch},{value},{value},0.01\n")


@pytest.fixture
def run_dir(tmp_path):
    run = str(tmp_path / "run")
    config = {"tuner": {"algorithm": "random", "objective": "val_accuracy",
                        "direction": "max"},
              "model": {"space": {"learning_rate": {"min": 0.001, "max": 0.1}}}}
    os.makedirs(run)
    with open(os.path.join(run, "config.yaml"), "w") as handle:
        json.dump(config, handle)  # JSON is YAML
    _trial(run, "0", 0.8)
    _trial(run, "1", 0.7)
    # A pruned trial with the highest score: it must still never be the best.
    _trial(run, "2", 0.95, pruned={"epoch": 2, "reason": REASON}, epochs=2)
    _trial(run, "3", None, status="FAILED", pruned={"epoch": 1, "reason": "x"}, epochs=1)
    return run


def test_the_table_marks_a_pruned_trial_with_its_epoch_and_reason(run_dir):
    rows = {row["trial_id"]: row for row in trial_rows(run_dir)}
    assert rows["2"]["status"] == "PRUNED" and rows["2"]["reason"] == REASON
    assert rows["2"]["objective"] == 0.95 and rows["2"]["best_epoch"] == 2
    assert rows["2"]["epochs_run"] == 2
    assert rows["3"]["status"] == "FAILED"  # a failure stays a failure
    assert rows["0"]["status"] == "COMPLETED" and rows["0"]["reason"] == ""


def test_a_pruned_trial_is_neither_completed_nor_the_best(run_dir):
    study = load_study(run_dir)
    assert [row["trial_id"] for row in study.completed] == ["0", "1"]
    assert [row["trial_id"] for row in study.pruned] == ["2"]
    assert study.best(1)[0]["trial_id"] == "0"
    history = {row["trial_id"]: row for row in optimization_history(study)}
    assert set(history) == {"0", "1", "2", "3"}
    assert history["2"]["objective"] == 0.95 and not history["2"]["is_best"]
    assert history["2"]["best_so_far"] == 0.8


def test_a_pruned_trial_gets_the_pruned_verdict_and_never_train_longer():
    climbing = [{"execution": 0, "epoch": e, "loss": 2 / e, "val_loss": 2.1 / e,
                 "accuracy": 0.1 * e, "val_accuracy": 0.1 * e} for e in range(1, 7)]
    completed = [v.kind for v in diagnose(climbing, objective="val_accuracy", direction="max")]
    assert "not_converged" in completed
    pruned = diagnose(climbing, objective="val_accuracy", direction="max", status="PRUNED",
                      reason=REASON)
    kinds = [v.kind for v in pruned]
    assert kinds[-1] == "pruned" and "not_converged" not in kinds and "good_fit" not in kinds
    assert pruned[-1].summary == REASON and "B2" in pruned[-1].practices
    short = diagnose(climbing[:2], objective="val_accuracy", direction="max",
                     status="PRUNED", reason=REASON)
    assert [v.kind for v in short] == ["pruned"]  # not "too_short": it was cut on purpose


def test_next_steps_when_every_trial_was_pruned():
    from kt_toolkit.rundir.study import Study

    reason = ("pruned at epoch 3: val_accuracy 0.1 (best so far) <= chance level 0.1 + 0.05 "
              "(B2, C4)")
    rows = [{"trial_id": str(i), "status": "PRUNED", "objective": 0.1, "reason": reason}
            for i in range(3)]
    study = Study(run_dir="/nowhere", objective="val_accuracy", direction="max",
                  task="multiclass", config={}, domains={}, rows=rows)
    steps = next_steps(study, {}, [])
    assert steps[0].startswith("No trial completed: all 3 were pruned (B2), e.g. pruned at")
    assert "(C4, C6)" in steps[0]
    failed = dict(rows[0], status="FAILED", objective=None, reason="loss became nan")
    mixed = Study(run_dir="/nowhere", objective="val_accuracy", direction="max",
                  task="multiclass", config={}, domains={}, rows=[failed] + rows[1:])
    assert next_steps(mixed, {}, [])[0].startswith(
        "No trial completed (1 failed, 2 pruned). Most common reason (1×): loss became nan")


def test_figures_show_pruned_trials_apart(run_dir, tmp_path):
    from matplotlib.figure import Figure

    study = load_study(run_dir)
    titles, savefig = [], Figure.savefig

    def recording(figure, *args, **kwargs):
        titles.append(figure.get_suptitle())
        return savefig(figure, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Figure, "savefig", recording)
        plots.plot_optimization_history(optimization_history(study), str(tmp_path / "h.png"),
                                        objective=study.objective, direction="max")
        plots.plot_objective_vs_knobs(study, str(tmp_path / "k.png"))
        plots.plot_parallel_coordinates(study, str(tmp_path / "p.png"))
        plots.plot_trial_curves(study, "2", str(tmp_path / "c.png"))
    assert "2 scored, 1 failed, 1 pruned" in titles[0]
    assert "2 completed, 1 failed, 1 pruned" in titles[1]
    assert "1 pruned (dashed)" in titles[2]
    assert plots.curve_filename(study, study.trial("2")).endswith("_PRUNED.png")
    for name in ("h.png", "k.png", "p.png", "c.png"):
        assert os.path.getsize(tmp_path / name) > 5000
