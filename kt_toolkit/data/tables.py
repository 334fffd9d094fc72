"""Tables with categorical and text columns: `.csv` (and `.parquet` with pandas).

A `.csv` is read here, not by `files.read_csv`, when `data.columns` is given,
`data.missing` is `impute`, or a feature column among its first `SNIFF_ROWS` rows
is not numeric; a `.parquet` file always (when pandas and pyarrow are installed). Each feature column has a kind:

- `numeric`: numbers, standardized (`FeatureSpace.float_normalized`);
- `categorical`: strings, one-hot (`string_categorical`, unseen values → an
  out-of-vocabulary slot); `integer_categorical`: integer codes, one-hot;
- `text`: free text, TF-IDF over the `TEXT_TOKENS` most frequent words.

Kinds are inferred unless `data.columns` names them: numbers → numeric; strings
averaging at least `TEXT_WORDS` words → text; other strings → categorical.
Missing values (empty, `NA`, `NaN`, `null`, `None`) are an error naming the
column and the row count, or with `data.missing: impute` are filled with the
training rows' median (numeric) or most frequent value (others).

The `keras.utils.FeatureSpace` is adapted on the training rows only and goes
inside the model (`Dataset.preprocessor`), so the saved model takes raw rows: a
dict of columns (TensorFlow tensors or a `tf.data.Dataset`; strings need the
TensorFlow backend). The search streams raw rows through `tf.data`.
"""

import importlib.util
import logging
import os
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

from kt_toolkit.data import files, labels, split, streams
from kt_toolkit.data.dataset import Dataset, HeldOut
from kt_toolkit.errors import DataError, suggest

if TYPE_CHECKING:
    from kt_toolkit.config.schema import DataConfig

__all__ = ["TEXT_TOKENS", "column_kinds", "is_table", "read_table"]

logger = logging.getLogger(__name__)
KEY = "data.columns"
SNIFF_ROWS = 1000
TEXT_WORDS = 3
TEXT_TOKENS = 2000
MISSING = ("", "na", "n/a", "nan", "null", "none")


def _is_missing(value: str) -> bool:
    return value.strip().lower() in MISSING


def is_table(config: "DataConfig") -> bool:
    """Whether `config.dataset` is a table read here (see the module docstring)."""
    path = str(config.dataset).lower()
    if path.endswith(".parquet"):
        return all(importlib.util.find_spec(name) for name in ("pandas", "pyarrow"))
    if not path.endswith(".csv") or config.loader is not None:
        return False
    if config.columns is not None or config.missing == "impute":
        return True
    if not os.path.isfile(config.dataset):
        return False  # `files.read_file` says it is missing
    names, rows, _ = files._read_rows(config.dataset, config.header)
    target = files._target_index(names, config.target)
    rows = rows[:SNIFF_ROWS]
    return any(not all(_is_missing(row[i]) or files._is_float(row[i]) for row in rows)
               for i in range(len(names)) if i != target)


def _read(config):
    """`(column names, {name: list of strings}, first data line)`."""
    path = str(config.dataset)
    if path.lower().endswith(".parquet"):
        try:
            import pandas
            frame = pandas.read_parquet(path)
        except ImportError as error:
            raise DataError(f"`dataset` .parquet files need pandas and pyarrow. Received: "
                            f"dataset={path!r} ({error}). pip install pandas pyarrow, or "
                            "save it as .csv.", key="data.dataset") from None
        names = [str(c) for c in frame.columns]
        values = {str(c): ["" if v is None or v != v else str(v) for v in frame[c].tolist()]
                  for c in frame.columns}
        return names, values, 1
    names, rows, first_line = files._read_rows(path, config.header)
    return names, {name: [row[i].strip() for row in rows] for i, name in
                   enumerate(names)}, first_line


def _infer(values):
    present = [v for v in values if not _is_missing(v)]
    if all(files._is_float(v) for v in present):
        return "numeric"
    words = np.mean([len(v.split()) for v in present]) if present else 0
    return "text" if words >= TEXT_WORDS else "categorical"


def column_kinds(config: "DataConfig") -> dict[str, str]:
    """`{feature column: kind}`: `data.columns`, the rest inferred (module docstring).

    Raises:
        DataError: a column in `data.columns` the table does not have (the
            table's columns listed).
    """
    names, values, _ = _read(config)
    target = names[files._target_index(names, config.target)]
    given = dict(config.columns or {})
    for name in given:
        if name not in names:
            raise DataError(f"`columns` must name columns of {config.dataset!r}. Received: "
                            f"columns.{name}.{suggest(name, names)} Columns: "
                            f"{', '.join(names)}.", key=f"{KEY}.{name}")
    return {name: given.get(name) or _infer(values[name])
            for name in names if name != target}


