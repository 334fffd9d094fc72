"""A plain `build(hp)` function: the simplest model of your own.

    kt-toolkit tune examples/build_function.yaml

Every `hp.*` call declares a hyperparameter; kt_toolkit finds them by building
once, and `model.space` in the YAML can fix or re-range any of them by name.
"""

import keras


def build(hp):
    """A small MLP for the 8x8 digits (64 features, 10 classes)."""
    model = keras.Sequential([keras.Input((64,)), keras.layers.Rescaling(1 / 16)])  # pixels 0..16
    for _ in range(hp.Int("num_layers", 1, 2)):
        model.add(keras.layers.Dense(hp.Choice("units", [32, 64, 128]), activation="relu"))
    model.add(keras.layers.Dropout(hp.Float("dropout", 0.0, 0.4, step=0.1)))
    model.add(keras.layers.Dense(10, activation="softmax"))
    learning_rate = hp.Float("learning_rate", 1e-3, 1e-2, sampling="log")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
