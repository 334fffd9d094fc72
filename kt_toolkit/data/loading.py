"""`load_dataset`: from a `DataConfig` to a `Dataset`, in the agreed order.

load → task → `classes` filter and label encoding (D2) → the test part held out
(`test_split`, stratified, always the same: `split.hold_out`; or the source's own
test part) → `imbalance` (E17) → split (stratified) → padding of token sequences to a length read off the
training part (C8) → `subsample` of the training part (D1) → shuffle (F2) →
standardization statistics fitted on the training part (F1).

Padding comes before `subsample` so the input shape of a token dataset does not
change with `subsample`: trials tuned on a sample build the same model as the
final run on all of it.

The test part is never in a `Dataset`: `load_parts` returns it beside, as a
`HeldOut` that only the final evaluation opens (`load_dataset` drops it).
"""

from typing import TYPE_CHECKING

import numpy as np

from kt_toolkit.data import labels, registry, sequences, sources, split
from kt_toolkit.data.dataset import Dataset, HeldOut
from kt_toolkit.data.files import read_file
from kt_toolkit.config.stages import stage_config
from kt_toolkit.config.tasks import resolve_objective
from kt_toolkit.errors import DataError

if TYPE_CHECKING:
    from kt_toolkit.config.schema import DataConfig, ExperimentConfig

__all__ = ["check_data_config", "dataset_task", "load_dataset", "load_parts"]


def dataset_task(config: "DataConfig") -> str | None:
    """Returns the task of `config` without loading arrays, when it is known.

    Args:
        config: A `kt_toolkit.config.DataConfig`.

    Returns:
        String, `config.task` unless it is `"auto"`; else the registry's task, or
        `None` for a file (its targets decide once loaded).

    Raises:
        DataError: for an unknown registry name.
    """
    if config.task != "auto":
        return config.task
    if sources.is_own_source(config):
        return sources.source_task(config)
    if registry.is_file_path(config.dataset):
        return None
    return registry.get_entry(config.dataset).task


def check_data_config(config: "ExperimentConfig") -> None:
    """Checks what a config says of its data before any is loaded: registry names,
    and the objective against the dataset's task (each stage's too).

    `kt_toolkit.experiment.load_experiment` hands this to `load_config`, so the
    errors name the file and the `--set` override they came from.

    Args:
        config: A `kt_toolkit.config.ExperimentConfig`.

    Raises:
        DataError: for an unknown registry name.
        ConfigError: for an objective the task's model does not log.
    """
    configs = [config] + [stage_config(config, index)
                          for index in range(len(config.stages or ()))]
    for each in configs:
        task = dataset_task(each.data)  # DataError for an unknown registry name
        if task is not None:
            resolve_objective(each.tuner.objective, each.tuner.direction, task,
                              builder=each.model.builder)


def _read(config, *, seed=0, batch_size=32):
    if sources.is_own_source(config):  # a loader's arrays, or a streamed `Dataset`
        return sources.open_source(config, seed=seed, batch_size=batch_size)
    if registry.is_file_path(config.dataset):
        return read_file(config.dataset, target=config.target,
                         header=config.header), None
    entry = registry.get_entry(config.dataset)
    if config.target is not None:
        raise DataError(f"`target` must be null for a registered dataset. Received: "
                        f"target={config.target!r}. It names a column of a .csv file.",
                        key="data.target")
    if config.header != "auto":
        raise DataError(f"`header` must be auto for a registered dataset. Received: "
                        f"header={config.header!r}. It says whether line 1 of a .csv file "
                        "is its header.", key="data.header")
    return entry.loader(), entry.task


def _check_finite(raw):
    for name, x in (("x", raw.x), ("x_val", raw.x_val), ("x_test", raw.x_test)):
        if x is not None and x.dtype.kind == "f" and not np.all(np.isfinite(x)):
            raise DataError(f"`dataset` features must be finite numbers. Received: NaN or "
                            f"infinite values in `{name}`. Fill or drop them first.",
                            key="data.dataset")


