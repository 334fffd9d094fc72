"""`overfit`: can the default configuration memorize a tiny subset? (C6, B5)

A correct model and pipeline drive the training error to about zero on a few
samples; when they do not, the likely cause is named with numbers:

- the loss becomes NaN/inf, rises, or does not fall (see
  `training.loss_symptoms`): the same subset is trained again at the learning
  rate divided by 10, then 100 (`RETRY_FACTORS`). When a retry reaches the goal
  with a falling loss, the learning rate was too high: confirmed, not guessed.
- the outputs are not probabilities (the `outputs` check): a wrong output
  activation/loss pairing.
- the labels look unrelated to the inputs (the `labels_vs_inputs` check).
- the loss is still falling at the end: a warning, not a failure: too few
  epochs to tell (rerun with more), or a learning rate that is too low.
- none of these: the model cannot memorize: too small, too regularized, or a
  bug (C6: check the layers and the data loader).
"""

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kt_toolkit.checks.report import Finding
from kt_toolkit.checks.training import ACCURACY_GOAL, REGRESSION_GOAL, loss_symptoms

if TYPE_CHECKING:
    from kt_toolkit.checks.training import Trace

__all__ = ["RETRY_FACTORS", "clean", "overfit_finding"]

RETRY_FACTORS = (10, 100)
PATHOLOGIES = {"nonfinite", "rising", "stalled"}


def clean(trace: "Trace", task: str) -> bool:
    """Whether `trace` reached the goal with a finite loss that did not rise."""
    return trace.reached and not loss_symptoms(trace, task) & {"nonfinite", "rising"}


def _score(value, task):
    if task == "regression":
        return f"a training MSE of {value:.3g} x var(y)"
    return f"{value:.0%} training accuracy"


def _goal(task):
    if task == "regression":
        return f"a training MSE <= {REGRESSION_GOAL} x var(y)"
    return f">= {ACCURACY_GOAL:.0%} training accuracy"


def _rate(trace):
    return "" if trace.learning_rate is None else f"learning_rate {trace.learning_rate:g}"


def _loss_story(trace, symptoms):
    losses = trace.losses
    if "nonfinite" in symptoms:
        value = "NaN" if math.isnan(losses[-1]) else "inf"
        before = [f"{v:.3g}" for v in losses[-4:-1]]
        return (f"the training loss became {value} after {trace.nonfinite_at} epochs "
                f"({_rate(trace)}; before: {', '.join(before) or 'first epochs'})")
    span = f"{losses[0]:.3g} -> {losses[-1]:.3g}"
    if "rising" in symptoms:
        return f"the training loss rose ({span}, peak {max(losses):.3g}; {_rate(trace)})"
    return (f"the training loss did not fall ({span} over {trace.epochs[-1]} epochs; "
            f"{_rate(trace)})")


def _numbers(trace, symptoms, retries):
    numbers = {"learning_rate": trace.learning_rate,
               "epochs": trace.epochs[-1] if trace.epochs else 0, "losses": trace.losses,
               "scores": trace.scores, "reached_at": trace.reached_at,
               "nonfinite_at": trace.nonfinite_at, "symptoms": sorted(symptoms)}
    numbers["retries"] = [{"factor": factor, "learning_rate": t.learning_rate,
                           "reached_at": t.reached_at, "final_loss": t.losses[-1],
                           "final_score": t.scores[-1]} for factor, t in retries]
    return numbers


