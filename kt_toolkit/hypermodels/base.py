"""`TunableModel`: what every kt_toolkit builder shares.

Knob declaration (a KerasTuner conditional scope per conditional knob), input
standardization, the task head and compile, and a `fit` that applies the
tuned batch size (E8), learning-rate schedule (E3) and class handling (E17).
"""

import contextlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import keras
import keras_tuner
import numpy as np

from kt_toolkit.data.streams import is_stream
from kt_toolkit.errors import invalid
from kt_toolkit.hypermodels import balance
from kt_toolkit.hypermodels.heads import (check_task, compile_arguments, is_integer,
                                          output_layer)
from kt_toolkit.hypermodels.metrics import objective_metric
from kt_toolkit.hypermodels.optimizers import make_optimizer
from kt_toolkit.config.space import register, resolve_space

if TYPE_CHECKING:
    from kt_toolkit.data.dataset import Dataset

__all__ = ["TunableModel"]


class TunableModel(keras_tuner.HyperModel):
    """Base class of the builders; subclasses set `knobs` and write `build_body`.

    Args:
        input_shape: Tuple of ints, the shape of one input sample.
        task: String, `"multiclass"`, `"binary"` or `"regression"`.
        num_classes: Integer, number of classes (needed for `"multiclass"`).
        space: Optional dict from knob name to a fixed value, a range
            `{min, max, step, sampling, default}` or choices `{values: [...]}`.
        feature_mean: Optional array, the training inputs' mean (F1).
        feature_variance: Optional array, their variance.
        target_mean: Optional float, a regression's training-target mean.
        target_std: Optional float, their standard deviation. Given (as
            `from_data` does), the linear output is followed by a fixed
            `Rescaling(scale=target_std, offset=target_mean)`: the network learns
            standardized targets while its predictions, loss and metrics stay in
            the data's units (targets of ~150 ± 77 otherwise start every trial far
            from the mean, and many trials never get there).
        discrete: Boolean, give unstepped float ranges a grid step (grid search).
        seed: Integer, for oversampling and balanced batches. Defaults to `0`.
        name: String, the model's name.
        mixed_precision: `None`, `"mixed_float16"` or `"mixed_bfloat16"`: Keras's
            dtype policy for the model's layers, the output layer (and a
            regression's target scaling) kept in float32. Defaults to `None`.
        jit_compile: Boolean, compile with XLA. Defaults to `False`.
        steps_per_execution: Integer >= 1, batches per compiled call. Defaults to `1`.
        objective: Optional string, `tuner.objective` as written
            (`"val_f1_score"`, `"mymetrics:func"`): a metric it names that the
            task's metrics do not include is compiled too
            (`kt_toolkit.hypermodels.metrics.objective_metric`). Defaults to `None`.
        module_dir: Optional string, the folder a custom metric's module is
            imported from. Defaults to `None`.
    """

    knobs = ()
    # Set by `from_data` from the `Dataset` (your own data): a `Rescaling` of raw
    # inputs (an image folder's 0-255 pixels), and a table's adapted FeatureSpace
    # (the model then takes a dict of raw columns and encodes them first).
    input_scale: float | None = None
    preprocessor: Any = None

    def __init__(self, input_shape: Sequence[int], *, task: str = "multiclass",
                 num_classes: int | None = None, space: Mapping[str, Any] | None = None,
                 feature_mean: np.ndarray | None = None,
                 feature_variance: np.ndarray | None = None,
                 target_mean: float | None = None, target_std: float | None = None,
                 discrete: bool = False,
                 seed: int = 0, name: str | None = None, mixed_precision: str | None = None,
                 jit_compile: bool = False, steps_per_execution: int = 1,
                 objective: str | None = None, module_dir: str | None = None) -> None:
        super().__init__(name=name or type(self).__name__.lower(), tunable=True)
        if not input_shape or not all(isinstance(d, (int, np.integer)) and d > 0
                                      for d in input_shape):
            raise invalid("input_shape", "a tuple of positive integers", input_shape)
        check_task(task, num_classes)
        if (feature_mean is None) != (feature_variance is None):
            raise invalid("feature_variance", "given together with feature_mean",
                          feature_variance)
        self.input_shape = tuple(int(d) for d in input_shape)
        self.task = task
        self.num_classes = int(num_classes) if is_integer(num_classes) else num_classes
        self.space = resolve_space(self.knobs, space, key="space", discrete=discrete)
        self.batch_size_from_space = "batch_size" in (space or {})
        self.seed = seed
        self.feature_mean = feature_mean
        self.feature_variance = feature_variance
        if (target_mean is None) != (target_std is None):
            raise invalid("target_std", "given together with target_mean", target_std)
        if target_std is not None and not (np.isfinite(target_std) and target_std > 0):
            raise invalid("target_std", "a positive finite number", target_std)
        # Hyperband's `max_epochs`, set by `kt_toolkit.tuners.build_tuner` (or by
        # hand with a stock `keras_tuner.Hyperband`): a trial's schedule spans it.
        self.planned_epochs: int | None = None
        # Set by kt_toolkit's tuners while a trial that ran out of GPU memory is
        # retried at half its batch size (`training.oom: halve_batch`).
        self.max_batch_size: int | None = None
        self.target_mean = None if target_mean is None else float(target_mean)
        self.target_std = None if target_std is None else float(target_std)
        if mixed_precision not in (None, "mixed_float16", "mixed_bfloat16"):
            raise invalid("mixed_precision", "None, 'mixed_float16' or 'mixed_bfloat16'",
                          mixed_precision)
        if not isinstance(jit_compile, bool):
            raise invalid("jit_compile", "True or False", jit_compile)
        if not is_integer(steps_per_execution) or steps_per_execution < 1:
            raise invalid("steps_per_execution", "an integer >= 1", steps_per_execution)
        self.mixed_precision = mixed_precision
        self.jit_compile = jit_compile
        self.steps_per_execution = int(steps_per_execution)
        self.objective, self.module_dir = objective, module_dir
        # A metric the objective names that cannot be made fails here, not in trial 0.
        objective_metric(objective, task, num_classes=self.num_classes, module_dir=module_dir)

    @classmethod
    def from_data(cls, data: "Dataset", **kwargs: Any) -> "TunableModel":
        """The builder for a `kt_toolkit.data.Dataset` (shape, task, statistics)."""
        if data.task == "regression" and len(data.y_train):
            std = float(np.std(data.y_train))
            kwargs.setdefault("target_mean", float(np.mean(data.y_train)))
            kwargs.setdefault("target_std", std if np.isfinite(std) and std > 0 else 1.0)
        hypermodel = cls(data.input_shape, task=data.task, num_classes=data.num_classes,
                         feature_mean=data.feature_mean,
                         feature_variance=data.feature_variance, **kwargs)
        hypermodel.input_scale = getattr(data, "input_scale", None)
        hypermodel.preprocessor = getattr(data, "preprocessor", None)
        return hypermodel

    def declare(self, hp: keras_tuner.HyperParameters) -> dict[str, Any]:
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

    def standardize(self, x: keras.KerasTensor, *,
                    flatten: bool = False) -> keras.KerasTensor:
        """Applies the training statistics inside the model (F1), if given."""
        if self.feature_mean is None:
            return x
        mean, variance = self.feature_mean, self.feature_variance
        if flatten:
            mean, variance = np.reshape(mean, (-1,)), np.reshape(variance, (-1,))
        axis = -1 if flatten or np.ndim(mean) <= 1 else tuple(range(1, np.ndim(mean) + 1))
        return keras.layers.Normalization(axis=axis, mean=mean, variance=variance,
                                          name="standardize")(x)

    @property
    def declares_whole_space(self) -> bool:
        """Whether `declare` registers every knob a build does (no model needed).

        True unless a subclass overrides `build` (and might register more there);
        `build_body` gets the values, not `hp`, so it cannot add knobs.
        """
        return type(self).build is TunableModel.build

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        values = self.declare(hp)
        with _dtype_policy(self.mixed_precision):
            inputs, x = self._inputs()
            x = self.build_body(x, values)
            # Softmax and the loss in float32: float16 logits overflow and underflow.
            outputs = output_layer(self.task, self.num_classes, dtype="float32")(x)
            if self.task == "regression" and self.target_std is not None:
                outputs = keras.layers.Rescaling(self.target_std, offset=self.target_mean,
                                                 name="target_scale", dtype="float32")(outputs)
            model = keras.Model(inputs, outputs, name=self.name)
        self.compile_model(model, values)
        return model

    def _inputs(self):
        """`(model inputs, the tensor the body starts from)`: raw inputs, rescaled
        (`input_scale`) or encoded by a table's FeatureSpace (`preprocessor`)."""
        if self.preprocessor is not None:
            return self.preprocessor.get_inputs(), self.preprocessor.get_encoded_features()
        inputs = keras.Input(shape=self.input_shape, name="inputs")
        if self.input_scale is None:
            return inputs, inputs
        return inputs, keras.layers.Rescaling(self.input_scale, name="rescale")(inputs)

    def build_body(self, inputs: keras.KerasTensor,
                   values: Mapping[str, Any]) -> keras.KerasTensor:
        """Subclasses: the layers from `inputs` to the last hidden tensor."""
        raise NotImplementedError

    def compile_model(self, model: keras.Model, values: Mapping[str, Any], *,
                      steps_per_epoch: int | None = None, epochs: int | None = None,
                      initial_step: int = 0) -> None:
        """Compiles with the trial's optimizer; a schedule needs the epoch length."""
        optimizer = make_optimizer(values, steps_per_epoch=steps_per_epoch, epochs=epochs,
                                   initial_step=initial_step)
        # A mixed_float16 model's optimizer gets Keras's loss scaling in compile.
        model.compile(optimizer=optimizer, jit_compile=self.jit_compile,
                      steps_per_execution=self.steps_per_execution,
                      **compile_arguments(self.task, self.objective,
                                          num_classes=self.num_classes,
                                          module_dir=self.module_dir))

    def fit(self, hp: keras_tuner.HyperParameters, model: keras.Model,
            x: np.ndarray | keras.utils.PyDataset | None = None, y: np.ndarray | None = None,
            *args: Any, **kwargs: Any) -> keras.callbacks.History:
        """Trains `model` with the trial's batch size, schedule and class handling.

        The `batch_size` knob wins when the space sets it (as `kt-toolkit` does
        from `training.batch_size`); otherwise the caller's `batch_size` stays.
        Class handling applies to the training part only: a `validation_split`
        is cut off first (Keras's rule: the last samples) and passed on as
        `validation_data`. A schedule is laid over the epochs this call runs.
        """
        values = self.declare(hp)
        kwargs["batch_size"] = self.fit_batch_size(hp, kwargs)
        streamed = is_stream(x)
        if values["class_balance"] != "none" and self.task != "regression" and x is not None:
            if streamed:  # its batches are made by the stream, not here
                raise ValueError(f"class_balance={values['class_balance']!r} needs arrays; "
                                 "this trial got a stream. Balance the classes in your "
                                 "loader, or fix class_balance to none in model.space.")
            x, y, kwargs = balance.apply(values["class_balance"], x, y, kwargs,
                                         seed=self.seed)
        if values["lr_schedule"] != "constant" and x is not None:
            self._compile_with_schedule(model, values, x, kwargs,
                                        budgeted="tuner/epochs" in hp.values)
        if streamed:  # a PyDataset or tf.data.Dataset is batched already
            kwargs.pop("batch_size")
            return model.fit(x, *args, **kwargs)
        return model.fit(x, y, *args, **kwargs)

    def fit_batch_size(self, hp: keras_tuner.HyperParameters,
                       fit_kwargs: Mapping[str, Any]) -> int:
        """The batch size `fit` trains with: the knob's or the caller's, at most
        `max_batch_size` (a trial retried after running out of GPU memory)."""
        values = self.declare(hp)
        batch = fit_kwargs.get("batch_size")
        if self.batch_size_from_space or batch is None:
            batch = values["batch_size"]
        return min(batch, self.max_batch_size) if self.max_batch_size else batch

    def _compile_with_schedule(self, model, values, x, kwargs, *, budgeted=False):
        if is_stream(x):
            try:
                steps = len(x)
            except TypeError:  # a tf.data.Dataset of unknown length
                raise ValueError("A learning-rate schedule needs the number of batches per "
                                 "epoch; this tf.data.Dataset does not know it. Give it "
                                 "`.apply(tf.data.experimental.assert_cardinality(n))`, or "
                                 "fix lr_schedule to constant in model.space.") from None
        else:
            samples = len(x) * (1.0 - kwargs.get("validation_split", 0.0))
            steps = max(1, int(np.ceil(samples / kwargs["batch_size"])))
        initial = kwargs.get("initial_epoch", 0)
        if budgeted and self.planned_epochs:
            # A Hyperband round: the schedule spans the trial's whole budget and a
            # continued trial picks it up where its last round ended (issue 17).
            epochs = max(self.planned_epochs, kwargs.get("epochs", 1))
            initial_step = initial * steps
        else:  # `initial_epoch` given by hand: the schedule spans what runs now
            epochs, initial_step = max(1, kwargs.get("epochs", 1) - initial), 0
        weights = model.get_weights()  # e.g. Hyperband's loaded checkpoint
        self.compile_model(model, values, steps_per_epoch=steps, epochs=epochs,
                           initial_step=initial_step)
        model.set_weights(weights)


@contextlib.contextmanager
def _dtype_policy(name: str | None):
    """Keras's global dtype policy set to `name` while a model is built (`None`: as is)."""
    if name is None:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
