"""The one fence around KerasTuner's and Keras's private internals.

Only code in this package imports `keras_tuner.src` / `keras.src`, reads or sets
a private attribute of a KerasTuner or Keras object, overrides a private method
of a KerasTuner class, or patches a module. Each workaround says why and which
version it was written for (keras-tuner 1.4.8, Keras 3.15, TensorFlow 2.21), and
has a test in `tests/compat/` that fails when an upgrade changes what it relies on.

Nothing is patched at import. The modules:

- `keras_tuner`: KerasTuner's consecutive-failure error, its debug tracebacks,
  the oracle's seed and tried-values hashes (light: no KerasTuner import).
- `hooks`: `OracleHooks` / `TunerHooks`, mixed into kt_toolkit's own oracle and
  tuner classes (atomic state files, a lock released on error, public names
  for KerasTuner's private hooks).
- `chief`: KerasTuner's gRPC oracle service and a one-call client.
- `keras`: the TensorFlow memory fix, installed when a kt_toolkit tuner is built
  and active only inside kt_toolkit's trials.
- `checkpoint`: the best epoch's weights kept in memory and written once per
  trial, in place of KerasTuner's write at every better epoch.
- `collection`: KerasTuner's garbage collection before every build, made to
  visit only what the search created (the heap of before it is frozen).
- `devices`: the device a process trains on (for `meta.json`), and PyTorch's
  per-process share of a GPU that several workers share.
- `version`: the tested keras-tuner range; importing this package warns once
  (`UntestedVersionWarning`) outside it.
"""

from kt_toolkit.compat.keras_tuner import is_consecutive_failure, quiet_backends
from kt_toolkit.compat.version import (TESTED_KERAS_TUNER, UntestedVersionWarning,
                                       check_keras_tuner_version)

__all__ = ["TESTED_KERAS_TUNER", "UntestedVersionWarning", "check_keras_tuner_version",
           "is_consecutive_failure", "quiet_backends"]

check_keras_tuner_version()
