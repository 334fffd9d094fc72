"""The divergence rule (B5): did a trial's training blow up? A plain function of numbers.

One rule for every layer that must know: the ranking of trials
(`kt_toolkit.rundir.ranking`) puts a diverged trial after every other completed
one, so the tuner never exports it as the best while another trial completed,
and the analysis calls it `diverged` in its verdicts (`kt_toolkit.analysis`). A
trial diverged when its per-epoch history shows:

- `non_finite`: `loss` or `val_loss` is NaN or infinite at some epoch (the
  weights hold NaN or inf);
- `exploded`: the training loss (Keras's `loss`, penalties included) climbs
  after its minimum to `explode_ratio` × that minimum, and above its first
  epoch (the optimizer overshoots: a learning rate too high);
- `saturated` (classification): the training data loss never falls below
  `saturated_loss_ratio` × the chance cross-entropy and stays a clipped
  cross-entropy (at most `MAX_CROSSENTROPY`), no L1/L2 penalty explains it, and
  the training score never rose above `low_score` (a softmax confidently wrong);
- `blown_up` (classification, with the penalty-free `crossentropy` logged): the
  training cross-entropy never falls below `blown_up_ratio` × the chance
  cross-entropy (logits in the hundreds: the weights exploded, even while the
  loss falls and the score looks good).

The first two need `loss` (and `val_loss`); the last two the chance level, the
cross-entropy of a uniform guess (`chance_crossentropy`). `blown_up` reads only
the penalty-free `crossentropy` (issue 17): Keras's `loss` adds every L1/L2
penalty, and TensorFlow computes a softmax's cross-entropy from its logits,
unclipped, so an exploded model can log a loss of 1e6 that keeps falling.

No Keras here: the callers pass the columns of `trials/<id>/history.csv`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np

from kt_toolkit.pruning._common import fmt

__all__ = ["BOUNDED_SCORES", "DEFAULT_DIVERGENCE_RULE", "Divergence", "DivergenceRule",
           "MAX_CROSSENTROPY", "chance_crossentropy", "find_divergence"]

MAX_CROSSENTROPY = -math.log(1e-7) + 0.1
"""The highest cross-entropy of clipped probabilities (Keras clips at epsilon = 1e-7)."""

BOUNDED_SCORES = ("accuracy", "auc", "precision", "recall", "f1_score")
"""Training scores in [0, 1], higher better: `saturated` is ruled out once one rose.

