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


def test_fits_leave_no_graph_behind_and_give_the_same_weights(monkeypatch):
    from keras.src.backend.tensorflow import optimizer as tf_optimizer

    from kt_toolkit.tuners import _tf_memory

    # Keras's own method, also when an earlier test's tuner already installed the fix.
    original = (_tf_memory._INSTALLED or [tf_optimizer.TFOptimizer._all_reduce_sum_gradients])[0]
    monkeypatch.setattr(_tf_memory, "_INSTALLED", [])
    monkeypatch.setattr(tf_optimizer.TFOptimizer, "_all_reduce_sum_gradients", original)
    before = _custom_gradients()
    unpatched = _fit_once()
    leaked = _custom_gradients() - before
    assert leaked > 0  # Keras as shipped: one registry entry (and graph) per trace

    _tf_memory.install()
    before = _custom_gradients()
    for _ in range(3):
        patched = _fit_once()
    assert _custom_gradients() == before
    for a, b in zip(unpatched, patched):
        np.testing.assert_array_equal(a, b)
