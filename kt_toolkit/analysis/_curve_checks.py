"""The checks behind `kt_toolkit.analysis.verdicts`: one function per symptom. No Keras.

Each check reads a `Curves` (one execution's columns as arrays, plus the
thresholds and the study's reference numbers) and returns `None` or a finding
tuple `(kind, summary, advice, evidence)` that `verdicts.diagnose` turns into a
`Verdict` (its practices are the ids the advice cites). The thresholds are
documented on `verdicts.Thresholds`.
"""

import dataclasses
import math
import re

import numpy as np

from kt_toolkit._io import as_float

BOUNDED_METRICS = ("accuracy", "auc", "precision", "recall")  # as `Study.is_bounded_metric`
TRAIN_ONLY_KNOBS = ("dropout", "recurrent_dropout", "augment_flip", "augment_translation",
                    "augment_crop")  # act only while training, so they lower train metrics
HYPERBAND_BUDGET = "tuner/epochs"
_MAX_CROSSENTROPY = -math.log(1e-7) + 0.1  # Keras clips probabilities at epsilon = 1e-7
_NAN_REASON = re.compile(r"\bnan\b|\binf\b|infinit|diverg", re.IGNORECASE)
_DIVERGED_ADVICE = ("Lower the learning rate 10x (B5, E2), clip gradients by global norm "
                    "(`clipnorm` 5-15; E9) and check the inputs are standardized (F1).")


@dataclasses.dataclass
class Curves:
    """One execution's history as arrays, with what the checks need to read it."""

    epochs: np.ndarray
    columns: dict  # name → array of floats; a column no row has is absent
    objective: str
    metric: str  # the training-side name of the objective
    bounded: bool
    maximize: bool
    t: object  # a `verdicts.Thresholds`
    reference: dict
    hyperparameters: dict = None

    @classmethod
    def from_history(cls, history, objective, direction, **kwargs):
        metric = objective[4:] if objective.startswith("val_") else objective
        names = {key for row in history for key in row}
        return cls(epochs=np.array([as_float(row.get("epoch", i + 1))
                                    for i, row in enumerate(history)]),
                   columns={name: np.array([as_float(row.get(name)) for row in history])
                            for name in names},
                   objective=objective, metric=metric, maximize=direction == "max",
                   bounded=any(metric.endswith(name) for name in BOUNDED_METRICS), **kwargs)

    def __len__(self):
        return len(self.epochs)

    def get(self, name):
        """The column, or NaNs when the history has no such column."""
        return self.columns.get(name, np.full(len(self), np.nan))

    loss = property(lambda self: self.get("loss"))
    val_loss = property(lambda self: self.get("val_loss"))
    score = property(lambda self: self.get(self.metric))  # the objective's training side
    val_score = property(lambda self: self.get(self.objective))

    def epoch(self, index):  # the epoch number at a row index
        return int(self.epochs[index])


def run_checks(c, *, status, reason, task):
    """Every finding for one execution, in no particular order."""
    if status == "FAILED":
        if _NAN_REASON.search(reason or ""):
            return [diverged_by_reason(c, reason)]
        return [divergence(c) or failed(reason)]
    found = [f for f in (negative_loss(c, task), divergence(c)) if f]
    if found:
        return found
    if len(c) < c.t.min_epochs:
        return [pruned(c, reason) if status == "PRUNED" else too_short(c)]
    leak = leakage(c)
    if leak:
        return [leak]
    improving, stalled = still_improving(c), not_learning(c)
    under = underfitting(c, improving, stalled)
    # A gap between two noisy scores of a model that does not learn is no overfitting.
    over = None if under and stalled else overfitting(c, improving)
    found = [over or under]
    if status == "PRUNED":  # cut short on purpose: never "train longer", never a good fit
        return [f for f in found if f] + [pruned(c, reason)]
    if improving and status != "RUNNING":
        found.append(not_converged(c, improving))
    found = [f for f in found if f]
    if not found:
        found = [too_short(c) if len(c) < c.t.min_epochs_shape else good_fit(c)]
    return found


