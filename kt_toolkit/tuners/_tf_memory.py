"""Stops TensorFlow from keeping every trained model's graph (~7 MB a trial).

Measured (issue 6): on the TensorFlow backend a search's process grew ~7 MB per
trial, with KerasTuner's `clear_session()` + `gc.collect()` and in plain Keras
loops too. The cause is in Keras's TF optimizer: each traced `train_step` calls
`_all_reduce_sum_gradients`, which goes through `ReplicaContext.all_reduce`; that
wraps the gradients in a `tf.custom_gradient`, and every one registers a new
`CustomGradient-N` function in TensorFlow's global gradient registry, which is never
emptied. The registry holds the trace's graph, and the graph holds the model.

Without a `tf.distribute` strategy (one replica) the all-reduce is the identity, so
skipping it there changes no number (the search's scores are the same to the last
bit, `tests/tuners/test_memory.py`) and frees each trial's graph with its model.
With a strategy, Keras's own code runs unchanged.

This touches TensorFlow only where Keras already runs on it; JAX and PyTorch runs
never import it. Upstream: tensorflow/tensorflow#27492, #80895, #97697;
keras-team/tf-keras#898 purges the same registry entries in `clear_session`.
"""

import functools

__all__ = ["install"]

_INSTALLED = []


def install():
    """Patches Keras's TF optimizer once; a no-op off the TensorFlow backend."""
    import keras

    if _INSTALLED or keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf
    from keras.src.backend.tensorflow import optimizer as tf_optimizer

    original = tf_optimizer.TFOptimizer._all_reduce_sum_gradients

    @functools.wraps(original)
    def all_reduce_sum_gradients(self, grads_and_vars):
        if not tf.distribute.has_strategy():  # one replica: the sum is the gradient
            return list(grads_and_vars)
        return original(self, grads_and_vars)

    tf_optimizer.TFOptimizer._all_reduce_sum_gradients = all_reduce_sum_gradients
    _INSTALLED.append(original)
