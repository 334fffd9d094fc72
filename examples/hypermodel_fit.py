"""A `keras_tuner.HyperModel` subclass with its own `fit`.

    kt-toolkit tune examples/hypermodel_fit.yaml

`__init__` may take `input_shape`, `num_classes` and `task`: kt_toolkit passes
those it accepts, from the data. `fit` is honoured as KerasTuner honours it:
here it tunes the batch size and whether to shuffle.
"""

import keras
import keras_tuner


class ShuffledMLP(keras_tuner.HyperModel):
    """An MLP whose training loop (batch size, shuffling) is tuned too."""

    def __init__(self, input_shape, num_classes):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.num_classes = num_classes

    def build(self, hp):
        model = keras.Sequential([
            keras.Input(self.input_shape),
            keras.layers.Rescaling(1 / 16),  # the digits' pixels are 0..16
            keras.layers.Dense(hp.Int("units", 32, 128, step=32), activation="relu"),
            keras.layers.Dense(self.num_classes, activation="softmax"),
        ])
        model.compile(optimizer=keras.optimizers.Adam(hp.Choice("learning_rate",
                                                                [1e-3, 3e-3, 1e-2])),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    def fit(self, hp, model, *args, **kwargs):
        kwargs["batch_size"] = hp.Choice("batch_size", [16, 32, 64])
        return model.fit(*args, shuffle=hp.Boolean("shuffle", default=True), **kwargs)
