"""`write_report`: a run directory → `report.md` and a self-contained `report.html`.

The report opens with the best trial, its verdict and the three most useful next
steps; then the best trials, every trial's verdict, the boundary check, the
optimization history, hyperparameter importance, the objective against each
knob, parallel coordinates and each trial's learning curves (A4 file names under
`<run>/curves/`; a figure already drawn, by an earlier report or while the search
ran, is drawn again only when what it shows changed, and so is each study figure;
the importance is computed again only when the trials changed: `figure_files`).
It needs only the run directory's files: no Keras, no TensorFlow.
"""

import dataclasses
import datetime
import logging
import os

from kt_toolkit._io import atomic_write_text
from kt_toolkit.analysis import plots
from kt_toolkit.analysis._plot_common import _compact
from kt_toolkit.analysis.ablation import add_ablation_sections
from kt_toolkit.analysis.figure_files import FigureIndex, study_inputs, write_curves
from kt_toolkit.analysis.final import final_record, test_lines
from kt_toolkit.analysis.document import Document
from kt_toolkit.analysis.importance import (MIN_R2, ImportanceResult,
                                           hyperparameter_importance)
from kt_toolkit.analysis.next_steps import next_steps
from kt_toolkit.analysis.search import best_trials_table, boundary_warnings, optimization_history
from kt_toolkit.analysis.verdicts import study_verdicts
from kt_toolkit.config.practices import PRACTICES_LEGEND
from kt_toolkit.rundir import load_study
from kt_toolkit.rundir.layout import CURVES_DIR, REPORT_DIR

__all__ = ["Report", "write_report"]

logger = logging.getLogger(__name__)
FIGURES_DIR = REPORT_DIR


@dataclasses.dataclass
class Report:
    """What `write_report` wrote and found.

    Attributes:
        markdown: String, the path of `report.md`; `html` of `report.html`.
        next_steps: List of strings, the report's first recommendations.
        best_trial_id: String or `None`.
        curves: Dict trial_id → PNG path of its learning curves.
    """

    markdown: str
    html: str
    next_steps: list[str]
    best_trial_id: str | None = None
    curves: dict[str, str] = dataclasses.field(default_factory=dict)

    def _repr_html_(self) -> str:
        """In a notebook: the report itself (`report.html`'s body, figures inline)."""
        with open(self.html, encoding="utf-8") as handle:
            page = handle.read()
        # The body only: the page's style sheet would restyle the whole notebook.
        start, end = page.find("<body>"), page.rfind("</body>")
        body = page[start + len("<body>"):end] if 0 <= start < end else page
        return f"<div class=\"kt-report\">{body}</div>"


def write_report(run_dir: str | os.PathLike[str]) -> Report:
    """Analyses a run directory and writes its report and figures.

    It reads the run and writes only the report's files. To also add the
    TensorBoard HParams records a killed run left out, as `kt-toolkit report`
    does, call `kt_toolkit.experiment.write_run_report` instead.

    Example:

    >>> report = write_report("runs/digits_mlp-6379dab0")
    >>> print(report.next_steps[0])

    Args:
        run_dir: String, a directory made by `kt-toolkit tune` (finished, running,
            or killed).

    Returns:
        A `Report`.

    Raises:
        FileNotFoundError: when `run_dir` is not a run directory.
    """
    study = load_study(run_dir)
    index = FigureIndex(study.run_dir)
    inputs = study_inputs(study)
    verdicts = study_verdicts(study)
    warnings = boundary_warnings(study)
    importance = index.value("importance", inputs, lambda: hyperparameter_importance(study),
                             dump=dataclasses.asdict, load=_importance_result)
    steps = next_steps(study, verdicts, warnings, importance)
    figures = os.path.join(study.run_dir, FIGURES_DIR)
    os.makedirs(figures, exist_ok=True)
    curves = write_curves(study, verdicts, index=index)  # only the figures that changed

    doc = Document(study.run_dir)
    _overview(doc, study, verdicts, steps, curves)
    _best_trials(doc, study)
    _verdict_table(doc, study, verdicts)
    doc.heading(2, "Boundary check (C3)")
    if warnings:
        doc.items(w.message for w in warnings)
    else:
        doc.paragraph("No tuned range has its best trials crowded at an edge"
                      + (" (fewer than 3 completed trials: not checked)."
                         if len(study.completed) < 3 else "."))
    _study_figures(doc, study, importance, _Figures(index, inputs, figures))
    _curve_section(doc, study, curves)
    add_ablation_sections(doc, study.run_dir)  # `kt-toolkit ablate`'s, if any
    _files(doc, study)
    index.save()

    title = f"kt_toolkit report: {_name(study)}"
    md_path = os.path.join(study.run_dir, "report.md")
    html_path = os.path.join(study.run_dir, "report.html")
    atomic_write_text(md_path, doc.markdown())
    atomic_write_text(html_path, doc.html(title))
    best = study.best(1)
    return Report(markdown=md_path, html=html_path, next_steps=steps,
                  best_trial_id=best[0]["trial_id"] if best else None, curves=curves)


