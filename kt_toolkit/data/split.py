"""Splitting, subsampling (D1), shuffling (F2) and standardization statistics (F1).

All of it is seeded: the same arrays and seed give the same result. The test part
(`hold_out`) is cut with a seed of its own, `TEST_SEED`, not the experiment's:
every run on the same data holds out the same samples, so test scores compare. Statistics are
fitted on the training part only, so nothing of the validation part leaks into the
model.
"""

import logging
from collections.abc import Sequence

import numpy as np

from kt_toolkit.errors import DataError

__all__ = ["TEST_SEED", "feature_statistics", "fold_indices", "hold_out", "imbalance",
           "shuffle_arrays", "split", "subsample"]

logger = logging.getLogger(__name__)
CHUNK = 8192  # samples per pass when computing statistics
TEST_SEED = 20240  # the test part's own seed: the same held-out samples in every run


def _check_class_sizes(y, class_names, key="data.dataset"):
    counts = np.bincount(y)
    rare = np.flatnonzero(counts < 2)
    if len(rare):
        names = [class_names[i] if class_names else str(i) for i in rare]
        shown = ", ".join(names[:10]) + (f", … ({len(names)} in all)" if len(names) > 10
                                         else "")
        raise DataError(
            f"`dataset` must have at least 2 samples of each class for a stratified "
            f"split. Received: classes with 1 sample: {shown}. Drop them with `classes`, "
            "or set `task: regression` for a numeric target.", key=key)


def split(x: np.ndarray, y: np.ndarray, *, fraction: float, stratify: bool, shuffle: bool,
          seed: int, class_names: Sequence[str] | None = None) -> list[np.ndarray]:
    """Splits `(x, y)` into training and validation parts.

    With `shuffle` false nothing is shuffled or stratified: the last `fraction`
    of the samples, in their order, becomes the validation part.

    Args:
        x: Array of features.
        y: Array of encoded targets.
        fraction: Float in (0, 1), the share that goes to validation.
        stratify: Boolean, keep the class proportions in both parts
            (classification only; ignored when `shuffle` is false).
        shuffle: Boolean, shuffle before splitting.
        seed: Integer, the random state.
        class_names: Optional list of strings, to name classes in errors.

    Returns:
        Tuple `(x_train, x_val, y_train, y_val)`.

    Raises:
        DataError: when the data are too small to split this way.
    """
    from sklearn.model_selection import train_test_split

    if stratify and shuffle:
        _check_class_sizes(y, class_names)
    try:
        return train_test_split(x, y, test_size=fraction, shuffle=shuffle,
                                stratify=y if (stratify and shuffle) else None,
                                random_state=seed if shuffle else None)
    except ValueError as error:
        hint = (" Every class needs at least 2 samples, and the validation part at least "
                "one sample per class." if stratify and shuffle else "")
        raise DataError(
            f"`validation_split` must leave samples in both parts. Received: "
            f"validation_split={fraction!r} on {len(x)} samples ({error}).{hint}",
            key="data.validation_split") from error


def hold_out(x: np.ndarray, y: np.ndarray, *, fraction: float, stratify: bool,
             shuffle: bool, class_names: Sequence[str] | None = None) -> list[np.ndarray]:
    """Cuts the test part off `(x, y)`, before anything else sees the data.

    Stratified for classification and seeded with `TEST_SEED` (not the
    experiment's seed), so every run of the same data holds out the same
    samples. With `shuffle` false, the last `fraction` of the samples.

    Args:
        x: Array of features; `y` the encoded targets.
        fraction: Float in (0, 1), the share held out (`data.test_split`).
        stratify: Boolean, keep the class proportions (classification).
        shuffle: Boolean, shuffle before cutting.
        class_names: Optional list of strings, to name classes in errors.

    Returns:
        List `[x_rest, x_test, y_rest, y_test]`.

    Raises:
        DataError: when the data are too small to hold this share out.
    """
    from sklearn.model_selection import train_test_split

    if stratify and shuffle:
        _check_class_sizes(y, class_names, key="data.test_split")
    try:
        return train_test_split(x, y, test_size=fraction, shuffle=shuffle,
                                stratify=y if (stratify and shuffle) else None,
                                random_state=TEST_SEED if shuffle else None)
    except ValueError as error:
        raise DataError(
            f"`test_split` must leave samples in both parts. Received: "
            f"test_split={fraction!r} on {len(x)} samples ({error}). Every class needs a "
            "sample in each part: use a larger fraction or more data.",
            key="data.test_split") from error


