"""Verdicts from synthetic curves (one per kind, thresholds on both sides) and a run dir."""

import json
import os

import numpy as np
import pytest
import yaml

from kt_toolkit._io import write_csv
from kt_toolkit.rundir.study import load_study
from kt_toolkit.analysis.verdicts import (DEFAULT_THRESHOLDS, VERDICT_KINDS, Thresholds,
                                          diagnose, diagnose_trial, study_reference,
                                          study_verdicts)


def _history(**columns):
    size = len(next(iter(columns.values())))
    return [{"execution": 0, "epoch": i + 1,
             **{name: float(values[i]) for name, values in columns.items()}}
            for i in range(size)]


def _diagnose(columns, objective="val_accuracy", direction="max", **kwargs):
    return diagnose(_history(**columns), objective=objective, direction=direction, **kwargs)


def _kinds(verdicts):
    return [v.kind for v in verdicts]


def _epochs(count=20):
    return np.arange(1, count + 1, dtype=float)


def _healthy(count=20):
    """Log-like falling losses that flatten; validation a little behind training."""
    decay = np.exp(-0.4 * (_epochs(count) - 1))
    return {"loss": 0.1 + 2.2 * decay, "val_loss": 0.15 + 2.0 * decay,
            "accuracy": 0.97 - 0.8 * decay, "val_accuracy": 0.95 - 0.7 * decay}


def _plateau(train, val, count=20):
    """Scores that climb and flatten at `train` / `val`; losses still falling gently."""
    e = _epochs(count)
    climb = 0.3 * np.exp(-0.5 * (e - 1))
    return {"loss": 1 / e, "val_loss": 0.5 + 1 / e,
            "accuracy": train - climb, "val_accuracy": val - climb}


def test_healthy_curves_are_a_good_fit():
    [verdict] = _diagnose(_healthy())
    assert verdict.kind == "good_fit"
    assert "gap 0.0199 <= 0.05" in verdict.summary and "epoch 20 of 20" in verdict.summary
    assert verdict.practices == ("B4",) and verdict.evidence["gap"] == pytest.approx(0.02, abs=1e-3)


def test_overfitting_gap_and_rising_validation_loss():
    e = _epochs()
    columns = _plateau(1.0, 0.9)
    columns["val_loss"] = np.r_[np.linspace(1.0, 0.3, 6), 0.3 * (1 + 0.025 * np.arange(1, 15))]
    [verdict] = _diagnose(columns)
    assert verdict.kind == "overfitting"
    assert "train accuracy 1 vs validation 0.9 (gap 0.1 > 0.05)" in verdict.summary
    assert "validation loss rose 35% after its minimum 0.3 at epoch 6" in verdict.summary
    assert "B3" in verdict.practices and verdict.evidence["val_loss_rise"] == pytest.approx(0.35)
    assert e[-1] == 20


@pytest.mark.parametrize("overfit_gap, expected", [(0.039, "overfitting"), (0.041, "good_fit")])
def test_overfit_gap_edge(overfit_gap, expected):
    verdicts = _diagnose(_plateau(0.94, 0.9), thresholds=Thresholds(overfit_gap=overfit_gap))
    assert _kinds(verdicts) == [expected]


@pytest.mark.parametrize("rise, expected", [(0.34, "overfitting"), (0.36, "good_fit")])
def test_validation_loss_rise_edge(rise, expected):
    columns = _plateau(0.9, 0.9)
    columns["val_loss"] = np.r_[np.linspace(1.0, 0.3, 6), 0.3 * (1 + 0.025 * np.arange(1, 15))]
    verdicts = _diagnose(columns, thresholds=Thresholds(val_loss_rise=rise))
    assert _kinds(verdicts) == [expected]


def test_validation_loss_rise_needs_training_loss_to_fall():
    columns = _plateau(0.9, 0.9)
    columns["val_loss"] = np.r_[np.linspace(1.0, 0.3, 6), 0.3 * (1 + 0.025 * np.arange(1, 15))]
    columns["loss"] = np.r_[np.linspace(1.0, 0.3, 6), np.full(14, 0.31)]  # noise, not overfitting
    assert _kinds(_diagnose(columns)) == ["good_fit"]


def test_unbounded_overfitting_by_loss_ratio():
    e = _epochs()
    columns = {"loss": 100 / e, "val_loss": np.maximum(20.0, 100 / e)}
    [verdict] = _diagnose(columns, objective="val_loss", direction="min", task="regression")
    assert verdict.kind == "overfitting"
    assert "validation loss 20 vs train 5 (4x >= 1.5x)" in verdict.summary


