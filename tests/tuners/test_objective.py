"""The regression objective is the error, not error + weight penalty (issue 17)."""

import numpy as np
import pytest
from sklearn.datasets import load_diabetes

from kt_toolkit._io import read_csv
from kt_toolkit.experiment import run_experiment


def test_a_regression_search_ranks_trials_by_the_error_not_the_penalty(tmp_path,
                                                                         make_config):
    # 60 training samples of diabetes (standardized targets) and a wide network:
    # without a penalty it overfits; L2 = 0.1 predicts better but its Keras
    # `val_loss` carries the penalty, so val_loss and val_mse rank the two
    # trials in opposite orders.
    x, y = load_diabetes(return_X_y=True)
    y = (y - y.mean()) / y.std()
    path = tmp_path / "diabetes.npz"
    np.savez(path, x_train=x[:60], y_train=y[:60], x_val=x[350:], y_val=y[350:])
    config = make_config(
        data={"dataset": str(path), "subsample": None},
        model={"space": {"num_layers": 2, "units": 256, "optimizer": "adam",
                         "learning_rate": 1e-2, "batch_norm": False, "dropout": 0.0,
                         "activation": "relu", "kernel_initializer": "glorot_uniform",
                         "lr_schedule": "constant", "regularizer": "l2",
                         "l2": [1e-6, 0.1]}},
        tuner={"algorithm": "grid", "max_trials": 2},
        training={"epochs": 20, "batch_size": 32})
    result = run_experiment(config)

    assert (result.objective, result.direction) == ("val_mse", "min")
    rows = {row["trial_id"]: row for row in read_csv(f"{result.run_dir}/trials.csv")}
    assert len(rows) == 2
    by_loss = min(rows, key=lambda t: float(rows[t]["metric:val_loss"]))
    by_error = min(rows, key=lambda t: float(rows[t]["metric:val_mse"]))
    assert by_loss != by_error  # the penalty reverses the order
    assert float(rows[by_error]["l2"]) == 0.1
    assert result.best_trial_id == by_error
    assert float(rows[by_error]["objective"]) == float(rows[by_error]["metric:val_mse"])
    # The exported model's score is the error too, with the penalty shown apart.
    assert abs(result.best_score - float(rows[by_error]["objective"])) < 1e-5
    assert result.evaluation["mse"] < result.evaluation["loss"]


# --- any objective (issue 14, part 4): `kt-toolkit tune` end to end -------------------

AGREEMENT = '''
import keras
from keras import ops


def agreement(y_true, y_pred):
    """Per sample: 1 where the argmax class is the label (accuracy, written by hand)."""
    labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
    return ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), labels),
                    "float32")
'''


def _tune(tmp_path, name, data, tuner, *, report=False, extra=()):
    import json
    import uuid

    import yaml

    from kt_toolkit.cli import main

    raw = {"experiment": {"name": name, "seed": 1}, "data": data,
           "model": {"space": {"num_layers": 1, "units": {"values": [8, 16]},
                               "batch_norm": False, "optimizer": "adam"}},
           "tuner": {"algorithm": "random", "max_trials": 2, **tuner},
           "training": {"epochs": 1, "batch_size": 32},
           "output": {"directory": str(tmp_path / "runs"), "run_name": name,
                      "report": report}}
    path = tmp_path / f"{name}-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump(raw))
    code = main(["tune", str(path), *extra])
    run_dir = tmp_path / "runs" / name
    record = json.loads((run_dir / "run.json").read_text()) if code == 0 else None
    rows = read_csv(str(run_dir / "trials.csv")) if code == 0 else None
    return code, run_dir, record, rows


