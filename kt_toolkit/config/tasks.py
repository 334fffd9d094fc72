"""Tasks and the metrics each one produces (E14, E15, A5). Imports no Keras.

| task | output | loss | metrics |
|---|---|---|---|
| `multiclass` | softmax, one unit per class | sparse categorical cross-entropy | accuracy |
| `binary` | sigmoid, one unit | binary cross-entropy | accuracy, auc |
| `regression` | linear, one unit | mean squared error | mae |
"""

from kt_toolkit.errors import ConfigError

__all__ = ["TASKS", "allowed_objectives", "check_objective", "default_objective",
           "objective_direction", "resolve_objective"]

TASKS = {
    "multiclass": {"metrics": ("accuracy",), "objective": "val_accuracy"},
    "binary": {"metrics": ("accuracy", "auc"), "objective": "val_auc"},
    "regression": {"metrics": ("mae",), "objective": "val_loss"},
}
_MAXIMIZED = ("accuracy", "auc")


def allowed_objectives(task: str) -> list[str]:
    """Every metric name the compiled model logs for `task`, train and validation."""
    names = ("loss",) + TASKS[task]["metrics"]
    return [prefix + name for prefix in ("val_", "") for name in names]


def default_objective(task: str) -> str:
    return TASKS[task]["objective"]


def objective_direction(objective: str) -> str:
    """`"max"` for accuracy/AUC-like metrics, `"min"` for losses and errors."""
    base = objective[4:] if objective.startswith("val_") else objective
    return "max" if base in _MAXIMIZED else "min"


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
