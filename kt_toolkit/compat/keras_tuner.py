"""Small workarounds for KerasTuner 1.4.x internals (written for keras-tuner 1.4.8).

Nothing here imports KerasTuner at module level (`kt_toolkit.compat` is imported
by the command line, which must not load TensorFlow): each function imports what
it needs, or works on an object it is given. The tests are in
`tests/compat/test_keras_tuner.py`.

The bigger workarounds: `hooks.py` (what kt_toolkit's oracles and tuners
override), `chief.py` (KerasTuner's gRPC service), `keras.py` (Keras's TF optimizer).
"""

import contextlib
import logging
import os
import re
import sys
import tempfile
import warnings

__all__ = ["activate_all_conditions", "active_values", "filtered_native_logs", "first_values",
           "is_consecutive_failure", "quiet_backends", "set_oracle_seed", "tried_hashes",
           "values_hash", "was_tried"]

# KerasTuner's `Oracle._check_consecutive_failures` raises a bare RuntimeError
# whose text is the only way to tell it from other errors (1.4.8:
# "Number of consecutive failures exceeded the limit of N.\n<last message>").
# Test: test_consecutive_failure_error_is_recognised.
_CONSECUTIVE_FAILURES = "consecutive failures"


def is_consecutive_failure(error: BaseException) -> bool:
    """Whether `error` is KerasTuner's "too many consecutive failed trials" stop."""
    return isinstance(error, RuntimeError) and _CONSECUTIVE_FAILURES in str(error)