def test_tune_on_val_f1_score_compiles_logs_and_selects_on_it(tmp_path, capsys):
    import keras

    from kt_toolkit.cli import main

    code, run_dir, record, rows = _tune(
        tmp_path, "f1", {"dataset": "breast_cancer", "subsample": 200},
        {"objective": "val_f1_score"}, report=True)
    out = capsys.readouterr().out
    assert code == 0 and "val_f1_score=" in out
    assert (record["objective"], record["direction"]) == ("val_f1_score", "max")
    assert len(rows) == 2 and all(row["status"] == "COMPLETED" for row in rows)
    for row in rows:  # the score is the logged F1, a number in [0, 1]
        assert float(row["objective"]) == float(row["metric:val_f1_score"])
        assert 0.0 <= float(row["objective"]) <= 1.0
    assert "metric:val_auc" in rows[0]  # the task's own metrics stay
    best = max(rows, key=lambda row: float(row["objective"]))
    assert f"val_f1_score={float(best['objective']):.4f}" in out
    assert (run_dir / "report.md").exists() and "val_f1_score" in (run_dir / "report.md").read_text()
    # the saved best model reloads (LabelF1Score is registered) and scores F1
    model = keras.saving.load_model(str(run_dir / "best" / "model.keras"))
    assert any(m.name == "compile_metrics" for m in model.metrics)
    assert main(["show", str(run_dir)]) == 0
    assert "val_f1_score" in capsys.readouterr().out
    # TensorBoard HParams: the F1 of each trial, validation and training
    from kt_toolkit.rundir import load_study
    from kt_toolkit.rundir.tensorboard import metric_tag, session_summaries

    study = load_study(str(run_dir))
    scores = session_summaries(study, study.rows[0])[2]
    assert scores[metric_tag("val_f1_score")] == float(study.rows[0]["objective"])
    assert metric_tag("f1_score") in scores and metric_tag("val_auc") in scores


def test_tune_on_a_custom_metric_function_with_its_direction(tmp_path, capsys, monkeypatch):
    import sys
    import uuid

    monkeypatch.setattr(sys, "path", list(sys.path))
    module = f"mymetrics_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(AGREEMENT)
    data = {"dataset": "digits", "subsample": 200}
    code, *_ = _tune(tmp_path, "nodir", data, {"objective": f"{module}:agreement"})
    assert code == 2 and "`direction` must be max or min" in capsys.readouterr().err
    code, run_dir, record, rows = _tune(tmp_path, "custom", data,
                                        {"objective": f"{module}:agreement", "direction": "max"})
    assert code == 0
    assert (record["objective"], record["direction"]) == ("val_agreement", "max")
    for row in rows:  # the hand-written accuracy is Keras's accuracy, trial by trial
        assert float(row["objective"]) == pytest.approx(float(row["metric:val_accuracy"]),
                                                        abs=1e-6)
        assert "metric:val_crossentropy" in row
    # The same experiment again resumes the finished run (the metric imported again).
    histories = {row["trial_id"]: (run_dir / "trials" / row["trial_id"] / "history.csv")
                 .read_bytes() for row in rows}
    code, _, _, again = _tune(tmp_path, "custom", data,
                              {"objective": f"{module}:agreement", "direction": "max"})
    assert code == 0 and again == rows
    assert {trial_id: (run_dir / "trials" / trial_id / "history.csv").read_bytes()
            for trial_id in histories} == histories


def test_tune_multiclass_on_val_recall_scores_the_saved_model_as_sklearn_does(tmp_path):
    import keras
    from sklearn.metrics import recall_score

    from kt_toolkit.config import DataConfig
    from kt_toolkit.data import load_dataset

    data = {"dataset": "iris", "subsample": None}
    code, run_dir, record, rows = _tune(tmp_path, "recall", data,
                                        {"objective": "val_recall", "max_trials": 1})
    assert code == 0 and (record["objective"], record["direction"]) == ("val_recall", "max")
    assert rows[0]["status"] == "COMPLETED" and "metric:val_accuracy" in rows[0]
    # the saved best model reloads (MacroRecall is registered); its logged score is
    # scikit-learn's macro recall of its predictions on the validation part
    model = keras.saving.load_model(str(run_dir / "best" / "model.keras"))
    split = load_dataset(DataConfig(**data), seed=1)
    predicted = model.predict(split.x_val, verbose=0).argmax(axis=1)
    assert float(rows[0]["objective"]) == pytest.approx(
        recall_score(split.y_val, predicted, average="macro"), abs=1e-5)
