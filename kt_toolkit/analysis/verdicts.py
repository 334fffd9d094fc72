"""Verdicts: what one trial's curves say (B3–B5), in words and numbers. No Keras.

`diagnose` reads one execution's per-epoch history (the rows of
`trials/<id>/history.csv`; the fold-mean curve of a `data.cv_folds` run) and
names what a person would see in its train and validation curves: a failure, a divergence, a suspicious curve, over- or
underfitting, a run stopped by pruning (B2) or while still improving, or a good fit. Each `Verdict`
carries the numbers behind it and advice citing PRACTICES ids.

Bounded objectives (accuracy, AUC, precision, recall: in [0, 1], higher is
better) are judged on the metric with absolute gaps; unbounded ones (a loss, an
error) on the losses with ratios, and against the study's best trial (the
`reference`) where a yardstick is needed. Keras measures training metrics as
running averages over the epoch with dropout on, so validation ahead of training in
the first epochs is normal and is never flagged alone.
"""

import dataclasses
import math
import typing

from kt_toolkit.analysis import _failure_checks as failure
from kt_toolkit.analysis import _fit_checks as fit
from kt_toolkit.analysis._curves_data import Curves, Finding
from kt_toolkit.config.tasks import TASKS, data_loss

if typing.TYPE_CHECKING:
    from kt_toolkit.rundir.study import Study

History = list[dict[str, float]]

__all__ = ["DEFAULT_THRESHOLDS", "Thresholds", "VERDICT_KINDS", "Verdict", "diagnose",
           "diagnose_trial", "study_reference", "study_verdicts"]

VERDICT_KINDS = ("failed", "diverged", "suspicious", "overfitting", "underfitting",
                 "pruned", "not_converged", "too_short", "good_fit", "no_curves")
"""Every `Verdict.kind`, most severe first (the order `diagnose` returns them in).

`no_curves` is `study_verdicts`' for a finished trial of a run that recorded no
per-epoch history (a plain KerasTuner project keeps only the best epoch)."""


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """Every number the verdicts compare against, in one place.

    Calibrated on real runs (digits 10-class MLP with Hyperband and random search,
    breast-cancer AUC, diabetes regression): healthy trials, including ones with
    dropout 0.5, stay `good_fit`, `not_converged` or `too_short`.

    Args:
        min_epochs: Integer, fewer epochs than this are `too_short` for anything
            but a failure, a divergence or a negative loss. Defaults to `3`, the
            shortest Hyperband round that still shows a trend.
        min_epochs_shape: Integer, epochs needed to judge a curve's shape
            (leakage, a validation-loss rise, a good fit). A clean trial with
            fewer epochs is `too_short`, not `good_fit`. Defaults to `5`.
        trend_epochs: Integer, "still improving" compares the last epoch with
            this many epochs before it. Defaults to `3`.
        explode_ratio: Float, training loss that climbs after its minimum to this
            multiple of it, and above its first epoch, has diverged. Defaults to
            `2.0`: a healthy running-average loss never doubles.
        negative_loss_tolerance: Float, a cross-entropy below `-tolerance` is
            negative (rounding gives tiny negatives). Defaults to `1e-6`.
        leakage_gap: Float, a bounded validation score at least this far above the
            training score at every epoch is suspicious. Defaults to `0.05`. Skipped
            for trials with dropout or augmentation: their training metrics are
            measured with it on and trail validation by 0.1–0.2 for whole runs.
        leakage_loss_ratio: Float, the same for unbounded objectives: validation
            loss below this fraction of training loss at every epoch. Defaults to
            `0.5` (healthy regression runs sit at 0.85–0.95).
        overfit_gap: Float, bounded training score above validation by more than
            this at the last epoch is overfitting. Defaults to `0.05` (18 of 360
            digits images); healthy digits MLPs end at 0.01–0.03.
        overfit_loss_ratio: Float, unbounded: validation loss at least this
            multiple of training loss at the last epoch, once the objective has
            stopped improving (a lagging validation loss that still falls fast is
            `not_converged`). Defaults to `1.5`.
        val_loss_rise: Float, validation loss ending this fraction above its
            minimum while training loss kept falling is overfitting. Defaults to
            `0.2`; single-epoch noise reaches 10–15%.
        rise_patience: Integer, the rise counts only this many epochs or more after
            the minimum. Defaults to `2`.
        underfit_margin: Float, bounded: a best score this far below the study's
            best (validation and training both) is low. Defaults to `0.1`.
        underfit_loss_ratio: Float, unbounded: lowest losses (training and
            validation both) at least this multiple of the study's lowest are
            high. Defaults to `1.5`.
        low_score: Float, a bounded best score at or below this is low whatever
            the study reached (chance is 0.5 for AUC and binary accuracy).
            Defaults to `0.6`.
        stalled_loss_drop: Float, training loss that fell less than this fraction
            from its first epoch to its minimum has not learned (so has an
            objective that never changed); its low scores are `underfitting` with
            learning-rate advice, and neither leakage nor overfitting is read
            into the gap between two noisy scores. Defaults to `0.1`; trials that
            learn drop 30–90% within 3 epochs.
        improving_score_gain: Float, a bounded objective that gained at least this
            over the last `trend_epochs`, ending at its best, is still improving.
            Defaults to `0.01` (about 4 digits images).
        improving_loss_drop: Float, or the validation loss fell by at least this
            fraction over the same epochs. Defaults to `0.03` (1% per epoch).
        saturated_loss_ratio: Float, a classification training loss that never
            fell below this × the chance-level loss (ln of the number of classes)
            is `diverged`: the outputs are confidently wrong, as when a learning
            rate far too high saturates the softmax. Keras clips probabilities, so
            on JAX and PyTorch such a run reaches ~15 instead of NaN. Defaults to
            `3.0` (6.9 for 10 classes; a model that learns starts near 1×).

    Raises:
        ValueError: when a threshold is negative or an epoch count below 1.
    """

    min_epochs: int = 3
    min_epochs_shape: int = 5
    trend_epochs: int = 3
    explode_ratio: float = 2.0
    negative_loss_tolerance: float = 1e-6
    leakage_gap: float = 0.05
    leakage_loss_ratio: float = 0.5
    overfit_gap: float = 0.05
    overfit_loss_ratio: float = 1.5
    val_loss_rise: float = 0.2
    rise_patience: int = 2
    underfit_margin: float = 0.1
    underfit_loss_ratio: float = 1.5
    low_score: float = 0.6
    stalled_loss_drop: float = 0.1
    improving_score_gain: float = 0.01
    improving_loss_drop: float = 0.03
    saturated_loss_ratio: float = 3.0

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.type is int and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ValueError(f"`{field.name}` must be an integer >= 1. Received: "
                                 f"{field.name}={value!r}.")
            if field.type is float and (isinstance(value, bool)
                                        or not isinstance(value, (int, float))
                                        or not value >= 0):
                raise ValueError(f"`{field.name}` must be a number >= 0. Received: "
                                 f"{field.name}={value!r}.")


