"""kt_toolkit.compat.collection: the collection KerasTuner 1.4.8 runs before every build, and
that a heap frozen at the search's start still frees each trial's model."""

import gc
import inspect
import weakref

import keras
import keras_tuner
import pytest
from compat_helpers import tiny_data

from kt_toolkit.compat.collection import collect_young_only


def test_keras_tuner_collects_garbage_before_every_build():
    try_build = inspect.getsource(keras_tuner.Tuner._try_build)
    assert "keras.backend.clear_session()" in try_build and "gc.collect()" in try_build
    from keras.src.backend.common import global_state

    clear = inspect.signature(global_state.clear_session).parameters
    assert clear["free_memory"].default is True  # Keras 3.15: a full collection too
    assert "gc.collect()" in inspect.getsource(global_state.clear_session)


def test_the_heap_is_frozen_once_and_given_back():
    assert gc.get_freeze_count() == 0
    with collect_young_only() as frozen:
        assert frozen and gc.get_freeze_count() > 0
        with collect_young_only() as nested:
            assert not nested  # left as it is
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
    gc.freeze()  # a process that froze objects itself
    try:
        with collect_young_only() as frozen:
            assert not frozen
    finally:
        gc.unfreeze()


def _fit_tiny():
    x, y = tiny_data()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    return weakref.ref(model)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="the memory fix is TensorFlow's")
def test_in_a_frozen_heap_each_build_still_frees_the_previous_model():
    from kt_toolkit.compat import keras as compat_keras

    from tensorflow.python.framework import ops

    def custom_gradients():  # TensorFlow's registry of traced graphs (see compat/keras.py)
        return sum(1 for name in ops._gradient_registry._registry
                   if name.startswith("CustomGradient-"))

    compat_keras.install_tf_memory_fix()
    models, before = [], custom_gradients()
    with collect_young_only(), compat_keras.trial_scope():
        for _ in range(3):
            keras.backend.clear_session()  # as KerasTuner before a build: the collections
            gc.collect()
            assert all(model() is None for model in models)  # the last trial's is freed
            models.append(_fit_tiny())
    gc.collect()
    assert all(model() is None for model in models)
    assert custom_gradients() == before  # the memory fix holds: no graph kept
