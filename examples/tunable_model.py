"""A `kt_toolkit.hypermodels.TunableModel` subclass: your layers, kt_toolkit's rest.

    kt-toolkit tune examples/tunable_model.yaml

Declare knobs and write `build_body`; the input standardization, the task's
output layer, the optimizer, schedules, batch size and class balance come from
`TunableModel`, with the same PRACTICES priors as the registered builders.
"""

import keras

from kt_toolkit.config.knobs import optimizer_knobs
from kt_toolkit.config.space import Knob
from kt_toolkit.hypermodels import TunableModel


class WideAndDeep(TunableModel):
    """A wide (linear) path beside a deep one, added before the output layer."""

    knobs = (
        Knob("depth", "int", 1, help="hidden layers of the deep path",
             min_value=1, max_value=3, lower=(1, True)),
        Knob("width", "int", 64, help="units of each hidden layer",
             values=(32, 64, 128), lower=(1, True)),
    ) + optimizer_knobs()

    def build_body(self, inputs, values):
        x = keras.layers.Flatten()(self.standardize(inputs))
        deep = x
        for _ in range(values["depth"]):
            deep = keras.layers.Dense(values["width"], activation="relu")(deep)
        wide = keras.layers.Dense(values["width"])(x)
        return keras.layers.Add()([deep, wide])
