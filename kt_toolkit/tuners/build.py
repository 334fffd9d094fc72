"""`build_tuner`: a KerasTuner tuner for `tuner.algorithm`, recording every trial."""

import contextlib
import io
import logging

import keras_tuner

from kt_toolkit.compat.keras import install_tf_memory_fix
from kt_toolkit.config import tasks
from kt_toolkit.config.schema import DEFAULT_MAX_TRIALS, default_max_trials, duration_seconds
from kt_toolkit.rundir.layout import PROJECT_NAME
from kt_toolkit.tuners.budget import BudgetOracleMixin
from kt_toolkit.tuners.distributed import ChiefOracleMixin
from kt_toolkit.tuners.progress import trial_budget
from kt_toolkit.tuners.quasi_random import QuasiRandomSearch
from kt_toolkit.tuners.recording import RecordingMixin
from kt_toolkit.tuners.tpe import TPESearch

__all__ = ["DEFAULT_MAX_TRIALS", "QuasiRandomSearch", "RecordingBayesianOptimization",
           "RecordingGridSearch", "RecordingHyperband", "RecordingRandomSearch", "TPESearch",
           "build_tuner", "resolve_objective"]

logger = logging.getLogger(__name__)


class _HyperbandOracle(BudgetOracleMixin, ChiefOracleMixin, keras_tuner.oracles.HyperbandOracle):
    """KerasTuner's Hyperband oracle with kt_toolkit's hooks."""


class _BayesianOptimizationOracle(BudgetOracleMixin, ChiefOracleMixin,
                                  keras_tuner.oracles.BayesianOptimizationOracle):
    """KerasTuner's Gaussian-process oracle with kt_toolkit's hooks."""


class _RandomSearchOracle(BudgetOracleMixin, ChiefOracleMixin, keras_tuner.oracles.RandomSearchOracle):
    """KerasTuner's random search oracle with kt_toolkit's hooks."""


class _GridSearchOracle(BudgetOracleMixin, ChiefOracleMixin, keras_tuner.oracles.GridSearchOracle):
    """KerasTuner's grid search oracle with kt_toolkit's hooks."""


class RecordingHyperband(RecordingMixin, keras_tuner.Hyperband):
    """KerasTuner's Hyperband, recording trials, with an optional `max_trials` cap."""

    oracle_class = _HyperbandOracle

    def __init__(self, hypermodel=None, *, max_trials=None, **kwargs):
        super().__init__(hypermodel, **kwargs)
        # HyperbandOracle has no max_trials argument, but the base Oracle honours
        # the attribute in create_trial: the cap ends the schedule early.
        self.oracle.max_trials = max_trials


class RecordingBayesianOptimization(RecordingMixin, keras_tuner.BayesianOptimization):
    """KerasTuner's Gaussian-process Bayesian optimisation, recording trials."""

    oracle_class = _BayesianOptimizationOracle


class RecordingRandomSearch(RecordingMixin, keras_tuner.RandomSearch):
    """KerasTuner's random search, recording trials."""

    oracle_class = _RandomSearchOracle


class RecordingGridSearch(RecordingMixin, keras_tuner.GridSearch):
    """KerasTuner's grid search, recording trials."""

    oracle_class = _GridSearchOracle


def resolve_objective(tuner_config, task):
    """`(objective, direction)` for `tuner_config`, `auto` filled from the task."""
    return tasks.resolve_objective(tuner_config.objective, tuner_config.direction, task)


def build_tuner(config, hypermodel, run_dir, *, task, overwrite=False):
    """Builds the tuner an experiment asks for.

    Args:
        config: `kt_toolkit.config.ExperimentConfig`.
        hypermodel: A `keras_tuner.HyperModel`.
        run_dir: String, the run directory; KerasTuner's files go to `<run_dir>/tuner`.
        task: String, the dataset's task (fills an `auto` objective).
        overwrite: Boolean, start KerasTuner's project afresh.

    Returns:
        A KerasTuner tuner (one of this module's classes). With `overwrite=False`
        and an existing project, it reloads it: the search resumes.
    """
    install_tf_memory_fix()  # TensorFlow kept ~7 MB per trial; see kt_toolkit/compat/keras.py
    tuner_config = config.tuner
    objective, direction = resolve_objective(tuner_config, task)
    common = {
        "objective": keras_tuner.Objective(objective, direction),
        "seed": tuner_config.seed,
        "max_consecutive_failed_trials": tuner_config.max_consecutive_failed_trials,
        # data.cv_folds: one execution per fold (tuners.folds), scored by their mean.
        "executions_per_trial": config.data.cv_folds or tuner_config.executions_per_trial,
        "directory": run_dir,
        "project_name": PROJECT_NAME,
        "overwrite": overwrite,
        "run_dir": run_dir,
    }
    algorithm = tuner_config.algorithm
    max_trials = tuner_config.max_trials
    if algorithm == "hyperband":
        if hasattr(hypermodel, "planned_epochs"):  # a schedule spans a trial's whole budget
            hypermodel.planned_epochs = tuner_config.max_epochs or config.training.epochs
        cls, extra = RecordingHyperband, {
            "max_epochs": tuner_config.max_epochs or config.training.epochs,
            "factor": tuner_config.factor,
            "hyperband_iterations": tuner_config.hyperband_iterations,
            "max_trials": max_trials}
    elif algorithm == "bayesian":
        cls, extra = RecordingBayesianOptimization, {
            "max_trials": max_trials or DEFAULT_MAX_TRIALS,
            "num_initial_points": tuner_config.num_initial_points}
    elif algorithm == "random":
        cls, extra = RecordingRandomSearch, {"max_trials": max_trials or DEFAULT_MAX_TRIALS}
    elif algorithm == "quasi_random":
        cls, extra = QuasiRandomSearch, {"max_trials": max_trials or DEFAULT_MAX_TRIALS}
    elif algorithm == "tpe":
        cls, extra = TPESearch, {"max_trials": max_trials or default_max_trials("tpe"),
                                 "num_initial_points": tuner_config.num_initial_points}
    else:
        cls, extra = RecordingGridSearch, {"max_trials": max_trials}
    # KerasTuner prints "Reloading Tuner from ..." itself; say it through logging.
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        tuner = cls(hypermodel, **common, **extra)
    for line in printed.getvalue().splitlines():
        logger.info(line)
    if isinstance(tuner.oracle, BudgetOracleMixin):  # in one process, or the chief
        tuner.oracle.set_budget(max_time=duration_seconds(tuner_config.max_time),
                                target=tuner_config.target)
    tuner.trial_budget = trial_budget(config)  # for the progress of each trial's log line
    tuner.oom_policy = config.training.oom  # a trial out of GPU memory: fail or halve_batch
    return tuner
