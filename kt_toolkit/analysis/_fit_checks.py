"""Fit checks: over- or underfitting, still improving, too short, or a good fit. No Keras.

Each check reads a `Curves` and returns a `Finding` (or `None` when it does not
apply) whose `practices` are the PRACTICES ids its advice cites, set where the
advice is written. `verdicts.diagnose` runs these once no failure check
(`_failure_checks`) fired.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from kt_toolkit.analysis._curves_data import (HYPERBAND_BUDGET, Curves, Finding, fmt,
                                              loss_drop, train_only_knobs)
from kt_toolkit.pruning.divergence import MAX_CROSSENTROPY


def still_improving(c: Curves) -> dict[str, float] | None:
    """Whether the objective ends at its best and still moving.

    Args:
        c: The `Curves`.

    Returns:
        Dict with `gain`, `val_loss_drop`, `steps` and `best` over the last
        `trend_epochs`, or `None` when the objective is not improving.
    """
    t = c.t
    steps = min(t.trend_epochs, len(c) - 1)
    obj = c.val_score
    if steps < 1 or not np.isfinite(obj).all():
        return None
    best = obj.max() if c.maximize else obj.min()
    first_best = int(np.flatnonzero(obj == best)[0])
    if obj[-1] != best or first_best <= len(c) - 1 - steps:
        return None  # not at its best, or only tying a best reached before the window
    gain = (obj[-1] - obj[-1 - steps]) * (1.0 if c.maximize else -1.0)
    if not c.bounded:
        gain /= abs(obj[-1 - steps]) or 1.0
    before, last = c.val_loss[-1 - steps], c.val_loss[-1]
    drop = (before - last) / abs(before) if np.isfinite([before, last]).all() and before else 0.0
    if gain < (t.improving_score_gain if c.bounded else t.improving_loss_drop) \
            and drop < t.improving_loss_drop:
        return None
    return {"gain": float(gain), "val_loss_drop": float(drop), "steps": float(steps),
            "best": float(best)}


def overfitting(c: Curves, improving: dict[str, float] | None) -> Finding | None:
    """Train well ahead of validation, or validation loss rising after its minimum (B3).

    Args:
        c: The `Curves`.
        improving: What `still_improving` returned; an unbounded objective that
            still improves is not judged on its loss ratio.

    Returns:
        An `overfitting` finding, or `None`.
    """
    t, parts, evidence = c.t, [], {}
    if c.bounded:
        gap = c.score[-1] - c.val_score[-1]
        if np.isfinite(gap) and gap > t.overfit_gap:
            evidence.update(train_score=float(c.score[-1]), val_score=float(c.val_score[-1]),
                            gap=float(gap))
            parts.append(f"train {c.metric} {fmt(c.score[-1])} vs validation "
                         f"{fmt(c.val_score[-1])} (gap {fmt(gap)} > {fmt(t.overfit_gap)})"
                         + (f", loss {fmt(c.loss[-1])} vs {fmt(c.val_loss[-1])}"
                            if np.isfinite(c.val_loss[-1]) else ""))
    elif not improving and c.loss[-1] > 0:
        ratio = c.val_loss[-1] / c.loss[-1]
        if np.isfinite(ratio) and ratio >= t.overfit_loss_ratio:
            evidence.update(loss_ratio=float(ratio))
            parts.append(f"validation loss {fmt(c.val_loss[-1])} vs train {fmt(c.loss[-1])} "
                         f"({fmt(ratio)}x >= {fmt(t.overfit_loss_ratio)}x)")
    rise = _val_loss_rise(c)
    if rise:
        evidence.update(rise[1])
        parts.append(rise[0])
    if not parts:
        return None
    return Finding("overfitting", "; ".join(parts),
                   "Regularize (B3): more dropout (E10) or L2 (E11), early stopping that "
                   "restores the best weights (B4), more data or augmentation (F3).",
                   ("B3", "E10", "E11", "B4", "F3"), evidence)


def _val_loss_rise(c: Curves) -> tuple[str, dict[str, float]] | None:
    """(summary, evidence) when validation loss rose after its minimum as training loss fell."""
    t, val_loss, loss = c.t, c.val_loss, c.loss
    if len(c) < t.min_epochs_shape or not np.isfinite(val_loss).all() or val_loss.min() <= 0:
        return None
    low = int(np.argmin(val_loss))
    rise = val_loss[-1] / val_loss[low] - 1
    if len(c) - 1 - low < t.rise_patience or rise < t.val_loss_rise or loss[-1] >= loss[low]:
        return None
    return (f"validation loss rose {rise:.0%} after its minimum {fmt(val_loss[low])} at epoch "
            f"{c.epoch(low)} (> {t.val_loss_rise:.0%}) while training loss fell "
            f"{fmt(loss[low])} -> {fmt(loss[-1])}",
            {"val_loss_rise": float(rise), "val_loss_min_epoch": float(c.epochs[low])})


def not_learning(c: Curves) -> str | None:
    """Why the model is not learning (training loss flat, or objective frozen).

    Args:
        c: The `Curves`.

    Returns:
        String, the reason for a summary line, or `None` when it learns.
    """
    drop, obj = loss_drop(c), c.val_score
    if drop < c.t.stalled_loss_drop:
        return (f"training loss fell only {drop:.1%} ({fmt(c.loss[0])} -> {fmt(c.loss.min())}"
                f", < {c.t.stalled_loss_drop:.0%})")
    if len(c) >= c.t.min_epochs and np.isfinite(obj).all() and np.ptp(obj) == 0:
        return f"{c.objective} stayed at {fmt(obj[0])} for all {len(c)} epochs"
    return None


def underfitting(c: Curves, improving: dict[str, float] | None,
                 stalled: str | None) -> Finding | None:
    """Both scores low against the study's best, and no longer improving or not learning.

    Args:
        c: The `Curves`.
        improving: What `still_improving` returned: a low run that still
            improves is left to `not_converged`.
        stalled: What `not_learning` returned.

    Returns:
        An `underfitting` finding, or `None`.
    """
    low = _low_scores(c)
    if not low:
        return None
    summary, evidence = low
    evidence["loss_drop"] = loss_drop(c)
    loss = c.loss[np.isfinite(c.loss)]
    if c.reference.get("chance_loss") and len(loss) and loss.min() > MAX_CROSSENTROPY:
        # Cross-entropy alone cannot exceed ~16.1 in Keras: the rest is the penalty.
        evidence["min_loss"] = float(loss.min())
        return Finding("underfitting", f"{summary}; training loss {fmt(loss.min())} is mostly "
                       f"the L1/L2 penalty (cross-entropy alone stays below "
                       f"{MAX_CROSSENTROPY:.1f})",
                       "Weaken the regularization: lower `l1`/`l2` 10-100x or try "
                       "`regularizer: none` (B3, E11).", ("B3", "E11"), evidence)
    if stalled:
        return Finding("underfitting", f"{summary}; {stalled}: the model is not learning",
                       "Change the learning rate first (10x up if it crawls, 10x down if it "
                       "may have killed the units; C2, E2), weaken L2, try another initializer "
                       "(E13); if nothing trains, check the data and labels (C4).",
                       ("C2", "E2", "E13", "C4"), evidence)
    if improving:
        return None  # `not_converged` says it: train longer before adding capacity
    return Finding("underfitting", summary,
                   "Add capacity: more layers or units, less dropout or L2 (B3, C5); check "
                   "the learning rate too (C2).", ("B3", "C5", "C2"), evidence)


def _low_scores(c: Curves) -> tuple[str, dict[str, float]] | None:
    """(summary, evidence) when both best scores are low, or both best losses high."""
    return _low_bounded(c) if c.bounded else _high_losses(c)


def _low_bounded(c: Curves) -> tuple[str, dict[str, float]] | None:
    """Bounded: both best scores at or below `low_score`, or a margin below the study's."""
    t, ref = c.t, c.reference
    val, train = _best(c.val_score, np.max), _best(c.score, np.max)
    if not (np.isfinite(val) and np.isfinite(train)):
        return None
    lows = []
    for value, key in ((val, "best_objective"), (train, "best_score")):
        best = ref.get(key)
        lows.append(value <= t.low_score
                    or (best is not None and value <= best - t.underfit_margin))
    if not all(lows):
        return None
    yardstick = (f"study best: validation {fmt(ref['best_objective'])}, train "
                 f"{fmt(ref['best_score'])}; margin {fmt(t.underfit_margin)}"
                 if ref.get("best_objective") is not None and ref.get("best_score")
                 is not None else f"<= {fmt(t.low_score)}")
    return (f"train {c.metric} {fmt(train)} and validation {fmt(val)} both low "
            f"({yardstick})", {"train_score": float(train), "val_score": float(val)})


