"""The TensorFlow memory fix: no graph kept per trained model, the same numbers."""

import keras
import numpy as np
import pytest

pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                reason="the leak and its fix are TensorFlow's")


def _fit_once(seed=3):
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x[:128] / 16.0, y[:128], epochs=1, batch_size=32, verbose=0)
    return [w.copy() for w in model.get_weights()]


def _custom_gradients():
    from tensorflow.python.framework import ops

    return sum(1 for name in ops._gradient_registry._registry
               if name.startswith("CustomGradient-"))


def test_fits_leave_no_graph_behind_and_give_the_same_weights():
    from kt_toolkit.compat import keras as compat_keras

    # Keras's own method, also when an earlier test's tuner already installed the fix.
    compat_keras.uninstall_tf_memory_fix()
    before = _custom_gradients()
    unpatched = _fit_once()
    leaked = _custom_gradients() - before
    assert leaked > 0  # Keras as shipped: one registry entry (and graph) per trace

    assert compat_keras.install_tf_memory_fix()
    try:
        before = _custom_gradients()
        with compat_keras.trial_scope():  # what kt_toolkit's tuners hold around a trial
            for _ in range(3):
                patched = _fit_once()
        assert _custom_gradients() == before
        for a, b in zip(unpatched, patched):
            np.testing.assert_array_equal(a, b)
    finally:
        compat_keras.uninstall_tf_memory_fix()


def test_a_fit_outside_a_kt_toolkit_trial_runs_keras_own_method(monkeypatch):
    from keras.src.backend.tensorflow import optimizer as tf_optimizer

    from kt_toolkit.compat import keras as compat_keras

    compat_keras.uninstall_tf_memory_fix()
    calls = []
    keras_own = tf_optimizer.TFOptimizer._all_reduce_sum_gradients

    def spy(self, grads_and_vars):
        calls.append(1)
        return keras_own(self, grads_and_vars)

    monkeypatch.setattr(tf_optimizer.TFOptimizer, "_all_reduce_sum_gradients", spy)
    assert compat_keras.install_tf_memory_fix()  # wraps the spy as Keras's own
    try:
        before = _custom_gradients()
        _fit_once()  # a plain Keras fit, no kt_toolkit trial around it
        assert calls and _custom_gradients() > before  # Keras's code, Keras's registry entry
        calls.clear()
        with compat_keras.trial_scope():
            _fit_once()
        assert not calls
    finally:
        compat_keras.uninstall_tf_memory_fix()