def test_underfitting_against_the_study_best():
    reference = {"best_objective": 0.95, "best_score": 0.99}
    [verdict] = _diagnose(_plateau(0.6, 0.58), reference=reference)
    assert verdict.kind == "underfitting" and verdict.practices == ("B3", "C5", "C2")
    assert "train accuracy 0.6 and validation 0.58 both low" in verdict.summary
    assert "study best: validation 0.95, train 0.99; margin 0.1" in verdict.summary


@pytest.mark.parametrize("margin, expected", [(0.11, "underfitting"), (0.13, "good_fit")])
def test_underfit_margin_edge(margin, expected):
    reference = {"best_objective": 0.70, "best_score": 0.75}
    thresholds = Thresholds(underfit_margin=margin, low_score=0.0)
    verdicts = _diagnose(_plateau(0.6, 0.58), reference=reference, thresholds=thresholds)
    assert _kinds(verdicts) == [expected]


def test_underfitting_without_reference_uses_low_score():
    assert _kinds(_diagnose(_plateau(0.52, 0.5))) == ["underfitting"]
    assert _kinds(_diagnose(_plateau(0.65, 0.62))) == ["good_fit"]


@pytest.mark.parametrize("stalled, learning", [(0.04, True), (0.06, False)])
def test_stalled_loss_drop_edge(stalled, learning):
    columns = _plateau(0.12, 0.1)
    columns["loss"] = np.linspace(2.0, 1.9, 20)  # fell 5%
    [verdict] = _diagnose(columns, thresholds=Thresholds(stalled_loss_drop=stalled))
    assert verdict.kind == "underfitting"
    assert ("not learning" in verdict.summary) is not learning
    if not learning:
        assert "training loss fell only 5.0% (2 -> 1.9, < 6%)" in verdict.summary
        assert verdict.practices == ("C2", "E2", "E13", "C4")


def test_frozen_objective_is_not_learning_even_when_the_loss_falls():
    e = _epochs(6)
    columns = {"loss": 100 / e, "val_loss": 50 / e, "auc": np.full(6, 0.6),
               "val_auc": np.full(6, 0.5)}
    [verdict] = _diagnose(columns, objective="val_auc", reference={"best_objective": 0.99,
                                                                   "best_score": 0.99})
    assert verdict.kind == "underfitting"
    assert "val_auc stayed at 0.5 for all 6 epochs" in verdict.summary


def test_unbounded_underfitting_needs_a_reference():
    e = _epochs()
    columns = {"loss": 3000 + 300 / e, "val_loss": 3100 + 300 / e}
    reference = {"best_loss": 1000.0, "best_val_loss": 1000.0}
    [verdict] = _diagnose(columns, objective="val_loss", direction="min", reference=reference)
    assert verdict.kind == "underfitting"
    assert "3.0x and 3.1x the study's lowest, 1000 and 1000; >= 1.5x" in verdict.summary
    assert _kinds(_diagnose(columns, objective="val_loss", direction="min")) == ["good_fit"]


def test_not_converged_and_hyperband_advice():
    e = _epochs(10)
    columns = {"loss": 1 / e, "val_loss": 0.6 - 0.001 * e,
               "accuracy": 0.5 + 0.02 * e, "val_accuracy": 0.5 + 0.02 * e}
    [verdict] = _diagnose(columns)
    assert verdict.kind == "not_converged" and verdict.practices == ("B4", "E2")
    assert "best 0.7 at epoch 10, gained 0.06 over the last 3 epochs" in verdict.summary
    [verdict] = _diagnose(columns, hyperparameters={"tuner/epochs": 10})
    assert "Hyperband" in verdict.advice
    [verdict] = _diagnose(columns, status="RUNNING")
    assert verdict.kind == "good_fit" and verdict.summary.endswith("(still running)")


@pytest.mark.parametrize("gain, expected", [(0.059, "not_converged"), (0.061, "good_fit")])
def test_improving_score_gain_edge(gain, expected):
    e = _epochs(10)
    columns = {"loss": 1 / e, "val_loss": 0.6 - 0.001 * e,
               "accuracy": 0.5 + 0.02 * e, "val_accuracy": 0.5 + 0.02 * e}
    verdicts = _diagnose(columns, thresholds=Thresholds(improving_score_gain=gain))
    assert _kinds(verdicts) == [expected]


