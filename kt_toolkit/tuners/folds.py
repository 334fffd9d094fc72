"""k-fold scores (`data.cv_folds`): each execution of a trial trains on one fold.

`run_search` hands the tuner the training and validation parts joined, and
`CrossValidation` the folds over them (`kt_toolkit.data.split.fold_indices`:
stratified for classification, seeded, the same in every process). The tuner
runs `k` executions per trial (KerasTuner's `executions_per_trial`); execution
`i` trains a fresh model on every fold but `i` and validates on fold `i`.
KerasTuner scores the trial with the mean over the executions of each one's
best-epoch metrics, so the trial's objective is the fold mean; `history.csv`
keeps every fold's epochs (column `execution` = fold), the curves draw them
with their mean in bold, and `meta.json`'s `cv` records each fold's score, the
mean and the spread. This works the same with every algorithm but Hyperband,
which continues a trial's model from round to round (refused: see
`kt_toolkit.config.schema.ExperimentConfig`). A killed trial reruns whole, every
fold.

Example:

```python
import numpy as np
from kt_toolkit.tuners.folds import CrossValidation

y = np.array([0, 1] * 10)
cv = CrossValidation(np.zeros((20, 3)), y, folds=5, stratify=True, seed=0)
args, kwargs = cv.arguments(0, {"epochs": 3})
len(args[0]), len(kwargs["validation_data"][0])   # (16, 4)
```
"""

import math
import statistics

import numpy as np

from kt_toolkit.data.split import fold_indices

__all__ = ["CrossValidation"]


class CrossValidation:
    """The folds of the joined training and validation parts, and their scores.

    Args:
        x: Array, the training and validation features joined.
        y: Array, their targets.
        folds: Integer >= 2, `data.cv_folds`.
        stratify: Boolean, keep class proportions in each fold (classification).
        seed: Integer, the random state of the folds.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, *, folds: int, stratify: bool,
                 seed: int) -> None:
        self.x, self.y = x, y
        self.folds = int(folds)
        self.indices = fold_indices(y, self.folds, stratify=stratify, seed=seed)
        self.scores: dict = {}  # trial_id -> [each fold's best objective]

    def arguments(self, fold: int, kwargs: dict) -> tuple[tuple, dict]:
        """`(args, kwargs)` of `fit` for `fold`: its training part and validation part."""
        train, validation = self.indices[fold % self.folds]
        kwargs = {**kwargs, "validation_data": (self.x[validation], self.y[validation])}
        return (self.x[train], self.y[train]), kwargs

    def record(self, trial_id: str, fold: int, history, objective) -> None:
        """Keeps `fold`'s best value of the objective (from its Keras `History`)."""
        values = [v for v in (getattr(history, "history", {}) or {}).get(objective.name, [])
                  if v is not None and math.isfinite(v)]
        best = (max if objective.direction == "max" else min)(values) if values else math.nan
        scores = self.scores.setdefault(trial_id, [])
        del scores[fold:]  # a rerun of the trial starts its folds again
        scores.append(float(best))

    def summary(self, trial_id: str) -> dict | None:
        """`{"folds", "scores", "mean", "std"}` of a trial (for `meta.json`), or `None`."""
        scores = self.scores.pop(trial_id, None)
        if not scores:
            return None
        finite = [s for s in scores if math.isfinite(s)]
        return {"folds": self.folds, "scores": [round(s, 6) for s in scores],
                "mean": round(statistics.fmean(finite), 6) if finite else None,
                "std": round(statistics.pstdev(finite), 6) if len(finite) > 1 else None}
