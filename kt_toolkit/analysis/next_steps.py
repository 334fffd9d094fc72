"""`next_steps`: the few most useful things to try next, from the whole study.

Drawn, in this order of priority, from:

1. no trial completed → the failure reasons (C4: check the implementation and data);
2. the best trial's own verdicts (B3–B5): what its curves say;
3. boundary warnings (C3): the best trials sit at the edge of a range;
4. study-wide patterns: many trials diverged (lower the learning-rate range) or
   were still improving (train longer); a choice every trial of which failed to
   learn (drop it, e.g. `kernel_initializer: zeros`, E10);
5. coarse to fine (C3): narrow the search to the most important knobs;
6. when the best trials are closer than the validation split can tell apart,
   repeat them (`executions_per_trial`) or enlarge the split.

Each step is one sentence saying what to change and why, with the numbers.

Four rules keep the steps from contradicting the study or each other:

- **One direction per knob.** A step that moves a knob records which way (the
  learning rate down after divergence, up at a range's upper edge or in a slow
  trial's advice). A final pass (`_consistent`) keeps one direction per knob: for
  the learning rate *down* wins as soon as any step says down (a rate that
  diverges is a failure, one a little low only a missed gain), and *up* never
  survives when the best trial's rate is above `MAX_RAISED_LEARNING_RATE` (1;
  E2: rarely above 10); for other knobs the first, most important, step wins. A
  losing step is dropped, or, where the move is an aside ("if each epoch gains
  little, raise the learning rate"), kept without it.
- **Failures go to their strongest cause.** Before a choice is blamed for the
  trials that diverged, failed or underfit, the learning rate is checked
  (`_failure_causes.lr_onset`): when at least `LR_ONSET_SHARE` (75%) of the
  configurations at or above some rate went bad, and that share exceeds the one
  below it by at least `LR_ONSET_GAP` (0.5), failures start at that rate (the
  sharpest such cut). The learning rate is then blamed, and a choice only when
  its configurations *below* that rate all went bad too (at least 3): lr ≥ 1
  trials that diverged with `batch_norm: True` do not make batch norm guilty.
- **Inactive knobs are never named.** A conditional knob the best trial does not
  use (`decay_rate` under a constant schedule, `momentum` under Adam) is neither
  narrowed nor "fixed at the best trial's values".
- **Importance is acted on only when reliable** (cross-validated R² ≥
  `importance.MIN_R2`); below it the coarse-to-fine step says "importance not
  reliable (R² = 0.13 < 0.3)" and singles out no knob.
"""

import collections
import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from kt_toolkit.analysis._failure_causes import (LEARNING_RATE, LR_ONSET_GAP, LR_ONSET_SHARE,
                                                 bad_choices, bad_pool, lr_onset, number)

if TYPE_CHECKING:
    from kt_toolkit.analysis.importance import ImportanceResult
    from kt_toolkit.analysis.search import BoundaryWarning
    from kt_toolkit.analysis.verdicts import Verdict
    from kt_toolkit.rundir.study import Study

__all__ = ["DIVERGED_SHARE", "LR_ONSET_GAP", "LR_ONSET_SHARE", "MAX_RAISED_LEARNING_RATE",
           "STILL_IMPROVING_SHARE", "next_steps"]

DIVERGED_SHARE = 0.25  # ≥ this share of finished trials diverged → a study-wide step
STILL_IMPROVING_SHARE = 0.5  # ≥ this share of completed trials not converged → train longer
MAX_RAISED_LEARNING_RATE = 1.0  # no step raises a best learning rate above this (E2)
_PRIORITY = ("diverged", "suspicious", "failed", "overfitting", "underfitting",
             "not_converged")
_RAISE_ASIDES = (  # clauses of a verdict's advice that raise the learning rate
    re.compile(r"; if each epoch gains little, raise the learning rate"),
    re.compile(r"10x up if it crawls, "),
)


@dataclasses.dataclass(frozen=True)
class _Step:
    """A step and the way it moves a knob (`direction` "up" or "down"), if any.

    `without` is the step with that move cut out, when the move is an aside;
    `None` when the move is the step's point (it is then dropped if it loses).
    """

    text: str
    knob: str | None = None
    direction: str | None = None
    without: str | None = None