def test_a_tie_with_an_old_best_is_not_still_improving():
    e = _epochs()
    columns = {"loss": 1 / e, "val_loss": 0.2 + 2 / e,  # still falling 5% over 3 epochs
               "accuracy": np.minimum(0.95, 0.5 + 0.05 * e),
               "val_accuracy": np.minimum(0.93, 0.5 + 0.05 * e)}  # 0.93 from epoch 9 on
    [verdict] = _diagnose(columns)
    assert verdict.kind == "good_fit" and "0.93 at epoch 9 of 20" in verdict.summary
    columns["val_accuracy"][-1] = 0.94  # a new best at the last epoch
    assert _kinds(_diagnose(columns)) == ["not_converged"]


def test_diverged_from_the_failure_reason():
    columns = {"loss": [2.3], "val_loss": [2.2], "learning_rate": [0.5]}
    [verdict] = _diagnose(columns, status="FAILED",
                          reason="loss became nan/inf at epoch 2, batch 2: training diverged.")
    assert verdict.kind == "diverged" and "E9" in verdict.practices
    assert verdict.summary == ("loss became nan/inf at epoch 2, batch 2: training diverged "
                               "(training loss 2.3 at epoch 1); learning rate 0.5")


def test_diverged_from_nan_in_the_history():
    columns = {"loss": [2.3, 1.1, np.nan], "val_loss": [2.2, 1.0, np.nan],
               "accuracy": [0.3, 0.6, np.nan], "val_accuracy": [0.4, 0.7, np.nan]}
    [verdict] = _diagnose(columns)
    assert verdict.kind == "diverged"
    assert verdict.summary == "training loss became nan at epoch 3"


@pytest.mark.parametrize("ratio, expected", [(3.7, "diverged"), (3.8, "too_short")])
def test_explode_ratio_edge(ratio, expected):
    columns = {"loss": [1.0, 0.5, 0.4, 0.9], "val_loss": [0.9, 0.5, 0.45, 1.5],
               "accuracy": [0.3, 0.6, 0.7, 0.6], "val_accuracy": [0.8, 0.85, 0.86, 0.7]}
    columns["loss"][3] = 1.5  # 3.75x its minimum, above the first epoch
    verdicts = _diagnose(columns, thresholds=Thresholds(explode_ratio=ratio))
    assert _kinds(verdicts) == [expected]
    if expected == "diverged":
        assert "from its minimum 0.4 at epoch 3 to 1.5 at epoch 4 (3.75x >= 3.7x" \
            in verdicts[0].summary


def test_failed_for_another_reason():
    [verdict] = _diagnose({"loss": []}, status="FAILED", reason="ValueError: bad shape (3,).")
    assert verdict.kind == "failed" and verdict.summary == "failed: ValueError: bad shape (3,)"
    [verdict] = _diagnose({"loss": []}, status="FAILED")
    assert verdict.summary == "failed with no recorded reason"
    [verdict] = _diagnose({"loss": [2.0, np.inf]}, status="FAILED")  # no reason, but a NaN
    assert verdict.kind == "diverged" and verdict.summary == "training loss became inf at epoch 2"


@pytest.mark.parametrize("tolerance, expected", [(1e-8, "suspicious"), (1e-6, "good_fit")])
def test_negative_loss_edge(tolerance, expected):
    columns = _healthy()
    columns["loss"] = columns["loss"] - columns["loss"][-1] - 1e-7  # ends at -1e-7
    verdicts = _diagnose(columns, task="multiclass",
                         thresholds=Thresholds(negative_loss_tolerance=tolerance))
    assert _kinds(verdicts) == [expected]
    if expected == "suspicious":
        assert "cross-entropy loss is negative (lowest -1.00e-07)" in verdicts[0].summary
        assert verdicts[0].practices == ("B5", "E14")


def test_negative_loss_is_fine_for_regression():
    columns = {"loss": -1 - 1 / _epochs(), "val_loss": -0.9 - 1 / _epochs()}
    verdicts = _diagnose(columns, objective="val_loss", direction="min", task="regression")
    assert "suspicious" not in _kinds(verdicts)


def _leaky(count=12):
    e = _epochs(count)
    return {"loss": 1 / e, "val_loss": 0.5 / e,
            "accuracy": 0.6 + 0.02 * e, "val_accuracy": np.minimum(0.98, 0.7 + 0.02 * e)}


