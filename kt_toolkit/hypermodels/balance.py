"""Class handling for imbalanced data (E17): class weights, oversampling, balanced batches."""

import math
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np

__all__ = ["BalancedBatches", "apply", "class_weights", "oversample"]


def class_weights(y: np.ndarray) -> dict[int, float]:
    """`{class: n / (k * count)}`: each class weighs the same in the loss."""
    classes, counts = np.unique(np.asarray(y).astype(int), return_counts=True)
    total = counts.sum()
    return {int(c): float(total / (len(classes) * n)) for c, n in zip(classes, counts)}


def oversample(x: np.ndarray, y: np.ndarray, *,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Duplicates rare-class samples (drawn with replacement) up to the largest class."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(y).astype(int)
    classes, counts = np.unique(labels, return_counts=True)
    index = [np.flatnonzero(labels == c) for c in classes]
    extra = [rng.choice(i, counts.max() - len(i), replace=True) for i in index]
    order = rng.permutation(np.concatenate(index + extra))
    return x[order], y[order]


class BalancedBatches(keras.utils.PyDataset):
    """Mini-batches with the same number of samples of every class (E17).

    Args:
        x: Array of inputs.
        y: Array of integer labels.
        batch_size: Integer, samples per batch (rounded down to a multiple of
            the class count, at least one per class).
        seed: Integer, for the draws.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, *, seed: int = 0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.x, self.y = x, y
        labels = np.asarray(y).astype(int)
        self.index = [np.flatnonzero(labels == c) for c in np.unique(labels)]
        self.per_class = max(1, batch_size // len(self.index))
        self.batches = max(1, math.ceil(len(y) / (self.per_class * len(self.index))))
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.batches

    def __getitem__(self, batch: int) -> tuple[np.ndarray, np.ndarray]:
        chosen = np.concatenate([self.rng.choice(i, self.per_class, replace=len(i) <
                                                 self.per_class) for i in self.index])
        chosen = self.rng.permutation(chosen)
        return self.x[chosen], self.y[chosen]


def apply(kind: str, x: np.ndarray, y: np.ndarray, fit_kwargs: Mapping[str, Any], *,
          seed: int = 0
          ) -> tuple[np.ndarray | BalancedBatches, np.ndarray | None, dict[str, Any]]:
    """Returns `(x, y, fit_kwargs)` for the `class_balance` knob value `kind`.

    A `validation_split` is cut off first (the last samples, as Keras does) and
    passed as `validation_data`, so only the training part is balanced.
    """
    fit_kwargs = dict(fit_kwargs)
    split = fit_kwargs.pop("validation_split", 0.0)
    if split:
        cut = int(len(x) * (1.0 - split))
        fit_kwargs["validation_data"] = (x[cut:], y[cut:])
        x, y = x[:cut], y[:cut]
    if kind == "class_weight":
        fit_kwargs["class_weight"] = class_weights(y)
    elif kind == "oversample":
        x, y = oversample(x, y, seed=seed)
    elif kind == "balanced_batches":
        x, y = BalancedBatches(x, y, fit_kwargs.get("batch_size", 32), seed=seed), None
        fit_kwargs.pop("shuffle", None)
    return x, y, fit_kwargs
