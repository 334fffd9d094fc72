"""Output heads, losses and metrics that follow the task (E14, E15, A5)."""

import numbers
from typing import Any

import keras

from kt_toolkit.errors import invalid
from kt_toolkit.config.tasks import TASKS
from kt_toolkit.hypermodels.metrics import objective_metric

__all__ = ["check_task", "compile_arguments", "is_integer", "output_layer"]


def is_integer(value: Any) -> bool:
    """Whether `value` is an integer, Python's or NumPy's (`y.max() + 1`), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_task(task: str, num_classes: int | None) -> int:
    """Validates a `(task, num_classes)` pair; returns the output width (an `int`)."""
    if task not in TASKS:
        raise invalid("task", "one of " + ", ".join(TASKS), task)
    if task == "multiclass":
        if not is_integer(num_classes) or num_classes < 2:
            raise invalid("num_classes", "an integer >= 2 for task='multiclass'", num_classes,
                          "Pass the number of classes, e.g. int(y.max()) + 1.")
        return int(num_classes)
    return 1


def output_layer(task: str, num_classes: int | None, *, name: str = "output",
                 dtype: str | None = None) -> keras.layers.Dense:
    """Softmax over the classes, one sigmoid unit, or one linear unit.

    `dtype="float32"` keeps it in float32 under a mixed-precision policy.
    """
    units = check_task(task, num_classes)
    activation = {"multiclass": "softmax", "binary": "sigmoid", "regression": "linear"}[task]
    return keras.layers.Dense(units, activation=activation, name=name, dtype=dtype)


def compile_arguments(task: str, objective: str | None = None, *,
                      num_classes: int | None = None,
                      module_dir: str | None = None) -> dict[str, Any]:
    """`loss` and `metrics` for `model.compile`, named as `tasks.TASKS` lists them.

    With `objective` (`tuner.objective` as written), the metric it names is
    compiled too when the task's own do not log it (`objective_metric`, whose
    arguments these are).
    """
    arguments = _task_arguments(task)
    extra = objective_metric(objective, task, num_classes=num_classes, module_dir=module_dir)
    if extra is not None:
        arguments["metrics"].append(extra)
    return arguments


def _task_arguments(task: str) -> dict[str, Any]:
    # `crossentropy` and `mse` repeat the loss without the weight penalties that
    # Keras adds to `loss` (kt_toolkit.config.tasks: the data loss, issue 17).
    if task == "multiclass":
        return {"loss": "sparse_categorical_crossentropy",
                "metrics": ["accuracy",
                            keras.metrics.SparseCategoricalCrossentropy(name="crossentropy")]}
    if task == "binary":
        return {"loss": "binary_crossentropy",
                # The loss object, per sample, accepts labels of shape (n,) against
                # outputs (n, 1) as the loss does (keras.metrics.BinaryCrossentropy
                # does not).
                # recall and PR-AUC (`pr_auc`) judge an imbalanced task (E17).
                "metrics": ["accuracy", keras.metrics.AUC(name="auc"),
                            keras.metrics.Recall(name="recall"),
                            keras.metrics.AUC(curve="PR", name="pr_auc"),
                            keras.metrics.MeanMetricWrapper(
                                keras.losses.BinaryCrossentropy(reduction=None),
                                name="crossentropy")]}
    return {"loss": "mean_squared_error", "metrics": ["mse", "mae"]}
