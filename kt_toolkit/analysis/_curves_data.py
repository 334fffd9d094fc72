"""What the curve checks read and return: `Curves` in, `Finding` out. No Keras.

The checks live in `_failure_checks` (the run went wrong or was stopped) and
`_fit_checks` (how the model fits); `verdicts.diagnose` runs them in order of
severity and turns each `Finding` into a `Verdict`. The thresholds are
documented on `verdicts.Thresholds`.
"""

from __future__ import annotations

import dataclasses
import math
import typing

import numpy as np

from kt_toolkit._io import as_float
from kt_toolkit.config.tasks import DATA_LOSSES, is_bounded_score

TRAIN_ONLY_KNOBS = ("dropout", "recurrent_dropout", "augment_flip", "augment_translation",
                    "augment_crop")  # act only while training, so they lower train metrics
HYPERBAND_BUDGET = "tuner/epochs"


@dataclasses.dataclass(frozen=True)
class Finding:
    """What one check found in one execution's curves.

    Attributes:
        kind: String, one of `verdicts.VERDICT_KINDS`.
        summary: String, one line with the numbers behind it (no final period).
        advice: String, what to try, citing PRACTICES ids in parentheses.
        practices: Tuple of strings, the PRACTICES ids the advice cites, in the
            order it first cites them, e.g. `("B3", "C5", "C2")`. Set by the
            check next to the advice it writes, never parsed from it.
        evidence: Dict of name → float, the numbers the finding rests on.
    """

    kind: str
    summary: str
    advice: str
    practices: tuple[str, ...]
    evidence: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Curves:
    """One execution's history as arrays, with what the checks need to read it.

    Attributes:
        epochs: Array of the epoch numbers, one per row.
        columns: Dict of name → array of floats (NaN where a row lacks the
            value); a column no row has is absent.
        objective: String, the objective's name, e.g. `"val_accuracy"`.
        metric: String, the objective's training-side name, e.g. `"accuracy"`.
        bounded: Boolean, whether the objective is a score in [0, 1].
        maximize: Boolean, whether a higher objective is better.
        t: The `verdicts.Thresholds` to compare against (typed `Any`: `verdicts`
            imports this module, so this one does not import it back).
        reference: Dict of the study-wide yardsticks (see
            `verdicts.study_reference`).
        hyperparameters: Optional dict of the trial's values.
    """

    epochs: np.ndarray
    columns: dict[str, np.ndarray]
    objective: str
    metric: str
    bounded: bool
    maximize: bool
    t: typing.Any
    reference: dict[str, float]
    hyperparameters: dict[str, object] | None = None

    @classmethod
    def from_history(cls, history: list[dict[str, float]], objective: str, direction: str,
                     **kwargs: object) -> Curves:
        """Builds the arrays from history rows.

        Args:
            history: List of dicts, one per epoch in order (see `verdicts.diagnose`).
            objective: String, the objective's name.
            direction: String, `"max"` or `"min"`.
            **kwargs: `t`, `reference` and `hyperparameters`, as the attributes.

        Returns:
            A `Curves`.
        """
        metric = objective[4:] if objective.startswith("val_") else objective
        names = {key for row in history for key in row}
        return cls(epochs=np.array([as_float(row.get("epoch", i + 1))
                                    for i, row in enumerate(history)]),
                   columns={name: np.array([as_float(row.get(name)) for row in history])
                            for name in names},
                   objective=objective, metric=metric, maximize=direction == "max",
                   bounded=is_bounded_score(metric), **kwargs)

    def __len__(self) -> int:
        return len(self.epochs)

    def get(self, name: str) -> np.ndarray:
        """The column, or NaNs when the history has no such column."""
        return self.columns.get(name, np.full(len(self), np.nan))

    @property
    def data_loss_name(self) -> str:
        """The logged loss without weight penalties (`crossentropy`, `mse`), else `loss`.

        Keras's `loss` adds every L1/L2 penalty (issue 17): the checks that compare
        a loss with chance, with other trials or train with validation read the
        data loss (`loss`, `val_loss` here); those about the optimization itself
        (NaN, explosion) read `total_loss`.
        """
        return next((name for name in DATA_LOSSES if name in self.columns), "loss")

    loss = property(lambda self: self.get(self.data_loss_name))
    val_loss = property(lambda self: self.get("val_" + self.data_loss_name))
    total_loss = property(lambda self: self.get("loss"))
    score = property(lambda self: self.get(self.metric))  # the objective's training side
    val_score = property(lambda self: self.get(self.objective))

    def epoch(self, index: int) -> int:
        """The epoch number at a row index."""
        return int(self.epochs[index])


def train_only_knobs(hyperparameters: dict[str, object] | None) -> list[str]:
    """The trial's knobs that act only while training (dropout, augmentation).

    Args:
        hyperparameters: Optional dict of the trial's values.

    Returns:
        List of the names in `TRAIN_ONLY_KNOBS` that are set and not off.
    """
    return [name for name in TRAIN_ONLY_KNOBS
            if (hyperparameters or {}).get(name) not in (None, "", "none", False, 0, 0.0)]


def loss_drop(c: Curves) -> float:
    """Relative drop of the training loss from its first epoch to its minimum.

    Args:
        c: The `Curves`.

    Returns:
        Float, 0.0 when the loss is empty, not finite or starts at 0.
    """
    loss = c.loss
    if not len(c) or not np.isfinite(loss).all() or loss[0] == 0:
        return 0.0
    return float((loss[0] - loss.min()) / abs(loss[0]))


def fmt(value: float) -> str:
    """A number for a summary line: 0.9998, 0.0529, 2.303, 2709, 26374, 1.15e-05.

    Args:
        value: A number.

    Returns:
        String, at most 4 significant digits below 1e4, no trailing zeros.
    """
    value, size = float(value), abs(float(value))
    if not math.isfinite(value) or size >= 1e4:
        return f"{value:.0f}" if math.isfinite(value) else str(value)
    if size >= 10:
        return f"{value:.4g}"
    return f"{value:.4f}".rstrip("0").rstrip(".") if size >= 1e-3 or not size else f"{value:.2e}"