def _fill(name, kind, column, rows, config, first_line):
    """The column as an array, its missing values refused or imputed from `rows`
    (the training rows' indices)."""
    missing = np.array([_is_missing(v) for v in column])
    if missing.any() and config.missing != "impute":
        lines = ", ".join(str(first_line + i) for i in np.flatnonzero(missing)[:5])
        raise DataError(f"`missing` must be impute for a table with missing values. "
                        f"Received: missing={config.missing} and column `{name}` has "
                        f"{int(missing.sum())} missing value(s) (lines {lines}"
                        f"{', …' if missing.sum() > 5 else ''}). Set `data.missing: impute` "
                        "(median or most frequent value) or fill them.", key="data.missing")
    if kind in ("numeric", "integer_categorical"):
        try:
            numbers = np.array([np.nan if m else float(v) for v, m in zip(column, missing)])
        except ValueError:
            bad = next(v for v, m in zip(column, missing) if not m and not files._is_float(v))
            raise DataError(f"`columns` must say numeric or integer_categorical only of "
                            f"numbers. Received: columns.{name}={kind} holds {bad!r}. Say "
                            "categorical or text.", key=f"{KEY}.{name}") from None
        known = numbers[rows][~missing[rows]]
        fill = float(np.median(known)) if len(known) else 0.0
        if kind == "integer_categorical":
            fill = Counter(known.tolist()).most_common(1)[0][0] if len(known) else 0
        numbers[missing] = fill
        return numbers.astype(np.int64 if kind == "integer_categorical" else np.float32)
    known = [column[i] for i in rows if not missing[i]]
    fill = "" if kind == "text" or not known else Counter(known).most_common(1)[0][0]
    return np.array([fill if m else v for v, m in zip(column, missing)], dtype=str)


def _feature_space(kinds, columns, rows):
    import keras

    space = keras.utils.FeatureSpace
    features = {}
    for name, kind in kinds.items():
        if kind == "numeric":
            features[name] = space.float_normalized()
        elif kind == "categorical":
            features[name] = space.string_categorical(num_oov_indices=1)
        elif kind == "integer_categorical":
            features[name] = space.integer_categorical(num_oov_indices=1)
        else:  # TF-IDF words, flattened: FeatureSpace feeds each column as (batch, 1)
            words = keras.layers.TextVectorization(max_tokens=TEXT_TOKENS,
                                                   output_mode="tf_idf")
            words.adapt(columns[name][rows])
            features[name] = space.feature(
                preprocessor=keras.Sequential([words, keras.layers.Flatten()],
                                              name=f"text_{name}"),
                dtype="string", output_mode="float")
    preprocessor = space(features, output_mode="concat")
    preprocessor.adapt(_rows_stream({n: c[rows] for n, c in columns.items()}, None, 256))
    return preprocessor


def _rows_stream(columns, y, batch_size, *, seed=None):
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices(columns if y is None else (columns, y))
    if seed is not None:
        data = data.shuffle(len(next(iter(columns.values()))), seed=seed,
                            reshuffle_each_iteration=True)
    return data.batch(batch_size)


def _cut(config, y, task, names, seed):
    """Row indices `(train, validation, test or None)`, as `load_dataset` cuts arrays."""
    stratify = task in labels.CLASSIFICATION
    index, test = np.arange(len(y)), None
    if config.test_split is not None:
        index, test, y, _ = split.hold_out(index, y, fraction=config.test_split,
                                           stratify=stratify, shuffle=config.shuffle,
                                           class_names=names)
    fraction = config.validation_split / (1.0 - (config.test_split or 0.0))
    train, validation, _, _ = split.split(index, y, fraction=fraction, stratify=stratify,
                                          shuffle=config.shuffle, seed=seed, class_names=names)
    return train, validation, test