DEFAULT_THRESHOLDS = Thresholds()


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One diagnosis of a trial.

    Attributes:
        kind: String, one of `VERDICT_KINDS`.
        summary: String, one line with the numbers behind it (no final period).
        advice: String, what to try, citing PRACTICES ids.
        practices: Tuple of the PRACTICES ids the advice cites, e.g. `("B3", "B4")`.
        evidence: Dict of name → float, the numbers the verdict rests on.
    """

    kind: str
    summary: str
    advice: str
    practices: tuple[str, ...] = ()
    evidence: dict[str, float] = dataclasses.field(default_factory=dict)


def diagnose(history: typing.Iterable[dict[str, float]], *, objective: str, direction: str,
             status: str = "COMPLETED", reason: str = "", task: str | None = None,
             reference: dict[str, float] | None = None,
             hyperparameters: dict[str, object] | None = None,
             thresholds: Thresholds | None = None) -> list[Verdict]:
    """Diagnoses one trial from one execution's per-epoch history.

    Checks run in order of severity and the first that fires ends the list where
    later ones would read noise: a failure, then a negative loss or a divergence,
    then (with at least `min_epochs` epochs) leakage, then overfitting or
    underfitting and whether the objective is still improving. `good_fit` comes
    only when nothing fired and the run has `min_epochs_shape` epochs; a shorter
    clean run is `too_short`.

    Example:

    ```python
    epochs = range(1, 11)
    history = [{"epoch": e, "loss": 1 / e, "val_loss": 0.5 + 0.05 * e,
                "accuracy": 1 - 0.3 / e, "val_accuracy": 0.85} for e in epochs]
    [v.kind for v in diagnose(history, objective="val_accuracy", direction="max")]
    # ["overfitting"]: train accuracy 0.97 vs validation 0.85, validation loss rising
    ```

    Args:
        history: List of dicts of floats, one per epoch in order: `epoch`, `loss`,
            `val_loss`, the metric and its `val_` twin, `learning_rate` (see
            `Study.history`). A check whose columns are missing is skipped.
        objective: String, e.g. `"val_accuracy"`, `"val_auc"`, `"val_loss"`.
            Accuracy, AUC, precision and recall are bounded (absolute gaps);
            anything else is judged on the losses (ratios).
        direction: String, `"max"` or `"min"`.
        status: String, `"COMPLETED"`, `"FAILED"`, `"RUNNING"`, `"STOPPED"` or
            `"PRUNED"`. Defaults to `"COMPLETED"`. A running trial is never
            `not_converged` and its summaries end with "(still running)". A
            pruned one gets `pruned` (its `reason`) after any divergence, over-
            or underfitting, and never `not_converged`, `too_short` or `good_fit`.
        reason: String, a failed trial's one-line reason: one naming NaN, inf or
            divergence gives `diverged`, any other `failed`; a pruned trial's is
            the `pruned` verdict's summary. Defaults to `""`.
        task: Optional string, `"multiclass"`, `"binary"` or `"regression"`. The
            negative-loss check runs for classification (when `None`: for a
            bounded objective).
        reference: Optional dict of study-wide numbers, the yardstick for
            `underfitting` (see `study_reference`): `best_objective` and
            `best_score` (bounded: best validation and training scores of any
            trial), `best_loss` and `best_val_loss` (lowest losses of any trial),
            and `chance_loss` (a uniform guess's cross-entropy, for the saturated-
            softmax divergence). Without it a bounded score is low only at or
            below `low_score`, an unbounded one is never called low, and a
            saturated softmax is not detected.
        hyperparameters: Optional dict of the trial's values. With dropout or
            augmentation on, the leakage check is skipped (training metrics are
            measured with them on); `tuner/epochs` marks a Hyperband trial, whose
            short budget the advice then explains.
        thresholds: Optional `Thresholds`. Defaults to `DEFAULT_THRESHOLDS`.

    Returns:
        List of `Verdict`, most severe first (the order of `VERDICT_KINDS`).

    Raises:
        ValueError: when `direction` is not `"max"` or `"min"`, or `thresholds`
            is not a `Thresholds`.
    """
    if direction not in ("max", "min"):
        raise ValueError(f"`direction` must be 'max' or 'min'. Received: direction={direction!r}.")
    thresholds = DEFAULT_THRESHOLDS if thresholds is None else thresholds
    if not isinstance(thresholds, Thresholds):
        raise ValueError("`thresholds` must be a `Thresholds`. Received: "
                         f"thresholds={thresholds!r}.")
    curves = Curves.from_history(
        list(history), objective, direction, t=thresholds, reference=dict(reference or {}),
        hyperparameters=hyperparameters)
    found = [Verdict(f.kind, f.summary, f.advice, f.practices, f.evidence)
             for f in _run_checks(curves, status=status, reason=reason, task=task)]
    if status == "RUNNING":
        found = [dataclasses.replace(v, summary=f"{v.summary} (still running)") for v in found]
    return sorted(found, key=lambda v: VERDICT_KINDS.index(v.kind))


def _run_checks(c: Curves, *, status: str, reason: str, task: str | None) -> list[Finding]:
    """Every finding for one execution, in no particular order (see `diagnose`)."""
    if status == "FAILED":
        if failure.NAN_REASON.search(reason or ""):
            return [failure.diverged_by_reason(c, reason)]
        return [failure.divergence(c) or failure.failed(reason)]
    found = [f for f in (failure.negative_loss(c, task), failure.divergence(c)) if f]
    if found:
        return found
    if len(c) < c.t.min_epochs:
        return [failure.pruned(c, reason) if status == "PRUNED" else fit.too_short(c)]
    leak = failure.leakage(c)
    if leak:
        return [leak]
    return _fit_findings(c, status=status, reason=reason)


def _fit_findings(c: Curves, *, status: str, reason: str) -> list[Finding]:
    """The fit checks' findings, once no failure check fired."""
    improving, stalled = fit.still_improving(c), fit.not_learning(c)
    under = fit.underfitting(c, improving, stalled)
    # A gap between two noisy scores of a model that does not learn is no overfitting.
    over = None if under and stalled else fit.overfitting(c, improving)
    found = [over or under]
    if status == "PRUNED":  # cut short on purpose: never "train longer", never a good fit
        return [f for f in found if f] + [failure.pruned(c, reason)]
    if improving and status != "RUNNING":
        found.append(fit.not_converged(c, improving))
    found = [f for f in found if f]
    if not found:
        found = [fit.too_short(c) if len(c) < c.t.min_epochs_shape else fit.good_fit(c)]
    return found


