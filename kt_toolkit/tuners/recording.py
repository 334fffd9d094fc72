"""A mixin that makes every KerasTuner tuner record what each trial did.

For each trial it writes `<run>/trials/<trial_id>/history.csv` (every epoch),
`meta.json` (seconds, start and end times; epoch and reason of a pruned trial,
B2) and TensorBoard scalars and HParams
under `<run>/tensorboard/<trial_id>/` (on every backend), turns any exception in
build or fit into a `FailedTrialError` with a one-line reason, and refreshes
`<run>/trials.csv` after every trial. KerasTuner's own state files (`oracle.json`,
`trial.json`, the tuner's state) are written atomically (`kt_toolkit.compat.hooks`).

Less time outside `fit` than KerasTuner alone (issue 12): the best epoch's
weights stay in memory and are written once, when the trial's training ends
(`kt_toolkit.compat.checkpoint`), and KerasTuner's collection before every build
visits only what the search created (`kt_toolkit.compat.collection`).
"""

import inspect
import logging
import math
import os
import time

import keras
import keras_tuner
from keras_tuner.errors import FailedTrialError, FatalError

from kt_toolkit.callbacks.history import EpochLogger
from kt_toolkit.callbacks.pruning import TrialCurves, pruning_record
from kt_toolkit.callbacks.scalars import EpochScalars
from kt_toolkit.compat.checkpoint import BestEpochCheckpoints
from kt_toolkit.compat.collection import collect_young_only
from kt_toolkit.compat.devices import training_device
from kt_toolkit.compat.hooks import TunerHooks
from kt_toolkit.compat.keras import trial_scope
from kt_toolkit.compat.keras_tuner import activate_all_conditions
from kt_toolkit.rundir import RunDirectory, failure_reason, tidy_value
from kt_toolkit.tuners.budget import BudgetOracleMixin
from kt_toolkit.tuners.oom import gpu_oom_error, is_host_oom, oom_reason, release_memory
from kt_toolkit.tuners.progress import trial_line

__all__ = ["ProcessRecycle", "RecordingMixin"]

logger = logging.getLogger(__name__)

def _reason(error):
    """A trial's one-line failure reason (a GPU's out-of-memory error: `oom.oom_reason`)."""
    name, text = type(error).__name__, " ".join(str(error).split())[:300]
    if is_host_oom(error):
        return (f"out of host memory ({name}: {text}). Lower batch_size, units or layers, or "
                "the input size; the search goes on with the other settings.")
    return f"{name}: {text}"


class _ModelSize(keras.callbacks.Callback):
    """Keeps the parameter count of the model a fit trains (for an out-of-memory reason)."""

    parameters = None

    def on_train_begin(self, logs=None):
        self.parameters = int(self.model.count_params())


class ProcessRecycle(Exception):
    """Raised after a trial when `trials_per_process` trials ran in this process.

    The trial is fully recorded first; a fresh process resumes the search (memory
    that TensorFlow keeps per model goes with the old one).
    """


