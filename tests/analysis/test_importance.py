"""Hyperparameter importance on synthetic studies with a known answer."""

import math

import numpy as np

from kt_toolkit.analysis.importance import hyperparameter_importance
from kt_toolkit.rundir.study import Domain, Study

DOMAINS = {
    "learning_rate": Domain("learning_rate", "float", min=1e-5, max=1.0, sampling="log"),
    "dropout": Domain("dropout", "float", min=0.0, max=0.6, step=0.1),
    "optimizer": Domain("optimizer", "choice", values=("adam", "sgd", "rmsprop")),
    "momentum": Domain("momentum", "float", min=0.0, max=0.99),
    "units": Domain("units", "choice", values=(32, 64, 128)),
    "batch_size": Domain("batch_size", "fixed", values=(64,)),
}


def _study(count, objective, *, seed=0, extra=None):
    """`count` random-search trials whose objective is `objective(row, rng)`."""
    rng = np.random.default_rng(seed)
    rows = []
    for number in range(count):
        row = {"trial_id": str(number), "status": "COMPLETED", "batch_size": 64,
               "learning_rate": float(10 ** rng.uniform(-5, 0)),
               "dropout": round(float(rng.integers(0, 7)) / 10, 1),
               "optimizer": str(rng.choice(DOMAINS["optimizer"].values)),
               "units": int(rng.choice(DOMAINS["units"].values))}
        row["momentum"] = float(rng.uniform(0, 0.99)) if row["optimizer"] == "sgd" else None
        row.update(extra or {})
        row["objective"] = float(objective(row, rng))
        rows.append(row)
    return Study(run_dir="/nonexistent", objective="val_accuracy", direction="max", task=None,
                 config={}, domains=dict(DOMAINS), rows=rows)


def _lr_matters(row, rng):
    return 0.95 - 0.1 * (math.log10(row["learning_rate"]) + 3) ** 2 + rng.normal(0, 0.01)


def test_the_knob_that_drives_the_objective_ranks_first():
    result = hyperparameter_importance(_study(40, _lr_matters))
    knobs = [knob for knob, _ in result.importances]
    assert knobs[0] == "learning_rate"
    assert dict(result.importances)["learning_rate"] > 0.8
    assert set(knobs) == {"learning_rate", "dropout", "optimizer", "momentum", "units"}
    assert math.isclose(sum(share for _, share in result.importances), 1.0, abs_tol=1e-5)
    assert [s for _, s in result.importances] == sorted((s for _, s in result.importances),
                                                       reverse=True)
    assert result.r2 > 0.5 and result.trials_used == 40 and result.note == ""
    assert "RandomForestRegressor" in result.method


def test_a_choice_knob_can_rank_first():
    scores = {"adam": 0.9, "sgd": 0.5, "rmsprop": 0.7}
    result = hyperparameter_importance(_study(30, lambda row, rng: scores[row["optimizer"]]
                                              + rng.normal(0, 0.01)))
    assert result.importances[0][0] == "optimizer"
    assert dict(result.importances)["learning_rate"] < 0.1
    # momentum exists only under SGD; its "inactive" must not pass for the optimizer.
    assert dict(result.importances)["momentum"] < 0.1


def test_an_irrelevant_objective_is_reported_as_noise():
    result = hyperparameter_importance(_study(30, lambda row, rng: rng.normal()))
    assert result.r2 < 0.2
    assert result.note  # either no knob beats chance, or the ranking is flagged as noise


def test_too_few_trials_give_a_note_and_no_importances():
    result = hyperparameter_importance(_study(7, _lr_matters))
    assert result.importances == [] and result.trials_used == 7
    assert "Only 7" in result.note and "8" in result.note


def test_a_constant_objective_gives_a_note():
    result = hyperparameter_importance(_study(12, lambda row, rng: 0.5))
    assert result.importances == [] and "same" in result.note


def test_repeated_configurations_count_once_with_the_most_trained_result():
    study = _study(10, _lr_matters)
    for row in study.rows:
        row["tuner/epochs"] = 2
    again = dict(study.rows[0], trial_id="10", objective=0.99)
    again["tuner/epochs"] = 6
    study.rows.append(again)
    result = hyperparameter_importance(study)
    assert result.trials_used == 10
    assert "Hyperband" in result.method


def test_failed_trials_are_left_out():
    study = _study(12, _lr_matters)
    for row in study.rows[:5]:
        row.update(status="FAILED", objective=None)
    assert hyperparameter_importance(study).trials_used == 7


def test_the_same_seed_gives_the_same_result():
    study = _study(25, _lr_matters)
    first = hyperparameter_importance(study, seed=3)
    assert hyperparameter_importance(study, seed=3) == first
    assert isinstance(first.r2, float)


def test_below_min_r2_the_ranking_is_not_reliable_and_says_so():
    from kt_toolkit.analysis.importance import MIN_R2, ImportanceResult

    noise = hyperparameter_importance(_study(30, lambda row, rng: rng.normal()))
    assert not noise.is_reliable
    if noise.importances:  # a ranking came out: its note must disown it
        assert noise.note.startswith(f"Importance not reliable (R² = {noise.r2:.2f} < 0.3)")
    ranked = [("learning_rate", 0.9), ("units", 0.1)]
    weak = ImportanceResult("m", ranked, r2=0.13)
    assert not weak.is_reliable
    assert weak.unreliable_reason == "importance not reliable (R² = 0.13 < 0.3)"
    # 0.299 is not shown as "0.30 < 0.3".
    assert ImportanceResult("m", ranked, r2=0.299).unreliable_reason.endswith("0.299 < 0.3)")
    strong = ImportanceResult("m", ranked, r2=MIN_R2)
    assert strong.is_reliable and strong.unreliable_reason == ""
    assert hyperparameter_importance(_study(40, _lr_matters)).is_reliable
