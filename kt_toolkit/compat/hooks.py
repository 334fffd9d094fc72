"""What kt_toolkit's oracles and tuners override in KerasTuner (written for keras-tuner 1.4.8).

`OracleHooks` and `TunerHooks` are mixins for kt_toolkit's OWN subclasses of
KerasTuner's oracle and tuner classes (`kt_toolkit.tuners`): nothing is patched,
and a plain KerasTuner tuner in the same process writes and behaves exactly as
KerasTuner ships it (test: test_a_plain_keras_tuner_tuner_is_untouched). Each
override below says what it relies on; `tests/compat/test_hooks.py` fails when an
upgrade changes that.
"""

import datetime
import json
import os

import keras_tuner

from kt_toolkit._io import atomic_write_text
from kt_toolkit.compat.keras_tuner import first_values, is_consecutive_failure

__all__ = ["OracleHooks", "TunerHooks", "write_state"]


def write_state(path, state):
    """KerasTuner's `utils.save_json`, through a temporary file and `os.replace`.

    KerasTuner 1.4.8 writes `oracle.json`, every `trial.json` and the tuner's
    state in place (`utils.save_json`: `json.dumps`, then write): a `kill -9`
    mid-write leaves a project that cannot be reloaded. kt_toolkit's oracles and
    tuners write the same text atomically. (KerasTuner's `build_config.json`,
    written after each fit, stays KerasTuner's: a torn one belongs to a trial
    still RUNNING on disk, which a resume runs again.)

    Returns:
        The JSON text, as `save_json` does.
    """
    text = json.dumps(state)
    atomic_write_text(os.fspath(path), text)
    return text


class OracleHooks:
    """Mixed in before a KerasTuner oracle class by kt_toolkit's tuners (1.4.8).

    - `save` and `_save_trial` write atomically (`write_state`). 1.4.8:
      `Oracle.save()` is `Stateful.save(self._get_oracle_fname())`, i.e.
      `save_json(fname, self.get_state())`; `_save_trial(trial)` is
      `trial.save(<self._get_trial_dir(id)>/trial.json)`, i.e.
      `save_json(fname, trial.get_state())`. Test:
      test_oracle_hooks_write_what_keras_tuner_writes_atomically.
    - `end_trial` releases the oracle's lock when KerasTuner's raises: 1.4.8's
      `@synchronized` acquires the per-oracle lock and releases it only when the
      method returns, so the consecutive-failure RuntimeError left it held (a
      chief serving other workers then hung). Only the public
      `keras_tuner.synchronized` is used: KerasTuner's runs nested inside ours,
      which never raises. Test: test_end_trial_releases_the_lock_when_keras_tuner_raises.
    - On that error it saves the trial that tipped the count over: 1.4.8's
      `end_trial` raises before `_save_trial`, which would leave it RUNNING on disk.
    - `reload` drops ended trials from the retry queue (`forget_ended_retries`):
      1.4.8's `end_trial` saves `oracle.json` before it takes the trial off
      `ongoing_trials`, and `reload` queues every trial listed there for a retry,
      so a kill between that save and the next (in one process, the tuner's
      `save` right after; on a chief, its own save) ran a finished trial again
      on resume. Tests: test_a_reloaded_oracle_retries_its_ongoing_trials (the
      1.4.8 behaviour) and tests/tuners/test_resume.py (the kill in that window).
    - `adopt_trial` and `forget_ended_retries` reach `_retry_queue` (a list of
      trial ids, saved as `retry_queue`) and `_display` (`trial_start`,
      `trial_number` dicts) for a restarted chief. Test:
      test_a_reloaded_oracle_retries_its_ongoing_trials.
    - `_random_values` makes trial 0 the space's defaults (issue 12):
      KerasTuner 1.4.8's random search, Bayesian initial points and Hyperband's new
      brackets all draw through `Oracle._random_values()` (dict of active values, or
      `None` when it keeps colliding with `_tried_so_far`); `create_trial` numbers
      the trial `len(self.trials)` before `populate_space`, so "no trial yet" is
      `not self.trials`. `_record_values` then adds the defaults' hash to
      `_tried_so_far`, so no later draw repeats them. Grid search already starts
      from the defaults. Test: test_trial_zero_is_the_default_configuration.
    """

    def _random_values(self):
        return first_values(self) or super()._random_values()

    def save(self):
        write_state(self._get_oracle_fname(), self.get_state())

    def _save_trial(self, trial):
        trial_dir = self._get_trial_dir(trial.trial_id)
        write_state(os.path.join(trial_dir, "trial.json"), trial.get_state())

    def save_trial(self, trial):
        """Writes `trial`'s `trial.json` in the project (atomically)."""
        self._save_trial(trial)

    def end_trial(self, trial):
        """KerasTuner's `end_trial`; when it raises, the lock is free and the trial saved."""
        error = self._end_trial_released(trial)
        if error is not None:
            raise error

    @keras_tuner.synchronized
    def _end_trial_released(self, trial):
        try:
            super().end_trial(trial)
        except Exception as error:  # noqa: BLE001 - re-raised by end_trial, lock released
            if is_consecutive_failure(error) and trial.trial_id in self.trials:
                self.save_trial(self.trials[trial.trial_id])
                self.save()
            return error
        return None

    def reload(self):
        """KerasTuner's `reload`, without the ended trials it queued for a retry."""
        super().reload()
        self.forget_ended_retries()

    @keras_tuner.synchronized
    def adopt_trial(self, trial_id):
        """Takes a trial this oracle reloaded as interrupted back as running.

        KerasTuner's `reload` puts the trials ongoing at the last save in the retry
        queue; a worker still running one reports it to the restarted chief: it is
        not to be retried, and the display needs its start.
        """
        if trial_id in self._retry_queue:
            self._retry_queue.remove(trial_id)
        display = self._display
        display.trial_start.setdefault(trial_id, datetime.datetime.now())
        display.trial_number.setdefault(trial_id, len(display.trial_number) + 1)

    @keras_tuner.synchronized
    def forget_ended_retries(self):
        """Drops ended (COMPLETED or FAILED) trials a reload put in the retry queue."""
        self._retry_queue[:] = [trial_id for trial_id in self._retry_queue
                                if self.trials[trial_id].status not in ("COMPLETED", "FAILED")]


