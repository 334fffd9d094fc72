"""TPE: Optuna's Tree-structured Parzen Estimator choosing KerasTuner's trials.

KerasTuner has no TPE. This oracle asks Optuna's `TPESampler` for each new
trial's values and leaves everything else (trial files, retries, the chief's
gRPC service, pruning, recording) to KerasTuner and kt_toolkit as for any
other algorithm.

How the oracle draws a trial:

- **Stateless.** Each `populate_space` builds a new in-memory Optuna study from
  the oracle's own trials, asks it once and throws it away. Nothing of Optuna's
  is saved: a resumed search, or a chief serving workers, rebuilds the same
  study from `oracle.json` and the trials, so it proposes what an uninterrupted
  search would have.
- **History.** Trials enter the study in the order they started. A COMPLETED
  trial with a finite score counts with that score (a pruned trial is
  COMPLETED too, with the best score it reached before it was stopped);
  a RUNNING trial (another worker's) enters as running, so `constant_liar`
  keeps concurrent workers from proposing the same region; FAILED and INVALID
  trials are left out. Values outside the current ranges (a value set by hand,
  a range narrowed before a resume) are left out of that trial.
- **Sampler.** `TPESampler(multivariate=True, group=True, constant_liar=True)`:
  multivariate TPE models the knobs jointly, and `group` splits the space into
  the sets of knobs that occur together, so a conditional knob (`momentum`,
  only when `optimizer == "sgd"`) is modelled from the trials that had it. The
  first `num_initial_points` trials (default `DEFAULT_NUM_INITIAL_POINTS`, as
  in Optuna) are random.
- **Seed.** The sampler's seed is derived from `tuner.seed` and the number of
  trials so far: the same seed and the same scores give the same trials.
- **Active knobs only.** The oracle walks `self.hyperparameters.space` in
  declaration order and suggests a value only for a knob whose conditions hold
  for the values chosen before it (as KerasTuner's own random search does);
  `Fixed` knobs take their value and are not shown to Optuna.
- **Mapping.** `Choice` and `Boolean` are categorical. A continuous `Float` or
  `Int` range is a float or integer range, uniform or logarithmic as its
  `sampling`; `reverse_log` (dense near `max_value`) is sampled as its mirror
  image: `min + max - x` is drawn on a log scale, which is exactly KerasTuner's
  own prior for it. A stepped linear `Int` is an integer range with that step.
  Any other stepped range (a stepped `Float`, a geometric `Int` with
  `sampling: log`) is an integer index into KerasTuner's own list of its values:
  the proposals are then exactly the values KerasTuner's other oracles produce
  (Optuna's float steps would include `max_value` where KerasTuner's floating-
  point step count leaves it out, and its values would differ in the last
  digits), and a geometric grid stays evenly spread on its log scale.
- **Repeats.** Values that repeat a trial already created are asked again
  (`MAX_DUPLICATE_ASKS` times), then drawn at random (`MAX_RANDOM_DRAWS`
  times), then a finite space of at most `MAX_LISTED_CONFIGURATIONS`
  configurations gives its first untried one. When there is none, the oracle
  answers `STOPPED`: the space is exhausted.
"""

import contextlib
import logging
import math
import random
import warnings

import keras_tuner
import numpy as np
import optuna
from keras_tuner.engine import hyperparameters as hp_module
from keras_tuner.engine import trial as trial_module

from kt_toolkit.compat.keras_tuner import (active_values, set_oracle_seed, tried_hashes,
                                           values_hash, was_tried)
from kt_toolkit.errors import invalid
from kt_toolkit.tuners.budget import BudgetOracleMixin
from kt_toolkit.tuners.distributed import ChiefOracleMixin
from kt_toolkit.tuners.first import DefaultsFirstMixin
# A finite conditional space's configurations, listed as quasi-random search lists them.
from kt_toolkit.tuners.quasi_random import MAX_LISTED_CONFIGURATIONS, _list_configurations
from kt_toolkit.tuners.recording import RecordingMixin

