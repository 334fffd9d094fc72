"""The median rule (B2): is a trial behind the completed trials at the same epoch?

A plain function of numbers, on the model of Optuna's `MedianPruner`: the
caller (the `kt_toolkit.callbacks.MedianPruning` callback) tracks the trial's
best value so far and looks the reference up in a `TrialCurves`.
"""

import statistics
from collections.abc import Sequence

from kt_toolkit.pruning._common import check_direction, fmt, is_better, judgeable

__all__ = ["median_decision"]


def median_decision(best: float | None, reference: Sequence[float], *, epoch: int,
                    direction: str, warmup_epochs: int, min_trials: int,
                    objective: str) -> str | None:
    """Why a trial is pruned for being behind the median, or `None` to go on.

    The trial is judged after `warmup_epochs` (epoch `warmup_epochs + 1` is the
    first) once at least `min_trials` completed trials reached the same epoch:
    it is pruned when the median of their values there is strictly better than
    the trial's best value so far (a tie goes on). `best=None` (nothing logged
    yet) or a value that is not finite is never judged.

    Example:

    ```python
    median_decision(0.1, [0.2, 0.4, 0.6, 0.8], epoch=3, direction="max",
                    warmup_epochs=2, min_trials=4, objective="val_accuracy")
    # 'pruned at epoch 3: val_accuracy 0.1 (best so far) < median 0.5 of 4 trials
    #  at that epoch (B2)'
    ```

    Args:
        best: Float or `None`, the trial's best objective so far.
        reference: Sequence of floats, the completed trials' objective at
            `epoch` (the trial itself left out), e.g. `TrialCurves.values_at`.
        epoch: Integer, the absolute epoch just ended (1-based).
        direction: String, `"max"` or `"min"`.
        warmup_epochs: Integer, the first epochs that are never judged.
        min_trials: Integer, how many reference values are needed to judge.
        objective: String, the objective's name, for the reason.

    Returns:
        String, the reason (`"pruned at epoch N: ... (B2)"`), or `None`.

    Raises:
        ConfigError: when `direction` is neither `"max"` nor `"min"`.
    """
    check_direction(direction)
    if not judgeable(best) or epoch <= warmup_epochs or len(reference) < max(min_trials, 1):
        return None
    median = statistics.median(reference)
    if not is_better(median, best, direction):
        return None
    sign = "<" if direction == "max" else ">"
    return (f"pruned at epoch {epoch}: {objective} {fmt(best)} (best so far) {sign} "
            f"median {fmt(median)} of {len(reference)} trials at that epoch (B2)")
