"""Failure checks: the run failed, diverged, was pruned or looks suspicious. No Keras.

Each check reads a `Curves` and returns a `Finding` (or `None` when it does not
apply) whose `practices` are the PRACTICES ids its advice cites, set where the
advice is written. `verdicts.diagnose` runs these before the fit checks
(`_fit_checks`): where one fires, the curves say nothing about the fit.
"""

from __future__ import annotations

import math
import re

import numpy as np

from kt_toolkit.analysis._curves_data import Curves, Finding, fmt, loss_drop, train_only_knobs
from kt_toolkit.pruning.divergence import DivergenceRule, find_divergence

NAN_REASON = re.compile(r"\bnan\b|\binf\b|infinit|diverg", re.IGNORECASE)
"""Matches a failure reason that names NaN, inf or divergence (a `diverged` verdict)."""

_DIVERGED_ADVICE = ("Lower the learning rate 10x (B5, E2), clip gradients by global norm "
                    "(`clipnorm` 5-15; E9) and check the inputs are standardized (F1).")
_DIVERGED_PRACTICES = ("B5", "E2", "E9", "F1")


def _diverged(c: Curves, summary: str, evidence: dict[str, float]) -> Finding:
    """A `diverged` finding; the last learning rate, if logged, joins the summary."""
    summary += _lr_note(c, evidence)
    return Finding("diverged", summary, _DIVERGED_ADVICE, _DIVERGED_PRACTICES, evidence)


def _lr_note(c: Curves, evidence: dict[str, float]) -> str:
    """"; learning rate <last>" (and it into `evidence`), or "" when none is logged."""
    rates = c.get("learning_rate")
    rates = rates[np.isfinite(rates)]
    if not len(rates):
        return ""
    evidence["learning_rate"] = float(rates[-1])
    return f"; learning rate {fmt(rates[-1])}"


def pruned(c: Curves, reason: str) -> Finding:
    """A trial stopped by pruning (B2).

    Args:
        c: The `Curves`.
        reason: String, the pruner's one-line reason (may be empty).

    Returns:
        A `pruned` finding whose summary is the reason.
    """
    summary = reason.rstrip(".") if reason else f"pruned after {len(c)} epochs"
    if "chance" in summary:
        advice = ("Pruning stopped it at chance level to spend the time on other settings "
                  "(B2). If many trials end like this, check the learning-rate range, the "
                  "data and the model on a tiny subset (C4, C6).")
        practices = ("B2", "C4", "C6")
    else:
        advice = ("Pruning stopped it, behind the completed trials at the same epoch, to "
                  "spend the time on other settings (B2). If good settings are cut early, "
                  "raise `training.callbacks.median_pruning.warmup_epochs`.")
        practices = ("B2",)
    return Finding("pruned", summary, advice, practices, {"epochs": float(len(c))})


def failed(reason: str) -> Finding:
    """A trial that failed for a reason other than divergence (C4).

    Args:
        reason: String, the failure's one-line reason (may be empty).

    Returns:
        A `failed` finding.
    """
    summary = f"failed: {reason.rstrip('.')}" if reason else "failed with no recorded reason"
    return Finding("failed", summary, "Read the traceback in the trial's trial.json "
                   "(tuner/trial_<id>); fix the setting or data it names, then resume the "
                   "search (C4).", ("C4",), {})


def diverged_by_reason(c: Curves, reason: str) -> Finding:
    """A failed trial whose reason names NaN, inf or divergence (see `NAN_REASON`).

    Args:
        c: The `Curves` of what it logged before failing.
        reason: String, the failure's one-line reason.

    Returns:
        A `diverged` finding with the last finite training loss, if any.
    """
    loss = c.total_loss  # optimization: the loss Keras minimized, penalties included
    finite = np.flatnonzero(np.isfinite(loss))
    evidence, extra = {}, ""
    if len(finite):
        last = int(finite[-1])
        evidence = {"last_finite_loss": float(loss[last]), "epoch": float(c.epochs[last])}
        extra = f" (training loss {fmt(loss[last])} at epoch {c.epoch(last)})"
    return _diverged(c, f"{reason.rstrip('.')}{extra}", evidence)