def _targets(raw, config, known_task):
    task = config.task
    if task == "auto":
        y_all = raw.y if raw.y_val is None else np.concatenate([raw.y, raw.y_val])
        task = known_task or labels.infer_task(y_all)
    others = [part for part in (raw.y_val, raw.y_test) if part is not None]
    y, y_others, names = labels.encode_targets(
        raw.y, np.concatenate(others) if others else None, task=task, classes=config.classes)
    y_val = y_test = None
    if raw.y_val is not None:
        y_val, y_others = y_others[:len(raw.y_val)], y_others[len(raw.y_val):]
    if raw.y_test is not None:
        y_test = y_others
    return task, y, y_val, names, y_test


def _keep(x, y, is_classification):
    if not is_classification:
        return x, y
    mask = y >= 0
    return (x, y) if mask.all() else (x[mask], y[mask])


def _hold_out(raw, config, targets, x, y):
    """The test part, cut before anything else sees the data: `(x, y, test)`,
    `test` a tuple `(x_test, y_test, source)` or `None`."""
    task, names, y_test = targets[0], targets[3], targets[4]
    is_classification = task in labels.CLASSIFICATION
    if raw.has_test:
        if config.test_split is not None:
            raise DataError(
                f"`test_split` must be null for a dataset with its own test part. Received: "
                f"test_split={config.test_split!r} on {config.dataset!r}. Remove "
                "data.test_split: its test part is held out already.", key="data.test_split")
        x_test, y_test = _keep(raw.x_test, y_test, is_classification)
        return x, y, (x_test, y_test, "dataset")
    if config.test_split is None:
        return x, y, None
    x, x_test, y, y_test = split.hold_out(x, y, fraction=config.test_split,
                                          stratify=is_classification, shuffle=config.shuffle,
                                          class_names=names)
    return x, y, (x_test, y_test, "test_split")


def _parts(raw, config, targets, seed):
    """`(x_train, x_val, y_train, y_val, test)`; see `_hold_out` for `test`."""
    task, y, y_val, names = targets[:4]
    is_classification = task in labels.CLASSIFICATION
    x, y = _keep(raw.x, y, is_classification)
    x, y, test = _hold_out(raw, config, targets, x, y)
    if config.imbalance is not None:
        if not is_classification or raw.is_presplit:
            raise DataError(
                "`imbalance` must be set only for a classification dataset that is not "
                f"split already. Received: imbalance={config.imbalance!r} on a {task} task"
                f"{' (presplit)' if raw.is_presplit else ''}. Remove data.imbalance.",
                key="data.imbalance")
        x, y = split.imbalance(x, y, config.imbalance, num_classes=len(names), seed=seed)
    if raw.is_presplit:
        x_val, y_val = _keep(raw.x_val, y_val, is_classification)
        if len(x_val) == 0:
            raise DataError("`dataset` validation part must not be empty. Received: no "
                            "validation samples left.", key="data.dataset")
        return x, x_val, y, y_val, test
    # Both splits are shares of all the samples: 0.2 and 0.2 leave 60/20/20.
    fraction = config.validation_split
    if test is not None and test[2] == "test_split":
        fraction = config.validation_split / (1.0 - config.test_split)
    return (*split.split(x, y, fraction=fraction, stratify=is_classification,
                         shuffle=config.shuffle, seed=seed, class_names=names), test)


def _pad(x_train, x_val):
    """Pads ragged token sequences to cover 90 % of the training ones (C8); returns
    `(x_train, x_val, length)`, `length` `None` for other inputs."""
    if not sequences.is_ragged(x_train):
        return x_train, x_val, None
    length = sequences.padding_length(x_train)
    return (sequences.pad_sequences(x_train, length), sequences.pad_sequences(x_val, length),
            length)


def _check_folds(config, y_train, y_val, num_classes):
    """`cv_folds` must leave every fold a sample of each class (of some, for a regression)."""
    folds = config.cv_folds
    if folds is None:
        return
    y_all = np.concatenate([y_train, y_val])
    smallest = int(np.bincount(y_all).min()) if num_classes is not None else len(y_all)
    if folds > smallest:
        what = ("the smallest class's samples in the training and validation parts"
                if num_classes is not None else "the training and validation samples")
        raise DataError(
            f"`cv_folds` must be at most {what} ({smallest}). Received: cv_folds={folds}. "
            "Use fewer folds, or drop rare classes with `classes`.", key="data.cv_folds")


