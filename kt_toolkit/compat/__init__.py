"""The one fence around KerasTuner's and Keras's private internals.

Only code in this package imports `keras_tuner.src` / `keras.src`, reads or sets
a private attribute of a KerasTuner or Keras object, or patches a module. Each
workaround says why, which version it was written for, and has a test in
`tests/compat/` that fails when an upgrade changes what it relies on.
"""

from kt_toolkit.compat.keras_tuner import is_consecutive_failure, quiet_backends

__all__ = ["is_consecutive_failure", "quiet_backends"]
