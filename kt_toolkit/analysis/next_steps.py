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
"""

import collections
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from kt_toolkit.analysis.search import distinct_configurations

if TYPE_CHECKING:
    from kt_toolkit.analysis.importance import ImportanceResult
    from kt_toolkit.analysis.search import BoundaryWarning
    from kt_toolkit.analysis.verdicts import Verdict
    from kt_toolkit.rundir.study import Study

__all__ = ["DIVERGED_SHARE", "STILL_IMPROVING_SHARE", "next_steps"]

DIVERGED_SHARE = 0.25  # ≥ this share of finished trials diverged → a study-wide step
STILL_IMPROVING_SHARE = 0.5  # ≥ this share of completed trials not converged → train longer
BAD_CHOICE_TRIALS = 3  # a choice is dropped only after this many trials, all bad
_BAD_KINDS = ("diverged", "failed", "underfitting")
_PRIORITY = ("diverged", "suspicious", "failed", "overfitting", "underfitting",
             "not_converged")


def next_steps(study: "Study", verdicts: Mapping[str, Sequence["Verdict"]],
               warnings: Sequence["BoundaryWarning"],
               importance: "ImportanceResult | None" = None, *, count: int = 3) -> list[str]:
    """The `count` most useful next steps, most useful first.

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
        return _nothing_completed(study, verdicts, finished)[:count]
    steps = []
    best = study.best(1)
    covered = set()
    if best:
        for verdict in sorted(verdicts.get(best[0]["trial_id"], []),
                              key=lambda v: _rank(v.kind)):
            if verdict.kind in _PRIORITY:
                covered.add(verdict.kind)
                steps.append(f"The best trial ({best[0]['trial_id']}) is "
                             f"**{verdict.kind.replace('_', ' ')}**: {verdict.summary}. "
                             f"{verdict.advice}")
    steps += [f"Widen a range: {w.message} (C3)" for w in warnings]
    steps += _study_patterns(study, verdicts, finished, covered)
    steps += _bad_choices(study, verdicts, finished)
    steps.append(_coarse_to_fine(study, importance))
    steps += _too_close(study)
    steps += _fallbacks(study, importance)
    return _unique(steps)[:count]


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


def _study_patterns(study, verdicts, finished, covered):
    """Study-wide steps; a kind the best trial's own step covers is not repeated."""
    steps = []
    kinds = _kinds(verdicts, finished)
    if (finished and "diverged" not in covered
            and kinds["diverged"] / len(finished) >= DIVERGED_SHARE):
        domain = study.domains.get("learning_rate")
        where = (f" (now {domain.min:g} to {domain.max:g})"
                 if domain is not None and domain.is_numeric else "")
        steps.append(f"{kinds['diverged']} of {len(finished)} trials diverged: lower the "
                     f"upper end of the learning-rate range{where}, or clip gradients "
                     "(`clipnorm`) (B5).")
    completed = study.completed
    improving = _kinds(verdicts, completed)["not_converged"]
    if (completed and "not_converged" not in covered
            and improving / len(completed) >= STILL_IMPROVING_SHARE):
        tuner = study.config.get("tuner") or {}
        if tuner.get("algorithm") == "hyperband":  # Hyperband sets each round's epochs
            knob = f"`tuner.max_epochs` (now {tuner.get('max_epochs')})"
        else:
            knob = f"`training.epochs` (now {(study.config.get('training') or {}).get('epochs')})"
        steps.append(f"{improving} of {len(completed)} completed trials were still "
                     f"improving at their last epoch: raise {knob} (B4).")
    return steps


def _bad_choices(study, verdicts, finished):
    """Choices every configuration of which diverged, failed or underfit: drop them.

    Each configuration counts once (Hyperband trains one in several trials).
    Trials whose verdict already names their cause (an L1/L2 penalty) are left
    out, and the worst choice is taken first: its trials are then set aside, so
    a choice that only shared trials with it (relu beside `zeros` init) is kept.
    Conditional knobs (inactive in some trials) are left to their parent.
    """
    best = study.best(1)
    pool = [row for row in distinct_configurations(study, finished)
            if not any("penalty" in v.summary for v in verdicts.get(row["trial_id"], []))]
    bad = {row["trial_id"] for row in pool
           if {v.kind for v in verdicts.get(row["trial_id"], [])} & set(_BAD_KINDS)}
    dropped = []
    while True:
        culprit = _worst_choice(study, pool, bad, best[0] if best else {})
        if culprit is None:
            break
        name, value, rows = culprit
        dropped.append(f"`{name}: {value}` ({len(rows)} configurations)")
        pool = [row for row in pool if row not in rows]
    if not dropped:
        return []
    return ["Drop the choices that never worked from `model.space`: " + ", ".join(dropped)
            + ". Every configuration with them diverged, failed or underfit (B3, B5); "
            "spend the budget on the other choices."]


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
    trusted = importance is not None and importance.r2 is not None and importance.r2 > 0
    knobs = study.tuned_knobs
    if trusted and len(knobs) > 3:
        least = [name for name, _ in importance.importances][-3:]
        steps.append(f"Fewer knobs: {len(knobs)} tuned knobs for {len(study.completed)} "
                     f"completed trials; fix the least important ({', '.join(least)}) at the "
                     "best trial's values so the next trials go to the knobs that matter "
                     "(C2).")
    elif len(knobs) > 1:
        steps.append(f"More trials or fewer knobs: {len(study.completed)} completed trials "
                     f"for {len(knobs)} tuned knobs cannot tell which knobs matter. Raise "
                     "`tuner.max_trials`, or fix the knobs the practices rank last (Adam's "
                     "β/ε, the schedule) and tune the learning rate first (C2).")
    if study.best(1):
        steps.append("Measure the noise: rerun the best configuration with "
                     "`tuner.executions_per_trial: 3` (or other `experiment.seed`s) to see "
                     "how much of its lead over the next trials is chance.")
    return steps


def _coarse_to_fine(study, importance):
    trusted = importance is not None and importance.r2 is not None and importance.r2 > 0
    top = [name for name, _ in importance.importances][:3] if trusted else []
    best = study.best(1)
    if top and best:
        share = sum(v for n, v in importance.importances if n in top)
        settings = ", ".join(f"`{n}`={best[0].get(n)}" for n in top
                             if best[0].get(n) is not None)
        return (f"Coarse to fine: {', '.join(f'`{n}`' for n in top)} carry "
                f"{share:.0%} of the estimated importance; search them over narrower ranges "
                f"around the best trial ({settings}) and fix the other knobs at its values "
                "(C3).")
    return ("Coarse to fine: narrow each range around the best trials and run a second, "
            "finer search (C3).")


def _unique(steps):
    seen, kept = set(), []
    for step in steps:
        if step not in seen:
            seen.add(step)
            kept.append(step)
    return kept