class RecordingMixin(TunerHooks):
    """Mixed in before a KerasTuner tuner class (see `build.py`).

    Each tuner class names its `oracle_class`: KerasTuner's oracle with
    kt_toolkit's hooks (atomic state files, the chief's stop policy), built here
    from the arguments its constructor takes; the rest go to `keras_tuner.Tuner`.

    Args:
        hypermodel: A `keras_tuner.HyperModel`.
        run_dir: String, the run directory (trial records go to `run_dir/trials`).
        **kwargs: The oracle's arguments (`objective`, `max_trials`, `seed`, ...)
            and the tuner's (`directory`, `project_name`, `overwrite`, ...).
    """

    oracle_class = None

    def __init__(self, hypermodel=None, *, run_dir, **kwargs):
        self.run = RunDirectory(run_dir)  # every record of the run goes through it
        self.run_dir = self.run.path
        self._executions = {}
        self._started = {}
        self._pruned = {}  # trial_id -> {"epoch", "reason"} of a pruning callback (B2)
        self._oom_retries = {}  # trial_id -> the halved batch size's record (training.oom)
        # `training.oom` (set by build_tuner): "fail", or "halve_batch" to retry a trial
        # that ran out of GPU memory once at half its batch size.
        self.oom_policy = "fail"
        # What MedianPruning compares with: completed trials' histories, read once each.
        self.curves = TrialCurves(load_history=self.run.history)
        self.checkpoints = BestEpochCheckpoints()  # each trial's best epoch, written once
        # Functions of an ended trial's id, called once its records are written (a
        # layer above passes them down: the experiment's background curve drawer).
        self.trial_listeners = []
        self.trials_per_process = None  # set: `search` ends with ProcessRecycle after so many
        self.cross_validation = None  # data.cv_folds: a tuners.folds.CrossValidation
        self._trials_run = 0
        accepted = inspect.signature(self.oracle_class).parameters
        oracle_kwargs = {name: kwargs.pop(name) for name in list(kwargs) if name in accepted}
        self.seed = oracle_kwargs.get("seed")  # as KerasTuner's RandomSearch keeps it
        super().__init__(self.oracle_class(**oracle_kwargs), hypermodel, **kwargs)
        if isinstance(self.oracle, keras_tuner.Oracle):  # in one process, or the chief
            self.sync_tensorboard()  # the HParams experiment; sessions a killed run missed

    def trial_dir(self, trial_id):
        return self.run.trial_dir(trial_id)

    def populate_initial_space(self):
        # KerasTuner builds the default model in the constructor; a build error
        # there would crash the whole search instead of failing one trial.
        try:
            if getattr(self.hypermodel, "declares_whole_space", False):
                # kt_toolkit's builders: the knobs without a model build per condition.
                activate_all_conditions(self.oracle, self.hypermodel.declare)
            else:
                super().populate_initial_space()
        except FatalError:
            raise
        except Exception as error:  # noqa: BLE001 - any build error fails trials, not the search
            logger.warning("Building the default model failed (%s: %s); trials with "
                           "such settings will be recorded as failed.",
                           type(error).__name__, error)
            declare = getattr(self.hypermodel, "declare", None)
            if declare is not None:
                hp = self.oracle.get_space()
                declare(hp)
                self.oracle.update_space(hp)

    def search(self, *fit_args, **fit_kwargs):
        # KerasTuner collects garbage before every build: only what the search
        # made is visited (kt_toolkit.compat.collection).
        with collect_young_only():
            return super().search(*fit_args, **fit_kwargs)

    def run_trial(self, trial, *args, **kwargs):
        kept = self._start_folds(trial)
        # A trial runs here only when it has not finished: scalars left by an
        # interrupted attempt (a killed run) would mix with this one's (the folds
        # it finished are kept, data.cv_folds).
        self.run.clear_trial_logdir(trial.trial_id, keep_executions=kept)
        self._executions[trial.trial_id] = 0
        self._started[trial.trial_id] = (time.monotonic(), time.time())
        self._pruned.pop(trial.trial_id, None)
        self._oom_retries.pop(trial.trial_id, None)
        with trial_scope():  # kt_toolkit.compat.keras: TensorFlow's memory fix applies
            try:
                return super().run_trial(trial, *args, **kwargs)
            finally:
                # The best epoch's checkpoint, once, before the oracle ends the trial.
                self.checkpoints.write(trial.trial_id)

    def _start_folds(self, trial):
        """data.cv_folds: the folds an earlier attempt of `trial` finished (kept)."""
        if self.cross_validation is None:
            return []
        kept = self.cross_validation.start(trial)
        if kept:
            logger.info("trial %s resumes after its finished folds %s", trial.trial_id,
                        ", ".join(str(fold) for fold in sorted(kept)))
        best = [r["checkpoint_best"] for r in kept.values() if r.get("checkpoint_best")
                is not None]
        if best:  # the best value the checkpoint file holds: later folds must beat it
            pick = max if self.oracle.objective.direction == "max" else min
            self.checkpoints.resume(trial.trial_id, pick(best))
        return sorted(kept)

    def build_and_fit_model(self, trial, *args, **kwargs):
        execution = self._executions.get(trial.trial_id, 0)
        self._executions[trial.trial_id] = execution + 1
        folds = self.cross_validation
        if folds is not None:  # data.cv_folds: execution i trains and scores fold i
            done = folds.finished(trial.trial_id, execution)
            if done is not None:  # an earlier attempt finished it: not trained again
                self._restore_fold(trial.trial_id, done)
                return folds.results(done)
            args, kwargs = folds.arguments(execution, kwargs)
            started = time.monotonic()
        path = self.run.history_path(trial.trial_id)
        logdir = self.run.trial_logdir(trial.trial_id)
        if self.executions_per_trial > 1:
            logdir = os.path.join(logdir, f"execution{execution}")
        callbacks = kwargs.get("callbacks", [])  # KerasTuner's copies for this execution
        if self.distribution_strategy is None:
            callbacks = self.checkpoints.take_over(trial.trial_id, callbacks)
        self.curves.bind(callbacks, trial.trial_id, rows=self.run.rows)
        size = _ModelSize()
        kwargs["callbacks"] = [*callbacks, EpochLogger(path, execution), EpochScalars(logdir),
                               size]
        try:
            results = self._fit_or_fail(trial, args, kwargs)
        except FailedTrialError as failed:
            error = failed.__cause__
            if gpu_oom_error(error) is None:
                raise
            results = self._after_oom(trial, args, kwargs, error, size.parameters)
        pruned = pruning_record(callbacks)  # the trial ends COMPLETED, marked in meta.json
        if pruned is not None:
            self._pruned.setdefault(trial.trial_id, pruned)
        if folds is not None:  # the fold's checkpoint, then its record: a resume keeps both
            folds.record(trial.trial_id, execution, results, self.oracle.objective,
                         seconds=round(time.monotonic() - started, 3),
                         checkpoint_best=self.checkpoints.flush(trial.trial_id),
                         pruned=pruned, oom_retry=self._oom_retries.get(trial.trial_id))
        return results

    def _restore_fold(self, trial_id, done):
        """What a kept fold left in `meta.json`: a pruning, an out-of-memory retry."""
        if done.get("pruned"):
            self._pruned.setdefault(trial_id, done["pruned"])
        if done.get("oom_retry"):
            self._oom_retries.setdefault(trial_id, done["oom_retry"])

    def _fit_or_fail(self, trial, args, kwargs):
        """KerasTuner's build and fit; any error but its own is a `FailedTrialError`."""
        try:
            return super().build_and_fit_model(trial, *args, **kwargs)
        except (FailedTrialError, FatalError):
            raise
        except Exception as error:  # noqa: BLE001 - recorded as the trial's reason
            raise FailedTrialError(_reason(error)) from error

    def fit_batch_size(self, trial, fit_kwargs):
        """The batch size a fit of `trial` uses (the builder's rule, else the caller's)."""
        rule = getattr(self.hypermodel, "fit_batch_size", None)
        if rule is not None:
            return rule(trial.hyperparameters, fit_kwargs)
        return fit_kwargs.get("batch_size", 32)  # Keras's default

    def _after_oom(self, trial, args, kwargs, error, parameters):
        """A GPU ran out of memory: FAILED, or one retry at half the batch size.

        With `oom_policy` `"halve_batch"` (`training.oom`) the execution runs
        again at half the batch size; `meta.json`'s `oom_retry` records it.
        """
        batch = self.fit_batch_size(trial, kwargs)
        release_memory()
        if self.oom_policy != "halve_batch" or not batch or batch < 2:
            raise FailedTrialError(oom_reason(batch, parameters)) from error
        half = batch // 2
        self._oom_retries[trial.trial_id] = {"batch_size": half, "ran_out_at": batch,
                                             "parameters": parameters}
        logger.warning("trial %s ran out of GPU memory at batch size %d; retrying it once at "
                       "batch size %d (training.oom: halve_batch)", trial.trial_id, batch, half)
        kwargs = {**kwargs, "batch_size": half}
        size = _ModelSize()
        kwargs["callbacks"] = [c for c in kwargs["callbacks"] if not isinstance(c, _ModelSize)]
        kwargs["callbacks"].append(size)
        previous = getattr(self.hypermodel, "max_batch_size", None)
        if hasattr(self.hypermodel, "max_batch_size"):  # kt_toolkit's builders
            self.hypermodel.max_batch_size = half
        try:
            return self._fit_or_fail(trial, args, kwargs)
        except FailedTrialError as failed:
            again = failed.__cause__
            if gpu_oom_error(again) is None:
                raise
            release_memory()
            raise FailedTrialError(oom_reason(half, size.parameters or parameters,
                                              retried_from=batch)) from again
        finally:
            if hasattr(self.hypermodel, "max_batch_size"):
                self.hypermodel.max_batch_size = previous

    def on_trial_end(self, trial):
        monotonic, started_at = self._started.pop(trial.trial_id, (None, None))
        seconds = time.monotonic() - monotonic if monotonic is not None else math.nan
        if self.cross_validation is not None:  # and what its kept folds took before
            seconds += self.cross_validation.kept_seconds(trial.trial_id)
        meta = {"trial_id": trial.trial_id, "seconds": round(seconds, 3),
                "started_at": started_at, "finished_at": time.time(),
                "tuner_id": getattr(self, "tuner_id", None),
                "device": training_device()}  # "GPU 0" or "CPU" (tuners.devices)
        if trial.trial_id in self._pruned:
            meta["pruned"] = self._pruned.pop(trial.trial_id)
        if trial.trial_id in self._oom_retries:  # retried at half its batch size
            meta["oom_retry"] = self._oom_retries.pop(trial.trial_id)
        if self.cross_validation is not None:  # each fold's score, their mean and spread
            meta["cv"] = self.cross_validation.summary(trial.trial_id)
        if trial.status in ("FAILED", "INVALID"):
            # A worker's message never reaches the chief's trial.json (KerasTuner's
            # proto has no field for it): the reason is kept here too.
            meta["reason"] = failure_reason(trial.message)
        self.run.write_meta(trial.trial_id, meta)
        try:
            # Too many consecutive failures raise here; the oracle (OracleHooks) has
            # saved the trial that tipped it over.
            super().on_trial_end(trial)
        finally:
            rows = self.write_trials_table()
            self.curves.update(rows)
            self._log_trial(trial.trial_id, rows)
            self.sync_tensorboard(rows)
            self._tell_listeners(trial.trial_id)
        self._trials_run += 1
        if self.trials_per_process and self._trials_run >= self.trials_per_process:
            raise ProcessRecycle(self._trials_run)

    def _tell_listeners(self, trial_id):
        for listener in self.trial_listeners:
            try:
                listener(trial_id)
            except Exception as error:  # noqa: BLE001 - a listener must never end a search
                logger.warning("A trial listener failed: %s: %s", type(error).__name__, error)

    def best_trials(self, num_trials=1):
        """The best COMPLETED trials with a finite score, best first.

        KerasTuner's `oracle.get_best_trials` pads its answer with failed trials
        when fewer have completed; this never returns a failed trial, nor a pruned
        one (COMPLETED for KerasTuner, PRUNED in `trials.csv`). And it ranks as
        the report does (`RunDirectory.rank`): a trial that diverged (NaN, an
        exploding or saturated loss: `kt_toolkit.pruning.find_divergence`) comes
        after every other completed trial; trials whose scores tie (at the 6
        significant digits of `trials.csv`) are ordered by their validation data
        loss at the best epoch (`val_crossentropy` / `val_mse`, else `val_loss`),
        then by fewer epochs.
        """
        objective = self.oracle.objective
        ranked = self.run.rank(self._ranking_rows(), objective=objective.name,
                               direction=objective.direction)
        return [self.oracle.trials[row["trial_id"]] for row in ranked[:num_trials]]

    def _ranking_rows(self):
        """The oracle's completed, unpruned trials as `trials.csv` has them (its rounded
        score and metrics, so `best/` and the report's best trial agree), whatever
        folder KerasTuner's project is in."""
        rows = []
        for trial_id, trial in self.oracle.trials.items():
            if (trial.status != "COMPLETED" or trial.score is None
                    or not math.isfinite(trial.score) or self.run.is_pruned(trial_id)):
                continue
            metrics = {f"metric:{name}": tidy_value(float(trial.metrics.get_last_value(name)))
                       for name in trial.metrics.metrics
                       if trial.metrics.get_last_value(name) is not None}
            epochs = sum(1 for row in self.run.history(trial_id) if row.get("execution") == "0")
            rows.append({**trial.hyperparameters.values, **metrics, "trial_id": trial_id,
                         "status": "COMPLETED", "objective": tidy_value(trial.score),
                         "epochs_run": epochs})
        return rows

    def trial_divergence(self, trial_id):
        """How a trial diverged (a `kt_toolkit.pruning.Divergence`), or `None`."""
        objective = self.oracle.objective
        return self.run.judge(objective.name, objective.direction).divergence(trial_id)

    def get_best_models(self, num_models=1):
        return [self.load_model(trial) for trial in self.best_trials(num_models)]

    def get_best_hyperparameters(self, num_trials=1):
        return [trial.hyperparameters for trial in self.best_trials(num_trials)]

    def sync_tensorboard(self, rows=None):
        """Writes the HParams records a finished trial (or a killed run) left out."""
        try:
            self.run.sync_tensorboard(rows)
        except Exception as error:  # noqa: BLE001 - logging must never end a search
            logger.warning("Could not write the TensorBoard HParams data: %s: %s",
                           type(error).__name__, error)

    def write_trials_table(self):
        """Refreshes `trials.csv` (reading only the files that changed); returns its rows."""
        return self.run.write_trials_table()

    def _log_trial(self, trial_id, rows):
        row = next((r for r in rows if r["trial_id"] == trial_id), None)
        if row is None:
            return
        oracle = self.oracle
        # One process or the chief: elapsed and ETA; a worker knows the totals only.
        clock = ({"elapsed": oracle.elapsed(), "max_time": oracle.max_time}
                 if isinstance(oracle, BudgetOracleMixin) else {})
        objective, direction = oracle.objective.name, oracle.objective.direction
        ranked = self.run.rank(rows, objective=objective, direction=direction)
        logger.info(trial_line(row, rows, objective, direction,
                               budget=getattr(self, "trial_budget", None),
                               best=ranked[0] if ranked else None, **clock))
