"""The metric a `tuner.objective` names, compiled besides the task's own (issue 14, part 4).

The builders compile the task's metrics (`kt_toolkit.config.tasks.TASKS`) in every
trial; a metric only the objective needs (`f1_score`, `precision`, `recall`,
`pr_auc`, `top_<k>_accuracy`, `rmse`, or your own `"package.module:function"`) is added by
`objective_metric`, so no trial pays for metrics nobody reads. A model of your own
compiles its own metrics: `logged_names` lists what it logs, and
`check_logged_objective` says when the objective is not among them.

Example:

```python
from kt_toolkit.hypermodels.metrics import objective_metric

objective_metric("val_f1_score", "multiclass", num_classes=3).name  # 'f1_score'
objective_metric("val_recall", "multiclass", num_classes=3)  # a MacroRecall
objective_metric("val_top_3_accuracy", "multiclass", num_classes=10).k  # 3
```
"""

import inspect
import logging
from typing import Any

import keras
import numpy as np
from keras import ops

from kt_toolkit._imports import load_object
from kt_toolkit.config import tasks
from kt_toolkit.errors import ConfigError, invalid

__all__ = ["LabelF1Score", "LabelPRAUC", "MacroPrecision", "MacroRecall",
           "check_logged_objective", "logged_names", "objective_metric"]

_KEY = "tuner.objective"
logger = logging.getLogger(__name__)


