"""next_steps on hand-made studies: one direction per knob, failures blamed on their
strongest cause, no inactive knob named, no importance acted on below `MIN_R2`."""

import json
import os
import re

import importlib

from kt_toolkit.analysis import diagnose
from kt_toolkit.analysis.importance import ImportanceResult
from kt_toolkit.analysis.next_steps import next_steps
from kt_toolkit.analysis.search import BoundaryWarning
from kt_toolkit.analysis.verdicts import Verdict
from kt_toolkit.rundir.study import Domain, Study

LR = Domain("learning_rate", "float", min=1e-5, max=1.0, sampling="log")
BATCH_NORM = Domain("batch_norm", "choice", values=(False, True))


def _study(rows, **domains):
    return Study(run_dir="/nowhere", objective="val_accuracy", direction="max",
                 task="multiclass", config={"training": {"epochs": 20}},
                 domains={"learning_rate": LR, **domains}, rows=rows)


def _row(trial_id, objective, learning_rate, status="COMPLETED", **knobs):
    return {"trial_id": str(trial_id), "status": status, "objective": objective,
            "learning_rate": learning_rate, "reason": None, **knobs}


def _verdict(kind, summary="numbers", advice="Advice (B3)."):
    return Verdict(kind=kind, summary=summary, advice=advice, practices=("B3",), evidence={})


def _still_improving():
    """A real `not_converged` verdict: its advice says to raise the learning rate."""
    climbing = [{"execution": 0, "epoch": e, "loss": 2 / e, "val_loss": 2.1 / e,
                 "accuracy": 0.1 * e, "val_accuracy": 0.1 * e} for e in range(1, 8)]
    (verdict,) = [v for v in diagnose(climbing, objective="val_accuracy", direction="max")
                  if v.kind == "not_converged"]
    assert "raise the learning rate" in verdict.advice  # what the rules must weigh
    return verdict


def _upper_lr_warning(best=0.9):
    return BoundaryWarning(knob="learning_rate", edge="upper", domain_min=1e-5, domain_max=1.0,
                           sampling="log", best_values=(best, best, best),
                           suggested_min=1e-5, suggested_max=10.0,
                           message="learning_rate: 3 of the top 3 trials are at the upper "
                                   f"edge of [1e-05, 1] (best {best:g}): widen to "
                                   "[1e-05, 10].")


def _raises_lr(step):
    return bool(re.search(r"raise the learning rate|learning_rate.*widen to \[1e-05, 10\]|"
                          r"10x up", step))


# 1. One direction per knob -----------------------------------------------------------

def test_divergence_and_a_wider_upper_learning_rate_range_never_appear_together():
    good = [_row(i, 0.9 - i / 100, 0.9) for i in range(3)]
    diverged = [_row(i, None, 1.0, "FAILED") for i in range(3, 6)]
    verdicts = {str(i): [_verdict("good_fit")] for i in range(3)}
    verdicts.update({str(i): [_verdict("diverged")] for i in range(3, 6)})
    steps = next_steps(_study(good + diverged), verdicts, [_upper_lr_warning()], count=10)
    assert any("3 of 6 trials diverged: lower the upper end of the learning-rate range"
               in s for s in steps)
    assert not any(_raises_lr(s) for s in steps), steps
    # Without the divergence the widening is the right advice, and it stays.
    calm = next_steps(_study(good), verdicts, [_upper_lr_warning()], count=10)
    assert any("widen to [1e-05, 10]" in s for s in calm)


def test_beside_divergence_a_slow_best_trial_keeps_train_longer_but_not_raise_the_rate():
    rows = [_row(0, 0.9, 0.01)] + [_row(i, None, 0.5, "FAILED") for i in range(1, 4)]
    verdicts = {"0": [_still_improving()]}
    verdicts.update({str(i): [_verdict("diverged")] for i in range(1, 4)})
    steps = next_steps(_study(rows), verdicts, [], count=10)
    best = [s for s in steps if s.startswith("The best trial (0) is **not converged**")]
    assert len(best) == 1 and "Train longer" in best[0]
    assert not any(_raises_lr(s) for s in steps), steps


