"""kt_toolkit.compat.keras: what the TensorFlow memory fix relies on in Keras 3.15, its
scope, and that importing kt_toolkit patches nothing."""

import inspect
import os
import subprocess
import sys
import threading

import keras
import pytest

from kt_toolkit.compat import keras as compat_keras

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
tensorflow_only = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                     reason="the fix is TensorFlow's")


@tensorflow_only
def test_keras_tf_optimizer_has_the_method_the_fix_replaces():
    from keras.src.backend.tensorflow.optimizer import TFOptimizer

    compat_keras.uninstall_tf_memory_fix()
    method = TFOptimizer.__dict__["_all_reduce_sum_gradients"]
    assert list(inspect.signature(method).parameters) == ["self", "grads_and_vars"]
    # Called by apply_gradients (at trace time) in Keras 3.15.
    assert "self._all_reduce_sum_gradients(" in inspect.getsource(TFOptimizer)


@tensorflow_only
def test_the_shortcut_is_the_identity_and_only_inside_a_trial_scope():
    import tensorflow as tf
    from keras.src.backend.tensorflow.optimizer import TFOptimizer

    compat_keras.uninstall_tf_memory_fix()
    keras_own = TFOptimizer._all_reduce_sum_gradients
    assert compat_keras.install_tf_memory_fix()
    try:
        assert compat_keras.install_tf_memory_fix()  # once
        assert compat_keras.keras_all_reduce_sum_gradients() is keras_own
        variable = tf.Variable([1.0, 2.0])
        pairs = [(tf.constant([0.5, -1.0]), variable)]
        optimizer = keras.optimizers.SGD()
        outside = optimizer._all_reduce_sum_gradients(pairs)  # Keras's own
        with compat_keras.trial_scope():
            assert compat_keras.in_trial_scope()
            inside = optimizer._all_reduce_sum_gradients(iter(pairs))
            seen = []
            other = threading.Thread(target=lambda: seen.append(compat_keras.in_trial_scope()))
            other.start()
            other.join()
            assert seen == [False]  # the scope is this thread's
        assert not compat_keras.in_trial_scope()
        assert isinstance(inside, list) and inside == pairs
        assert [g.numpy().tolist() for g, _ in outside] == [[0.5, -1.0]]
    finally:
        compat_keras.uninstall_tf_memory_fix()
    assert TFOptimizer._all_reduce_sum_gradients is keras_own


def test_importing_kt_toolkit_patches_nothing():
    code = (
        "import kt_toolkit.compat, kt_toolkit.tuners, kt_toolkit.experiment\n"
        "import keras_tuner.src.utils as utils\n"
        "from keras_tuner.src.engine import stateful\n"
        "assert utils.save_json.__module__ == 'keras_tuner.src.utils'\n"
        "assert stateful.utils.save_json is utils.save_json\n"
        "import keras\n"
        "if keras.backend.backend() == 'tensorflow':\n"
        "    from keras.src.backend.tensorflow.optimizer import TFOptimizer\n"
        "    method = TFOptimizer._all_reduce_sum_gradients\n"
        "    assert method.__module__ == 'keras.src.backend.tensorflow.optimizer', method\n"
        "from kt_toolkit.compat import keras as compat_keras\n"
        "assert not compat_keras._INSTALLED\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=REPO, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert done.returncode == 0, done.stderr[-3000:]