def _high_losses(c: Curves) -> tuple[str, dict[str, float]] | None:
    """Unbounded: both lowest losses `underfit_loss_ratio` times the study's lowest or more."""
    t, ref = c.t, c.reference
    best_loss, best_val = ref.get("best_loss"), ref.get("best_val_loss")
    if not (best_loss and best_val and best_loss > 0 and best_val > 0):
        return None  # no yardstick for an unbounded loss
    train, val = _best(c.loss, np.min), _best(c.val_loss, np.min)
    ratio = t.underfit_loss_ratio
    if not (train >= ratio * best_loss and val >= ratio * best_val):
        return None
    return (f"train loss {fmt(train)} and validation loss {fmt(val)} both high "
            f"({train / best_loss:.1f}x and {val / best_val:.1f}x the study's lowest, "
            f"{fmt(best_loss)} and {fmt(best_val)}; >= {fmt(ratio)}x)",
            {"train_loss": float(train), "val_loss": float(val),
             "loss_ratio": float(train / best_loss), "val_loss_ratio": float(val / best_val)})


def not_converged(c: Curves, improving: dict[str, float]) -> Finding:
    """The objective still improved at the last epoch (B4).

    Args:
        c: The `Curves`.
        improving: What `still_improving` returned (not `None`).

    Returns:
        A `not_converged` finding; a Hyperband trial's advice explains its budget.
    """
    steps = int(improving["steps"])
    change = (f"gained {fmt(improving['gain'])}" if c.bounded
              else f"improved {improving['gain']:.1%}")
    summary = (f"{c.objective} still improving at the last epoch: best {fmt(improving['best'])}"
               f" at epoch {c.epoch(-1)}, {change} over the last {steps} epochs")
    if improving["val_loss_drop"] >= c.t.improving_loss_drop and c.objective != "val_loss":
        summary += f"; validation loss fell {improving['val_loss_drop']:.1%}"
    if HYPERBAND_BUDGET in (c.hyperparameters or {}):
        advice = ("Hyperband stops early rounds on purpose and continues the best trials; if "
                  "the longest ones still improve, raise `tuner.max_epochs` (B4, B2).")
        practices = ("B4", "B2")
    else:
        advice = ("Train longer (more epochs); if each epoch gains little, raise the learning "
                  "rate (B4, E2).")
        practices = ("B4", "E2")
    return Finding("not_converged", summary, advice, practices, dict(improving))