def test_no_step_raises_a_learning_rate_already_above_the_sane_bound():
    huge = 1e6
    rows = [_row(0, 0.9, huge), _row(1, 0.8, huge / 10), _row(2, 0.7, huge / 100)]
    verdicts = {"0": [_still_improving()]}
    space = Domain("learning_rate", "float", min=1e3, max=1e6, sampling="log")
    warning = BoundaryWarning(knob="learning_rate", edge="upper", domain_min=1e3,
                              domain_max=1e6, sampling="log", best_values=(huge,) * 3,
                              suggested_min=1e3, suggested_max=1e7,
                              message="learning_rate: 3 of the top 3 trials are at the "
                                      "upper edge of [1000, 1e+06]: widen to [1000, 1e+07].")
    steps = next_steps(_study(rows, learning_rate=space), verdicts, [warning], count=10)
    assert any(s.startswith("The best trial (0) is **not converged**") for s in steps)
    assert not any("raise the learning rate" in s or "1e+07" in s for s in steps), steps
    # At a sane learning rate the same verdict may say to raise it.
    sane = [_row(0, 0.9, 0.01), _row(1, 0.8, 0.001)]
    steps = next_steps(_study(sane), verdicts, [], count=10)
    assert any("raise the learning rate" in s for s in steps)
    module = importlib.import_module("kt_toolkit.analysis.next_steps")
    assert module.MAX_RAISED_LEARNING_RATE == 1.0  # the documented bound


# 2. Failures blamed on their strongest cause -----------------------------------------

def _confounded(low_batch_norm_fails=False):
    """Good trials at lr ≤ 0.1; every trial at lr ≥ 1 diverged, most with batch norm.

    With `low_batch_norm_fails`, batch norm also failed at three sane rates, each
    between two that worked without it.
    """
    rows, verdicts = [], {}
    for i, lr in enumerate((1e-4, 1e-3, 1e-2, 1e-1)):
        rows.append(_row(i, 0.9 - i / 100, lr, batch_norm=False))
        verdicts[str(i)] = [_verdict("good_fit")]
    high = [(1.0, True), (3.0, True), (10.0, True), (30.0, True), (100.0, False)]
    low = [(2e-4, True), (2e-3, True), (2e-2, True)] if low_batch_norm_fails else []
    for i, (lr, bn) in enumerate(high + low, start=len(rows)):
        rows.append(_row(i, None, lr, "FAILED", batch_norm=bn))
        verdicts[str(i)] = [_verdict("diverged" if lr >= 1 else "failed")]
    return _study(rows, batch_norm=BATCH_NORM), verdicts


def test_failures_at_high_learning_rates_are_blamed_on_the_rate_not_batch_norm():
    study, verdicts = _confounded()
    steps = next_steps(study, verdicts, [], count=10)
    assert not any("batch_norm" in s for s in steps), steps
    blamed = [s for s in steps if "learning_rate ≥ 1 " in s]
    assert len(blamed) == 1 and "5 of 5" in blamed[0] and "0 of 4" in blamed[0], steps


def test_a_choice_that_fails_below_the_learning_rate_onset_too_is_still_dropped():
    study, verdicts = _confounded(low_batch_norm_fails=True)
    steps = next_steps(study, verdicts, [], count=10)
    # Both causes: the rate above 1, batch norm below it (its 3 trials there, not 7).
    assert any("learning_rate ≥ 1 " in s and "3 of 7 below" in s for s in steps), steps
    assert any("`batch_norm: True` (3 configurations)" in s for s in steps), steps


# 3. Inactive knobs are never named ---------------------------------------------------

SCHEDULE_KNOBS = ("decay_rate", "decay_factor", "warmup_epochs")


def _schedule_study():
    domains = {
        "units": Domain("units", "choice", values=(32, 64, 128)),
        "dropout": Domain("dropout", "float", min=0.0, max=0.5),
        "lr_schedule": Domain("lr_schedule", "choice",
                              values=("constant", "exponential", "plateau", "warmup")),
        "decay_rate": Domain("decay_rate", "float", min=0.5, max=0.99),
        "decay_factor": Domain("decay_factor", "float", min=0.1, max=0.5),
        "warmup_epochs": Domain("warmup_epochs", "int", min=1, max=5),
    }
    rows = []
    for i, schedule in enumerate(["constant"] + ["exponential", "plateau", "warmup"] * 3):
        rows.append(_row(i, 0.95 - i / 100, 10.0 ** -(1 + i % 3), units=64, dropout=0.1,
                         lr_schedule=schedule,
                         decay_rate=0.9 if schedule == "exponential" else None,
                         decay_factor=0.2 if schedule == "plateau" else None,
                         warmup_epochs=2 if schedule == "warmup" else None))
    return _study(rows, **domains)


