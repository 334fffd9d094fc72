"""The containers: `RawData` as a source gives it, `Dataset` as a model gets it."""

import dataclasses
from typing import Any, Optional

import numpy as np

__all__ = ["Dataset", "HeldOut", "RawData"]


@dataclasses.dataclass
class RawData:
    """Arrays as a registry loader or a file gives them, before any processing.

    Args:
        x: Array of features, first axis the samples. For `"tokens"` it may be
            a 1-D object array of variable-length int sequences
            (`sequences.as_ragged`); `load_dataset` pads it after the split.
        y: 1-D array of targets: numbers or strings, labels not yet encoded.
        x_val: Optional array, a validation part that comes with the source
            (`keras.datasets` test parts, `.npz` files with `x_val`). When given,
            it is used as is instead of splitting `x`.
        y_val: Optional array, the targets of `x_val`.
        x_test: Optional array, a test part that comes with the source
            (`keras.datasets` test parts, `.npz` files with `x_test`): held out
            of the search (`HeldOut`), read only by the final evaluation.
        y_test: Optional array, the targets of `x_test`.
        input_kind: String, `"features"`, `"image"` or `"tokens"`.
        vocabulary_size: Optional integer, the number of token ids (tokens only).
    """

    x: np.ndarray
    y: np.ndarray
    x_val: Optional[np.ndarray] = None
    y_val: Optional[np.ndarray] = None
    input_kind: str = "features"
    vocabulary_size: Optional[int] = None
    x_test: Optional[np.ndarray] = None
    y_test: Optional[np.ndarray] = None

    @property
    def is_presplit(self) -> bool:
        return self.x_val is not None

    @property
    def has_test(self) -> bool:
        """Whether the source comes with its own test part."""
        return self.x_test is not None


class HeldOut:
    """The test part, held out of the search: only the final evaluation opens it.

    `load_dataset` never returns it; `load_parts` hands it to the caller apart
    from the `Dataset`, so no trial, pruning rule, check or report gets it. The
    arrays are kept as they were cut (targets encoded); `open()` applies what the
    training part decided (the padding length of token sequences) and counts
    how often it was opened.

    Args:
        x: Array of test features, as cut.
        y: Array of encoded test targets.
        source: String, where it came from: `"test_split"` (cut from the data)
            or `"dataset"` (the source's own test part).
        padding_length: Optional integer, the length token sequences are padded
            to (the training part's, C8); `None` for other inputs.
    """

    def __init__(self, x, y, *, source: str, padding_length: Optional[int] = None) -> None:
        self._x, self._y = x, y
        # The size only (`None` for a stream of unknown size: the final step counts
        # it as it evaluates); the values stay unread.
        self.samples = len(y) if y is not None else None
        self.source = source
        self.padding_length = padding_length
        self.opened = 0

    def __repr__(self) -> str:
        return f"HeldOut({self.samples} samples from {self.source}, opened {self.opened}x)"

    def open(self) -> tuple:
        """Returns `(x_test, y_test)`, ready for `model.evaluate` (`y_test` is `None`
        for a stream of `(x, y)` batches)."""
        self.opened += 1
        x = self._x
        if self.padding_length is not None:
            from kt_toolkit.data.sequences import pad_sequences

            x = pad_sequences(x, self.padding_length)
        return x, self._y