@dataclasses.dataclass
class _Figures:
    """Where the study figures go, and what each was last drawn from."""

    index: FigureIndex
    inputs: list
    folder: str

    def draw(self, name, extra, draw):
        path = os.path.join(self.folder, name)
        return self.index.figure(name, path, [self.inputs, extra], lambda: draw(path))


def _study_figures(doc, study, importance, figures):
    """History, importance, objective against the knobs, parallel coordinates."""
    doc.heading(2, "Optimization history")
    history = optimization_history(study)
    doc.image(figures.draw("optimization_history.png", history, lambda path: (
        plots.plot_optimization_history(history, path, objective=study.objective,
                                        direction=study.direction))), "optimization history")
    _importance(doc, study, importance, figures)
    doc.heading(2, "Objective against each hyperparameter")
    doc.image(figures.draw("objective_vs_knobs.png", None, lambda path: (
        plots.plot_objective_vs_knobs(study, path))), "objective against each hyperparameter")
    doc.heading(2, "Parallel coordinates")
    trusted = importance.is_reliable
    knobs = ([name for name, _ in importance.importances][:plots.MAX_PARALLEL_AXES]
             if trusted else None)  # the most important knobs, else the influence order
    doc.image(figures.draw("parallel_coordinates.png", knobs, lambda path: (
        plots.plot_parallel_coordinates(study, path, knobs=knobs))), "parallel coordinates")


def _importance_result(value):
    value = dict(value)
    value["importances"] = [(name, share) for name, share in value["importances"]]
    return ImportanceResult(**value)


def _fmt(value):
    """Table cells: 0.9806, 256, 2.3e-5, on/off; empty for an inactive knob."""
    return "" if value is None else _compact(value, digits=4)


def _name(study):
    """The run's folder name; a plain KerasTuner project's own (not its view's)."""
    return os.path.basename(study.record.get("project") or study.run_dir)


def _overview(doc, study, verdicts, steps, curves):
    doc.heading(1, f"Report: {_name(study)}")
    counts = {s: sum(1 for r in study.rows if r["status"] == s)
              for s in ("COMPLETED", "PRUNED", "FAILED", "RUNNING")}
    tuner = study.config.get("tuner") or {}
    data = study.config.get("data") or {}
    seconds = sum(float(r["seconds"]) for r in study.rows if r.get("seconds") is not None)
    doc.paragraph(
        f"Objective `{study.objective}` ({'higher' if study.direction == 'max' else 'lower'}"
        f" is better) · dataset `{data.get('dataset')}` · {tuner.get('algorithm')} search · "
        f"{len(study.rows)} trials: {counts['COMPLETED']} completed, {counts['FAILED']} failed"
        + (f", {counts['PRUNED']} pruned (B2)" if counts["PRUNED"] else "")
        + (f", {counts['RUNNING']} running" if counts["RUNNING"] else "")
        + (f" · {seconds / 60:.1f} min of training" if seconds else "") + " · written "
        + datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))
    doc.paragraph(PRACTICES_LEGEND)  # what the IDs in the advice below refer to
    best = study.best(1)
    doc.heading(2, "Best trial")
    if not best:
        doc.paragraph("No trial completed.", boxed=True)
    else:
        row = best[0]
        settings = " · ".join(f"{k} {_fmt(row.get(k))}" for k in study.tuned_knobs
                              if row.get(k) is not None)
        doc.paragraph(f"**Trial {row['trial_id']}: {study.objective} = {row['objective']:.4f}**"
                      f" at epoch {row.get('best_epoch')}"
                      + (f" of {study.last_epoch(row)}. " if study.last_epoch(row) else ". ")
                      + settings, boxed=True)
        for verdict in verdicts.get(row["trial_id"], []):
            doc.paragraph(f"Verdict: **{verdict.kind.replace('_', ' ')}**: {verdict.summary}. "
                          f"{verdict.advice}")
    _test_part(doc, study)
    doc.heading(2, "Next steps")
    doc.items(steps, ordered=True)
    if best and best[0]["trial_id"] in curves:
        doc.image(curves[best[0]["trial_id"]],
                  f"learning curves of the best trial, {best[0]['trial_id']}")


def _best_trials(doc, study):
    doc.heading(2, "Best trials")
    table = best_trials_table(study, count=5)
    if not table:
        doc.paragraph("No trial completed.")
        return
    # One column per trial: the knobs read down, the trials compare across.
    headers = [""] + [f"#{row['rank']}: trial {row['trial_id']}" for row in table]
    names = [k for k in table[0] if k not in ("rank", "trial_id")]
    names.insert(0, names.pop(names.index("objective")))
    doc.table(headers, [[study.objective if name == "objective" else name]
                        + [_fmt(row.get(name)) for row in table] for name in names])