def next_steps(study: "Study", verdicts: Mapping[str, Sequence["Verdict"]],
               warnings: Sequence["BoundaryWarning"],
               importance: "ImportanceResult | None" = None, *, count: int = 3) -> list[str]:
    """The `count` most useful next steps, most useful first.

    The steps never point one knob both ways, never blame a choice for failures
    the learning rate explains, never name a knob the best trial leaves inactive,
    and use the importance only when it is reliable (see the module docstring).

    Args:
        study: A `Study`.
        verdicts: Dict trial_id → list of verdicts (see `verdicts.study_verdicts`).
        warnings: List of `BoundaryWarning` (see `search.boundary_warnings`).
        importance: Optional `ImportanceResult`.
        count: Integer. Defaults to `3`.

    Returns:
        List of strings (Markdown).
    """
    finished = [row for row in study.rows
                if row["status"] in ("COMPLETED", "PRUNED", "FAILED")]
    if not study.completed:
        return _consistent(_nothing_completed(study, verdicts, finished), study)[:count]
    steps = []
    best = study.best(1)
    covered = set()
    if best:
        for verdict in sorted(verdicts.get(best[0]["trial_id"], []),
                              key=lambda v: _rank(v.kind)):
            if verdict.kind in _PRIORITY:
                covered.add(verdict.kind)
                steps.append(_verdict_step(best[0]["trial_id"], verdict))
    steps += [_Step(f"Widen a range: {w.message} (C3)", w.knob,
                    "up" if w.edge == "upper" else "down") for w in warnings]
    pool, bad = bad_pool(study, verdicts, finished)
    onset = lr_onset(pool, bad)
    steps += _study_patterns(study, verdicts, finished, covered, onset)
    steps += _drop_choices(bad_choices(study, pool, bad, onset))
    steps.append(_Step(_coarse_to_fine(study, importance)))
    steps += [_Step(text) for text in _too_close(study) + _fallbacks(study, importance)]
    return _consistent(steps, study)[:count]


def _verdict_step(trial_id, verdict):
    """The best trial's verdict as a step, with the way its advice moves the rate."""
    text = (f"The best trial ({trial_id}) is **{verdict.kind.replace('_', ' ')}**: "
            f"{verdict.summary}. {verdict.advice}")
    if verdict.kind == "diverged":
        return _Step(text, LEARNING_RATE, "down")
    for aside in _RAISE_ASIDES:
        if aside.search(text):
            return _Step(text, LEARNING_RATE, "up", without=aside.sub("", text))
    return _Step(text)


def _consistent(steps, study):
    """The final pass: one direction per knob (module docstring), no repeats."""
    steps = [step if isinstance(step, _Step) else _Step(step) for step in steps]
    allowed = {}
    for step in steps:
        if step.knob is not None:
            allowed.setdefault(step.knob, step.direction)  # the first step's way wins
    best = study.best(1)
    rate = number(best[0].get(LEARNING_RATE)) if best else None
    if (any(s.knob == LEARNING_RATE and s.direction == "down" for s in steps)
            or (rate is not None and rate > MAX_RAISED_LEARNING_RATE)):
        allowed[LEARNING_RATE] = "down"
    kept = []
    for step in steps:
        if step.knob is None or allowed[step.knob] == step.direction:
            kept.append(step.text)
        elif step.without is not None:
            kept.append(step.without)
    return _unique(kept)


def _nothing_completed(study, verdicts, finished):
    """Steps about the failures only: there is no best trial to refine."""
    if not finished:
        running = sum(1 for row in study.rows if row["status"] == "RUNNING")
        return [f"No trial has finished yet ({running} running): rerun `kt-toolkit report` "
                "when some have, or resume the search with the same `kt-toolkit tune` "
                "command."]
    failed = [row for row in finished if row["status"] == "FAILED"]
    pruned = len(finished) - len(failed)
    if not failed:  # all pruned (B2), most likely at chance level; name one reason
        steps = [f"No trial completed: all {pruned} were pruned (B2), e.g. "
                 f"{finished[-1].get('reason') or 'no reason recorded'}. Check the data and the "
                 "model on a tiny subset (C4, C6), or switch pruning off "
                 "(`training.callbacks.chance_pruning`, `median_pruning`)."]
        return steps + _study_patterns(study, verdicts, finished, set())
    reasons = collections.Counter(row.get("reason") or "no reason recorded" for row in failed)
    reason, times = reasons.most_common(1)[0]
    counted = f"{len(failed)} failed" + (f", {pruned} pruned" if pruned else "")
    steps = [f"No trial completed ({counted}). Most common reason ({times}×): "
             f"{reason}. Check the data and the model on a tiny subset first (C4, C6)."]
    steps += _study_patterns(study, verdicts, finished, set())
    steps.append("Start from the builder's defaults (the PRACTICES priors, C1): remove the "
                 "`model.space` overrides and run a few trials to get one that completes.")
    return steps


def _rank(kind):
    return _PRIORITY.index(kind) if kind in _PRIORITY else len(_PRIORITY)


def _kinds(verdicts, rows):
    return collections.Counter(v.kind for row in rows
                               for v in verdicts.get(row["trial_id"], []))


