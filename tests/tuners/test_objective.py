"""The regression objective is the error, not error + weight penalty (issue 17)."""

import numpy as np
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