def load_dataset(config: "DataConfig", *, seed: int, batch_size: int = 32) -> Dataset:
    """The training and validation parts `config` describes (`load_parts` without
    the test part). See `load_parts`."""
    return load_parts(config, seed=seed, batch_size=batch_size)[0]


def load_parts(config: "DataConfig", *, seed: int,
               batch_size: int = 32) -> tuple[Dataset, "HeldOut | None"]:
    """Loads, filters, splits and subsamples a dataset as `config` says.

    Example:

    ```python
    from kt_toolkit.config import DataConfig
    from kt_toolkit.data import load_dataset

    data = load_dataset(DataConfig(dataset="digits", subsample=200, classes=[3, 8]),
                        seed=1)
    data.x_train.shape, data.class_names   # ((200, 64), ['3', '8'])
    ```

    The arrays are raw: `feature_mean` and `feature_variance` (fitted on
    `x_train` only, when `config.standardize`) are for a
    `keras.layers.Normalization` layer in the model. Token sequences are padded
    with zeros at the end, and truncated at the start, to the 90th percentile
    of the training lengths (see `kt_toolkit.data.sequences`).

    Args:
        config: A `kt_toolkit.config.DataConfig`.
        seed: Integer, seeds the split, the subsample and the shuffle.
        batch_size: Integer, the batch size of the streams this makes (an image
            folder's). Defaults to `32`; `kt-toolkit tune` passes
            `training.batch_size`.

    The test part (`test_split`, cut first with a fixed seed so every run of
    the data holds out the same samples, or the source's own) comes back apart,
    as a `HeldOut`: only the final evaluation opens it.

    Returns:
        Tuple `(dataset, held_out)`: a `Dataset`, and a `HeldOut` or `None`.

    Raises:
        DataError: for an unknown name, a missing or malformed file, a failed
            download, labels that `classes` or `task` cannot use, data too
            small for the split or `subsample`, or more `cv_folds` than the
            smallest class has samples.
    """
    raw, known_task = _read(config, seed=seed, batch_size=batch_size)
    if isinstance(raw, Dataset):  # streamed (data/sources.py): a sample, not the data;
        return raw, known_task    # then `known_task` is the held-out test stream or None
    _check_finite(raw)
    targets = _targets(raw, config, known_task)
    x_train, x_val, y_train, y_val, test = _parts(raw, config, targets, seed)
    x_train, x_val, length = _pad(x_train, x_val)
    num_classes = None if targets[3] is None else len(targets[3])
    x_train, y_train = _subsample_and_shuffle(config, x_train, y_train, num_classes, seed)
    _check_folds(config, y_train, y_val, num_classes)
    held_out = None if test is None else HeldOut(test[0], test[1], source=test[2],
                                                  padding_length=length)
    return _dataset(config, raw, targets, (x_train, y_train, x_val, y_val), held_out), held_out


def _subsample_and_shuffle(config, x_train, y_train, num_classes, seed):
    """The training part cut to `config.subsample` samples, then shuffled if asked."""
    if config.subsample is not None:
        x_train, y_train = split.subsample(x_train, y_train, config.subsample,
                                           num_classes=num_classes,
                                           shuffle=config.shuffle, seed=seed)
    if config.shuffle:
        x_train, y_train = split.shuffle_arrays(x_train, y_train, seed=seed)
    return x_train, y_train


def _dataset(config, raw, targets, arrays, held_out):
    """The `Dataset` of the final parts `arrays` (x_train, y_train, x_val, y_val),
    with the training part's feature statistics when `config.standardize`."""
    x_train, y_train, x_val, y_val = arrays
    task, class_names = targets[0], targets[3]
    mean = variance = None
    if config.standardize and raw.input_kind != "tokens":
        mean, variance = split.feature_statistics(x_train)
    name = config.loader or str(config.dataset)  # a loader's arrays: the loader
    return Dataset(name=name, task=task, x_train=x_train, y_train=y_train,
                   x_val=x_val, y_val=y_val,
                   num_classes=None if class_names is None else len(class_names),
                   class_names=class_names, feature_mean=mean, feature_variance=variance,
                   input_kind=raw.input_kind, vocabulary_size=raw.vocabulary_size,
                   test_samples=0 if held_out is None else held_out.samples)