class TunerHooks:
    """Mixed in before a KerasTuner tuner class by kt_toolkit's tuners (1.4.8).

    - `__init__` calls `keras_tuner.Tuner.__init__` with an oracle the caller
      built, skipping the algorithm class's own `__init__`: in 1.4.8
      `Hyperband`, `BayesianOptimization`, `RandomSearch` and `GridSearch` only
      build their oracle there (the last two set `self.seed` first) and call
      `Tuner.__init__`; kt_toolkit builds that oracle with `OracleHooks`. Test:
      test_tuner_hooks_build_the_same_tuner_as_keras_tuner.
    - `save` writes the tuner's state atomically (1.4.8 `BaseTuner.save`:
      `oracle.save()` unless `_is_worker()`, then
      `save_json(self._get_tuner_fname(), self.get_state())`).
    - `on_search_begin` saves it once before the first trial: 1.4.8's
      `BaseTuner.__init__` reloads the project only when the tuner's file
      exists, and `on_trial_end` writes it first after trial 0 has ended, so a
      kill in between started the search afresh and trained the finished trial 0
      again. Test: tests/tuners/test_resume.py.
    - KerasTuner's private hooks get public names that kt_toolkit overrides:
      `_populate_initial_space` (1.4.8: called by `BaseTuner.__init__` when not
      reloading; declares and builds the hypermodel) is
      `populate_initial_space`, and `_build_and_fit_model(trial, *args, **kwargs)`
      (1.4.8: called by `Tuner.run_trial` once per execution, `kwargs["callbacks"]`
      that execution's copies; returns the fit's result) is `build_and_fit_model`.
      Test: test_tuner_hooks_route_keras_tuner_private_hooks.
    """

    def __init__(self, oracle, hypermodel=None, **kwargs):
        keras_tuner.Tuner.__init__(self, oracle, hypermodel, **kwargs)

    def save(self):
        if not self._is_worker():
            self.oracle.save()
        write_state(self._get_tuner_fname(), self.get_state())

    def on_search_begin(self):
        super().on_search_begin()
        self.save()

    def _populate_initial_space(self):
        self.populate_initial_space()

    def populate_initial_space(self):
        """KerasTuner's: declares the hypermodel's space, builds it once per condition."""
        super()._populate_initial_space()

    def _build_and_fit_model(self, trial, *args, **kwargs):
        return self.build_and_fit_model(trial, *args, **kwargs)

    def build_and_fit_model(self, trial, *args, **kwargs):
        """KerasTuner's: builds `trial`'s model and fits it (one execution)."""
        return super()._build_and_fit_model(trial, *args, **kwargs)