def pruned(c, reason):
    summary = reason.rstrip(".") if reason else f"pruned after {len(c)} epochs"
    if "chance" in summary:
        advice = ("Pruning stopped it at chance level to spend the time on other settings "
                  "(B2). If many trials end like this, check the learning-rate range, the "
                  "data and the model on a tiny subset (C4, C6).")
    else:
        advice = ("Pruning stopped it, behind the completed trials at the same epoch, to "
                  "spend the time on other settings (B2). If good settings are cut early, "
                  "raise `training.callbacks.median_pruning.warmup_epochs`.")
    return ("pruned", summary, advice, {"epochs": float(len(c))})


def failed(reason):
    summary = f"failed: {reason.rstrip('.')}" if reason else "failed with no recorded reason"
    return ("failed", summary, "Read the traceback in the trial's trial.json "
            "(tuner/trial_<id>); fix the setting or data it names, then resume the search "
            "(C4).", {})


def diverged_by_reason(c, reason):
    finite = np.flatnonzero(np.isfinite(c.loss))
    evidence, extra = {}, ""
    if len(finite):
        last = int(finite[-1])
        evidence = {"last_finite_loss": float(c.loss[last]), "epoch": float(c.epochs[last])}
        extra = f" (training loss {fmt(c.loss[last])} at epoch {c.epoch(last)})"
    return ("diverged", f"{reason.rstrip('.')}{extra}{_lr_note(c, evidence)}",
            _DIVERGED_ADVICE, evidence)


def _lr_note(c, evidence):
    rates = c.get("learning_rate")
    rates = rates[np.isfinite(rates)]
    if not len(rates):
        return ""
    evidence["learning_rate"] = float(rates[-1])
    return f"; learning rate {fmt(rates[-1])}"


def divergence(c):
    """NaN/inf in a loss, or a training loss that climbs far above its minimum."""
    for name, label in (("loss", "training loss"), ("val_loss", "validation loss")):
        values = c.columns.get(name)
        if values is not None and not np.isfinite(values).all():
            bad = int(np.flatnonzero(~np.isfinite(values))[0])
            evidence = {"epoch": float(c.epochs[bad])}
            return ("diverged", f"{label} became {values[bad]} at epoch {c.epoch(bad)}"
                    + _lr_note(c, evidence), _DIVERGED_ADVICE, evidence)
    loss = c.loss
    if not len(c) or not np.isfinite(loss).all() or loss.min() <= 0:
        return None
    saturated = _saturated(c, loss)
    if saturated or len(c) < 2:
        return saturated
    low = int(np.argmin(loss))
    peak = low + int(np.argmax(loss[low:]))
    ratio = loss[peak] / loss[low]
    if ratio < c.t.explode_ratio or loss[peak] <= loss[0]:
        return None
    evidence = {"min_loss": float(loss[low]), "peak_loss": float(loss[peak]),
                "ratio": float(ratio), "first_loss": float(loss[0])}
    summary = (f"training loss rose from its minimum {fmt(loss[low])} at epoch {c.epoch(low)}"
               f" to {fmt(loss[peak])} at epoch {c.epoch(peak)} ({fmt(ratio)}x >= "
               f"{fmt(c.t.explode_ratio)}x, above the first epoch's {fmt(loss[0])})")
    return ("diverged", summary + _lr_note(c, evidence), _DIVERGED_ADVICE, evidence)


def _saturated(c, loss):
    """A classification loss that stays far above a uniform guess's.

    Keras clips probabilities at 1e-7, so cross-entropy alone never exceeds
    -ln(1e-7) ≈ 16.1: a higher loss is an L1/L2 penalty (underfitting, not a
    saturated softmax). A model whose training score rose above `low_score`
    learned something, whatever its loss.
    """
    chance = (c.reference or {}).get("chance_loss")
    if not chance or not c.t.saturated_loss_ratio * chance <= loss.min() <= _MAX_CROSSENTROPY:
        return None
    if (c.hyperparameters or {}).get("regularizer") not in (None, "none"):
        return None  # an L1/L2 penalty can explain the excess: `underfitting` says so
    score = c.get(c.metric)
    if c.bounded and np.isfinite(score).any() and np.nanmax(score) > c.t.low_score:
        return None
    ratio = float(loss.min() / chance)
    evidence = {"min_loss": float(loss.min()), "chance_loss": float(chance), "ratio": ratio}
    summary = (f"training loss never fell below {fmt(loss.min())}, {ratio:.1f}x the "
               f"chance level ln {round(math.exp(chance))} = {chance:.2f} "
               f"(>= {fmt(c.t.saturated_loss_ratio)}x): the outputs are confidently wrong")
    return ("diverged", summary + _lr_note(c, evidence), _DIVERGED_ADVICE, evidence)