def test_no_step_names_a_knob_the_best_trial_does_not_use():
    study = _schedule_study()
    assert study.best(1)[0]["lr_schedule"] == "constant"
    # Reliable importance with the schedule's knobs last (fix them) or first (narrow them).
    last = ImportanceResult("m", [("learning_rate", 0.5), ("units", 0.2), ("dropout", 0.15),
                                  ("lr_schedule", 0.1), ("decay_rate", 0.03),
                                  ("decay_factor", 0.01), ("warmup_epochs", 0.01)], r2=0.8,
                            trials_used=10)
    first = ImportanceResult("m", [("decay_rate", 0.4), ("learning_rate", 0.3),
                                   ("warmup_epochs", 0.2), ("units", 0.1), ("dropout", 0.0),
                                   ("lr_schedule", 0.0), ("decay_factor", 0.0)], r2=0.8,
                             trials_used=10)
    for importance in (last, first):
        steps = next_steps(study, {}, [], importance, count=10)
        text = " ".join(steps)
        assert not any(knob in text for knob in SCHEDULE_KNOBS), steps
        assert "learning_rate" in text  # an active knob is still named


# 4. No importance-based step below MIN_R2 --------------------------------------------

WEAK = ImportanceResult("m", [("learning_rate", 0.7), ("units", 0.2), ("dropout", 0.1),
                              ("lr_schedule", 0.0)], r2=0.13, trials_used=10)


def test_importance_below_the_r2_threshold_is_not_acted_on():
    study = _schedule_study()
    steps = next_steps(study, {}, [], WEAK, count=10)
    text = " ".join(steps)
    assert "carry" not in text and "least important" not in text, steps
    assert "importance not reliable (R² = 0.13 < 0.3)" in text
    strong = ImportanceResult(WEAK.method, WEAK.importances, r2=0.31, trials_used=10)
    assert "carry" in " ".join(next_steps(study, {}, [], strong, count=10))
    assert importlib.import_module("kt_toolkit.analysis.importance").MIN_R2 == 0.3


def _write_run(run_dir, count=6):
    """A run directory: config.yaml, KerasTuner's trial.json, meta.json, history.csv."""
    os.makedirs(run_dir)
    config = {"tuner": {"algorithm": "random", "objective": "val_accuracy",
                        "direction": "max"},
              "model": {"space": {"learning_rate": {"min": 1e-4, "max": 0.1,
                                                    "sampling": "log"},
                                  "units": {"values": [32, 64]}}}}
    with open(os.path.join(run_dir, "config.yaml"), "w") as handle:
        json.dump(config, handle)  # JSON is YAML
    for number in range(count):
        trial_id, score = str(number), 0.9 - number / 50
        values = {"learning_rate": 10.0 ** -(1 + number % 3), "units": (32, 64)[number % 2]}
        record = {"trial_id": trial_id, "status": "COMPLETED", "score": score, "best_step": 2,
                  "message": None, "hyperparameters": {"space": [], "values": values},
                  "metrics": {"metrics": {}}}
        folder = os.path.join(run_dir, "tuner", f"trial_{trial_id}")
        os.makedirs(folder)
        with open(os.path.join(folder, "trial.json"), "w") as handle:
            json.dump(record, handle)
        trial_dir = os.path.join(run_dir, "trials", trial_id)
        os.makedirs(trial_dir)
        with open(os.path.join(trial_dir, "meta.json"), "w") as handle:
            json.dump({"trial_id": trial_id, "seconds": 1.0}, handle)
        with open(os.path.join(trial_dir, "history.csv"), "w") as handle:
            handle.write("execution,epoch,loss,val_loss,accuracy,val_accuracy\n")
            for epoch in (1, 2, 3):
                handle.write(f"0,{epoch},{1 / epoch},{1.1 / epoch},{score * epoch / 3},"
                             f"{score * epoch / 3}\n")


def test_the_report_says_importance_is_not_reliable_instead_of_showing_it(tmp_path,
                                                                          monkeypatch):
    from kt_toolkit.analysis import report

    run_dir = str(tmp_path / "run")
    _write_run(run_dir)
    weak = ImportanceResult("m", [("learning_rate", 0.8), ("units", 0.2)], r2=0.13,
                            trials_used=6)
    monkeypatch.setattr(report, "hyperparameter_importance", lambda study: weak)
    written = report.write_report(run_dir)
    markdown = open(written.markdown, encoding="utf-8").read()
    section = markdown.split("## Hyperparameter importance", 1)[1].split("\n## ", 1)[0]
    assert "importance not reliable (R² = 0.13 < 0.3)" in section
    assert "importance.png" not in markdown
    assert not any("carry" in s for s in written.next_steps)