def study_reference(study: "Study",
                    histories: dict[str, History] | None = None) -> dict[str, float]:
    """The study-wide yardsticks `diagnose` compares a trial with.

    Args:
        study: A `Study` (see `load_study`).
        histories: Optional dict trial_id → history rows, to avoid reading the
            files again.

    Returns:
        Dict with `best_objective` (the best completed trial's objective),
        `best_score` (bounded objectives: the highest training-side metric of any
        completed trial at any epoch), `best_loss` and `best_val_loss` (the
        lowest finite losses of any completed trial), `chance_loss` (the
        cross-entropy of a uniform guess, for classification with a known number
        of classes). Keys without data are left out.
    """
    histories = histories or {}
    reference = {}
    classes = study.record.get("num_classes")
    if study.task in ("multiclass", "binary") and classes:
        reference["chance_loss"] = math.log(max(int(classes), 2))
    best = study.best(1)
    if best:
        reference["best_objective"] = best[0]["objective"]
    # The data loss (no weight penalties, issue 17) where the run logged it.
    loss = data_loss(study.task) if study.task in TASKS else "loss"
    columns = {"best_loss": loss, "best_val_loss": "val_" + loss}
    if study.is_bounded_metric:
        columns["best_score"] = study.metric
    for key, name in columns.items():
        values = [row.get(name, row.get(name.replace(loss, "loss")))
                  for trial in study.completed
                  for row in _judged(study, trial["trial_id"], histories)]
        values = [v for v in values if v is not None and math.isfinite(v)]
        if values:
            reference[key] = max(values) if key == "best_score" else min(values)
    return reference