The same as `kt_toolkit.config.tasks.BOUNDED_SCORES` (this package imports nothing of
kt_toolkit but `_io` and `errors`; a test keeps the two equal)."""


@dataclasses.dataclass(frozen=True)
class DivergenceRule:
    """The numbers the divergence rule compares against.

    Args:
        explode_ratio: Float, a training loss that climbs after its minimum to
            this multiple of it, and above its first epoch, has diverged.
            Defaults to `2.0`: a healthy running-average loss never doubles.
        saturated_loss_ratio: Float, a classification training loss that never
            fell below this × the chance cross-entropy (and no penalty, no score
            above `low_score`) is saturated. Defaults to `3.0` (6.9 for 10
            classes; a model that learns starts near 1×).
        low_score: Float, a bounded training score above this learned
            something: not saturated. Defaults to `0.6`.
        blown_up_ratio: Float, a penalty-free training cross-entropy that never
            fell below this × the chance cross-entropy has blown up, whatever
            the score. Defaults to `100.0` (110 for 3 classes; a clipped
            cross-entropy never exceeds 16.2, so only exploded logits reach it).

    Raises:
        ValueError: when a number is negative.
    """

    explode_ratio: float = 2.0
    saturated_loss_ratio: float = 3.0
    low_score: float = 0.6
    blown_up_ratio: float = 100.0

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"`{field.name}` must be a number >= 0. Received: "
                                 f"{field.name}={value!r}.")


DEFAULT_DIVERGENCE_RULE = DivergenceRule()


@dataclasses.dataclass(frozen=True)
class Divergence:
    """What the rule found in one history.

    Attributes:
        kind: String, `"non_finite"`, `"exploded"`, `"saturated"` or `"blown_up"`.
        column: String, the column judged (`"loss"`, `"val_loss"`, `"crossentropy"`).
        index: Integer, the row where it shows: the first non-finite value, the
            peak of an explosion, the lowest saturated or blown-up loss.
        evidence: Dict of name → float: `value` (non_finite); `min_loss`,
            `min_index`, `peak_loss`, `ratio`, `first_loss` (exploded);
            `min_loss`, `chance_loss`, `ratio` (saturated, blown_up).
        reason: String, one line with the numbers and epochs, no final period.
    """

    kind: str
    column: str
    index: int
    evidence: dict[str, float]
    reason: str


def chance_crossentropy(num_classes: int | None) -> float | None:
    """The cross-entropy of a uniform guess, ln(num_classes), or `None` when unknown.

    Example:

    ```python
    chance_crossentropy(10)  # 2.302...
    ```
    """
    if num_classes is None or isinstance(num_classes, bool) or int(num_classes) < 1:
        return None
    return math.log(max(int(num_classes), 2))


def find_divergence(columns: Mapping[str, Sequence[float]], *, data_loss: str = "loss",
                    score: str | None = None, chance_loss: float | None = None,
                    penalized: bool = False,
                    rule: DivergenceRule = DEFAULT_DIVERGENCE_RULE) -> Divergence | None:
    """Whether one execution's history diverged (see the module's table), and how.

    Checks in order: non-finite, saturated, blown up, exploded; the first that
    fires is returned.

    Example:

    ```python
    find_divergence({"loss": [0.64, 3.37, 10.7], "val_loss": [0.2, 1.1, 3.8]}).reason
    # 'training loss rose from its minimum 0.64 at epoch 1 to 10.7 at epoch 3
    #  (16.72x >= 2x, above the first epoch's 0.64)'
    ```

    Args:
        columns: Mapping of name → sequence of floats, one per epoch in order
            (NaN where an epoch lacks the value): `loss` and `val_loss`, the data
            loss, a score, and optionally `epoch` (the epoch numbers, for the
            reason; else 1, 2, ...).
        data_loss: String, the column of the training loss without weight
            penalties (`"crossentropy"`, `"mse"`), or `"loss"` when the run did
            not log one. Defaults to `"loss"`.
        score: Optional string, the column of a training score in [0, 1]
            (`"accuracy"`, `"auc"`), or `None` for an unbounded objective.
        chance_loss: Optional float, the chance cross-entropy of a
            classification (`chance_crossentropy`); `None` (regression, unknown)
            skips `saturated` and `blown_up`.
        penalized: Boolean, whether the trial has an L1/L2 penalty (it can
            explain a high `loss`, so `saturated` is not called). Defaults to
            `False`.
        rule: A `DivergenceRule`. Defaults to `DEFAULT_DIVERGENCE_RULE`.

    Returns:
        A `Divergence`, or `None`.
    """
    arrays = {name: np.asarray(values, dtype=float) for name, values in columns.items()}
    size = max((len(values) for values in arrays.values()), default=0)
    epochs = arrays.get("epoch")
    if epochs is None or len(epochs) != size or not np.isfinite(epochs).all():
        epochs = np.arange(1, size + 1, dtype=float)

    def epoch(index: int) -> int:
        return int(epochs[index])

    def get(name: str) -> np.ndarray:
        values = arrays.get(name)
        return values if values is not None and len(values) == size else np.full(size, np.nan)

    for name, label in (("loss", "training loss"), ("val_loss", "validation loss")):
        values = arrays.get(name)
        if values is not None and not np.isfinite(values).all():
            bad = int(np.flatnonzero(~np.isfinite(values))[0])
            return Divergence("non_finite", name, bad, {"value": float(values[bad])},
                              f"{label} became {values[bad]} at epoch {epoch(bad)}")
    loss = get("loss")  # the optimization: the loss Keras minimized, penalties included
    if not size or not np.isfinite(loss).all() or loss.min() <= 0:
        return None
    found = _saturation(get(data_loss), data_loss, get(score) if score else None,
                        chance_loss=chance_loss, penalized=penalized, rule=rule, epoch=epoch)
    if found or size < 2:
        return found
    low = int(np.argmin(loss))
    peak = low + int(np.argmax(loss[low:]))
    ratio = float(loss[peak] / loss[low])
    if ratio < rule.explode_ratio or loss[peak] <= loss[0]:
        return None
    evidence = {"min_loss": float(loss[low]), "min_index": float(low),
                "peak_loss": float(loss[peak]), "ratio": ratio, "first_loss": float(loss[0])}
    return Divergence("exploded", "loss", peak, evidence,
                      f"training loss rose from its minimum {fmt(loss[low])} at epoch "
                      f"{epoch(low)} to {fmt(loss[peak])} at epoch {epoch(peak)} "
                      f"({fmt(ratio)}x >= {fmt(rule.explode_ratio)}x, above the first "
                      f"epoch's {fmt(loss[0])})")


def _saturation(loss, name, score, *, chance_loss, penalized, rule, epoch):
    """`saturated` or `blown_up` (see the module's table), or `None`."""
    if not chance_loss or not len(loss) or not np.isfinite(loss).all():
        return None
    low = int(np.argmin(loss))
    ratio = float(loss[low] / chance_loss)
    evidence = {"min_loss": float(loss[low]), "chance_loss": float(chance_loss), "ratio": ratio}
    chance = f"the chance level ln {round(math.exp(chance_loss))} = {chance_loss:.2f}"
    if name == "crossentropy" and ratio >= rule.blown_up_ratio:
        return Divergence("blown_up", name, low, evidence,
                          f"training cross-entropy never fell below {fmt(loss[low])} "
                          f"(epoch {epoch(low)}), {fmt(ratio)}x {chance} "
                          f"(>= {fmt(rule.blown_up_ratio)}x): the weights exploded")
    if ratio < rule.saturated_loss_ratio or loss[low] > MAX_CROSSENTROPY or penalized:
        return None
    if score is not None and np.isfinite(score).any() and np.nanmax(score) > rule.low_score:
        return None  # a model whose training score rose learned something
    return Divergence("saturated", name, low, evidence,
                      f"training loss never fell below {fmt(loss[low])}, {ratio:.1f}x "
                      f"{chance} (>= {fmt(rule.saturated_loss_ratio)}x): the outputs are "
                      "confidently wrong")