@pytest.mark.parametrize("gap, expected", [(0.09, "suspicious"), (0.11, "not_converged")])
def test_leakage_gap_edge(gap, expected):
    verdicts = _diagnose(_leaky(), thresholds=Thresholds(leakage_gap=gap))
    assert (_kinds(verdicts) == ["suspicious"]) is (expected == "suspicious")
    if expected == "suspicious":
        assert "above training at every one of the 12 epochs (smallest gap 0.1 >= 0.09" \
            in verdicts[0].summary
        assert verdicts[0].practices == ("B5", "F2")


def test_leakage_is_not_judged_with_dropout_or_on_few_epochs():
    assert _kinds(_diagnose(_leaky()))[0] == "suspicious"
    assert "suspicious" not in _kinds(_diagnose(_leaky(), hyperparameters={"dropout": 0.5}))
    assert "suspicious" not in _kinds(_diagnose(_leaky(4)))


def test_unbounded_leakage_by_loss_ratio():
    e = _epochs(10)
    [verdict] = _diagnose({"loss": 10 / e, "val_loss": 4 / e}, objective="val_loss",
                          direction="min")
    assert verdict.kind == "suspicious" and "largest ratio 0.4" in verdict.summary


@pytest.mark.parametrize("min_epochs, expected", [(2, "not_converged"), (3, "too_short")])
def test_too_short_edge(min_epochs, expected):
    columns = {"loss": [2.0, 1.0], "val_loss": [1.5, 0.9],
               "accuracy": [0.5, 0.8], "val_accuracy": [0.7, 0.9]}
    verdicts = _diagnose(columns, thresholds=Thresholds(min_epochs=min_epochs))
    assert _kinds(verdicts) == [expected]
    if expected == "too_short":
        assert verdicts[0].summary.startswith("only 2 epoch(s)")


def test_clean_but_short_run_is_too_short_not_good_fit():
    columns = {"loss": [1.0, 0.5, 0.4, 0.35], "val_loss": [0.6, 0.4, 0.38, 0.39],
               "accuracy": [0.6, 0.85, 0.88, 0.9], "val_accuracy": [0.8, 0.9, 0.9, 0.89]}
    [verdict] = _diagnose(columns, hyperparameters={"tuner/epochs": 4})
    assert verdict.kind == "too_short" and "needs >= 5" in verdict.summary
    assert "Hyperband" in verdict.advice


def test_most_severe_first_and_arguments_checked():
    columns = _plateau(0.3, 0.3, count=30)
    columns["loss"] = np.linspace(2.0, 1.95, 30)
    columns["val_accuracy"] = np.linspace(0.2, 0.3, 30)
    verdicts = _diagnose(columns)
    assert _kinds(verdicts) == ["underfitting", "not_converged"]
    assert [VERDICT_KINDS.index(k) for k in _kinds(verdicts)] == sorted(
        VERDICT_KINDS.index(k) for k in _kinds(verdicts))
    with pytest.raises(ValueError, match="`direction` must be 'max' or 'min'"):
        _diagnose(columns, direction="up")
    with pytest.raises(ValueError, match="Received: overfit_gap=-0.1"):
        Thresholds(overfit_gap=-0.1)
    with pytest.raises(ValueError, match="`min_epochs` must be an integer >= 1"):
        Thresholds(min_epochs=0)
    assert DEFAULT_THRESHOLDS == Thresholds()


def _write_trial(run_dir, trial_id, history, *, status="COMPLETED", score=None, message=None,
                 values=None):
    write_csv(os.path.join(run_dir, "trials", trial_id, "history.csv"), history)
    values = values or {"units": 32}
    record = {"trial_id": trial_id, "status": status, "score": score, "best_step": 0,
              "message": message, "hyperparameters": {
                  "space": [{"class_name": "Choice", "config": {"name": "units"}}],
                  "values": values}}
    folder = os.path.join(run_dir, "tuner", f"trial_{trial_id}")
    os.makedirs(folder)
    with open(os.path.join(folder, "trial.json"), "w") as handle:
        json.dump(record, handle)


@pytest.fixture
def run_dir(tmp_path):
    run = str(tmp_path / "run")
    os.makedirs(run)
    with open(os.path.join(run, "config.yaml"), "w") as handle:
        yaml.safe_dump({"model": {"space": {"units": {"values": [32, 64]}}},
                        "tuner": {"objective": "val_accuracy", "direction": "max"}}, handle)
    with open(os.path.join(run, "run.json"), "w") as handle:
        json.dump({"objective": "val_accuracy", "direction": "max", "task": "multiclass"},
                  handle)
    healthy = _history(**_healthy())
    _write_trial(run, "0", healthy, score=0.9496)
    _write_trial(run, "1", _history(**_plateau(0.12, 0.1)) + [], score=0.1)
    _write_trial(run, "2", _history(loss=[2.3], val_loss=[2.2]), status="FAILED",
                 message="Traceback ...\nFailedTrialError: loss became nan at epoch 2.")
    # Two executions: the second (better) one is diagnosed.
    second = [dict(row, execution=1) for row in healthy]
    first = [dict(row, execution=0, val_accuracy=row["val_accuracy"] - 0.5) for row in healthy]
    _write_trial(run, "3", first + second, score=0.9496)
    return run


