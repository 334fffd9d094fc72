"""Model checks (C6, B5): layer shapes, outputs, the loss at initialization, and
whether the default configuration can memorize a tiny subset.

`memorize` trains a built model on a few samples for a bounded number of epochs
(passes over the subset), looking at the training score in inference mode
after every `PASSES_PER_FIT_EPOCH` passes and stopping once it reaches the goal:
`ACCURACY_GOAL` (0.98) training accuracy, or a training MSE at most
`REGRESSION_GOAL` (0.02) times the variance of the targets. Keras sees the
subset repeated `PASSES_PER_FIT_EPOCH` times per epoch: its per-epoch overhead
would otherwise dominate such tiny epochs.

`loss_symptoms` reads a run's loss, starting from the loss before training:
NaN/inf; rising (the last above `RISE_RATIO` (1.25) times the first, or any
above `RISE_FACTOR` (10) times it); stalled (the goal not reached and the last
above `STALL_RATIO` (0.9) times the first); or still improving (the mean loss
of the last fifth of the checks `IMPROVING_RATIO` (5 %) below the fifth
before, or the training score better than a fifth ago).
"""

import dataclasses
import math
from typing import TYPE_CHECKING

import keras
import keras_tuner
import numpy as np

from kt_toolkit.checks.report import Finding

if TYPE_CHECKING:
    from kt_toolkit.data.dataset import Dataset

__all__ = ["Trace", "build_default", "initial_loss_finding", "layers_finding",
           "loss_symptoms", "memorize", "outputs_finding", "predict"]

PASSES_PER_FIT_EPOCH = 10
ACCURACY_GOAL = 0.98
REGRESSION_GOAL = 0.02
RISE_FACTOR = 10.0
RISE_RATIO = 1.25
STALL_RATIO = 0.9
IMPROVING_RATIO = 0.95
PROBABILITY_TOLERANCE = 1e-3
INITIAL_LOSS_RANGE = (0.5, 1.5)  # times ln(K): a K-class softmax at initialization


def build_default(hypermodel: keras_tuner.HyperModel, *, seed: int,
                  hp: keras_tuner.HyperParameters | None = None
                  ) -> tuple[keras_tuner.HyperParameters, keras.Model]:
    """Builds the space's default configuration (or `hp`'s); returns `(hp, model)`."""
    hp = hp if hp is not None else keras_tuner.HyperParameters()
    keras.utils.set_random_seed(seed)
    return hp, hypermodel.build(hp)


def predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Inference-mode outputs of `model` on `x` as a float64 NumPy array."""
    outputs = model(x, training=False)
    return np.asarray(keras.ops.convert_to_numpy(outputs), dtype=np.float64)


def _shape(layer):
    try:
        return str(tuple(layer.output.shape))
    except (AttributeError, ValueError):
        return "?"


def layers_finding(model: keras.Model, data: "Dataset") -> Finding:
    """`layers`: every layer's output shape; fails when the output does not fit the task."""
    rows = [f"{layer.name:<24} {type(layer).__name__:<22} {_shape(layer):<20} "
            f"{layer.count_params():>9,}" for layer in model.layers]
    details = [f"{'layer':<24} {'type':<22} {'output shape':<20} {'params':>9}"] + rows
    details.append(f"{'':<24} {'':<22} {'total':<20} {model.count_params():>9,}")
    shape = tuple(model.outputs[0].shape)
    width = data.num_classes if data.task == "multiclass" else 1
    numbers = {"output_shape": list(shape), "expected_width": width,
               "params": int(model.count_params())}
    if len(shape) != 2 or shape[-1] != width:
        return Finding("layers", "fail", f"the model's output has shape {shape}; a "
                       f"{data.task} task needs (None, {width}).",
                       "Check the last layers: one row per sample, one unit per class "
                       "(1 for binary and regression).", numbers, details, "model")
    return Finding("layers", "pass", f"{len(model.layers)} layers, output {shape} fits "
                   f"the {data.task} task.", numbers=numbers, details=details,
                   section="model")


def _activation(model):
    activation = getattr(model.layers[-1], "activation", None)
    return getattr(activation, "__name__", None if activation is None else str(activation))


def _loss_name(model):
    loss = getattr(model, "loss", None)
    return loss if isinstance(loss, str) else getattr(loss, "name", type(loss).__name__)


def _from_logits(model):
    loss = getattr(model, "loss", None)
    return bool(getattr(loss, "from_logits", False)
                or getattr(loss, "_fn_kwargs", {}).get("from_logits", False))


