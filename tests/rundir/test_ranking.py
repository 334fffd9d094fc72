"""The ranking behind `best/`, the report and the progress lines (`rundir.ranking`)."""

from kt_toolkit.rundir import TrialJudge, rank_trials


def _row(trial_id, objective, status="COMPLETED", **extra):
    return {"trial_id": str(trial_id), "status": status, "objective": objective, **extra}


def _ids(rows):
    return [row["trial_id"] for row in rows]


def test_ties_go_to_the_lower_penalty_free_validation_loss_then_fewer_epochs():
    rows = [
        # Lowest val_loss only because its L2 penalty is smaller: crossentropy decides.
        _row(0, 1.0, **{"metric:val_crossentropy": 0.40, "metric:val_loss": 0.41,
                        "epochs_run": 3}),
        _row(1, 1.0 - 1e-12, **{"metric:val_crossentropy": 0.05, "metric:val_loss": 0.90,
                               "epochs_run": 3}),
        _row(2, 1.0, **{"metric:val_crossentropy": 0.05, "epochs_run": 2}),
        _row(3, 0.99, **{"metric:val_crossentropy": 0.01, "epochs_run": 1}),
        _row(4, 1.0, **{"epochs_run": 1}),  # no validation loss logged: last of the tie
        _row(5, "", status="FAILED"),
        _row(6, 1.0, status="PRUNED", **{"metric:val_crossentropy": 0.0}),
    ]
    assert _ids(rank_trials(rows, "max")) == ["2", "1", "0", "4", "3"]
    # Without a penalty-free loss, val_loss breaks the tie.
    old = [_row(0, 0.5, **{"metric:val_loss": 7.47}), _row(1, 0.5, **{"metric:val_loss": 0.38})]
    assert _ids(rank_trials(old, "max")) == ["1", "0"]
    # A minimized objective: lower first, ties the same way.
    losses = [_row(0, 0.3, **{"metric:val_mse": 0.3}), _row(1, 0.2, **{"metric:val_mse": 0.2}),
              _row(2, 0.2, **{"metric:val_mse": 0.2, "epochs_run": 1})]
    assert _ids(rank_trials(losses, "min")) == ["2", "1", "0"]


def test_a_failed_or_pruned_trial_is_never_ranked_even_with_the_best_score():
    # A FAILED row can carry a finite objective (a trial whose epochs were logged
    # before it failed): the status, not a missing score, keeps it out.
    rows = [_row(0, 0.80), _row(1, 0.99, status="FAILED"), _row(2, 0.95, status="PRUNED"),
            _row(3, 0.70)]
    assert _ids(rank_trials(rows, "max")) == ["0", "3"]
    losses = [_row(0, 0.3), _row(1, 0.01, status="FAILED"), _row(2, 0.2)]
    assert _ids(rank_trials(losses, "min")) == ["2", "0"]


def test_diverged_trials_come_after_every_other_but_stay_ranked():
    rows = [_row(0, 1.0), _row(1, 0.5), _row(2, 0.9), _row(3, 0.7)]
    diverged = {"0", "2"}
    ranked = rank_trials(rows, "max", is_diverged=lambda row: row["trial_id"] in diverged)
    assert _ids(ranked) == ["3", "1", "0", "2"]
    everything = rank_trials(rows, "max", is_diverged=lambda row: True)
    assert _ids(everything) == ["0", "2", "3", "1"]  # all diverged: by the objective


def test_the_judge_reads_a_hyperband_round_with_the_rounds_it_continues():
    # Round 2 (trial 1) starts at epoch 3 from trial 0's weights: its own epochs rise
    # from 0.45 to 0.9 (2x), but the whole curve fell from 1.0: no explosion.
    histories = {
        "0": [{"execution": 0, "epoch": 1, "loss": 1.0}, {"execution": 0, "epoch": 2,
                                                          "loss": 0.4}],
        "1": [{"execution": 0, "epoch": 3, "loss": 0.45}, {"execution": 0, "epoch": 4,
                                                           "loss": 0.9}],
        "2": [{"execution": 0, "epoch": 1, "loss": 0.5}, {"execution": 0, "epoch": 2,
                                                          "loss": 1.5}],
    }
    read = []

    def load(trial_id):
        read.append(trial_id)
        return [dict(row, val_loss=0.5, val_accuracy=0.9) for row in histories[trial_id]]

    rows = [_row(0, 0.8), _row(1, 0.9, **{"tuner/trial_id": "0"}), _row(2, 0.95)]
    judge = TrialJudge(rows, objective="val_accuracy", direction="max", record={}, load=load)
    assert judge.divergence("1") is None
    assert judge.divergence("2").kind == "exploded"
    assert _ids(judge.rank()) == ["1", "0", "2"]
    assert sorted(read) == ["0", "0", "1", "2"]  # each trial judged once, 0 also as a parent
    assert judge.divergence("2").evidence["ratio"] == 3.0