def divergence(c: Curves) -> Finding | None:
    """NaN/inf in a loss, a training loss that climbs far above its minimum, or one saturated.

    The rule is `kt_toolkit.pruning.find_divergence` (the trials table and the
    choice of the best trial use it too), with these `Curves`' thresholds; this
    check words what it found.

    Args:
        c: The `Curves`.

    Returns:
        A `diverged` finding, or `None`.
    """
    t = c.t
    found = find_divergence(
        c.columns, data_loss=c.data_loss_name, score=c.metric if c.bounded else None,
        chance_loss=(c.reference or {}).get("chance_loss"),
        penalized=(c.hyperparameters or {}).get("regularizer") not in (None, "none"),
        rule=DivergenceRule(explode_ratio=t.explode_ratio,
                            saturated_loss_ratio=t.saturated_loss_ratio, low_score=t.low_score))
    if found is None:
        return None
    e, at = found.evidence, found.index
    if found.kind == "non_finite":
        label = "training loss" if found.column == "loss" else "validation loss"
        return _diverged(c, f"{label} became {e['value']} at epoch {c.epoch(at)}",
                         {"epoch": float(c.epochs[at])})
    if found.kind == "exploded":
        low = int(e["min_index"])
        evidence = {key: e[key] for key in ("min_loss", "peak_loss", "ratio", "first_loss")}
        return _diverged(c, f"training loss rose from its minimum {fmt(e['min_loss'])} at epoch "
                         f"{c.epoch(low)} to {fmt(e['peak_loss'])} at epoch {c.epoch(at)} "
                         f"({fmt(e['ratio'])}x >= {fmt(t.explode_ratio)}x, above the first "
                         f"epoch's {fmt(e['first_loss'])})", evidence)
    chance = e["chance_loss"]
    level = f"the chance level ln {round(math.exp(chance))} = {chance:.2f}"
    if found.kind == "blown_up":
        return _diverged(c, f"training cross-entropy never fell below {fmt(e['min_loss'])}, "
                         f"{fmt(e['ratio'])}x {level}: the weights exploded (a clipped "
                         "softmax stays below 16.2)", dict(e))
    return _diverged(c, f"training loss never fell below {fmt(e['min_loss'])}, {e['ratio']:.1f}x "
                     f"{level} (>= {fmt(t.saturated_loss_ratio)}x): the outputs are confidently "
                     "wrong", dict(e))


def negative_loss(c: Curves, task: str | None) -> Finding | None:
    """A negative cross-entropy: the outputs are not probabilities (B5).

    Args:
        c: The `Curves`.
        task: Optional string, `"multiclass"`, `"binary"` or `"regression"`; when
            `None`, a bounded objective counts as classification.

    Returns:
        A `suspicious` finding, or `None` (always for regression).
    """
    classification = task in ("binary", "multiclass") or (task is None and c.bounded)
    losses = np.concatenate([c.loss, c.val_loss])
    losses = losses[np.isfinite(losses)]
    if not classification or not len(losses) or losses.min() >= -c.t.negative_loss_tolerance:
        return None
    return Finding("suspicious", f"cross-entropy loss is negative (lowest {fmt(losses.min())})"
                   ": the outputs are not probabilities or the labels are not class indices",
                   "Use a softmax (multiclass) or sigmoid (binary) output with "
                   "from_logits=False, or a linear one with from_logits=True, and check the "
                   "labels (B5, E14).", ("B5", "E14"), {"min_loss": float(losses.min())})


def leakage(c: Curves) -> Finding | None:
    """Validation far better than training at every epoch: split or leakage (B5, F2).

    Skipped on short runs, for trials with train-only knobs (dropout,
    augmentation) and for models that do not learn.

    Args:
        c: The `Curves`.

    Returns:
        A `suspicious` finding, or `None`.
    """
    t = c.t
    if (len(c) < t.min_epochs_shape or train_only_knobs(c.hyperparameters)
            or loss_drop(c) < t.stalled_loss_drop):
        return None
    found = _leaky_scores(c) if c.bounded else _leaky_losses(c)
    if not found:
        return None
    return Finding("suspicious", found[0],
                   "Check that the data were shuffled before the split and that no validation "
                   "sample is also in training (B5, F2); dropout, augmentation or noise that "
                   "act only while training can also explain it.", ("B5", "F2"), found[1])


def _leaky_scores(c: Curves) -> tuple[str, dict[str, float]] | None:
    """Bounded: (summary, evidence) when validation leads training by `leakage_gap` throughout."""
    gaps = c.val_score - c.score
    if not np.isfinite(gaps).all() or gaps.min() < c.t.leakage_gap:
        return None
    evidence = {"min_gap": float(gaps.min()), "val_score": float(c.val_score[-1]),
                "train_score": float(c.score[-1])}
    return (f"validation {c.metric} above training at every one of the {len(c)} epochs "
            f"(smallest gap {fmt(gaps.min())} >= {fmt(c.t.leakage_gap)}; last epoch "
            f"{fmt(c.val_score[-1])} vs {fmt(c.score[-1])})", evidence)


def _leaky_losses(c: Curves) -> tuple[str, dict[str, float]] | None:
    """Unbounded: (summary, evidence) when validation loss stays far below training loss."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = c.val_loss / c.loss
    if not np.isfinite(ratios).all() or ratios.max() > c.t.leakage_loss_ratio:
        return None
    return (f"validation loss below {fmt(c.t.leakage_loss_ratio)}x the training loss at "
            f"every one of the {len(c)} epochs (largest ratio {fmt(ratios.max())})",
            {"max_ratio": float(ratios.max())})
