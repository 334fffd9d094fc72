"""Stops TensorFlow from keeping every trial's graph (~7 MB a trial); Keras 3.15, TF 2.21.

Measured (issue 6): on the TensorFlow backend a search's process grew ~7 MB per
trial, with KerasTuner's `clear_session()` + `gc.collect()` and in plain Keras
loops too. The cause is in Keras's TF optimizer: each traced `train_step` calls
`TFOptimizer._all_reduce_sum_gradients` (keras 3.15:
`keras.src.backend.tensorflow.optimizer`, called from `apply_gradients` at trace
time), which goes through `ReplicaContext.all_reduce`; that wraps the gradients
in a `tf.custom_gradient`, and every one registers a new `CustomGradient-N`
function in TensorFlow's global gradient registry, which is never emptied. The
registry holds the trace's graph, and the graph holds the model.

Without a `tf.distribute` strategy (one replica) the all-reduce is the identity,
so skipping it there changes no number (the search's scores are the same to the
last bit, `tests/tuners/test_memory.py`) and frees each trial's graph with its
model. With a strategy, Keras's own code runs unchanged.

Scope: `install_tf_memory_fix()` (called when a kt_toolkit tuner is built, never
at import) replaces the method on Keras's class by a function that takes the
shortcut only inside `trial_scope()`, which kt_toolkit's tuners hold around
each trial (`RecordingMixin.run_trial`), in that thread; any other fit in the
process, a plain KerasTuner search included, runs Keras's own method. Keras
versions without the method (a later refactor) get a warning and no fix.

This touches TensorFlow only where Keras already runs on it; JAX and PyTorch
runs never import it. Upstream: tensorflow/tensorflow#27492, #80895, #97697;
keras-team/tf-keras#898 purges the same registry entries in `clear_session`.
Tests: `tests/compat/test_keras.py`, `tests/tuners/test_memory.py`.
"""

import contextlib
import functools
import threading
import warnings

__all__ = ["in_trial_scope", "install_tf_memory_fix", "keras_all_reduce_sum_gradients",
           "trial_scope", "uninstall_tf_memory_fix"]

_METHOD = "_all_reduce_sum_gradients"
_INSTALLED = []  # [(TFOptimizer, Keras's own function)] once installed
_SCOPE = threading.local()


@contextlib.contextmanager
def trial_scope():
    """Marks this thread as running a kt_toolkit trial (nests)."""
    _SCOPE.depth = getattr(_SCOPE, "depth", 0) + 1
    try:
        yield
    finally:
        _SCOPE.depth -= 1


def in_trial_scope():
    """Whether this thread is inside `trial_scope()`."""
    return getattr(_SCOPE, "depth", 0) > 0


def _tf_optimizer_class():
    from keras.src.backend.tensorflow.optimizer import TFOptimizer

    return TFOptimizer


def keras_all_reduce_sum_gradients():
    """Keras's own `TFOptimizer._all_reduce_sum_gradients`, installed fix or not."""
    if _INSTALLED:
        return _INSTALLED[0][1]
    return getattr(_tf_optimizer_class(), _METHOD)


def install_tf_memory_fix():
    """Installs the scoped shortcut once; a no-op off the TensorFlow backend.

    Returns:
        Boolean, whether the fix is installed (now or before).
    """
    import keras

    if _INSTALLED:
        return True
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    cls = _tf_optimizer_class()
    original = cls.__dict__.get(_METHOD)
    if not callable(original):
        warnings.warn(f"Keras {keras.version()} has no TFOptimizer.{_METHOD} (kt_toolkit's "
                      "memory fix was written for Keras 3.15): TensorFlow may keep ~7 MB "
                      "per trial.", RuntimeWarning, stacklevel=2)
        return False

    @functools.wraps(original)
    def all_reduce_sum_gradients(self, grads_and_vars):
        if in_trial_scope() and not tf.distribute.has_strategy():
            return list(grads_and_vars)  # one replica: the sum is the gradient
        return original(self, grads_and_vars)

    setattr(cls, _METHOD, all_reduce_sum_gradients)
    _INSTALLED.append((cls, original))
    return True


def uninstall_tf_memory_fix():
    """Puts Keras's own method back (for tests)."""
    if _INSTALLED:
        cls, original = _INSTALLED.pop()
        setattr(cls, _METHOD, original)