def read_table(config: "DataConfig", *, seed: int,
               batch_size: int) -> tuple[Dataset, "HeldOut | None"]:
    """The table as a streamed `Dataset` of raw rows (and its held-out test part).

    Raises:
        DataError: a missing column, missing values without `data.missing: impute`,
            a column that cannot be the kind given, or targets `load_dataset` refuses.
    """
    _check_unsupported(config)
    kinds = column_kinds(config)
    _check_backend(config, kinds)
    names, values, first_line = _read(config)
    task, y, class_names = _table_targets(config, names, values)
    keep = np.flatnonzero(y >= 0) if task in labels.CLASSIFICATION else np.arange(len(y))
    for name, kind in kinds.items():  # the columns' errors before the split's
        _fill(name, kind, values[name], keep, config, first_line)
    train, validation, test = _parts(config, y, keep, task, class_names, seed)
    columns = {name: _fill(name, kind, values[name], train, config, first_line)
               for name, kind in kinds.items()}
    preprocessor = _feature_space(kinds, columns, train)
    part = {key: ({n: c[rows] for n, c in columns.items()}, y[rows])
            for key, rows in (("train", train), ("validation", validation), ("test", test))
            if rows is not None}
    held = None
    if test is not None:
        held = HeldOut(_rows_stream(*part["test"], batch_size), None, source="test_split")
        held.samples = len(test)
    logger.info("Columns of %s: %s.", config.dataset,
                ", ".join(f"{n} {k}" for n, k in kinds.items()))
    return _streamed(config, task, class_names, part, preprocessor,
                     seed=seed, batch_size=batch_size), held


def _check_unsupported(config):
    for name in ("subsample", "imbalance", "cv_folds"):
        if getattr(config, name, None) is not None:
            raise DataError(f"`{name}` must be null for a table with categorical or text "
                            f"columns. Received: {name}={getattr(config, name)!r}. Sample "
                            "or rebalance the file first.", key=f"data.{name}")


def _table_targets(config, names, values):
    """`(task, y, class_names)` of the table's target column, encoded as
    `load_dataset` encodes targets (-1: a row `data.classes` leaves out)."""
    target = names[files._target_index(names, config.target)]
    raw_y = np.array(values[target])
    y_raw = raw_y.astype(np.float64) if all(files._is_float(v) for v in raw_y) else raw_y
    task = config.task if config.task != "auto" else labels.infer_task(y_raw)
    y, _, class_names = labels.encode_targets(y_raw, None, task=task, classes=config.classes)
    return task, y, class_names


def _streamed(config, task, class_names, part, preprocessor, *, seed, batch_size):
    """The `Dataset` streaming the rows of `part` ("train", "validation"), with an
    encoded sample of each part for the checks and the raw rows as the model takes them."""
    shuffle_seed = seed if config.shuffle else None
    train_data = _rows_stream(*part["train"], batch_size, seed=shuffle_seed)
    validation_data = _rows_stream(*part["validation"], batch_size)
    sample = min(streams.SAMPLE_SAMPLES, len(part["train"][1]))
    encode = (lambda cols: np.asarray(preprocessor({n: c[:sample] for n, c in cols.items()})))
    raw = (lambda cols: {n: c[:sample].astype(object) if c.dtype.kind == "U" else c[:sample]
                         for n, c in cols.items()})  # as the model takes them (the checks)
    test = part.get("test")
    return Dataset(
        name=str(config.dataset), task=task, x_train=encode(part["train"][0]),
        y_train=part["train"][1][:sample], x_val=encode(part["validation"][0]),
        y_val=part["validation"][1][:sample],
        num_classes=None if class_names is None else len(class_names),
        class_names=class_names, train_data=train_data, validation_data=validation_data,
        sample_batches=int(np.ceil(sample / batch_size)), preprocessor=preprocessor,
        test_samples=0 if test is None else len(test[1]),
        raw_rows=(raw(part["train"][0]), raw(part["validation"][0])))


def _check_backend(config, kinds):
    """String columns reach the model as string tensors: TensorFlow only."""
    import keras

    strings = [f"{name} {kind}" for name, kind in kinds.items()
               if kind in ("categorical", "text")]
    backend = keras.backend.backend()
    if strings and backend != "tensorflow":
        raise DataError(f"`dataset` columns of strings need the TensorFlow backend. Received: "
                        f"dataset={config.dataset!r} with {', '.join(strings)} on "
                        f"KERAS_BACKEND={backend}. Run with KERAS_BACKEND=tensorflow, or "
                        "encode them as integer codes (columns: integer_categorical).",
                        key="data.dataset")


def _parts(config, y, keep, task, class_names, seed):
    train, validation, test = _cut(config, y[keep], task, class_names, seed)
    return keep[train], keep[validation], None if test is None else keep[test]