def _verdict_table(doc, study, verdicts):
    doc.heading(2, "Verdicts per trial (B3–B5)")
    doc.paragraph("Read from each trial's train and validation curves; the thresholds are "
                  "in `kt_toolkit/analysis/verdicts.py` (`Thresholds`).")
    rows = []
    for row in study.rows:
        found = verdicts.get(row["trial_id"], [])
        rows.append([row["trial_id"], row["status"], _fmt(row["objective"]),
                     ", ".join(v.kind.replace("_", " ") for v in found),
                     "; ".join(v.summary for v in found) or row.get("reason") or ""])
    doc.table(["trial", "status", study.objective, "verdict", "evidence"], rows)


def _importance(doc, study, importance, figures):
    doc.heading(2, "Hyperparameter importance")
    if not importance.importances:
        doc.paragraph(importance.note or "Not enough completed trials to estimate it.")
        return
    if not importance.is_reliable:  # below MIN_R2: neither drawn nor acted on
        reason = importance.unreliable_reason or "importance not reliable (no R²)"
        doc.paragraph(f"Not shown: {reason}. The random forest predicts held-out trials too "
                      f"poorly for a ranking from {importance.trials_used} trials to mean "
                      "more than noise, so no next step uses it. Run more trials. Method: "
                      + importance.method)
        return
    doc.paragraph(f"Cross-validated R² of the forest: {importance.r2:.2f} (how well the "
                  f"knobs predict the score; below {MIN_R2:g} the ranking is noise and is "
                  "neither shown nor acted on). The method is under the chart."
                  + (f" {importance.note}" if importance.note else ""))
    doc.image(figures.draw("importance.png", [importance.importances, importance.method],
                           lambda path: plots.plot_importance(
                               importance.importances, path, method=importance.method)),
              "hyperparameter importance")


def _curve_section(doc, study, curves):
    doc.heading(2, "Learning curves (B1)")
    if not study.record.get("per_epoch_history", True):
        doc.paragraph("None: this KerasTuner project recorded no per-epoch values (its "
                      "`trial.json` files keep each metric at the best epoch only), so no "
                      "curve is drawn and no verdict reads one. Log every epoch with "
                      "`keras.callbacks.CSVLogger` or TensorBoard, or run the search with "
                      "`kt-toolkit tune`, to see them.")
        return
    doc.paragraph(f"One PNG per trial under `{CURVES_DIR}/`, named after its settings and "
                  "score (A4). The five best first; the rest are folded below.")
    ranked = [row["trial_id"] for row in study.best(len(study.rows))]
    ranked += [row["trial_id"] for row in study.rows if row["trial_id"] not in ranked]
    ranked = [trial_id for trial_id in ranked if trial_id in curves]
    for trial_id in ranked[:5]:
        doc.image(curves[trial_id], f"trial {trial_id}")
    if ranked[5:]:
        fold = doc.fold(f"The other {len(ranked) - 5} trials")
        for trial_id in ranked[5:]:
            fold.image(curves[trial_id], f"trial {trial_id}")


def _test_part(doc, study):
    """The held-out test part's scores (`final/evaluation.yaml`), when there are any."""
    lines = test_lines(final_record(study.run_dir), study.objective)
    if not lines:
        return
    doc.heading(2, "Test part")
    doc.paragraph("Scored once, after the search: no trial, pruning rule, stage or choice "
                  "in this report read the held-out test part.")
    doc.items(lines)


def _files(doc, study):
    doc.heading(2, "Files")
    run = study.run_dir
    if study.record.get("project"):  # a plain KerasTuner project, read into this view
        doc.items([f"`{os.path.join(run, 'trials.csv')}`: every trial, one row each",
                   f"`{study.record['project']}`: KerasTuner's project (its best trial's "
                   "weights in `trial_<id>/`), left as it was",
                   f"`tensorboard --logdir {os.path.join(run, 'tensorboard')}`: the HParams "
                   "dashboard",
                   f"`{os.path.join(run, 'config.yaml')}`: the search space read from "
                   "`oracle.json`"])
        return
    doc.items([f"`{os.path.join(run, 'trials.csv')}`: every trial, one row each",
               f"`{os.path.join(run, 'best', 'model.keras')}`: the best model",
               *([f"`{os.path.join(run, 'final', 'evaluation.yaml')}`: its scores on the "
                  "held-out test part"] if final_record(run) else []),
               *([f"`{os.path.join(run, 'final', 'model.keras')}`: the best settings "
                  "retrained on training + validation (final.refit)"]
                 if os.path.isfile(os.path.join(run, 'final', 'model.keras')) else []),
               f"`tensorboard --logdir {os.path.join(run, 'tensorboard')}`: per-epoch "
               "scalars and the HParams dashboard",
               f"`{os.path.join(run, 'config.yaml')}`: the resolved config"])