@keras.saving.register_keras_serializable(package="kt_toolkit")
class LabelF1Score(keras.metrics.F1Score):
    """`keras.metrics.F1Score` for the labels kt_toolkit's tasks use.

    `F1Score` wants targets shaped like the outputs (one-hot for a softmax);
    kt_toolkit's classification targets are class indices `(n,)`. This one-hots
    them (`num_classes` outputs) or, for one sigmoid unit (`num_classes=None`),
    reshapes them to `(n, 1)`, then scores as `F1Score` does.

    Example:

    ```python
    f1 = LabelF1Score(num_classes=3)  # macro F1 of the argmax class
    f1.update_state(np.array([0, 1, 2]), np.eye(3))
    float(f1.result())  # 1.0
    ```

    Args:
        num_classes: Integer >= 2 (softmax outputs, macro-averaged over the
            classes, the predicted class is the argmax), or `None` for one
            sigmoid unit (the positive class's F1 at `threshold`).
        average: String or `None`, as `keras.metrics.F1Score`. Defaults to `"macro"`.
        threshold: Float or `None`, as `keras.metrics.F1Score`. Defaults to
            `None` with `num_classes` (argmax), else `0.5`.
        name: String. Defaults to `"f1_score"`.
        dtype: Optional dtype of the metric's result.
    """

    def __init__(self, num_classes: int | None = None, average: str | None = "macro",
                 threshold: float | None = None, name: str = "f1_score",
                 dtype: Any = None) -> None:
        if threshold is None and num_classes is None:
            threshold = 0.5
        super().__init__(average=average, threshold=threshold, name=name, dtype=dtype)
        self.num_classes = num_classes

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.num_classes is None:
            y_true = ops.reshape(ops.cast(y_true, self.dtype), (-1, 1))
        else:
            labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
            y_true = ops.one_hot(labels, self.num_classes, dtype=self.dtype)
        return super().update_state(y_true, y_pred, sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_classes": self.num_classes}


class _ClassCounts(keras.metrics.Metric):
    """Per-class counts of hits, predictions and labels; the argmax is the prediction.

    The macro average runs over the classes that occur in the labels or the
    predictions seen so far (scikit-learn's `average="macro"`); a class predicted
    but never right, or present but never predicted, scores 0.
    """

    def __init__(self, num_classes: int, name: str, dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.num_classes = int(num_classes)
        self.hits, self.predicted, self.actual = (
            self.add_variable((self.num_classes,), initializer="zeros", dtype=self.dtype,
                              name=each) for each in ("hits", "predicted", "actual"))

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        actual = ops.one_hot(labels, self.num_classes, dtype=self.dtype)
        guesses = ops.argmax(ops.reshape(y_pred, (-1, self.num_classes)), axis=-1)
        predicted = ops.one_hot(guesses, self.num_classes, dtype=self.dtype)
        hits = actual * predicted
        if sample_weight is not None:
            weight = ops.reshape(ops.cast(sample_weight, self.dtype), (-1, 1))
            hits, predicted, actual = hits * weight, predicted * weight, actual * weight
        for variable, counts in ((self.hits, hits), (self.predicted, predicted),
                                 (self.actual, actual)):
            variable.assign_add(ops.sum(counts, axis=0))

    def _denominator(self):
        raise NotImplementedError

    def result(self):
        seen = ops.cast(ops.greater(self.actual + self.predicted, 0), self.dtype)
        per_class = ops.divide_no_nan(self.hits, self._denominator())
        return ops.divide_no_nan(ops.sum(per_class * seen), ops.sum(seen))

    def reset_state(self):
        for variable in (self.hits, self.predicted, self.actual):
            variable.assign(ops.zeros((self.num_classes,), dtype=self.dtype))

    def get_config(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="kt_toolkit")
class MacroPrecision(_ClassCounts):
    """Macro-averaged precision of a softmax's argmax against class indices `(n,)`.

    Keras's `Precision` scores one sigmoid or one-hot labels at a threshold; this
    one averages, over the classes, the share of each class's predictions that
    are right (as scikit-learn's `precision_score(average="macro")`).

    Example:

    ```python
    precision = MacroPrecision(num_classes=3)
    precision.update_state(np.array([0, 1, 2, 2]), np.eye(3)[[0, 1, 2, 1]])
    float(precision.result())  # (1 + 0.5 + 1) / 3 = 0.833...
    ```

    Args:
        num_classes: Integer >= 2, the number of softmax outputs.
        name: String. Defaults to `"precision"`.
        dtype: Optional dtype of the counts and the result.
    """

    def __init__(self, num_classes: int, name: str = "precision", dtype: Any = None) -> None:
        super().__init__(num_classes, name=name, dtype=dtype)

    def _denominator(self):
        return self.predicted


@keras.saving.register_keras_serializable(package="kt_toolkit")
class MacroRecall(_ClassCounts):
    """Macro-averaged recall of a softmax's argmax against class indices `(n,)`.

    The mean over the classes of the share of each class's samples predicted as
    it (scikit-learn's `recall_score(average="macro")`, the balanced accuracy
    when every class occurs in the labels).

    Example:

    ```python
    recall = MacroRecall(num_classes=3)
    recall.update_state(np.array([0, 1, 2, 2]), np.eye(3)[[0, 1, 2, 1]])
    float(recall.result())  # (1 + 1 + 0.5) / 3 = 0.833...
    ```

    Args:
        num_classes: Integer >= 2, the number of softmax outputs.
        name: String. Defaults to `"recall"`.
        dtype: Optional dtype of the counts and the result.
    """

    def __init__(self, num_classes: int, name: str = "recall", dtype: Any = None) -> None:
        super().__init__(num_classes, name=name, dtype=dtype)

    def _denominator(self):
        return self.actual


@keras.saving.register_keras_serializable(package="kt_toolkit")
class LabelPRAUC(keras.metrics.AUC):
    """One-vs-rest PR-AUC of a softmax, macro-averaged, against class indices `(n,)`.

    `keras.metrics.AUC(curve="PR", multi_label=True)` on the one-hot labels: the
    area under each class's precision-recall curve (class against the rest),
    averaged over the classes.

    Args:
        num_classes: Integer >= 2, the number of softmax outputs.
        num_thresholds: Integer, as `keras.metrics.AUC`. Defaults to `200`.
        name: String. Defaults to `"pr_auc"`.
        dtype: Optional dtype of the result.
    """

    def __init__(self, num_classes: int, num_thresholds: int = 200, name: str = "pr_auc",
                 dtype: Any = None) -> None:
        super().__init__(num_thresholds=num_thresholds, curve="PR", multi_label=True,
                         num_labels=int(num_classes), name=name, dtype=dtype)
        self.num_classes = int(num_classes)

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        y_true = ops.one_hot(labels, self.num_classes, dtype=self.dtype)
        return super().update_state(y_true, y_pred, sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "num_thresholds": self.num_thresholds,
                "name": self.name, "dtype": self.dtype}


_MULTICLASS = {"precision": MacroPrecision, "recall": MacroRecall, "pr_auc": LabelPRAUC}


def _builtin(base: str, task: str, num_classes: int | None,
             objective: str) -> keras.metrics.Metric | None:
    """The Keras metric a builder compiles for `base` (`"f1_score"`…), or `None`."""
    if base == "precision" and task == "binary":
        return keras.metrics.Precision(name="precision")
    if base in _MULTICLASS and task == "multiclass" and num_classes is not None:
        return _MULTICLASS[base](num_classes)
    if base == "f1_score" and task in ("binary", "multiclass"):
        return LabelF1Score(num_classes if task == "multiclass" else None)
    if base == "rmse" and task == "regression":
        return keras.metrics.RootMeanSquaredError(name="rmse")
    k = tasks.top_k(base)
    if k is not None and task == "multiclass":
        if num_classes is not None and k >= num_classes:
            raise invalid(_KEY, f"top_<k>_accuracy with k below the {num_classes} classes",
                          objective, f"top_{num_classes}_accuracy is always 1.")
        return keras.metrics.SparseTopKCategoricalAccuracy(k=k, name=base)
    return None


def _custom(spec: str, module_dir: str | None) -> keras.metrics.Metric:
    """Your own metric: a function `(y_true, y_pred) -> tensor` or a `Metric` subclass."""
    target = load_object(spec, module_dir, key=_KEY)
    name = spec.rpartition(":")[2]
    if inspect.isclass(target) and issubclass(target, keras.metrics.Metric):
        try:
            return target(name=name)
        except Exception as error:  # noqa: BLE001 - the user's constructor
            raise invalid(_KEY, "a keras.metrics.Metric subclass whose __init__ takes "
                          "name= (and nothing else without a default)", spec,
                          f"Creating it failed: {type(error).__name__}: {error}") from None
    if callable(target) and not inspect.isclass(target):
        return keras.metrics.MeanMetricWrapper(target, name=name)
    raise invalid(_KEY, "a function (y_true, y_pred) -> tensor or a keras.metrics.Metric "
                  "subclass", spec, f"It names {type(target).__name__} {target!r:.60}.")


def objective_metric(objective: str | None, task: str, *, num_classes: int | None = None,
                     module_dir: str | None = None) -> keras.metrics.Metric | None:
    """The metric to compile for `objective` beyond the task's own, or `None`.

    Args:
        objective: String, `tuner.objective` as written (`"val_f1_score"`,
            `"mymetrics:func"`), or `None`/`"auto"`.
        task: String, `"multiclass"`, `"binary"` or `"regression"`.
        num_classes: Integer, the number of classes (multiclass).
        module_dir: Optional string, the folder a custom metric's module is
            imported from (the experiment file's).

    Returns:
        A fresh `keras.metrics.Metric` (one per model), or `None` when the
        task's metrics already log the objective.

    Raises:
        ConfigError: a metric the task's model cannot compute (the names it can
            listed), or a custom metric that does not import or is neither a
            function nor a `Metric` subclass.
    """
    extra = tasks.extra_metric(objective, task)
    if extra is None:
        return None
    if tasks.custom_metric(extra):
        return _custom(extra, module_dir)
    metric = _builtin(extra, task, num_classes, objective)
    if metric is None:
        raise invalid(_KEY, f"a metric the {task} model computes: "
                      f"{', '.join(tasks.allowed_objectives(task))}", objective,
                      "Or name a custom metric as \"package.module:function\" with "
                      "tuner.direction.")
    return metric


def logged_names(model: keras.Model, x: Any, y: Any) -> list[str]:
    """What a compiled model logs, train and `val_` (one evaluation on a few samples)."""
    count = min(len(y), 8)
    logs = model.evaluate(x[:count], y[:count], batch_size=count, verbose=0,
                          return_dict=True)
    names = sorted(logs)
    return ["val_" + name for name in names] + names


def check_logged_objective(model: keras.Model, objective: str, x: Any, y: Any, *,
                           builder: str, own_fit: bool = False) -> None:
    """Raises `ConfigError` when a model of your own does not log `objective`.

    Args:
        model: The compiled model its first build returned (one not compiled,
            or data that is not arrays, is not checked).
        objective: String, the logged objective (`"val_f1_score"`).
        x, y: Arrays, a few training samples.
        builder: String, `model.builder`, named in the error.
        own_fit: Boolean, whether the model has a `fit` of its own, which may
            report other metrics than its compiled ones: then only a warning.
    """
    if (not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)) or not len(y)
            or not getattr(model, "compiled", False)):
        return
    names = logged_names(model, x, y)
    if objective in names:
        return
    error = invalid(_KEY, f"a metric your model ({builder}) logs: {', '.join(names)}",
                    objective, "Compile it into the model in its build "
                    "(model.compile(metrics=[...])), or choose one of those.")
    if not own_fit:
        raise error
    logger.warning("%s Its own fit may report it: trials without it will fail.", error)