def too_short(c: Curves) -> Finding:
    """Too few epochs to judge the curves (B4).

    Args:
        c: The `Curves`.

    Returns:
        A `too_short` finding; a Hyperband trial's advice explains its budget.
    """
    t = c.t
    if len(c) < t.min_epochs:
        summary = f"only {len(c)} epoch(s): too few to judge the curves (needs >= {t.min_epochs})"
    else:
        summary = (f"{len(c)} epochs and nothing wrong seen, but too few to call the curves "
                   f"healthy (needs >= {t.min_epochs_shape})")
    if HYPERBAND_BUDGET in (c.hyperparameters or {}):
        advice = ("Hyperband gives its first rounds a few epochs on purpose; judge the trials "
                  "it continued (B2).")
        practices = ("B2",)
    else:
        advice = "Nothing to conclude yet; train it longer before reading its curves (B4)."
        practices = ("B4",)
    return Finding("too_short", summary, advice, practices, {"epochs": float(len(c))})


def good_fit(c: Curves) -> Finding:
    """Nothing wrong seen over enough epochs (B4).

    Args:
        c: The `Curves`.

    Returns:
        A `good_fit` finding with the best epoch and the last epoch's gap or ratio.
    """
    obj, maximize = c.val_score, c.maximize
    if not np.isfinite(obj).any():
        return Finding("good_fit", f"{len(c)} epochs, no problem seen ({c.objective} not logged)",
                       "Keep the weights of the best epoch (early stopping with restore; B4).",
                       ("B4",), {})
    best = int(np.nanargmax(obj) if maximize else np.nanargmin(obj))
    evidence = {"best": float(obj[best]), "best_epoch": float(c.epochs[best])}
    summary = f"{c.objective} {fmt(obj[best])} at epoch {c.epoch(best)} of {c.epoch(-1)}"
    if c.bounded and np.isfinite(c.score[-1]):
        gap = c.score[-1] - obj[-1]
        evidence["gap"] = float(gap)
        summary += (f"; last epoch train {fmt(c.score[-1])} vs validation {fmt(obj[-1])} "
                    f"(gap {fmt(gap)} <= {fmt(c.t.overfit_gap)})")
        knobs = train_only_knobs(c.hyperparameters)
        if gap < -c.t.overfit_gap and knobs:
            summary += f", train measured with {' and '.join(knobs)} on"
    elif np.isfinite(c.val_loss[-1]) and c.loss[-1] > 0:
        evidence["loss_ratio"] = float(c.val_loss[-1] / c.loss[-1])
        summary += (f"; last epoch validation loss {fmt(c.val_loss[-1])} vs train "
                    f"{fmt(c.loss[-1])}")
    return Finding("good_fit", summary,
                   "Healthy curves: keep the weights of the best epoch (early stopping with "
                   "restore; B4).", ("B4",), evidence)


