"""Tasks, the metrics each one produces, and the objectives (E14, E15, A5). Imports no Keras.

| task | output | loss | metrics | data loss |
|---|---|---|---|---|
| `multiclass` | softmax, one unit per class | sparse categorical cross-entropy | accuracy, crossentropy | crossentropy |
| `binary` | sigmoid, one unit | binary cross-entropy | accuracy, auc, recall, pr_auc, crossentropy | crossentropy |
| `regression` | linear, one unit | mean squared error | mse, mae | mse |

Keras's `loss` (and `val_loss`) is the data loss **plus** every weight penalty of
the model (L1/L2): two trials with different penalties cannot be compared on it.
The *data loss* is the same loss compiled as a metric, without penalties
(issue 17): the default regression objective is `val_mse`, and the curve
verdicts that compare trials with each other or with chance read it.

**Objectives** (issue 14, part 4). `tuner.objective` names a metric, on the
validation data with `val_`. Besides the metrics above, the builders compile one
more when the objective asks for it (`EXTRA_METRICS`): `precision`, `f1_score`
(binary; for multiclass these, `recall` and the one-vs-rest `pr_auc` are
macro-averaged over the classes), `top_<k>_accuracy` (multiclass), `rmse`
(regression). A custom metric is named
`"package.module:function"` (a function `(y_true, y_pred) -> tensor` or a
`keras.metrics.Metric` subclass): it is compiled as `function` and the objective
is `val_function`; its direction must be given. A model of your own
(`model.builder: "module:Name"`) compiles its own metrics: any name it logs is an
objective, checked against its compiled model after its first build.
"""

import re

from kt_toolkit.config.knobs import is_custom_builder
from kt_toolkit.errors import ConfigError, invalid

__all__ = ["BOUNDED_SCORES", "DATA_LOSSES", "EXTRA_METRICS", "TASKS", "allowed_objectives",
           "check_objective", "custom_metric", "data_loss", "default_objective",
           "extra_metric", "is_bounded_score", "known_direction", "logged_metrics",
           "objective_direction", "objective_name", "objectives_summary", "resolve_objective",
           "top_k"]

TASKS = {
    "multiclass": {"metrics": ("accuracy", "crossentropy"), "objective": "val_accuracy",
                   "data_loss": "crossentropy"},
    "binary": {"metrics": ("accuracy", "auc", "recall", "pr_auc", "crossentropy"),
               "objective": "val_auc",
               "data_loss": "crossentropy"},
    "regression": {"metrics": ("mse", "mae"), "objective": "val_mse", "data_loss": "mse"},
}
# Compiled only when the objective names them (each costs time in every epoch).
# `top_<k>_accuracy` (any k >= 1) is multiclass's too.
EXTRA_METRICS = {"multiclass": ("f1_score", "precision", "recall", "pr_auc"),
                 "binary": ("precision", "f1_score"),
                 "regression": ("rmse",)}
# The penalty-free twins of `loss`, whatever the task (see `data_loss`).
DATA_LOSSES = ("crossentropy", "mse")
# Scores in [0, 1] with 1 best: the verdicts judge them with absolute gaps.
BOUNDED_SCORES = ("accuracy", "auc", "precision", "recall", "f1_score")
_MAXIMIZED = BOUNDED_SCORES + ("acc", "r2_score")
_MINIMIZED = ("loss", "crossentropy", "error", "mse", "mae", "rmse", "mape", "msle",
              "hinge", "divergence", "logcosh", "poisson")
_TOP_K = re.compile(r"top_([1-9][0-9]*)_accuracy")
_CUSTOM = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")
_KEY = "tuner.objective"


def _base(name: str) -> str:
    return name[4:] if name.startswith("val_") else name


def top_k(objective: str) -> int | None:
    """`k` of `"val_top_<k>_accuracy"`, else `None`."""
    match = _TOP_K.fullmatch(_base(objective))
    return int(match.group(1)) if match else None


def custom_metric(objective: str) -> tuple[str, str] | None:
    """`("package.module:function", "function")` for a custom metric, else `None`."""
    if ":" not in str(objective):
        return None
    return objective, objective.rpartition(":")[2]


def objective_name(objective: str) -> str:
    """The name the objective is logged under: `"pkg.m:f1"` → `"val_f1"`, else itself."""
    custom = custom_metric(objective)
    return "val_" + custom[1] if custom else objective


def is_bounded_score(metric: str) -> bool:
    """Whether `metric` (`val_` or not) is a score in [0, 1] with 1 best (accuracy, F1…)."""
    return _base(metric).endswith(BOUNDED_SCORES)


def logged_metrics(task: str, objective: str | None = None) -> list[str]:
    """What a builder's model logs for `task` (and `objective`), validation first."""
    names = ("loss",) + TASKS[task]["metrics"]
    if objective and objective != "auto" and extra_metric(objective, task):
        names += (_base(objective_name(objective)),)
    return [prefix + name for prefix in ("val_", "") for name in names]


def allowed_objectives(task: str) -> list[str]:
    """Every objective the builders compute for `task`, validation first."""
    names = ("loss",) + TASKS[task]["metrics"] + EXTRA_METRICS[task]
    if task == "multiclass":
        names += ("top_<k>_accuracy",)
    return [prefix + name for prefix in ("val_", "") for name in names]