def outputs_finding(model: keras.Model, data: "Dataset", x: np.ndarray) -> Finding:
    """`outputs`: classification outputs must be probabilities (B5, E14)."""
    outputs = predict(model, x)
    activation, loss = _activation(model), _loss_name(model)
    numbers = {"min": float(np.nanmin(outputs)), "max": float(np.nanmax(outputs)),
               "activation": activation, "loss": loss}
    where = f"the output layer `{model.layers[-1].name}` (activation {activation}, loss {loss})"
    if not np.all(np.isfinite(outputs)):
        return Finding("outputs", "fail", f"{where} gives NaN/inf at initialization.",
                       "Check the data (NaN) and the layers before the output.", numbers,
                       section="model")
    if data.task == "regression":
        return _regression_outputs(outputs, data, where, numbers)
    if _from_logits(model):
        return Finding("outputs", "pass", f"{where}: the loss takes logits, so any "
                       "real outputs are fine.", numbers=numbers, section="model")
    tol = PROBABILITY_TOLERANCE
    in_range = numbers["min"] >= -tol and numbers["max"] <= 1 + tol
    message = f"outputs range {numbers['min']:.3g}..{numbers['max']:.3g}"
    if data.task == "multiclass":
        sums = outputs.sum(axis=-1)
        numbers.update(sum_min=float(sums.min()), sum_max=float(sums.max()))
        message += f", each row sums to {sums.min():.3f}..{sums.max():.3f}"
        valid = in_range and np.abs(sums - 1).max() <= tol
        expected = "softmax (in [0, 1], each row summing to 1)"
    else:
        valid = in_range
        expected = "sigmoid (in [0, 1])"
    if not valid:
        return Finding("outputs", "fail", f"not probabilities: {message}. The output "
                       f"layer `{model.layers[-1].name}` has activation {activation}; the "
                       f"loss {loss} needs {expected}.",
                       "Wrong output activation/loss pairing: use softmax for "
                       "multi-class, sigmoid for binary (E14), or a loss with "
                       "from_logits=True for raw scores. Keras clips such outputs to "
                       "[1e-7, 1 - 1e-7] before the log, so the loss stays finite and "
                       "positive while it no longer measures what you meant.",
                       numbers, section="model")
    return Finding("outputs", "pass", f"{message}: probabilities, as {loss} needs.",
                   numbers=numbers, section="model")


_BOUNDED = {"sigmoid": (0.0, 1.0), "softmax": (0.0, 1.0), "tanh": (-1.0, 1.0),
            "relu": (0.0, math.inf), "softplus": (0.0, math.inf)}


def _regression_outputs(outputs, data, where, numbers):
    low, high = _BOUNDED.get(numbers["activation"], (-math.inf, math.inf))
    y_low, y_high = float(data.y_train.min()), float(data.y_train.max())
    if y_low < low or y_high > high:
        return Finding("outputs", "fail", f"{where} can only give {low:g}..{high:g}; the "
                       f"targets span {y_low:.4g}..{y_high:.4g}.",
                       "Use a linear output for regression (E14), or rescale the targets "
                       "into the activation's range.", numbers, section="model")
    return Finding("outputs", "pass", f"{where} can reach the targets' range "
                   f"{y_low:.4g}..{y_high:.4g}.", numbers=numbers, section="model")


def _data_loss(outputs, y, task):
    eps = 1e-7
    if task == "binary":
        p = np.clip(outputs.reshape(-1), eps, 1 - eps)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    p = outputs / outputs.sum(axis=-1, keepdims=True)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], eps, 1.0))))


def initial_loss_finding(model: keras.Model, data: "Dataset", x: np.ndarray,
                         y: np.ndarray) -> Finding:
    """`initial_loss`: cross-entropy at initialization against ln(K) (classification)."""
    classes = data.num_classes
    loss = _data_loss(predict(model, x), y, data.task)
    chance = math.log(classes)
    ratio = loss / chance
    numbers = {"loss": loss, "ln_k": chance, "ratio": ratio}
    message = (f"cross-entropy at initialization {loss:.3f} (without penalties); a "
               f"model that knows nothing gives ln({classes}) = {chance:.3f} "
               f"(ratio {ratio:.2f})")
    low, high = INITIAL_LOSS_RANGE
    if not low <= ratio <= high:
        return Finding("initial_loss", "warn", message + f", outside {low}..{high}.",
                       "The initial outputs are already confident: check the input "
                       "scale (data.standardize, F1) and the initializers (E13).",
                       numbers, section="model")
    return Finding("initial_loss", "pass", message + ".", numbers=numbers, section="model")


