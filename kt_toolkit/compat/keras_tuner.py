"""Workarounds for KerasTuner 1.4.x internals (written against 1.4.8)."""

import logging
import os
import warnings

__all__ = ["is_consecutive_failure", "quiet_backends"]

# KerasTuner's `Oracle._check_consecutive_failures` raises a bare RuntimeError
# whose text is the only way to tell it from other errors (1.4.8:
# "Number of consecutive failures exceeded the limit of N.").
_CONSECUTIVE_FAILURES = "consecutive failures"


def is_consecutive_failure(error: BaseException) -> bool:
    """Whether `error` is KerasTuner's "too many consecutive failed trials" stop."""
    return isinstance(error, RuntimeError) and _CONSECUTIVE_FAILURES in str(error)


def quiet_backends() -> None:
    """Silences TensorFlow's C++ logs, Keras's user warnings and KerasTuner's tracebacks.

    KerasTuner prints every failed trial's traceback while its module-level
    `keras_tuner.src.config.DEBUG` is set; `trials.csv` keeps the reason.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", category=UserWarning, module="keras")
    logging.getLogger("absl").setLevel(logging.ERROR)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    from keras_tuner.src import config as keras_tuner_config

    keras_tuner_config.DEBUG = False
