"""`HyperMLP`: a fully connected network whose search space is the PRACTICES priors."""

import keras
import keras_tuner
import numpy as np

from kt_toolkit.errors import invalid
from kt_toolkit.hypermodels.heads import check_task, compile_arguments, output_layer
from kt_toolkit.hypermodels.knobs import MLP_KNOBS
from kt_toolkit.hypermodels.optimizers import make_optimizer, make_regularizer
from kt_toolkit.hypermodels.space import register, resolve_space

__all__ = ["HyperMLP"]


class HyperMLP(keras_tuner.HyperModel):
    """A multilayer perceptron as a KerasTuner `HyperModel`.

    Tunes the number of hidden layers, their units, activation, dropout, L1/L2
    penalty, kernel initializer, batch norm, the optimizer and a log-scale
    learning rate. Each knob's default range and first value come from the
    practices (see `kt_toolkit.hypermodels.knobs.MLP_KNOBS` and the README).
    The output layer, loss and metrics follow `task`. Inputs of any shape are
    flattened; when `feature_mean`/`feature_variance` are given, a
    `Normalization` layer standardizes them inside the model (F1), so a saved
    model takes raw inputs.

    Example:

    ```python
    import keras_tuner
    from sklearn.datasets import load_digits
    from kt_toolkit.hypermodels import HyperMLP

    x, y = load_digits(return_X_y=True)
    hypermodel = HyperMLP(input_shape=(64,), num_classes=10,
                          space={"num_layers": 1, "dropout": 0.5})
    tuner = keras_tuner.RandomSearch(hypermodel, objective="val_accuracy",
                                     max_trials=2, directory="/tmp/kt_example")
    tuner.search(x / 16.0, y, validation_split=0.2, epochs=2, verbose=0)
    ```

    Args:
        input_shape: Tuple of ints, the shape of one input sample.
        task: String, `"multiclass"`, `"binary"` or `"regression"`. Defaults to
            `"multiclass"`.
        num_classes: Integer, number of classes (needed for `"multiclass"`).
        space: Optional dict from knob name to a fixed value, a range
            `{min, max, step, sampling, default}` or choices `{values: [...]}`.
        feature_mean: Optional array of the training inputs' mean (shape
            `input_shape`), fitted on training data only.
        feature_variance: Optional array of their variance (same shape).
        discrete: Boolean, gives unstepped default float ranges a grid step, for
            grid search. Defaults to `False`.
        name: String, the model's name. Defaults to `"hyper_mlp"`.

    Raises:
        ConfigError: (a `ValueError`) for a bad task, class count or space.
    """

    knobs = MLP_KNOBS

    def __init__(self, input_shape, *, task="multiclass", num_classes=None, space=None,
                 feature_mean=None, feature_variance=None, discrete=False,
                 name="hyper_mlp"):
        super().__init__(name=name, tunable=True)
        if not input_shape or not all(isinstance(d, (int, np.integer)) and d > 0
                                      for d in input_shape):
            raise invalid("input_shape", "a tuple of positive integers", input_shape)
        check_task(task, num_classes)
        if (feature_mean is None) != (feature_variance is None):
            raise invalid("feature_variance", "given together with feature_mean",
                          feature_variance)
        self.input_shape = tuple(int(d) for d in input_shape)
        self.task = task
        self.num_classes = num_classes
        self.space = resolve_space(self.knobs, space, key="space", discrete=discrete)
        self.feature_mean = feature_mean
        self.feature_variance = feature_variance

    def declare(self, hp):
        """Registers every knob on `hp`; returns a dict of this trial's values.

        Conditional knobs (e.g. `momentum` under `optimizer=sgd`) are declared in
        a KerasTuner conditional scope and are `None` when inactive.
        """
        values = {}
        for knob in self.knobs:
            spec = self.space[knob.name]
            if knob.parent is None:
                values[knob.name] = register(hp, knob, spec)
                continue
            parent, parent_values = knob.parent
            with hp.conditional_scope(parent, list(parent_values)):
                values[knob.name] = register(hp, knob, spec)
        return values

    def build(self, hp):
        values = self.declare(hp)
        inputs = keras.Input(shape=self.input_shape, name="inputs")
        x = keras.layers.Flatten(name="flatten")(inputs) if len(self.input_shape) > 1 else inputs
        if self.feature_mean is not None:
            x = keras.layers.Normalization(
                mean=np.reshape(self.feature_mean, (-1,)),
                variance=np.reshape(self.feature_variance, (-1,)), name="standardize")(x)
        x = self._hidden_layers(x, values)
        outputs = output_layer(self.task, self.num_classes)(x)
        model = keras.Model(inputs, outputs, name=self.name)
        optimizer = make_optimizer(values["optimizer"], values["learning_rate"],
                                   momentum=values.get("momentum"))
        model.compile(optimizer=optimizer, **compile_arguments(self.task))
        return model

    def _hidden_layers(self, x, values):
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