@dataclasses.dataclass
class Dataset:
    """Training and validation arrays, ready for a model, with what describes them.

    Features are RAW: standardization is not applied to the arrays. When
    `feature_mean` is set, the model builder puts a
    `keras.layers.Normalization(mean=feature_mean, variance=feature_variance)`
    first, so the saved model takes raw inputs. Both statistics are fitted on
    `x_train` only (F1).

    Example:

    ```python
    from kt_toolkit.config import DataConfig
    from kt_toolkit.data import load_dataset

    data = load_dataset(DataConfig(dataset="iris"), seed=0)
    print(data.summary())
    # iris: multiclass, 120 train / 30 val, input (4,), 3 classes
    ```

    Args:
        name: String, the registry name or the file path.
        task: String, `"multiclass"`, `"binary"` or `"regression"`.
        x_train: Array, float32 features (int32 token ids for `"tokens"`,
            zero-padded at the end to the 90th percentile of the training
            lengths, C8).
        y_train: Array, int64 labels `0..k-1` for classification, float32 for
            regression.
        x_val: Array, validation features, same layout as `x_train`.
        y_val: Array, validation targets, same layout as `y_train`.
        num_classes: Integer (2 for binary) or `None` for regression.
        class_names: List of strings, the original label of each class index,
            or `None` for regression.
        feature_mean: Float32 array of shape `input_shape`, or `None` when
            `standardize` is false or the inputs are tokens.
        feature_variance: Float32 array like `feature_mean`; a feature that is
            constant in `x_train` gets variance 1.0.
        input_kind: String, `"features"`, `"image"` or `"tokens"`.
        vocabulary_size: Integer for tokens (ids are below it), else `None`.
        train_data: Optional stream the search trains on instead of the arrays: a
            `keras.utils.PyDataset` or a `tf.data.Dataset` of `(x, y)` batches
            (a loader's, an image folder's, a table's). The arrays are then a
            bounded sample of its first `sample_batches` batches: the input
            shape, task, classes and the checks read them, nothing else is
            materialized.
        validation_data: The validation stream, given with `train_data`.
        sample_batches: Integer, how many batches of each stream the sample read.
        input_scale: Optional float: the model multiplies its raw inputs by it
            first (`keras.layers.Rescaling`; 1/255 for an image folder's pixels).
        preprocessor: Optional adapted `keras.utils.FeatureSpace` of a table: the
            model takes its raw columns (a dict) and encodes them inside; the
            arrays are the encoded sample.
        test_samples: Integer, the size of the held-out test part (its arrays
            are not here: see `HeldOut`), `0` when there is none or it is a
            stream of unknown size.
        raw_rows: Optional tuple `(training rows, validation rows)` of a table:
            the sample's rows as the model takes them (dicts of raw columns,
            strings as object arrays), row for row with `x_train`/`x_val`
            (which hold them encoded). See `model_inputs`.
    """

    name: str
    task: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    num_classes: Optional[int] = None
    class_names: Optional[list[str]] = None
    feature_mean: Optional[np.ndarray] = None
    feature_variance: Optional[np.ndarray] = None
    input_kind: str = "features"
    vocabulary_size: Optional[int] = None
    train_data: Any = None
    validation_data: Any = None
    sample_batches: Optional[int] = None
    input_scale: Optional[float] = None
    preprocessor: Any = None
    test_samples: int = 0
    raw_rows: Any = None

    def model_inputs(self, part: str, index: Any = slice(None)) -> Any:
        """The inputs the model takes for rows `index` of the `"train"` or
        `"validation"` arrays: `x_train[index]`, or a table's raw rows (a dict of
        columns) where the model encodes them itself (`preprocessor`)."""
        if self.raw_rows is not None:
            rows = self.raw_rows[0 if part == "train" else 1]
            return {name: column[index] for name, column in rows.items()}
        return (self.x_train if part == "train" else self.x_val)[index]

    @property
    def is_streamed(self) -> bool:
        """Whether the search trains on `train_data` (a stream), not on the arrays."""
        return self.train_data is not None

    def fit_data(self) -> tuple[tuple, dict]:
        """`(args, kwargs)` for `fit`/`tuner.search`: the streams, or the arrays."""
        if self.is_streamed:
            return (self.train_data,), {"validation_data": self.validation_data}
        return (self.x_train, self.y_train), {"validation_data": (self.x_val, self.y_val)}

    def validation_args(self) -> tuple:
        """The positional arguments of `model.evaluate` on the validation part."""
        return (self.validation_data,) if self.is_streamed else (self.x_val, self.y_val)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Tuple, the shape of one sample (`x_train.shape[1:]`)."""
        return tuple(self.x_train.shape[1:])

    def summary(self) -> str:
        """Returns one line: name, task, sizes, input shape and classes."""
        sizes = f"{len(self.x_train)} train / {len(self.x_val)} val"
        if self.is_streamed:
            sizes = (f"streamed: {_batches(self.train_data)} train / "
                     f"{_batches(self.validation_data)} val batches")
        if self.test_samples:
            sizes += f" / {self.test_samples} test (held out)"
        parts = [f"{self.name}: {self.task}", sizes, f"input {self.input_shape}"]
        if self.preprocessor is not None:  # a table: raw columns, encoded in the model
            parts[-1] = (f"input {len(self.preprocessor.features)} columns encoded to "
                         f"{self.input_shape[0]} features")
        if self.input_kind == "tokens":
            parts[-1] += f" tokens, vocabulary {self.vocabulary_size}"
        if self.num_classes is not None:
            parts.append(f"{self.num_classes} classes")
        if self.is_streamed:
            parts.append(f"shape, task, classes and checks read from a sample of the first "
                         f"{self.sample_batches} batches ({len(self.y_train)} train / "
                         f"{len(self.y_val)} val samples)")
        return ", ".join(parts)


def _batches(stream: Any) -> str:
    """The number of batches of a PyDataset or tf.data.Dataset, or "?" when unknown."""
    try:
        count = len(stream)
    except TypeError:
        count = None
    return "?" if count is None or count < 0 else str(count)
