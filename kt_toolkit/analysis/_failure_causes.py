"""What to blame for the trials that diverged, failed or underfit. No Keras.

`next_steps` asks two questions of the finished configurations, in this order:

1. Do the failures follow the learning rate? (`lr_onset`) A rate that is too
   high is the commonest cause of failure (B5), and every other knob's value
   that happens to share those trials looks guilty beside it.
2. Which choices never worked, *below* the rate where failures start?
   (`bad_choices`) Above it the rate explains the failures, so a choice seen
   only there (`batch_norm: True` beside lr ≥ 1) is not blamed.
"""

import dataclasses
import math

from kt_toolkit.analysis.search import distinct_configurations

__all__ = ["BAD_CHOICE_TRIALS", "BAD_KINDS", "LEARNING_RATE", "LR_ONSET_GAP",
           "LR_ONSET_SHARE", "Onset", "bad_choices", "bad_pool", "lr_onset", "number"]

BAD_KINDS = ("diverged", "failed", "underfitting")
BAD_CHOICE_TRIALS = 3
"""A choice is dropped only after this many configurations, all bad; the learning
rate is blamed only with this many configurations at or above the onset."""

LR_ONSET_SHARE = 0.75
"""At least this share of the configurations at or above the onset went bad."""

LR_ONSET_GAP = 0.5
"""... and that share exceeds the bad share below the onset by at least this."""

LEARNING_RATE = "learning_rate"


@dataclasses.dataclass(frozen=True)
class Onset:
    """The learning rate at which failures start (`cut`), and the counts that show it.

    Attributes:
        cut: Float, the lowest learning rate of the failing range.
        evidence: String, e.g. "5 of 5 configurations with learning_rate ≥ 1
            diverged, failed or underfit, against 0 of 4 below".
    """

    cut: float
    evidence: str


def bad_pool(study, verdicts, finished):
    """The distinct finished configurations a knob may be blamed for, and the bad ones.

    Each configuration counts once (Hyperband trains one in several trials).
    Trials whose verdict already names their cause (an L1/L2 penalty) are left out.

    Returns:
        `(pool, bad)`: a list of rows, and the set of their trial ids whose
        verdicts include one of `BAD_KINDS`.
    """
    pool = [row for row in distinct_configurations(study, finished)
            if not any("penalty" in v.summary for v in verdicts.get(row["trial_id"], []))]
    bad = {row["trial_id"] for row in pool
           if {v.kind for v in verdicts.get(row["trial_id"], [])} & set(BAD_KINDS)}
    return pool, bad


def lr_onset(pool, bad):
    """Where failures start along the learning rate, or `None` when they do not follow it.

    Each learning rate of a bad configuration is a candidate cut. A cut
    qualifies when at least `BAD_CHOICE_TRIALS` configurations lie at or above
    it, at least `LR_ONSET_SHARE` of them bad, and at least one below it worked;
    of those, the one whose bad share above exceeds the share below by the most
    (at least `LR_ONSET_GAP`) is the onset, the lowest on ties. Choosing the
    sharpest contrast, not the lowest qualifying cut, keeps failures caused by
    something else at sane rates (a bad choice) from dragging the cut down.

    Args:
        pool, bad: What `bad_pool` returned.

    Returns:
        An `Onset`, or `None`.
    """
    rated = [(rate, row["trial_id"] in bad) for row in pool
             if (rate := number(row.get(LEARNING_RATE))) is not None]
    found, widest = None, None
    for cut in sorted({rate for rate, is_bad in rated if is_bad}):
        above = [is_bad for rate, is_bad in rated if rate >= cut]
        below = [is_bad for rate, is_bad in rated if rate < cut]
        share = sum(above) / len(above)
        if (len(above) < BAD_CHOICE_TRIALS or share < LR_ONSET_SHARE
                or not below or all(below)):
            continue
        gap = share - sum(below) / len(below)
        if gap >= LR_ONSET_GAP and (widest is None or gap > widest):
            widest = gap
            found = Onset(cut, f"{sum(above)} of {len(above)} configurations with "
                               f"{LEARNING_RATE} ≥ {cut:g} diverged, failed or underfit, "
                               f"against {sum(below)} of {len(below)} below")
    return found


def bad_choices(study, pool, bad, onset=None):
    """Choices every configuration of which diverged, failed or underfit.

    Only configurations below `onset.cut` are witnesses: above it the learning
    rate explains the failures. The worst choice is taken first: its trials are
    then set aside, so a choice that only shared trials with it (relu beside
    `zeros` init) is kept. Conditional knobs (inactive in some trials) are left
    to their parent, and the best trial's own choices are never dropped.

    Args:
        study: A `Study`.
        pool, bad: What `bad_pool` returned.
        onset: Optional `Onset` (see `lr_onset`).

    Returns:
        List of `(knob, value, configurations)` tuples, worst first.
    """
    best = study.best(1)
    if onset is not None:
        pool = [row for row in pool if (number(row.get(LEARNING_RATE)) or 0.0) < onset.cut]
    dropped = []
    while True:
        culprit = _worst_choice(study, pool, bad, best[0] if best else {})
        if culprit is None:
            return dropped
        name, value, rows = culprit
        dropped.append((name, value, len(rows)))
        pool = [row for row in pool if row not in rows]


def _worst_choice(study, pool, bad, best):
    """`(knob, value, rows)` of the choice with the most configurations, all bad."""
    found = None
    for name in study.tuned_knobs:
        domain = study.domains[name]
        if domain.kind != "choice" or any(row.get(name) is None for row in pool):
            continue
        for value in domain.values:
            rows = [row for row in pool if row.get(name) == value]
            if (len(rows) >= BAD_CHOICE_TRIALS and best.get(name) != value
                    and all(row["trial_id"] in bad for row in rows)
                    and (found is None or len(rows) > len(found[2]))):
                found = (name, value, rows)
    return found


def number(value):
    """`value` as a finite float, or `None` (booleans, strings, NaN, `None`)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None