def test_study_verdicts_on_a_run_directory(run_dir):
    study = load_study(run_dir)
    verdicts = study_verdicts(study)
    assert {k: _kinds(v) for k, v in verdicts.items()} == {
        "0": ["good_fit"], "1": ["underfitting"], "2": ["diverged"], "3": ["good_fit"]}
    assert verdicts["2"][0].summary.startswith("loss became nan at epoch 2")
    reference = study_reference(study)
    assert reference["best_objective"] == pytest.approx(0.9496)
    assert reference["best_score"] == pytest.approx(0.97, abs=1e-3)
    assert "study best: validation 0.9496" in verdicts["1"][0].summary
    assert diagnose_trial(study, "3") == verdicts["3"]


def test_a_saturated_softmax_is_diverged_even_without_nan():
    # JAX and PyTorch clip probabilities: lr=1e4 gives losses of 11-15, not NaN.
    chance = float(np.log(10))
    columns = {"loss": [11.25, 14.99], "val_loss": [15.0, 15.0],
               "accuracy": [0.05, 0.07], "val_accuracy": [0.069, 0.069],
               "learning_rate": [1e4, 1e4]}
    (verdict,) = _diagnose(columns, reference={"chance_loss": chance})
    assert verdict.kind == "diverged"
    assert "never fell below 11.25, 4.9x the chance level ln 10 = 2.30" in verdict.summary
    assert "learning rate 10000" in verdict.summary
    assert "B5" in verdict.practices
    # Without the chance level (regression, or an old run) no such verdict.
    assert "diverged" not in _kinds(_diagnose(columns))


@pytest.mark.parametrize("ratio, expected", [(3.0, "diverged"), (3.5, "too_short")])
def test_saturated_loss_ratio_edge(ratio, expected):
    chance = float(np.log(10))
    columns = {"loss": [3.2 * chance, 3.2 * chance], "val_loss": [7.0, 7.0],
               "accuracy": [0.1, 0.1], "val_accuracy": [0.1, 0.1]}
    verdicts = _diagnose(columns, reference={"chance_loss": chance},
                         thresholds=Thresholds(saturated_loss_ratio=ratio))
    assert _kinds(verdicts)[0] == expected


def test_a_model_that_learns_from_chance_level_is_not_saturated():
    chance = float(np.log(10))
    assert "diverged" not in _kinds(_diagnose(_healthy(), reference={"chance_loss": chance}))


def test_a_loss_swollen_by_an_l1_penalty_is_not_a_saturated_softmax():
    # Cross-entropy stops at -ln(1e-7) = 16.1 in Keras: 245 is the L1 term (l1=0.56).
    chance = float(np.log(10))
    columns = {"loss": [300.0, 260.0, 245.0], "val_loss": [250.0, 246.0, 244.0],
               "accuracy": [0.12, 0.13, 0.135], "val_accuracy": [0.11, 0.12, 0.119]}
    kinds = _kinds(_diagnose(columns, reference={"chance_loss": chance}))
    assert "diverged" not in kinds
    # A model that learns (train accuracy 0.9) with a swollen loss is no saturated softmax.
    columns = {"loss": [9.0, 8.5, 8.0], "val_loss": [9.0, 8.6, 8.2],
               "accuracy": [0.6, 0.85, 0.9], "val_accuracy": [0.6, 0.8, 0.88]}
    assert "diverged" not in _kinds(_diagnose(columns, reference={"chance_loss": chance}))
    (verdict,) = _diagnose({"loss": [300.0, 260.0, 245.0], "val_loss": [250.0, 246.0, 244.0],
                            "accuracy": [0.12, 0.13, 0.135],
                            "val_accuracy": [0.11, 0.12, 0.119]},
                           reference={"chance_loss": chance, "best_objective": 0.98,
                                      "best_score": 0.99})
    assert verdict.kind == "underfitting" and "mostly the L1/L2 penalty" in verdict.summary
    assert "lower `l1`/`l2`" in verdict.advice and "E11" in verdict.practices


