"""The chance rule (B2, C4): has a trial's objective left what a model that learned nothing scores?

`chance_decision` is a plain function of numbers (the
`kt_toolkit.callbacks.ChancePruning` callback tracks the values it needs);
`chance_level` computes the chance level of kt_toolkit's objectives from the
targets.
"""

import re

import numpy as np
import numpy.typing as npt

from kt_toolkit.pruning._common import check_direction, fmt, judgeable

__all__ = ["chance_decision", "chance_level"]


def chance_decision(best: float | None, first: float | None, *, chance: float | None,
                    margin: float, direction: str, epoch: int, epochs: int,
                    objective: str) -> str | None:
    """Why a trial is pruned for staying at chance level, or `None` to go on.

    Judged from the absolute epoch `epochs` on, on the trial's best value so far:

    - a maximized objective (accuracy, AUC) is stuck while it is at most
      `chance + margin`; without a chance level it must instead have risen by
      the fraction `margin` from `first` (and is left alone when `first=None`);
    - a minimized one (a loss, an error) is stuck while it has fallen by less
      than the fraction `margin` from `first` and, when `chance` is known, is not
      below `chance × (1 - margin)` either. A continued Hyperband round has no
      first epoch of its own (`first=None`): only the chance level judges it.

    Example:

    ```python
    chance_decision(0.14, 0.1, chance=0.1, margin=0.05, direction="max", epoch=3,
                    epochs=3, objective="val_accuracy")
    # 'pruned at epoch 3: val_accuracy 0.14 (best so far) <= chance level 0.1 + 0.05 (B2, C4)'
    ```

    Args:
        best: Float or `None`, the trial's best objective so far.
        first: Float or `None`, its objective at epoch 1 (`None` when the trial
            did not start at epoch 1 or logged no finite value there).
        chance: Float or `None`, the objective of a model that learned nothing
            (see `chance_level`).
        margin: Float in [0, 1): in the objective's units above chance for a
            maximized objective, otherwise a fraction.
        direction: String, `"max"` or `"min"`.
        epoch: Integer, the absolute epoch just ended (1-based).
        epochs: Integer, the first epoch that is judged.
        objective: String, the objective's name, for the reason.

    Returns:
        String, the reason (`"pruned at epoch N: ... (B2, C4)"`), or `None`.

    Raises:
        ConfigError: when `direction` is neither `"max"` nor `"min"`.
    """
    check_direction(direction)
    if not judgeable(best) or epoch < epochs:
        return None
    first = first if judgeable(first) else None
    stuck = _stuck_max if direction == "max" else _stuck_min
    reason = stuck(best, first, chance, margin)
    if reason is None:
        return None
    return f"pruned at epoch {epoch}: {objective} {fmt(best)} (best so far) {reason} (B2, C4)"


def _stuck_max(best: float, first: float | None, chance: float | None,
               margin: float) -> str | None:
    if chance is not None:
        return f"<= chance level {fmt(chance)} + {margin:g}" if best <= chance + margin else None
    if first is None or best > first + margin * abs(first):
        return None
    return f"rose less than {margin:.0%} from epoch 1 ({fmt(first)})"


def _stuck_min(best: float, first: float | None, chance: float | None,
               margin: float) -> str | None:
    below = None
    if chance is not None:
        if best < chance * (1 - margin):
            return None
        below = f"not {margin:.0%} below the chance level {fmt(chance)}"
    if first is None:  # a continued Hyperband round: only the chance level judges
        return below
    if best < first - margin * abs(first):
        return None
    tail = f", and is {below}" if below else ""
    return f"fell less than {margin:.0%} from epoch 1 ({fmt(first)}){tail}"


def chance_level(objective: str, task: str, y: npt.ArrayLike | None) -> float | None:
    """What a model that learned nothing scores on targets `y`, or `None` if unknown.

    | objective | chance level |
    |---|---|
    | `accuracy` | the majority class's share (1/num_classes when balanced) |
    | `auc` | 0.5 |
    | `pr_auc`, binary | the positive class's share |
    | `top_<k>_accuracy` | the k most frequent classes' share |
    | `loss` or `crossentropy`, classification | cross-entropy of predicting the class shares: their entropy |
    | `loss` or `mse`, regression | the variance of `y` (predicting the mean) |
    | `rmse` | the standard deviation of `y` |
    | `mae` | mean absolute deviation from the median |

    Precision, recall, F1 and custom metrics have no chance level here (it
    depends on how the model that learned nothing guesses): `None`.

    Example:

    ```python
    chance_level("val_accuracy", "multiclass", np.repeat(np.arange(10), 5))  # 0.1
    ```

    Args:
        objective: String, e.g. `"val_accuracy"` (the `val_` prefix is ignored:
            pass the validation targets for it).
        task: String, `"multiclass"`, `"binary"` or `"regression"`.
        y: Array of targets (class indices, or numbers for a regression), or `None`.

    Returns:
        Float or `None`.
    """
    metric = objective[4:] if objective.startswith("val_") else objective
    if metric == "auc":
        return 0.5
    if y is None or len(y) == 0:
        return None
    y = np.asarray(y).reshape(len(y), -1)[:, 0]
    if task in ("multiclass", "binary"):
        return _classification_chance(metric, task, y)
    return _regression_chance(metric, y)


def _classification_chance(metric: str, task: str, y: np.ndarray) -> float | None:
    """`chance_level` for class indices `y` (a 1-D array, not empty)."""
    shares = np.unique(y, return_counts=True)[1] / len(y)
    if metric == "accuracy":
        return float(shares.max())
    top_k = re.fullmatch(r"top_([1-9][0-9]*)_accuracy", metric)
    if top_k:
        return float(np.sort(shares)[::-1][:int(top_k.group(1))].sum())
    if metric == "pr_auc" and task == "binary":
        return float(np.mean(y == 1))
    if metric in ("loss", "crossentropy"):
        return float(-(shares * np.log(shares)).sum())
    return None


def _regression_chance(metric: str, y: np.ndarray) -> float | None:
    """`chance_level` for regression targets `y` (a 1-D array, not empty)."""
    y = y.astype("float64")
    if metric in ("loss", "mse"):
        return float(y.var())
    if metric == "rmse":
        return float(y.std())
    if metric == "mae":
        return float(np.abs(y - np.median(y)).mean())
    return None
