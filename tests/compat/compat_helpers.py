"""Tiny KerasTuner pieces for the compat tests: a hypermodel, data, a project directory."""

import numpy as np


def tiny_hypermodel():
    """A `keras_tuner.HyperModel`: 4 inputs, one Dense layer of 4 or 8 units, 2 classes."""
    import keras
    import keras_tuner

    class Tiny(keras_tuner.HyperModel):
        def build(self, hp):
            model = keras.Sequential([
                keras.Input((4,)),
                keras.layers.Dense(hp.Choice("units", [4, 8]), activation="relu"),
                keras.layers.Dense(2, activation="softmax")])
            model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
            return model

    return Tiny()


def tiny_data():
    """`(x, y)`: 32 samples of 4 features, 2 classes."""
    rng = np.random.default_rng(0)
    return rng.random((32, 4)).astype("float32"), rng.integers(0, 2, 32)


def space(values=100):
    """A search space with one integer knob of `values` values."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    hp.Int("x", 0, values - 1)
    return hp


def in_project(oracle, directory, project="project"):
    """Gives a bare oracle a project directory, as `BaseTuner.__init__` does."""
    oracle._set_project_dir(str(directory), project)
    oracle.verbose = 0
    return oracle


def end(oracle, trial, status, **metrics):
    """Ends `trial` with `status` (reporting `metrics` first), as a tuner does."""
    if metrics:
        oracle.update_trial(trial.trial_id, metrics)
    trial.status = status
    oracle.end_trial(trial)