def diagnose_trial(study: "Study", trial_id: str | int,
                   thresholds: Thresholds | None = None) -> list[Verdict]:
    """Diagnoses one trial of a study (see `diagnose`).

    Reads the execution whose best objective is best (executions_per_trial is
    usually 1) or, in a `data.cv_folds` run, the fold-mean curve (each epoch's
    mean over the folds, up to the last epoch every fold reached:
    `kt_toolkit.rundir.ranking.fold_mean`), and compares it with the whole study
    (`study_reference`, from the same curves).

    Args:
        study: A `Study`.
        trial_id: String (or integer), the trial.
        thresholds: Optional `Thresholds`. Defaults to `DEFAULT_THRESHOLDS`.

    Returns:
        List of `Verdict`, most severe first.
    """
    return _diagnose_row(study, study.trial(trial_id), study_reference(study), {}, thresholds)


def study_verdicts(study: "Study",
                   thresholds: Thresholds | None = None) -> dict[str, list[Verdict]]:
    """Diagnoses every trial of a study, failed and running ones included.

    Example:

    ```python
    study = load_study("runs/digits_mlp-6379dab0")
    for trial_id, found in study_verdicts(study).items():
        print(trial_id, [v.kind for v in found])
    ```

    Args:
        study: A `Study`.
        thresholds: Optional `Thresholds`. Defaults to `DEFAULT_THRESHOLDS`.

    Returns:
        Dict trial_id → list of `Verdict` (most severe first), in trial order.
    """
    histories = {row["trial_id"]: study.history(row["trial_id"]) for row in study.rows}
    reference = study_reference(study, histories)
    return {row["trial_id"]: _diagnose_row(study, row, reference, histories, thresholds)
            for row in study.rows}


def _rows(study: "Study", trial_id: str, histories: dict[str, History]) -> History:
    if trial_id not in histories:
        # A Hyperband round is judged on its whole curve, earlier rounds included.
        histories[trial_id] = study.history(trial_id, with_parents=True)
    return histories[trial_id]


def _judged(study: "Study", trial_id: str, histories: dict[str, History]) -> History:
    """Every execution's rows, or a `data.cv_folds` trial's fold-mean curve."""
    rows = _rows(study, trial_id, histories)
    return study.judged_history(rows) if study.cv_folds else rows


def _diagnose_row(study: "Study", row: dict[str, object], reference: dict[str, float],
                  histories: dict[str, History], thresholds: Thresholds | None) -> list[Verdict]:
    history = study.judged_history(_rows(study, row["trial_id"], histories))
    if (not history and study.record.get("per_epoch_history") is False
            and row["status"] in ("COMPLETED", "PRUNED", "STOPPED")):
        f = fit.no_curves(row)
        return [Verdict(f.kind, f.summary, f.advice, f.practices, f.evidence)]
    return diagnose(history, objective=study.objective, direction=study.direction,
                    status=row["status"], reason=row.get("reason") or "", task=study.task,
                    reference=reference, hyperparameters=row, thresholds=thresholds)