@dataclasses.dataclass
class Trace:
    """One `memorize` run.

    Attributes:
        learning_rate: Float or `None` (a space without `learning_rate`).
        epochs: List of ints, the passes over the subset at each check; the
            first is 0, before training.
        losses: List of floats, the mean training loss since the previous check
            (training mode: dropout and penalties included); the first is the
            loss before training (inference mode, penalties included).
        scores: List of floats, the inference-mode training accuracy (regression:
            MSE over the variance of the targets).
        reached_at: Int, the passes when the goal was reached, or `None`.
        nonfinite_at: Int, the passes when the loss became NaN/inf, or `None`.
        model: The trained `keras.Model`.
    """

    learning_rate: float | None
    epochs: list[int] = dataclasses.field(default_factory=list)
    losses: list[float] = dataclasses.field(default_factory=list)
    scores: list[float] = dataclasses.field(default_factory=list)
    reached_at: int | None = None
    nonfinite_at: int | None = None
    model: keras.Model | None = None

    @property
    def reached(self) -> bool:
        return self.reached_at is not None


def training_score(outputs: np.ndarray, y: np.ndarray, task: str) -> float:
    """Accuracy (classification) or MSE / var(y) (regression) of `outputs`."""
    if task == "regression":
        return float(np.mean((outputs.reshape(-1) - y) ** 2) / max(np.var(y), 1e-12))
    if outputs.shape[-1] == 1:
        return float(np.mean((outputs.reshape(-1) > 0.5) == y))
    return float(np.mean(outputs.argmax(axis=-1) == y))


def goal_reached(score: float, task: str) -> bool:
    return score <= REGRESSION_GOAL if task == "regression" else score >= ACCURACY_GOAL


class _Monitor(keras.callbacks.Callback):
    def __init__(self, trace, x, y, task):
        super().__init__()
        self.trace, self.x, self.y, self.task = trace, x, y, task

    def on_epoch_end(self, epoch, logs=None):
        trace, passes = self.trace, (epoch + 1) * PASSES_PER_FIT_EPOCH
        loss = float((logs or {}).get("loss", math.nan))
        trace.epochs.append(passes)
        trace.losses.append(loss)
        if not math.isfinite(loss):
            trace.nonfinite_at = passes
            trace.scores.append(math.nan)
            self.model.stop_training = True
            return
        score = training_score(predict(self.model, self.x), self.y, self.task)
        logged = (logs or {}).get("accuracy")  # training mode: BatchNorm batch stats
        if self.task != "regression" and logged is not None:
            score = max(score, float(logged))
        trace.scores.append(score)
        if goal_reached(score, self.task):
            trace.reached_at = passes
            self.model.stop_training = True


def memorize(hypermodel: keras_tuner.HyperModel, hp: keras_tuner.HyperParameters,
             model: keras.Model, x: np.ndarray, y: np.ndarray, *, task: str, max_epochs: int,
             batch_size: int) -> Trace:
    """Trains `model` (built from `hp`) on `(x, y)` until the goal or `max_epochs`.

    Returns:
        A `Trace`.
    """
    trace = _trace(hp, model)
    logs = model.evaluate(x, y, batch_size=len(y), verbose=0, return_dict=True)
    trace.epochs.append(0)
    trace.losses.append(float(logs["loss"]))
    trace.scores.append(training_score(predict(model, x), y, task))
    fit_epochs = max(1, math.ceil(max_epochs / PASSES_PER_FIT_EPOCH))
    # `x` may be a dict of columns (a table's raw rows): each repeated alike.
    repeated = keras.tree.map_structure(
        lambda array: np.concatenate([array] * PASSES_PER_FIT_EPOCH), x)
    hypermodel.fit(hp, model, repeated,
                   np.concatenate([y] * PASSES_PER_FIT_EPOCH), epochs=fit_epochs,
                   batch_size=batch_size, callbacks=[_Monitor(trace, x, y, task)], verbose=0)
    return trace


def _trace(hp, model):
    rate = hp.values.get("learning_rate")
    return Trace(learning_rate=None if rate is None else float(rate), model=model)


def loss_symptoms(trace: Trace, task: str) -> set[str]:
    """Returns the set of `"nonfinite"`, `"rising"`, `"stalled"`, `"improving"`."""
    losses = trace.losses
    if trace.nonfinite_at is not None:
        return {"nonfinite"}
    symptoms = set()
    if len(losses) >= 2 and (losses[-1] > RISE_RATIO * losses[0]
                             or max(losses) > RISE_FACTOR * losses[0]):
        symptoms.add("rising")
    if not trace.reached and len(losses) >= 2 and losses[-1] >= STALL_RATIO * losses[0]:
        symptoms.add("stalled")
    fifth = max(1, len(losses) // 5)
    if len(losses) >= 2 * fifth + 1:
        recent, before = np.mean(losses[-fifth:]), np.mean(losses[-2 * fifth:-fifth])
        gain = trace.scores[-1] - trace.scores[-1 - fifth]
        if recent < IMPROVING_RATIO * before or (-gain if task == "regression" else gain) > 0:
            symptoms.add("improving")
    return symptoms