def negative_loss(c, task):
    """A negative cross-entropy: the outputs are not probabilities (B5)."""
    classification = task in ("binary", "multiclass") or (task is None and c.bounded)
    losses = np.concatenate([c.loss, c.val_loss])
    losses = losses[np.isfinite(losses)]
    if not classification or not len(losses) or losses.min() >= -c.t.negative_loss_tolerance:
        return None
    return ("suspicious", f"cross-entropy loss is negative (lowest {fmt(losses.min())}): "
            "the outputs are not probabilities or the labels are not class indices",
            "Use a softmax (multiclass) or sigmoid (binary) output with from_logits=False, "
            "or a linear one with from_logits=True, and check the labels (B5, E14).",
            {"min_loss": float(losses.min())})


def train_only_knobs(hyperparameters):
    """The trial's knobs that act only while training (dropout, augmentation)."""
    return [name for name in TRAIN_ONLY_KNOBS
            if (hyperparameters or {}).get(name) not in (None, "", "none", False, 0, 0.0)]


def loss_drop(c):
    """Relative drop of the training loss from its first epoch to its minimum."""
    loss = c.loss
    if not len(c) or not np.isfinite(loss).all() or loss[0] == 0:
        return 0.0
    return float((loss[0] - loss.min()) / abs(loss[0]))


def leakage(c):
    """Validation far better than training at every epoch: split or leakage (B5, F2)."""
    t = c.t
    if (len(c) < t.min_epochs_shape or train_only_knobs(c.hyperparameters)
            or loss_drop(c) < t.stalled_loss_drop):
        return None
    if c.bounded:
        gaps = c.val_score - c.score
        if not np.isfinite(gaps).all() or gaps.min() < t.leakage_gap:
            return None
        evidence = {"min_gap": float(gaps.min()), "val_score": float(c.val_score[-1]),
                    "train_score": float(c.score[-1])}
        what = (f"validation {c.metric} above training at every one of the {len(c)} epochs "
                f"(smallest gap {fmt(gaps.min())} >= {fmt(t.leakage_gap)}; last epoch "
                f"{fmt(c.val_score[-1])} vs {fmt(c.score[-1])})")
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = c.val_loss / c.loss
        if not np.isfinite(ratios).all() or ratios.max() > t.leakage_loss_ratio:
            return None
        evidence = {"max_ratio": float(ratios.max())}
        what = (f"validation loss below {fmt(t.leakage_loss_ratio)}x the training loss at "
                f"every one of the {len(c)} epochs (largest ratio {fmt(ratios.max())})")
    return ("suspicious", what,
            "Check that the data were shuffled before the split and that no validation "
            "sample is also in training (B5, F2); dropout, augmentation or noise that act "
            "only while training can also explain it.", evidence)


def still_improving(c):
    """Evidence dict when the objective ends at its best and still moving, else `None`."""
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


def overfitting(c, improving):
    """Train well ahead of validation, or validation loss rising after its minimum (B3)."""
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
    return ("overfitting", "; ".join(parts),
            "Regularize (B3): more dropout (E10) or L2 (E11), early stopping that restores "
            "the best weights (B4), more data or augmentation (F3).", evidence)


def _val_loss_rise(c):
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


def not_learning(c):
    """Why the model is not learning (training loss flat, or objective frozen), or `None`."""
    drop, obj = loss_drop(c), c.val_score
    if drop < c.t.stalled_loss_drop:
        return (f"training loss fell only {drop:.1%} ({fmt(c.loss[0])} -> {fmt(c.loss.min())}"
                f", < {c.t.stalled_loss_drop:.0%})")
    if len(c) >= c.t.min_epochs and np.isfinite(obj).all() and np.ptp(obj) == 0:
        return f"{c.objective} stayed at {fmt(obj[0])} for all {len(c)} epochs"
    return None