def _best(values: np.ndarray, pick: Callable[[np.ndarray], float]) -> float:
    """`pick` (np.max or np.min) of the finite values; NaN when there are none."""
    values = values[np.isfinite(values)]
    return float(pick(values)) if len(values) else math.nan


def no_curves(row: dict) -> Finding:
    """A finished trial of a run without per-epoch records (B1): nothing to judge.

    A plain KerasTuner project keeps each metric at the best epoch only.

    Args:
        row: The trial's row (`best_epoch`, `metric:<name>` at that epoch).

    Returns:
        A `no_curves` finding with the best epoch's scores.
    """
    epoch = row.get("best_epoch")
    scores = ", ".join(f"{key[len('metric:'):]} {float(value):.4g}" for key, value in row.items()
                       if key.startswith("metric:") and value is not None)
    summary = ("no per-epoch curves: KerasTuner's trial.json keeps only the best epoch"
               + (f" (epoch {epoch}: {scores})" if epoch is not None and scores else ""))
    advice = ("Over- or underfitting, divergence and convergence cannot be judged from one "
              "epoch; to see the curves, log every epoch (`keras.callbacks.CSVLogger` or "
              "TensorBoard in `search(callbacks=...)`) or run the search with `kt-toolkit "
              "tune` (B1).")
    evidence = {"best_epoch": float(epoch)} if epoch is not None else {}
    return Finding("no_curves", summary, advice, ("B1",), evidence)
