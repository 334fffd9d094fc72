"""Tasks and the metrics each one produces (E14, E15, A5). Imports no Keras.

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
"""

from kt_toolkit.errors import ConfigError

__all__ = ["DATA_LOSSES", "TASKS", "allowed_objectives", "check_objective", "data_loss",
           "default_objective",
           "objective_direction", "resolve_objective"]

TASKS = {
    "multiclass": {"metrics": ("accuracy", "crossentropy"), "objective": "val_accuracy",
                   "data_loss": "crossentropy"},
    "binary": {"metrics": ("accuracy", "auc", "recall", "pr_auc", "crossentropy"),
               "objective": "val_auc",
               "data_loss": "crossentropy"},
    "regression": {"metrics": ("mse", "mae"), "objective": "val_mse", "data_loss": "mse"},
}
# The penalty-free twins of `loss`, whatever the task (see `data_loss`).
DATA_LOSSES = ("crossentropy", "mse")
_MAXIMIZED = ("accuracy", "auc", "precision", "recall", "f1_score", "r2_score")


def allowed_objectives(task: str) -> list[str]:
    """Every metric name the compiled model logs for `task`, train and validation."""
    names = ("loss",) + TASKS[task]["metrics"]
    return [prefix + name for prefix in ("val_", "") for name in names]


def data_loss(task: str) -> str:
    """The metric that is the task's loss without weight penalties (`"mse"`, ...)."""
    return TASKS[task]["data_loss"]


def default_objective(task: str) -> str:
    return TASKS[task]["objective"]


def objective_direction(objective: str) -> str:
    """`"max"` for accuracy/AUC-like scores, `"min"` for losses and errors (mse, mae)."""
    base = objective[4:] if objective.startswith("val_") else objective
    return "max" if base.endswith(_MAXIMIZED) else "min"


def check_objective(objective: str, direction: str, task: str, *,
                    key: str = "tuner.objective") -> None:
    """Raises `ConfigError` when the task's model does not log `objective`."""
    allowed = allowed_objectives(task)
    if objective not in allowed:
        raise ConfigError(
            f"`objective` must be a metric the {task} model logs: {', '.join(allowed)}. "
            f"Received: objective={objective!r}.",
            key=key,
        )
    if direction not in ("max", "min"):
        raise ConfigError(f"`direction` must be max or min. Received: direction={direction!r}.",
                          key="tuner.direction")
    if direction != objective_direction(objective):
        raise ConfigError(
            f"`direction` must be {objective_direction(objective)} for objective "
            f"{objective!r}. Received: direction={direction!r}. Leave it `auto`.",
            key="tuner.direction")


def resolve_objective(objective: str, direction: str, task: str) -> tuple[str, str]:
    """`(objective, direction)` with `auto` filled from the task, checked against it."""
    if objective == "auto":
        objective = default_objective(task)
    if direction == "auto":
        direction = objective_direction(objective)
    check_objective(objective, direction, task)
    return objective, direction
