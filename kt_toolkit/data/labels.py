"""Targets: which task they make, class filtering (D2) and encoding to `0..k-1`.

With `task: auto` a file's targets decide: non-integer numbers are a regression;
integer-like numbers or strings with exactly 2 distinct values are binary, with up
to `MAX_AUTO_CLASSES` multiclass; more integers are a regression.
"""

from collections.abc import Sequence

import numpy as np

from kt_toolkit.errors import DataError

__all__ = ["MAX_AUTO_CLASSES", "encode_targets", "infer_task"]

MAX_AUTO_CLASSES = 100
CLASSIFICATION = ("multiclass", "binary")


def _is_text(y):
    return y.dtype.kind in "USO"


def _is_integer_like(y):
    if y.dtype.kind in "biu":
        return True
    return y.dtype.kind == "f" and bool(np.all(np.isfinite(y))) and bool(
        np.all(y == np.round(y)))


def _label_name(value):
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value).strip()


def _preview(names, limit=12):
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names)} in all)" if len(names) > limit else "")


def infer_task(y: np.ndarray) -> str:
    """Returns the task that targets `y` make under `task: auto`.

    Args:
        y: 1-D array of targets (numbers or strings).

    Returns:
        String, `"multiclass"`, `"binary"` or `"regression"`.

    Raises:
        DataError: for string targets with more than `MAX_AUTO_CLASSES` values.
    """
    if not _is_text(y) and not _is_integer_like(y):
        return "regression"
    count = len(np.unique(y))
    if count == 2:
        return "binary"
    if count <= MAX_AUTO_CLASSES:
        return "multiclass"
    if _is_text(y):
        raise DataError(
            f"`task` auto must find at most {MAX_AUTO_CLASSES} classes in a text target. "
            f"Received: {count} distinct labels. Set `task: multiclass` to use them all, "
            "or pick some with `classes`.", key="data.task")
    return "regression"


def _select(names, requested):
    wanted = [_label_name(value) for value in requested]
    missing = [value for value, name in zip(requested, wanted) if name not in names]
    if missing:
        raise DataError(
            f"`classes` must list labels present in the data. Received: "
            f"classes={list(requested)!r}; not found: {', '.join(map(str, missing))}. "
            f"Available classes: {_preview(names, limit=50)}.", key="data.classes")
    if len(set(wanted)) != len(wanted):
        raise DataError(f"`classes` must not repeat a label. Received: "
                        f"classes={list(requested)!r}.", key="data.classes")
    return [names.index(name) for name in wanted]


def _check_count(task, names, requested):
    if task == "binary" and len(names) != 2:
        hint = ("Pick two with `classes`, or set `task: multiclass`." if requested is None
                else "List exactly two labels in `classes`.")
        raise DataError(f"`task` binary must have exactly 2 classes. Received: "
                        f"task='binary' with {len(names)} classes ({_preview(names)}). "
                        f"{hint}", key="data.task")
    if len(names) < 2:
        raise DataError(f"`task` {task} must have at least 2 classes. Received: "
                        f"{len(names)} class ({_preview(names)}).", key="data.task")


def _encode_classes(y_all, task, requested):
    if not _is_text(y_all) and not _is_integer_like(y_all):
        example = y_all[np.flatnonzero(y_all != np.round(y_all))[0]]
        raise DataError(
            f"`task` {task} must have integer or text labels. Received: non-integer "
            f"targets such as {example!r}. Set `task: regression` for continuous targets.",
            key="data.task")
    values, inverse = np.unique(y_all, return_inverse=True)
    names = [_label_name(value) for value in values]
    order = list(range(len(values))) if requested is None else _select(names, requested)
    kept = [names[i] for i in order]
    _check_count(task, kept, requested)
    table = np.full(len(values), -1, dtype=np.int64)
    table[order] = np.arange(len(order))
    return table[inverse.reshape(-1)], kept


def _encode_regression(y_all, requested):
    if requested is not None:
        raise DataError(f"`classes` must be null for a regression. Received: "
                        f"classes={list(requested)!r}. Set `task: multiclass` to treat "
                        "the targets as classes.", key="data.classes")
    if _is_text(y_all):
        raise DataError("`task` regression must have numeric targets. Received: text "
                        f"labels such as {str(y_all[0])!r}. Use `task: multiclass` or "
                        "`auto`.", key="data.task")
    if not np.all(np.isfinite(y_all)):
        raise DataError("`dataset` targets must be finite numbers. Received: NaN or "
                        "infinite targets.", key="data.dataset")
    return y_all.astype(np.float32)


def encode_targets(y: np.ndarray, y_val: np.ndarray | None, *, task: str,
                   classes: Sequence[object] | None = None
                   ) -> tuple[np.ndarray, np.ndarray | None, list[str] | None]:
    """Encodes targets for `task`, keeping only the `classes` listed (D2).

    Class indices follow the sorted original labels, or the order of `classes`
    when given. Samples of a class not listed get the code -1 (to be dropped).

    Args:
        y: 1-D array, the training (or whole) targets.
        y_val: Optional 1-D array, validation targets encoded with the same table.
        task: String, `"multiclass"`, `"binary"` or `"regression"` (not `"auto"`).
        classes: Optional list of original labels to keep, in the order they get
            the indices `0..k-1`.

    Returns:
        Tuple `(y, y_val, class_names)`: int64 codes (float32 for regression),
        `y_val` likewise or `None`, and the kept labels as strings (`None` for
        regression).

    Raises:
        DataError: for a label that is not in the data, targets that do not fit
            `task`, or a class count that `task` cannot have.
    """
    parts = [np.asarray(y)] + ([] if y_val is None else [np.asarray(y_val)])
    y_all = np.concatenate(parts) if len(parts) > 1 else parts[0]
    if task in CLASSIFICATION:
        codes, names = _encode_classes(y_all, task, classes)
    else:
        codes, names = _encode_regression(y_all, classes), None
    train = codes[:len(parts[0])]
    return train, (None if y_val is None else codes[len(parts[0]):]), names