def extra_metric(objective: str, task: str) -> str | None:
    """The metric a builder compiles for `objective` beyond the task's own, or `None`.

    A custom metric's `"package.module:function"`, or a name such as `"f1_score"`.
    """
    if objective in (None, "auto"):
        return None
    if custom_metric(objective):
        return objective
    base = _base(objective)
    if base == "loss" or base in TASKS[task]["metrics"]:
        return None
    return base


def data_loss(task: str) -> str:
    """The metric that is the task's loss without weight penalties (`"mse"`, ...)."""
    return TASKS[task]["data_loss"]


def default_objective(task: str) -> str:
    return TASKS[task]["objective"]


def known_direction(objective: str) -> str | None:
    """`"max"` for scores (accuracy, AUC, F1…), `"min"` for losses and errors, else `None`."""
    base = _base(objective)
    if custom_metric(objective):
        return None
    if base.endswith(_MAXIMIZED) or top_k(base):
        return "max"
    if base.endswith(_MINIMIZED):
        return "min"
    return None


def objective_direction(objective: str) -> str:
    """`known_direction`, `"min"` when unknown (a run recorded before directions were)."""
    return known_direction(objective) or "min"


def _computes(objective: str, task: str) -> bool:
    """Whether the builders' model for `task` computes `objective`."""
    base = _base(objective)
    if base == "loss" or base in TASKS[task]["metrics"] + EXTRA_METRICS[task]:
        return True
    return task == "multiclass" and top_k(base) is not None


def _check_computed(objective: str, task: str, builder: str | None, key: str) -> None:
    """A custom metric's form; for a registered builder, a metric it computes."""
    if custom_metric(objective):
        if not _CUSTOM.fullmatch(objective):
            raise invalid(key, "a metric name or \"package.module:function\"", objective,
                          "A custom metric names its module and the function (or "
                          "keras.metrics.Metric subclass) in it, separated by a colon.")
        return
    if builder is not None and not is_custom_builder(builder) and not _computes(objective,
                                                                                 task):
        raise invalid(key, f"a metric the {task} model computes: "
                      f"{', '.join(allowed_objectives(task))}", objective,
                      "Or name a custom metric as \"package.module:function\" with "
                      "tuner.direction.")


def check_objective(objective: str, direction: str, task: str, *,
                    builder: str | None = None, key: str = _KEY) -> None:
    """Raises `ConfigError` for an objective the model cannot report or a wrong direction.

    Args:
        objective: String, a metric name (`"val_f1_score"`) or a custom metric
            `"package.module:function"`.
        direction: String, `"max"` or `"min"`.
        task: String, one of `TASKS`.
        builder: Optional string, `model.builder`. For a registered builder the
            objective must be one it computes; a model of your own is checked
            after its first build instead, and with `None` (the model is not
            known here) only the direction is checked.
        key: String, the setting named in errors.
    """
    _check_computed(objective, task, builder, key)
    if direction not in ("max", "min"):
        raise ConfigError(f"`direction` must be max or min. Received: direction={direction!r}.",
                          key="tuner.direction")
    inferred = known_direction(objective)
    if inferred is not None and direction != inferred:
        raise ConfigError(
            f"`direction` must be {inferred} for objective {objective!r}. Received: "
            f"direction={direction!r}. Leave it `auto`.", key="tuner.direction")


def resolve_objective(objective: str, direction: str, task: str, *,
                      builder: str | None = None) -> tuple[str, str]:
    """`(logged objective, direction)`, `auto` filled from the task, checked against it.

    A custom metric `"pkg.module:f1"` becomes `"val_f1"` (see `objective_name`).

    Raises:
        ConfigError: see `check_objective`; `direction: auto` for an objective
            whose direction is not known (a custom metric, a name of your own).
    """
    if objective == "auto":
        objective = default_objective(task)
    if direction == "auto":
        _check_computed(objective, task, builder, _KEY)
        direction = known_direction(objective)
        if direction is None:
            raise invalid("tuner.direction", f"max or min for objective {objective!r}", "auto",
                          "kt_toolkit cannot tell whether a higher or a lower value of this "
                          "metric is better: say so.")
    check_objective(objective, direction, task, builder=builder)
    return objective_name(objective), direction


def objectives_summary(task: str | None, *, objective: str = "auto", direction: str = "auto",
                       builder: str | None = None) -> list[str]:
    """Lines for `kt-toolkit validate`: the chosen objective and those available.

    Args:
        task: String, the data's task, or `None` when only the data tells.
        objective, direction: Strings, `tuner.objective` and `tuner.direction`.
        builder: Optional string, `model.builder`.
    """
    def names(each):
        return ", ".join(n for n in allowed_objectives(each) if n.startswith("val_"))

    lines = []
    if builder is not None and is_custom_builder(builder):
        available = "the metrics your model compiles (checked after its first build)"
    elif task in TASKS:
        available = f"{task}: {names(task)}"
    else:
        available = "; ".join(f"{each}: {names(each)}" for each in TASKS)
    if task in TASKS:
        try:
            name, chosen = resolve_objective(objective, direction, task, builder=builder)
            lines.append(f"objective: {name} ({chosen})")
        except ConfigError:
            pass  # the checks before this one already said why
    lines.append(f"objectives available: {available} (each also without val_, on the "
                 "training data); or a custom metric \"package.module:function\" with "
                 "tuner.direction")
    return lines