__all__ = ["DEFAULT_NUM_INITIAL_POINTS", "TPEOracle", "TPESearch"]

DEFAULT_NUM_INITIAL_POINTS = 10  # random trials before TPE models the scores (Optuna's default)
MAX_DUPLICATE_ASKS = 5  # TPE proposals repeating a tried trial before random draws
MAX_RANDOM_DRAWS = 20  # random draws repeating a tried trial before listing the space

_Distributions = optuna.distributions


class TPEOracle(keras_tuner.Oracle):
    """Oracle proposing each trial with Optuna's TPE sampler, from the trials so far.

    See the module docstring for how trials become Optuna's history and back.

    Example:

    ```python
    import keras_tuner
    from kt_toolkit.tuners import TPEOracle

    hp = keras_tuner.HyperParameters()
    hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    hp.Choice("units", [16, 32, 64])
    oracle = TPEOracle(objective="val_loss", max_trials=20, num_initial_points=5,
                       seed=1, hyperparameters=hp)
    # Hand it to any KerasTuner tuner: keras_tuner.Tuner(oracle=oracle, hypermodel=...)
    ```

    Args:
        objective: A string or `keras_tuner.Objective`, as for KerasTuner's oracles.
        max_trials: Integer, the number of trials at most. Defaults to `10`.
        num_initial_points: Optional integer >= 0, the random trials before TPE
            takes over. Defaults to `None`: `DEFAULT_NUM_INITIAL_POINTS`.
        seed: Optional integer (`0` is a seed too). Defaults to `None`: a
            random seed, saved with the oracle's state.
        hyperparameters: Optional `keras_tuner.HyperParameters`, a search space
            registered in advance.
        allow_new_entries: Boolean, whether the hypermodel may add
            hyperparameters. Defaults to `True`.
        tune_new_entries: Boolean, whether added hyperparameters are tuned (or
            kept at their default). Defaults to `True`.
        max_retries_per_trial: Integer, retries of a crashed trial. Defaults to `0`.
        max_consecutive_failed_trials: Integer, failed trials in a row that end
            the search. Defaults to `3`.

    Raises:
        ConfigError: `num_initial_points` is not an integer >= 0 (a `ValueError`).
    """

    def __init__(self, objective=None, max_trials=10, num_initial_points=None, seed=None,
                 hyperparameters=None, allow_new_entries=True, tune_new_entries=True,
                 max_retries_per_trial=0, max_consecutive_failed_trials=3):
        if num_initial_points is not None and (
                not isinstance(num_initial_points, int) or isinstance(num_initial_points, bool)
                or num_initial_points < 0):
            raise invalid("num_initial_points", "an integer >= 0", num_initial_points)
        super().__init__(objective=objective, max_trials=max_trials,
                         hyperparameters=hyperparameters, allow_new_entries=allow_new_entries,
                         tune_new_entries=tune_new_entries, seed=seed,
                         max_retries_per_trial=max_retries_per_trial,
                         max_consecutive_failed_trials=max_consecutive_failed_trials)
        if seed is not None:  # KerasTuner replaces a seed of 0 by a random one.
            set_oracle_seed(self, seed)
        self.num_initial_points = (DEFAULT_NUM_INITIAL_POINTS if num_initial_points is None
                                   else num_initial_points)

    def populate_space(self, trial_id):
        """TPE's proposal for the next trial, or `STOPPED` when the space is exhausted."""
        knobs = {hp.name: _Knob(hp) for hp in self.hyperparameters.space
                 if not isinstance(hp, hp_module.Fixed)}
        with _quiet_optuna():
            study = self._study(knobs)
            for _ in range(MAX_DUPLICATE_ASKS):
                trial = study.ask()
                values = self._active_values(lambda hp: knobs[hp.name].suggest(trial))
                if not was_tried(self, values):
                    return {"status": trial_module.TrialStatus.RUNNING, "values": values}
        values = self._untried_values()
        if values is None:
            return {"status": trial_module.TrialStatus.STOPPED, "values": None}
        return {"status": trial_module.TrialStatus.RUNNING, "values": values}

    def _study(self, knobs):
        """A new in-memory study holding this oracle's completed and running trials."""
        sampler = optuna.samplers.TPESampler(
            n_startup_trials=self.num_initial_points, seed=self._derived_seed(0),
            multivariate=True, group=True, constant_liar=True)
        direction = "maximize" if self.objective.direction == "max" else "minimize"
        study = optuna.create_study(direction=direction, sampler=sampler)
        for trial in self._trials_in_start_order():
            frozen = _frozen_trial(trial, knobs)
            if frozen is not None:
                study.add_trial(frozen)
        return study

    def _untried_values(self):
        """Untried values drawn at random, else a finite space's first untried ones."""
        rng = random.Random(self._derived_seed(1))
        for _ in range(MAX_RANDOM_DRAWS):
            values = self._active_values(lambda hp: hp.prob_to_value(rng.random()))
            if not was_tried(self, values):
                return values
        listed = _list_configurations(self.hyperparameters.space, MAX_LISTED_CONFIGURATIONS)
        tried = tried_hashes(self)
        return next((values for values in listed or []
                     if values_hash(self, values) not in tried), None)

    def _active_values(self, sample):
        """Values of the active knobs, declaration order; `sample(hp)` for tunable ones."""
        return active_values(self.hyperparameters.space, sample)

    def _derived_seed(self, stream):
        """A 32-bit seed from the oracle's seed, the trial count and a stream number."""
        entropy = [int(self.seed) % 2**64, len(self.trials), stream]
        return int(np.random.SeedSequence(entropy).generate_state(1)[0])

    def _trials_in_start_order(self):
        order = [trial_id for trial_id in self.start_order if trial_id in self.trials]
        listed = set(order)
        order += [trial_id for trial_id in self.trials if trial_id not in listed]
        return [self.trials[trial_id] for trial_id in order]