def test_a_high_loss_under_an_active_penalty_is_not_a_saturated_softmax():
    # Breast cancer, SGD at lr 1.2e-5 with l2=0.035: flat loss 4.5 = ln 2 + the L2 term.
    columns = {"loss": [4.52, 4.51, 4.50, 4.50, 4.495], "val_loss": [4.5] * 5,
               "auc": [0.5] * 5, "val_auc": [0.5] * 5, "learning_rate": [1.15e-5] * 5}
    reference = {"chance_loss": float(np.log(2)), "best_objective": 0.999, "best_score": 0.999}
    penalised = _diagnose(columns, objective="val_auc", reference=reference,
                          hyperparameters={"regularizer": "l2", "l2": 0.0346})
    assert "diverged" not in _kinds(penalised) and "underfitting" in _kinds(penalised)
    assert "diverged" in _kinds(_diagnose(columns, objective="val_auc", reference=reference,
                                          hyperparameters={"regularizer": "none"}))


def test_logits_that_blew_up_are_diverged_not_still_improving():
    # TensorFlow's unclipped cross-entropy of an exploded model (SGD, lr 1e6): it falls
    # from 5e6 to 2e6 while the training accuracy climbs, yet the model is garbage.
    columns = {"loss": [5e6, 3e6, 2e6], "crossentropy": [5e6, 3e6, 2e6],
               "val_loss": [4e6, 2.5e6, 1.9e6], "val_crossentropy": [4e6, 2.5e6, 1.9e6],
               "accuracy": [0.5, 0.8, 0.9], "val_accuracy": [0.6, 0.8, 0.95]}
    (verdict,) = _diagnose(columns, task="multiclass",
                           reference={"chance_loss": float(np.log(3))})
    assert verdict.kind == "diverged" and "weights exploded" in verdict.summary
    assert "E9" in verdict.practices


def test_a_cv_run_is_judged_on_the_fold_mean_curve(tmp_path):
    """data.cv_folds: each trial's verdicts, its divergence and the study's yardsticks
    read the per-epoch mean over its folds, up to the last epoch every fold reached;
    a trial whose best fold alone is a good fit but one fold diverged is diverged."""
    run = str(tmp_path / "cv")
    os.makedirs(run)
    with open(os.path.join(run, "config.yaml"), "w") as handle:
        yaml.safe_dump({"data": {"cv_folds": 3}, "model": {"space": {"units": {"values": [32]}}},
                        "tuner": {"objective": "val_accuracy", "direction": "max"}}, handle)
    with open(os.path.join(run, "run.json"), "w") as handle:
        json.dump({"objective": "val_accuracy", "direction": "max", "task": "multiclass",
                   "num_classes": 10}, handle)
    healthy = _history(**_healthy())
    weaker = [dict(row, execution=1, accuracy=row["accuracy"] - 0.3,
                   val_accuracy=row["val_accuracy"] - 0.3) for row in healthy]
    shorter = [dict(row, execution=2) for row in healthy[:15]]  # e.g. stopped early
    _write_trial(run, "0", healthy + weaker + shorter, score=0.85)
    nan = [dict(row, execution=fold, loss=float("nan") if row["epoch"] >= 5 else row["loss"],
                accuracy=row["accuracy"] - 0.3) for fold in (1, 2) for row in healthy]
    _write_trial(run, "1", healthy + nan, score=0.95)
    study = load_study(run)
    assert study.cv_folds == 3
    mean = study.judged_history(study.history("0"))
    assert [row["epoch"] for row in mean] == list(range(1, 16))
    expected = np.mean([[r["val_accuracy"] for r in rows[:15]]
                        for rows in (healthy, weaker, shorter)], axis=0)
    np.testing.assert_allclose([row["val_accuracy"] for row in mean], expected)
    verdicts = study_verdicts(study)
    assert _kinds(verdicts["1"])[0] == "diverged"  # its best fold alone: a good fit
    assert verdicts["1"][0].evidence["epoch"] == 5
    assert study.divergence("1") is not None and study.divergence("0") is None
    assert study.best(1)[0]["trial_id"] == "0"  # the diverged trial ranks last
    # The yardsticks too: the best fold-mean training accuracy (0.97 in one fold alone).
    means = [row["accuracy"] for trial in ("0", "1")
             for row in study.judged_history(study.history(trial))]
    assert study_reference(study)["best_score"] == pytest.approx(max(means))
    assert max(means) < healthy[-1]["accuracy"] - 0.05