def quiet_backends() -> None:
    """Silences TensorFlow's C++ logs, Keras's user warnings and KerasTuner's tracebacks.

    KerasTuner prints every failed trial's traceback while its module-level
    `keras_tuner.src.config.DEBUG` is set (1.4.8; no public switch); `trials.csv`
    keeps the reason. Test: test_quiet_backends_turns_keras_tuner_debug_off.
    Importing KerasTuner imports the backend: what TensorFlow's C++ code writes
    meanwhile goes through `filtered_native_logs`.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", category=UserWarning, module="keras")
    logging.getLogger("absl").setLevel(logging.ERROR)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    with filtered_native_logs():
        from keras_tuner.src import config as keras_tuner_config

    keras_tuner_config.DEBUG = False


# TensorFlow 2.21's C++ code logs through absl, which writes to file descriptor 2,
# ignoring TF_CPP_MIN_LOG_LEVEL, until absl's logging is initialized: `import
# tensorflow` prints "WARNING: All log messages before absl::InitializeLog() is called
# are written to STDERR", then "I0000 … port.cc:153] oneDNN custom operations are on …"
# and "I0000 … cudart_stub.cc:31] Could not find cuda drivers …", twice (two shared
# libraries). Python's `sys.stderr` cannot catch them: they bypass it.
_ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called"
_ABSL_SEVERITY = re.compile(r"([IWEF])\d{4} ")  # absl's line prefix: severity, then MMDD


def _is_below_level(line, level):
    """Whether TF_CPP_MIN_LOG_LEVEL `level` (1: no INFO, 2: no WARNING, 3: no ERROR)
    hides this line of native output."""
    if line.startswith(_ABSL_PREAMBLE):
        return level >= 1
    match = _ABSL_SEVERITY.match(line)
    return bool(match) and "IWEF".index(match.group(1)) < level


@contextlib.contextmanager
def filtered_native_logs():
    """Applies TF_CPP_MIN_LOG_LEVEL to what is written to file descriptor 2 in the block.

    For the block, descriptor 2 goes to a temporary file; afterwards (an exception
    included) it is restored and every line that the level does not hide is written
    to `sys.stderr`: a Python warning, an absl line at or above the level, anything
    else. Wrap the import of the backend in it, nothing longer: output appears only
    when the block ends. Test: test_filtered_native_logs_keeps_what_the_level_allows.
    """
    try:
        level = int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        level = 0
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (AttributeError, OSError, ValueError):  # no descriptor 2 (pythonw, a service)
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(AttributeError, OSError, ValueError):
                sys.stderr.flush()  # Python's own writes in the block go to the file too
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode("utf-8", "replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not _is_below_level(line, level))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


def set_oracle_seed(oracle, seed):
    """Sets a KerasTuner oracle's seed, `0` included.

    KerasTuner 1.4.8's `Oracle.__init__` sets `self.seed = seed or random.randint(...)`
    (a seed of 0 becomes a random one) and starts its private `_seed_state` (where
    `_random_values` continues, saved in `oracle.json` as `seed_state`) from it.
    Test: test_set_oracle_seed_keeps_zero_and_the_saved_seed_state.
    """
    oracle.seed = seed
    oracle._seed_state = seed


def values_hash(oracle, values):
    """The hash a KerasTuner oracle records for a dict of active values.

    KerasTuner 1.4.8 keeps the hash of every trial's values in `_tried_so_far`,
    computed by `_compute_values_hash` (Hyperband's leaves its `tuner/` keys out).
    Test: test_tried_values_are_recognised_by_their_hash.
    """
    return oracle._compute_values_hash(values)


def tried_hashes(oracle):
    """The (live) set of hashes of the values a KerasTuner oracle has handed out."""
    return oracle._tried_so_far


def was_tried(oracle, values):
    """Whether a trial with exactly these active values was created (1.4.8 `_duplicate`)."""
    return values_hash(oracle, values) in tried_hashes(oracle)


def active_values(space, sample):
    """The values of the knobs of `space` that are active, filled in declaration order.

    `sample(hp)` gives a tunable knob's value, a `Fixed` one keeps its own; a
    conditional knob counts only when the values chosen before it activate it
    (1.4.8's `Oracle._random_values` walks the space the same way).
    """
    from keras_tuner.engine import hyperparameters as hp_module

    hps = hp_module.HyperParameters()
    for hp in space:
        hps.merge([hp])
        if hps.is_active(hp):
            hps.values[hp.name] = (hp.value if isinstance(hp, hp_module.Fixed)
                                   else sample(hp))
    return hps.values


def first_values(oracle):
    """The space's default values for a search's first trial, else `None`.

    The defaults are the practitioners' first tries (`Knob.default`): a search that
    starts there has a sound baseline after one trial. `None` once the oracle has
    any trial (1.4.8's `create_trial` numbers a new trial `len(oracle.trials)` and
    adds it only after `populate_space`) or when those values were tried already.
    Test: test_trial_zero_is_the_default_configuration.
    """
    if oracle.trials:
        return None
    values = active_values(oracle.hyperparameters.space, lambda hp: hp.default)
    if not values or was_tried(oracle, values):
        return None
    return values


def activate_all_conditions(oracle, declare):
    """KerasTuner's search for every conditional knob, with `declare` instead of a build.

    KerasTuner 1.4.8's `BaseTuner._activate_all_conditions` builds the hypermodel
    again and again, each time with one more condition switched on, until every
    conditional scope has been active once (26 model builds, about a second, for
    kt_toolkit's MLP space, before trial 0 can start). `declare(hp)` registers the
    knobs without building; this is the same loop around it.
    Test: test_activate_all_conditions_declares_the_space_a_build_does.
    """
    import copy

    never_active, once_active = [], []
    hp = oracle.get_space()
    while True:
        declare(hp)
        oracle.update_space(hp)
        for conditions in hp.active_scopes:
            if conditions not in once_active:
                once_active.append(copy.deepcopy(conditions))
            if conditions in never_active:
                never_active.remove(conditions)
        for conditions in hp.inactive_scopes:
            if conditions not in once_active:
                never_active.append(copy.deepcopy(conditions))
        if not never_active:
            return
        hp = oracle.get_space()
        for condition in never_active[0]:
            hp.values[condition.name] = condition.values[0]
        hp.ensure_active_values()