class _Knob:
    """One tunable hyperparameter as Optuna sees it: a distribution and two maps."""

    def __init__(self, hp):
        self.hp = hp
        self.grid = None  # KerasTuner's list of values, when Optuna sees an index
        self.mirrored = False  # reverse_log: Optuna sees min + max - value
        self.distribution = self._distribution(hp)

    def _distribution(self, hp):
        if isinstance(hp, hp_module.Boolean):
            return _Distributions.CategoricalDistribution([False, True])
        if isinstance(hp, hp_module.Choice):
            return _Distributions.CategoricalDistribution(list(hp.values))
        integer = isinstance(hp, hp_module.Int)
        if hp.step is not None and integer and hp.sampling == "linear":
            steps = (hp.max_value - hp.min_value) // hp.step  # KerasTuner's last value
            return _Distributions.IntDistribution(hp.min_value,
                                                  hp.min_value + steps * hp.step, step=hp.step)
        if hp.step is not None:
            self.grid = [int(v) if integer else v for v in hp.values]
            return _Distributions.IntDistribution(0, len(self.grid) - 1)
        self.mirrored = hp.sampling == "reverse_log"
        cls = _Distributions.IntDistribution if integer else _Distributions.FloatDistribution
        return cls(hp.min_value, hp.max_value, log=hp.sampling != "linear")

    def suggest(self, trial):
        """Asks Optuna's `trial` for this knob; returns KerasTuner's value."""
        name, distribution = self.hp.name, self.distribution
        if isinstance(distribution, _Distributions.CategoricalDistribution):
            return trial.suggest_categorical(name, distribution.choices)
        if isinstance(distribution, _Distributions.IntDistribution):
            raw = trial.suggest_int(name, distribution.low, distribution.high,
                                    step=distribution.step, log=distribution.log)
        else:
            raw = trial.suggest_float(name, distribution.low, distribution.high,
                                      log=distribution.log)
        if self.grid is not None:
            return self.grid[raw]
        return self._mirror(raw) if self.mirrored else raw

    def encode(self, value):
        """Optuna's value for KerasTuner's `value`, or `None` when it is out of range."""
        distribution = self.distribution
        if isinstance(distribution, _Distributions.CategoricalDistribution):
            matches = [c for c in distribution.choices if c == value and type(c) is type(value)]
            return matches[0] if matches else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if self.grid is not None:
            index = min(range(len(self.grid)), key=lambda i: abs(self.grid[i] - value))
            close = math.isclose(self.grid[index], value, rel_tol=1e-9, abs_tol=1e-12)
            return index if close else None
        if self.mirrored:
            value = self._mirror(value)
        if not distribution.low <= value <= distribution.high:
            return None
        if isinstance(distribution, _Distributions.IntDistribution):
            if value != int(value) or (int(value) - distribution.low) % distribution.step:
                return None
            return int(value)
        return float(value)

    def _mirror(self, value):
        return type(value)(self.hp.min_value + self.hp.max_value - value)