def _study_patterns(study, verdicts, finished, covered, onset=None):
    """Study-wide steps; a kind the best trial's own step covers is not repeated.

    With `onset` (see `_failure_causes.lr_onset`) the divergence step says where
    failures start; without divergence enough for that step, a step of its own does.
    """
    steps = []
    kinds = _kinds(verdicts, finished)
    if (finished and "diverged" not in covered
            and kinds["diverged"] / len(finished) >= DIVERGED_SHARE):
        domain = study.domains.get(LEARNING_RATE)
        where = (f" (now {domain.min:g} to {domain.max:g})"
                 if domain is not None and domain.is_numeric else "")
        start = f" below {onset.cut:g}, where failures start ({onset.evidence})" if onset else ""
        steps.append(_Step(f"{kinds['diverged']} of {len(finished)} trials diverged: lower "
                           f"the upper end of the learning-rate range{where}{start}, or clip "
                           "gradients (`clipnorm`) (B5).", LEARNING_RATE, "down"))
    elif onset is not None:
        steps.append(_Step(f"Failures follow the learning rate ({onset.evidence}): lower the "
                           f"upper end of the learning-rate range below {onset.cut:g} (B5, "
                           "E2) rather than blame a choice seen in those trials.",
                           LEARNING_RATE, "down"))
    completed = study.completed
    improving = _kinds(verdicts, completed)["not_converged"]
    if (completed and "not_converged" not in covered
            and improving / len(completed) >= STILL_IMPROVING_SHARE):
        tuner = study.config.get("tuner") or {}
        if tuner.get("algorithm") == "hyperband":  # Hyperband sets each round's epochs
            knob = f"`tuner.max_epochs` (now {tuner.get('max_epochs')})"
        else:
            knob = f"`training.epochs` (now {(study.config.get('training') or {}).get('epochs')})"
        steps.append(_Step(f"{improving} of {len(completed)} completed trials were still "
                           f"improving at their last epoch: raise {knob} (B4)."))
    return steps


def _drop_choices(dropped):
    """The step for the choices `_failure_causes.bad_choices` found; `[]` if none."""
    if not dropped:
        return []
    return [_Step("Drop the choices that never worked from `model.space`: "
                  + ", ".join(f"`{name}: {value}` ({count} configurations)"
                              for name, value, count in dropped)
                  + ". Every configuration with them diverged, failed or underfit (B3, B5); "
                  "spend the budget on the other choices.")]


def _too_close(study):
    """The top trials differ by less than one validation sample: noise, not signal."""
    top = study.best(3)
    samples = study.record.get("validation_samples")
    if len(top) < 2 or not samples or not study.metric.endswith("accuracy"):
        return []
    spread = abs(top[0]["objective"] - top[-1]["objective"])
    if spread > 2 / samples:
        return []
    return [f"The top {len(top)} trials are within {spread:.4f} {study.objective} "
            f"(≤ 2 of {samples} validation samples): the ranking among them is noise. Set "
            "`tuner.executions_per_trial: 2` or a larger `data.validation_split` before "
            "choosing between them."]


def _fallbacks(study, importance):
    """Always useful, least specific: fewer knobs; how much of the lead is noise."""
    steps = []
    knobs = study.tuned_knobs
    ranked = _active_ranking(study, importance)
    least = [name for name, _ in ranked[3:]][-3:]  # never the top 3 coarse to fine names
    if ranked and len(knobs) > 3 and least:
        steps.append(f"Fewer knobs: {len(knobs)} tuned knobs for {len(study.completed)} "
                     f"completed trials; fix the least important ({', '.join(least)}) at the "
                     "best trial's values so the next trials go to the knobs that matter "
                     "(C2).")
    elif not ranked and len(knobs) > 1:
        caveat = importance.unreliable_reason if importance is not None else ""
        steps.append(f"More trials or fewer knobs: {len(study.completed)} completed trials "
                     f"for {len(knobs)} tuned knobs cannot tell which knobs matter"
                     + (f": {caveat}" if caveat else "") + ". Raise `tuner.max_trials`, or "
                     "fix the knobs the practices rank last (Adam's β/ε, the schedule) and "
                     "tune the learning rate first (C2).")
    if study.best(1):
        steps.append("Measure the noise: rerun the best configuration with "
                     "`tuner.executions_per_trial: 3` (or other `experiment.seed`s) to see "
                     "how much of its lead over the next trials is chance.")
    return steps


def _active_ranking(study, importance):
    """The reliable importance ranking of the knobs the best trial uses; else `[]`.

    A conditional knob the best trial leaves inactive (`decay_rate` under a
    constant schedule) is left out: there is no best value to narrow around or fix.
    """
    best = study.best(1)
    if importance is None or not importance.is_reliable or not best:
        return []
    return [(name, share) for name, share in importance.importances
            if best[0].get(name) is not None]


def _coarse_to_fine(study, importance):
    ranked = _active_ranking(study, importance)
    top = [name for name, _ in ranked][:3]
    if top:
        best = study.best(1)[0]
        share = sum(v for n, v in ranked if n in top)
        settings = ", ".join(f"`{n}`={best.get(n)}" for n in top)
        return (f"Coarse to fine: {', '.join(f'`{n}`' for n in top)} carry "
                f"{share:.0%} of the estimated importance; search them over narrower ranges "
                f"around the best trial ({settings}) and fix the other knobs at its values "
                "(C3).")
    caveat = importance.unreliable_reason if importance is not None else ""
    return ("Coarse to fine: narrow each range around the best trials and run a second, "
            "finer search (C3)" + (f"; {caveat}, so it singles out no knob." if caveat
                                   else "."))


def _unique(steps):
    seen, kept = set(), []
    for step in steps:
        if step not in seen:
            seen.add(step)
            kept.append(step)
    return kept
