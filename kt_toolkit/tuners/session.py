"""One search, the same way in every process: set up, search, finish.

`prepare_search` loads the data and the builder and creates (or checks) the run
directory; `run_search` runs `tuner.search` with the experiment's callbacks;
`finish_search` writes `trials.csv` and the best model under `best/`. A search in
one process calls all three (`kt_toolkit.experiment.run_experiment`); a parallel
run's chief and workers (`process.py`) call the first two, and the launcher's
command the last.
"""

import dataclasses
import html
import logging
import os
import warnings
from typing import Optional

import numpy as np

from kt_toolkit.callbacks import default_callbacks
from kt_toolkit.callbacks.pruning import chance_level
from kt_toolkit.compat import is_consecutive_failure
from kt_toolkit.config.knobs import is_custom_builder
from kt_toolkit.data import load_dataset
from kt_toolkit.hypermodels import build_hypermodel
from kt_toolkit.rundir import RunDirectory, prepare_run_dir, tidy_value
from kt_toolkit.errors import invalid
from kt_toolkit.tuners.build import resolve_objective
from kt_toolkit.tuners.folds import CrossValidation

__all__ = ["RunResult", "SearchSetup", "finish_search", "prepare_search", "resolve_model_space",
           "run_search"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class RunResult:
    """What a finished search produced.

    Attributes:
        run_dir: String, the run directory.
        objective: String, the metric optimised; `direction` is `"max"`/`"min"`.
        best_trial_id: String or `None` when no trial completed.
        best_score: Float or `None`.
        best_hyperparameters: Dict of the best trial's active values.
        best_model_path: String or `None`.
        evaluation: Dict of the best model's validation metrics (with
            `data.cv_folds`, on the validation part of the fold it trained with).
        evaluation_split: String, what `evaluation` was scored on.
        trials: List of trial rows (as in `trials.csv`).
        stopped_reason: String or `None`: why the search stopped before its budget.
        report: A `kt_toolkit.analysis.Report`, or `None` when `output.report` is
            off or the report could not be written (the search's results stand).
        stages: List of `kt_toolkit.stages.StageResult`, one per stage of a
            coarse-to-fine experiment (this result is the last stage's); empty
            for a single search.
        best_warning: String or `None`: why the best model is not to be trusted.
            Set when every completed trial diverged (a diverged trial is the best
            only then: `kt_toolkit.pruning.find_divergence`).
        final: Dict, `final/evaluation.yaml`: the best model's scores on the
            held-out test part (`best`), and the refit's (`refit`); empty when
            the data have no test part and `final.refit` is off.
    """

    run_dir: str
    objective: str
    direction: str
    best_trial_id: Optional[str] = None
    best_score: Optional[float] = None
    best_hyperparameters: dict = dataclasses.field(default_factory=dict)
    best_model_path: Optional[str] = None
    evaluation: dict = dataclasses.field(default_factory=dict)
    evaluation_split: str = "validation split"
    trials: list = dataclasses.field(default_factory=list)
    stopped_reason: Optional[str] = None
    report: object = None
    stages: list = dataclasses.field(default_factory=list)
    best_warning: Optional[str] = None
    final: dict = dataclasses.field(default_factory=dict)

    def count(self, status: str) -> int:
        """How many trials ended with `status` (`COMPLETED`, `FAILED`, `PRUNED`…)."""
        return sum(1 for row in self.trials if row["status"] == status)

    def _repr_html_(self) -> str:
        """In a notebook: the best trial, where things are, then the report."""
        score = "none" if self.best_score is None else f"{self.best_score:.4f}"
        lines = [f"<p><b>Best trial</b> {html.escape(str(self.best_trial_id))}: "
                 f"{html.escape(self.objective)} = {score} ({self.direction}) · "
                 f"{len(self.trials)} trials, {self.count('COMPLETED')} completed.</p>",
                 f"<p>Run directory <code>{html.escape(self.run_dir)}</code> · "
                 f"<code>tensorboard --logdir {html.escape(self.run_dir)}/tensorboard</code>"
                 "</p>"]
        if self.best_warning:
            lines.append(f"<p><b>Warning:</b> {html.escape(self.best_warning)}</p>")
        if self.report is not None and hasattr(self.report, "_repr_html_"):
            lines.append(self.report._repr_html_())
        return "\n".join(lines)


@dataclasses.dataclass
class SearchSetup:
    """What every process of a run loads the same way: data, builder, objective.

    Attributes:
        data: The `kt_toolkit.data.Dataset`.
        hypermodel: The `keras_tuner.HyperModel` searched.
        objective: String, the metric optimised; `direction` is `"max"`/`"min"`.
        run_dir: String, the run directory.
    """

    data: object
    hypermodel: object
    objective: str
    direction: str
    run_dir: str


def resolve_model_space(config, data=None) -> Optional[object]:
    """Your own model's declared space resolved into `config.model.space`.

    A run directory is named after the resolved space, so this runs before it
    is named (`builder: "module:Name"` only; the builders' spaces are resolved
    when the config is loaded). Returns the data it loaded for it (`data`, when
    given), or `data` (`None` unless given) for the builders.
    """
    if not is_custom_builder(config.model.builder):
        return data
    if data is None:
        data = load_dataset(config.data, seed=config.experiment.seed,
                            batch_size=config.training.batch_size)
    build_hypermodel(config, data)
    return data


def prepare_search(config, *, overwrite: bool = False,
                   run_dir: Optional[str] = None, data=None) -> SearchSetup:
    """Loads the data and builder; creates (or checks) the run directory.

    With `run_dir` (a worker or chief process of a run), the directory must
    already hold this run and nothing is written to it. `data`: the
    `kt_toolkit.data.Dataset` if already loaded (`resolve_model_space`).

    Raises:
        ConfigError: bad settings, data that cannot be loaded, or an objective
            the task's model does not log. Raised before anything is written.
    """
    if data is None:
        data = load_dataset(config.data, seed=config.experiment.seed,
                            batch_size=config.training.batch_size)
    logger.info("Data: %s", data.summary())
    objective, direction = resolve_objective(config.tuner, data.task)
    if config.data.cv_folds and data.is_streamed:
        raise invalid("data.cv_folds", "null for streamed data", config.data.cv_folds,
                      "Folds are cut from arrays; load the data as arrays, or drop cv_folds.")
    hypermodel = build_hypermodel(config, data)
    if run_dir is None:
        run_dir = prepare_run_dir(config, overwrite=overwrite)
        RunDirectory(run_dir).write_record({
            "objective": objective, "direction": direction, "task": data.task,
            "builder": config.model.builder, "dataset": data.name,
            "train_samples": int(len(data.y_train)), "validation_samples": int(len(data.y_val)),
            "num_classes": data.num_classes, "data_summary": data.summary(),
            "cv_folds": config.data.cv_folds})
    return SearchSetup(data, hypermodel, objective, direction, run_dir)


def run_search(tuner, config, setup: SearchSetup) -> Optional[str]:
    """`tuner.search` with the experiment's callbacks; why it stopped early, or `None`."""
    data, objective, direction = setup.data, setup.objective, setup.direction
    targets = data.y_val if objective.startswith("val_") else data.y_train
    callbacks = default_callbacks(config.training.callbacks, objective=objective,
                                  direction=direction,
                                  chance=chance_level(objective, data.task, targets),
                                  task=data.task)
    try:
        args, kwargs = data.fit_data()  # arrays, or streams (your own data)
        if config.data.cv_folds:  # each execution of a trial is a fold (tuners.folds)
            args, kwargs = _folds(tuner, config, data)
        tuner.search(*args, **kwargs, epochs=config.training.epochs,
                     batch_size=config.training.batch_size, callbacks=callbacks,
                     verbose=config.training.verbose)
    except RuntimeError as error:
        if not is_consecutive_failure(error):
            raise
        limit = config.tuner.max_consecutive_failed_trials
        reasons = [row["reason"] for row in tuner.run.rows()
                   if row["status"] == "FAILED"][-limit:]
        reason = (f"{limit} consecutive trials failed (tuner.max_consecutive_failed_trials); "
                  "last reasons: " + " | ".join(dict.fromkeys(reasons)))
        logger.error("Search stopped: %s", reason)
        return reason
    return None


def _folds(tuner, config, data):
    """Sets the tuner's folds over training + validation; `(args, kwargs)` of `search`."""
    x = np.concatenate([data.x_train, data.x_val])
    y = np.concatenate([data.y_train, data.y_val])
    tuner.cross_validation = CrossValidation(x, y, folds=config.data.cv_folds,
                                             stratify=data.num_classes is not None,
                                             seed=config.experiment.seed, run=tuner.run)
    return (x, y), {}


def finish_search(tuner, setup: SearchSetup, stopped_reason: Optional[str] = None, *,
                  config=None) -> RunResult:
    """`trials.csv` and the best model under `best/`: a `RunResult` (without a report).

    With `config.data.cv_folds` the best model is scored on its own fold's validation
    part: the validation split was in the other folds' training data."""
    if config is not None and config.data.cv_folds and tuner.cross_validation is None:
        _folds(tuner, config, setup.data)  # a parallel run's chief: the same folds
    rows = tuner.run.write_trials_table()
    # A spent time budget or a reached target (tuner.max_time / target) says so too.
    stopped_reason = stopped_reason or getattr(tuner.oracle, "budget_reason", None)
    result = RunResult(run_dir=setup.run_dir, objective=setup.objective,
                       direction=setup.direction, trials=rows, stopped_reason=stopped_reason)
    _export_best(tuner, setup.data, result)
    return result


def _export_best(tuner, data, result):
    """Saves the best trial's model, settings and validation scores under `best/`."""
    best = tuner.best_trials(1)
    if not best:
        logger.warning("No trial completed: there is no best model.")
        return
    trial = best[0]
    with warnings.catch_warnings():
        # The checkpoint holds the optimizer's slots; the rebuilt model has none yet.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model = tuner.load_model(trial)
    folds = getattr(tuner, "cross_validation", None)
    fold = folds.checkpoint_fold(trial.trial_id) if folds is not None else None
    args, split = data.validation_args(), "validation split"
    if fold is not None:  # the validation split trained the other folds' models
        args, split = folds.validation_part(fold), f"validation part of fold {fold}"
    evaluation = model.evaluate(*args, verbose=0, return_dict=True)
    evaluation = {name: float(value) for name, value in evaluation.items()}
    run = tuner.run
    path = run.best_model_path
    os.makedirs(run.best_dir, exist_ok=True)
    tmp = os.path.join(run.best_dir, f".model-{os.getpid()}.keras")
    model.save(tmp)
    os.replace(tmp, path)
    hp = trial.hyperparameters
    declared = {entry.name for entry in hp.space}
    values = {name: tidy_value(value) for name, value in hp.values.items()
              if name not in declared or hp.is_active(name)}
    run.write_best(trial_id=trial.trial_id,
                   objective={"name": result.objective, "direction": result.direction,
                              "value": float(trial.score)},
                   hyperparameters=values, evaluation=evaluation, samples=len(data.y_val if fold is None else args[1]),
                   split=split.replace(" split", ""))
    result.best_trial_id = trial.trial_id
    result.best_score = float(trial.score)
    result.best_hyperparameters = values
    result.best_model_path = path
    result.evaluation, result.evaluation_split = evaluation, split
    result.best_warning = _diverged_warning(tuner, trial.trial_id, result.trials)
    if result.best_warning:
        logger.warning(result.best_warning)


def _diverged_warning(tuner, trial_id, rows):
    """A sentence when the best trial diverged: the ranking puts a diverged trial
    last, so then every completed trial diverged. `None` otherwise."""
    found = tuner.trial_divergence(trial_id)
    if found is None:
        return None
    completed = sum(1 for row in rows if row["status"] == "COMPLETED")
    every = ("The only completed trial" if completed == 1
             else f"Every one of the {completed} completed trials")
    return (f"{every} diverged; the best model (trial {trial_id}) comes from a diverged run: "
            f"{found.reason}. Lower the learning rate (10x; B5, E2) or clip gradients "
            "(`clipnorm`; E9), then search again.")
