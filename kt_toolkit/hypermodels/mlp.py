"""`HyperMLP`: a fully connected network whose search space is the PRACTICES priors."""

from collections.abc import Mapping, Sequence
from typing import Any

import keras

from kt_toolkit.hypermodels.base import TunableModel
from kt_toolkit.config.knobs import MLP_KNOBS
from kt_toolkit.hypermodels.optimizers import make_regularizer

__all__ = ["HyperMLP"]


class HyperMLP(TunableModel):
    """A multilayer perceptron as a KerasTuner `HyperModel`.

    Tunes the number of hidden layers, their units, activation, dropout, L1/L2
    penalty, kernel initializer, batch norm, and the shared optimizer space
    (optimizer, log-scale learning rate, schedule, clipping, batch size). Each
    knob's default range and first value come from the practices (see
    `kt_toolkit.config.knobs.MLP_KNOBS` and the README). The output layer,
    loss and metrics follow `task`. Inputs of any shape are flattened; with
    `feature_mean`/`feature_variance` a `Normalization` layer standardizes them
    inside the model (F1), so a saved model takes raw inputs.

    Example:

    ```python
    import keras_tuner
    from sklearn.datasets import load_digits
    from kt_toolkit.hypermodels import HyperMLP

    x, y = load_digits(return_X_y=True)
    hypermodel = HyperMLP((64,), num_classes=10, space={"num_layers": 1, "dropout": 0.5})
    tuner = keras_tuner.RandomSearch(hypermodel, objective="val_accuracy",
                                     max_trials=2, directory="/tmp/kt_example")
    tuner.search(x / 16.0, y, validation_split=0.2, epochs=2, verbose=0)
    ```

    Args: see `kt_toolkit.hypermodels.base.TunableModel`.
    """

    knobs = MLP_KNOBS

    def __init__(self, input_shape: Sequence[int], *, name: str = "hyper_mlp",
                 **kwargs: Any) -> None:
        super().__init__(input_shape, name=name, **kwargs)

    def build_body(self, inputs: keras.KerasTensor,
                   values: Mapping[str, Any]) -> keras.KerasTensor:
        x = keras.layers.Flatten(name="flatten")(inputs) if len(self.input_shape) > 1 else inputs
        x = self.standardize(x, flatten=True)
        for index in range(values["num_layers"]):
            x = keras.layers.Dense(
                values["units"],
                kernel_initializer=values["kernel_initializer"],
                kernel_regularizer=make_regularizer(values["regularizer"], l1=values["l1"],
                                                    l2=values["l2"]),
                name=f"dense_{index}",
            )(x)
            if values["batch_norm"]:
                x = keras.layers.BatchNormalization(name=f"batch_norm_{index}")(x)
            x = keras.layers.Activation(values["activation"], name=f"activation_{index}")(x)
            if values["dropout"] > 0:
                x = keras.layers.Dropout(values["dropout"], name=f"dropout_{index}")(x)
        return x