def underfitting(c, improving, stalled):
    """Both scores low against the study's best, and no longer improving or not learning."""
    low = _low_scores(c)
    if not low:
        return None
    summary, evidence = low
    evidence["loss_drop"] = loss_drop(c)
    loss = c.loss[np.isfinite(c.loss)]
    if c.reference.get("chance_loss") and len(loss) and loss.min() > _MAX_CROSSENTROPY:
        # Cross-entropy alone cannot exceed ~16.1 in Keras: the rest is the penalty.
        evidence["min_loss"] = float(loss.min())
        return ("underfitting", f"{summary}; training loss {fmt(loss.min())} is mostly the "
                f"L1/L2 penalty (cross-entropy alone stays below {_MAX_CROSSENTROPY:.1f})",
                "Weaken the regularization: lower `l1`/`l2` 10-100x or try `regularizer: "
                "none` (B3, E11).", evidence)
    if stalled:
        return ("underfitting", f"{summary}; {stalled}: the model is not learning",
                "Change the learning rate first (10x up if it crawls, 10x down if it may have "
                "killed the units; C2, E2), weaken L2, try another initializer (E13); if "
                "nothing trains, check the data and labels (C4).", evidence)
    if improving:
        return None  # `not_converged` says it: train longer before adding capacity
    return ("underfitting", summary,
            "Add capacity: more layers or units, less dropout or L2 (B3, C5); check the "
            "learning rate too (C2).", evidence)


def _low_scores(c):
    t, ref = c.t, c.reference
    if c.bounded:
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


def not_converged(c, improving):
    steps = int(improving["steps"])
    change = (f"gained {fmt(improving['gain'])}" if c.bounded
              else f"improved {improving['gain']:.1%}")
    summary = (f"{c.objective} still improving at the last epoch: best {fmt(improving['best'])}"
               f" at epoch {c.epoch(-1)}, {change} over the last {steps} epochs")
    if improving["val_loss_drop"] >= c.t.improving_loss_drop and c.objective != "val_loss":
        summary += f"; validation loss fell {improving['val_loss_drop']:.1%}"
    advice = ("Train longer (more epochs); if each epoch gains little, raise the learning "
              "rate (B4, E2).")
    if HYPERBAND_BUDGET in (c.hyperparameters or {}):
        advice = ("Hyperband stops early rounds on purpose and continues the best trials; if "
                  "the longest ones still improve, raise `tuner.max_epochs` (B4, B2).")
    return ("not_converged", summary, advice, dict(improving))


def too_short(c):
    t = c.t
    if len(c) < t.min_epochs:
        summary = f"only {len(c)} epoch(s): too few to judge the curves (needs >= {t.min_epochs})"
    else:
        summary = (f"{len(c)} epochs and nothing wrong seen, but too few to call the curves "
                   f"healthy (needs >= {t.min_epochs_shape})")
    advice = "Nothing to conclude yet; train it longer before reading its curves (B4)."
    if HYPERBAND_BUDGET in (c.hyperparameters or {}):
        advice = ("Hyperband gives its first rounds a few epochs on purpose; judge the trials "
                  "it continued (B2).")
    return ("too_short", summary, advice, {"epochs": float(len(c))})


def good_fit(c):
    obj, maximize = c.val_score, c.maximize
    if not np.isfinite(obj).any():
        return ("good_fit", f"{len(c)} epochs, no problem seen ({c.objective} not logged)",
                "Keep the weights of the best epoch (early stopping with restore; B4).", {})
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
    return ("good_fit", summary,
            "Healthy curves: keep the weights of the best epoch (early stopping with "
            "restore; B4).", evidence)


def fmt(value):
    """A number for a summary line: 0.9998, 0.0529, 2.303, 2709, 26374, 1.15e-05."""
    value, size = float(value), abs(float(value))
    if not math.isfinite(value) or size >= 1e4:
        return f"{value:.0f}" if math.isfinite(value) else str(value)
    if size >= 10:
        return f"{value:.4g}"
    return f"{value:.4f}".rstrip("0").rstrip(".") if size >= 1e-3 or not size else f"{value:.2e}"


def _best(values, pick):
    """`pick` (np.max or np.min) of the finite values; NaN when there are none."""
    values = values[np.isfinite(values)]
    return float(pick(values)) if len(values) else math.nan

