"""Which trial becomes `best/` (issue 13.2): ties go to the lower validation loss, and a
trial that diverged is the best only when every completed trial diverged (the summary
then says so). Real tiny searches: iris and wine, SGD with momentum 0.9, 2-3 epochs."""

import os

import yaml

from kt_toolkit.analysis import diagnose_trial, load_study
from kt_toolkit.cli import main
from kt_toolkit.config import dump_config
from kt_toolkit.experiment import run_experiment

# Setosa against versicolor: every trial separates the 20 validation flowers from
# epoch 1, so accuracy ties at 1.0; a higher learning rate is more confident sooner.
IRIS_TWO_CLASSES = {"dataset": "iris", "subsample": None, "classes": [0, 1]}
WINE = {"dataset": "wine", "subsample": None}  # 36 validation samples


def _config(make_config, data, learning_rates, epochs):
    space = {"num_layers": 1, "units": 16, "optimizer": "sgd", "momentum": 0.9,
             "nesterov": False, "learning_rate": learning_rates, "batch_norm": False,
             "regularizer": "none", "dropout": 0.0, "activation": "relu",
             "kernel_initializer": "glorot_uniform", "lr_schedule": "constant"}
    return make_config(data=data, model={"space": space},
                       tuner={"algorithm": "grid", "max_trials": None},
                       training={"epochs": epochs, "batch_size": 16,
                                 "callbacks": {"chance_pruning": {"enabled": False}}})


def _by_rate(result):
    return {float(row["learning_rate"]): row for row in result.trials}


def _exported(result):
    with open(os.path.join(result.run_dir, "best", "hyperparameters.yaml")) as handle:
        return yaml.safe_load(handle)["trial_id"]


def test_a_tie_on_the_objective_exports_the_trial_with_the_lower_validation_loss(make_config):
    result = run_experiment(_config(make_config, IRIS_TWO_CLASSES, [0.05, 0.3], epochs=2))
    rows = _by_rate(result)
    slow, fast = rows[0.05], rows[0.3]
    # The tie: both at 1.0, and the first trial (the one a plain sort keeps) is the
    # less confident one at its best epoch.
    assert float(slow["objective"]) == float(fast["objective"]) == 1.0
    assert int(slow["trial_id"]) < int(fast["trial_id"])
    assert float(slow["metric:val_crossentropy"]) > 2 * float(fast["metric:val_crossentropy"])
    assert result.best_trial_id == fast["trial_id"] == _exported(result)
    assert result.best_warning is None
    # The report's best trial is the exported one.
    assert load_study(result.run_dir).best(1)[0]["trial_id"] == fast["trial_id"]


def test_a_diverged_trial_with_the_best_score_is_not_exported(make_config):
    # lr 1.0 under SGD: the training loss explodes (0.64 -> 10.7) yet stays finite, and
    # the exploded model still scores ~0.97 on wine; lr 1e-4 learns slowly (~0.4).
    result = run_experiment(_config(make_config, WINE, [1.0, 1.0e-4], epochs=3))
    rows = _by_rate(result)
    exploded, slow = rows[1.0], rows[1.0e-4]
    assert exploded["status"] == slow["status"] == "COMPLETED"
    assert float(exploded["objective"]) > float(slow["objective"])
    study = load_study(result.run_dir)
    assert [v.kind for v in diagnose_trial(study, exploded["trial_id"])] == ["diverged"]
    assert "diverged" not in [v.kind for v in diagnose_trial(study, slow["trial_id"])]

    assert result.best_trial_id == slow["trial_id"] == _exported(result)
    assert result.best_warning is None  # another trial completed without diverging
    assert study.best(2)[0]["trial_id"] == slow["trial_id"]
    assert study.best(2)[1]["trial_id"] == exploded["trial_id"]  # still ranked, last


def test_the_summary_says_when_every_trial_diverged(make_config, tmp_path, capsys):
    config = _config(make_config, WINE, [1.0, 1.5], epochs=3)
    path = tmp_path / "exploding.yaml"
    path.write_text(dump_config(config))
    assert main(["tune", str(path), "--quiet"]) == 0
    out = capsys.readouterr().out
    best = out[out.index("Best trial"):out.index("Run directory:")]
    assert "Every one of the 2 completed trials diverged" in best
    assert "training loss rose from its minimum" in best
    assert "Lower the learning rate" in best
    # The best by the objective is still exported, with the warning beside it.
    run_dir = out.split("Run directory: ", 1)[1].splitlines()[0]
    study = load_study(run_dir)
    assert all(study.divergence(row["trial_id"]) for row in study.completed)
    assert f"Best trial {study.best(1)[0]['trial_id']}:" in out
