"""The containers: `RawData` as a source gives it, `Dataset` as a model gets it."""

import dataclasses
from typing import Optional

import numpy as np

__all__ = ["Dataset", "RawData"]


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
        input_kind: String, `"features"`, `"image"` or `"tokens"`.
        vocabulary_size: Optional integer, the number of token ids (tokens only).
    """

    x: np.ndarray
    y: np.ndarray
    x_val: Optional[np.ndarray] = None
    y_val: Optional[np.ndarray] = None
    input_kind: str = "features"
    vocabulary_size: Optional[int] = None

    @property
    def is_presplit(self) -> bool:
        return self.x_val is not None


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

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Tuple, the shape of one sample (`x_train.shape[1:]`)."""
        return tuple(self.x_train.shape[1:])

    def summary(self) -> str:
        """Returns one line: name, task, sizes, input shape and classes."""
        parts = [f"{self.name}: {self.task}",
                 f"{len(self.x_train)} train / {len(self.x_val)} val",
                 f"input {self.input_shape}"]
        if self.input_kind == "tokens":
            parts[-1] += f" tokens, vocabulary {self.vocabulary_size}"
        if self.num_classes is not None:
            parts.append(f"{self.num_classes} classes")
        return ", ".join(parts)