def overfit_finding(trace: "Trace", retries: Sequence[tuple[float, "Trace"]], *, task: str,
                    subset_size: int, outputs_ok: bool, labels_related: bool | None) -> Finding:
    """The `overfit` finding for a `memorize` run and its learning-rate retries.

    Args:
        trace: The default configuration's `training.Trace`.
        retries: List of `(factor, Trace)` run at the learning rate / factor.
        task: String, the task.
        subset_size: Integer, the samples trained on.
        outputs_ok: Boolean, whether the `outputs` check passed.
        labels_related: Boolean or `None`, the `labels_vs_inputs` verdict.

    Returns:
        A `Finding`.
    """
    symptoms = loss_symptoms(trace, task)
    numbers = _numbers(trace, symptoms, retries)
    where = f"on {subset_size} training samples"
    if trace.reached and not symptoms & {"nonfinite", "rising"}:
        return Finding("overfit", "pass", f"the default configuration reached "
                       f"{_score(trace.scores[-1], task)} {where} in {trace.reached_at} "
                       f"epochs (training loss {trace.losses[0]:.3g} -> "
                       f"{trace.losses[-1]:.3g}; {_rate(trace)}).", numbers=numbers,
                       section="model")
    if symptoms & PATHOLOGIES:
        return _pathology(trace, retries, symptoms, numbers, task, where, outputs_ok)
    return _slow(trace, symptoms, numbers, task, where, outputs_ok, labels_related)


def _pathology(trace, retries, symptoms, numbers, task, where, outputs_ok):
    story = _loss_story(trace, symptoms)
    fixed = next(((f, t) for f, t in retries if clean(t, task)), None)
    if fixed:
        factor, retry = fixed
        return Finding("overfit", "fail", f"{story} {where}; at learning_rate "
                       f"{retry.learning_rate:g} ({factor}x lower) the same model reached "
                       f"{_score(retry.scores[-1], task)} in {retry.reached_at} epochs: the "
                       "learning rate is too high.",
                       f"Lower model.space.learning_rate (its default, and the range's "
                       f"top) about {factor}x: 1e-3 to 1e-4 with Adam, 0.1 to 0.01 with "
                       "SGD (E2); clip gradients for RNNs (E9).", numbers, section="model")
    if not outputs_ok:
        return Finding("overfit", "fail", f"{story} {where}: the outputs are not "
                       "probabilities (see `outputs`): wrong output activation/loss "
                       "pairing.", "Fix the output layer first (E14).", numbers,
                       section="model")
    tried = "; ".join(f"{t.learning_rate:g}: loss {t.losses[0]:.3g} -> {t.losses[-1]:.3g}, "
                      f"{_score(t.scores[-1], task)}" for _, t in retries)
    lowered = (f"; lowering the learning rate did not help ({tried})" if retries
               else "; the space has no learning_rate to lower")
    return Finding("overfit", "fail", f"{story} {where}{lowered}.",
                   "Check the implementation and the data first (C4): the layer "
                   "shapes above, the loss, and what the data loader gives (C6).",
                   numbers, section="model")


def _slow(trace, symptoms, numbers, task, where, outputs_ok, labels_related):
    reached = (f"did not reach {_goal(task)} {where} in {trace.epochs[-1]} epochs "
               f"(at the end: {_score(trace.scores[-1], task)}, training loss "
               f"{trace.losses[0]:.3g} -> {trace.losses[-1]:.3g}; {_rate(trace)})")
    if not outputs_ok:
        return Finding("overfit", "fail", f"the default configuration {reached}: the "
                       "outputs are not probabilities (see `outputs`).",
                       "Fix the output activation/loss pairing first (E14).", numbers,
                       section="model")
    if labels_related is False:
        return Finding("overfit", "fail", f"the default configuration {reached}, and "
                       "the labels look unrelated to the inputs (see `labels_vs_inputs`).",
                       "Check that inputs and labels are aligned (B4).", numbers,
                       section="model")
    if "improving" in symptoms:
        scale = (" For a regression, see also the targets' scale (`labels`)."
                 if task == "regression" else "")
        return Finding("overfit", "warn", f"the default configuration {reached}, still "
                       "improving: too few epochs to tell.",
                       "Rerun with more (--max-epochs 1000). If it then stalls, the "
                       "learning rate is too low, or the model too small or too "
                       "regularized (dropout, L1/L2) for the task." + scale, numbers,
                       section="model")
    return Finding("overfit", "fail", f"the default configuration {reached}, and no "
                   "longer improves: it cannot memorize a few samples.",
                   "A correct model and pipeline can (C6): make the model larger or less "
                   "regularized (dropout, L1/L2), raise the learning rate, or look for a "
                   "bug in the layers above and the data loader (C4).", numbers,
                   section="model")