def fold_indices(y: np.ndarray, folds: int, *, stratify: bool,
                 seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """`folds` pairs `(train_index, validation_index)` over `y` (k-fold, `data.cv_folds`).

    Stratified for classification, shuffled and seeded: the same `y` and seed
    give the same folds in every process (a chief's workers included).

    Args:
        y: Array of encoded targets (the training and validation parts together).
        folds: Integer >= 2.
        stratify: Boolean, keep the class proportions in every fold.
        seed: Integer, the random state.
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    splitter = (StratifiedKFold if stratify else KFold)(folds, shuffle=True,
                                                         random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


def subsample(x: np.ndarray, y: np.ndarray, size: int, *, num_classes: int | None,
              shuffle: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Keeps `size` training samples, stratified by class when classifying (D1).

    Only the training part is subsampled: the validation part stays whole, so
    scores stay comparable between runs with different `subsample`.

    Args:
        x: Array of training features.
        y: Array of encoded training targets.
        size: Integer, how many samples to keep. At least the training size
            keeps everything (with a warning).
        num_classes: Integer for classification (stratifies), `None` for regression.
        shuffle: Boolean; when false the kept samples stay in their order.
        seed: Integer, the random state.

    Returns:
        Tuple `(x, y)`, the kept samples.

    Raises:
        DataError: when `size` is below twice the number of classes.
    """
    if num_classes is not None and size < 2 * num_classes:
        raise DataError(
            f"`subsample` must be at least 2 samples per class ({2 * num_classes} for "
            f"{num_classes} classes). Received: subsample={size}.", key="data.subsample")
    if size >= len(x):
        logger.warning("subsample=%d is not below the %d training samples; keeping them "
                       "all.", size, len(x))
        return x, y
    from sklearn.model_selection import train_test_split

    try:
        kept, _ = train_test_split(np.arange(len(x)), train_size=size, random_state=seed,
                                   stratify=y if num_classes is not None else None)
    except ValueError as error:
        raise DataError(f"`subsample` must be able to keep every class. Received: "
                        f"subsample={size} ({error}).", key="data.subsample") from error
    if not shuffle:
        kept = np.sort(kept)
    return x[kept], y[kept]


def imbalance(x: np.ndarray, y: np.ndarray, share: float, *, num_classes: int,
              seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Cuts the last class down to `share` of the samples: an imbalanced task (E17).

    Applied before the split, so the training and the validation part have the
    same ratio. The last class is the positive one of a binary task (`classes:
    [1, 0]` makes breast_cancer's malignant class, 0, the last); its kept samples
    are drawn at random, the other classes are kept whole.

    Args:
        x: Array of features; `y` the encoded class codes (0..num_classes-1).
        share: Float in (0, 0.5), the last class's share afterwards.
        num_classes: Integer, the classes.
        seed: Integer, the random state.

    Returns:
        Tuple `(x, y)`, in their original order.

    Raises:
        DataError: when fewer than 2 samples of the last class would be left.
    """
    rare = np.flatnonzero(y == num_classes - 1)
    others = len(y) - len(rare)
    keep = min(len(rare), int(round(share * others / (1.0 - share))))
    if keep < 2:
        raise DataError(
            f"`imbalance` must leave at least 2 samples of the last class. Received: "
            f"imbalance={share!r} keeps {keep} of {len(rare)}. Use a larger fraction.",
            key="data.imbalance")
    dropped = np.random.default_rng(seed).choice(rare, size=len(rare) - keep, replace=False)
    mask = np.ones(len(y), dtype=bool)
    mask[dropped] = False
    return x[mask], y[mask]


def shuffle_arrays(x: np.ndarray, y: np.ndarray, *,
                   seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Returns `(x, y)` in one seeded random order (F2)."""
    order = np.random.default_rng(seed).permutation(len(x))
    return x[order], y[order]


def feature_statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and variance of `x` for a `keras.layers.Normalization` (F1).

    Args:
        x: Array, the training features (first axis the samples).

    Returns:
        Tuple `(mean, variance)` of float32 arrays of shape `x.shape[1:]`; a
        feature that is constant gets variance 1.0, so it is only centred.
    """
    # Two passes over chunks, in float64: accurate, and no float64 copy of all of `x`.
    chunks = [slice(start, start + CHUNK) for start in range(0, len(x), CHUNK)]
    mean = sum(x[chunk].sum(axis=0, dtype=np.float64) for chunk in chunks) / len(x)
    squares = sum(np.square(x[chunk] - mean).sum(axis=0) for chunk in chunks)
    variance = np.asarray(squares / len(x), dtype=np.float64)
    variance[variance == 0] = 1.0
    return mean.astype(np.float32), variance.astype(np.float32)