def _frozen_trial(trial, knobs):
    """KerasTuner's `trial` as an Optuna trial, or `None` when it has nothing to teach.

    `knobs`: name -> `_Knob`, the current space's tunable knobs; the trial's
    values of the knobs active for it become its parameters.
    """
    if trial.status == trial_module.TrialStatus.COMPLETED:
        score = trial.score
        if score is None or not math.isfinite(score):
            return None
        state, value = optuna.trial.TrialState.COMPLETE, float(score)
    elif trial.status == trial_module.TrialStatus.RUNNING:
        state, value = optuna.trial.TrialState.RUNNING, None
    else:  # FAILED, INVALID: no score to learn from
        return None
    values = trial.hyperparameters.values
    params, distributions = {}, {}
    for name, knob in knobs.items():
        if name not in values or not all(
                condition.is_active(values) for condition in knob.hp.conditions):
            continue
        encoded = knob.encode(values[name])
        if encoded is not None:
            params[name], distributions[name] = encoded, knob.distribution
    return optuna.trial.create_trial(state=state, value=value, params=params,
                                     distributions=distributions)


@contextlib.contextmanager
def _quiet_optuna():
    """Silences Optuna while the oracle uses it, and only then.

    Optuna logs a line per study it creates (INFO) and a warning per knob it
    samples without TPE (a `Float` whose range is a single value); it warns
    that `group` is experimental (`ExperimentalWarning`). The study here is the
    oracle's internal detail: none of that is something a user can act on.
    """
    logger = logging.getLogger("optuna")
    level = logger.level
    logger.setLevel(max(level, logging.ERROR))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        logger.setLevel(level)


class _RecordingTPEOracle(BudgetOracleMixin, DefaultsFirstMixin, ChiefOracleMixin, TPEOracle):
    """`TPEOracle` with kt_toolkit's hooks (what `TPESearch` builds)."""


class TPESearch(RecordingMixin, keras_tuner.Tuner):
    """TPE search (`TPEOracle`, Optuna's sampler), recording trials.

    Like every kt_toolkit tuner, its trial 0 is the space's defaults
    (`DefaultsFirstMixin`); that trial counts among the `num_initial_points`.

    Args:
        hypermodel: A `keras_tuner.HyperModel`.
        objective, max_trials, num_initial_points, seed, hyperparameters,
        tune_new_entries, allow_new_entries, max_retries_per_trial,
        max_consecutive_failed_trials:
            See `TPEOracle`.
        **kwargs: Passed to `RecordingMixin` (`run_dir`) and `keras_tuner.Tuner`.
    """

    oracle_class = _RecordingTPEOracle

    def __init__(self, hypermodel=None, objective=None, max_trials=10, num_initial_points=None,
                 seed=None, hyperparameters=None, tune_new_entries=True, allow_new_entries=True,
                 max_retries_per_trial=0, max_consecutive_failed_trials=3, **kwargs):
        super().__init__(
            hypermodel, objective=objective, max_trials=max_trials,
            num_initial_points=num_initial_points, seed=seed, hyperparameters=hyperparameters,
            tune_new_entries=tune_new_entries, allow_new_entries=allow_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials, **kwargs)
