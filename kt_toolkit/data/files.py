"""Datasets from files: `.npz` archives and `.csv` tables (no pandas).

An `.npz` holds either `x` and `y` (split by `load_dataset`) or `x_train`,
`y_train`, `x_val`, `y_val` (used as given); either may add `x_test`, `y_test`, its
test part, held out of the search (`x_train`, `y_train`, `x_test`, `y_test` then
has the validation part cut from the training part). In a `.csv` one column is the target
(`data.target`: a column name or an integer index, the last column by default) and
every other column must be numeric.

Whether the first line of a `.csv` is a header is `data.header`: `true`, `false`, or
`auto` (the default), which reads a first line of numbers as the first sample and
skips scikit-learn's count line (`150,4,setosa,versicolor,virginica` in its
`iris.csv`: samples, features, class names). A file without a header has columns
named `0`…`N-1`; the log says so.
"""

import csv
import logging
import os

import numpy as np

from kt_toolkit.data.dataset import RawData
from kt_toolkit.errors import DataError, invalid, suggest

__all__ = ["read_csv", "read_file", "read_npz"]

logger = logging.getLogger(__name__)

NPZ_LAYOUTS = (("x", "y"), ("x_train", "y_train", "x_val", "y_val"),
               ("x_train", "y_train", "x_test", "y_test"))
TEST_KEYS = ("x_test", "y_test")  # a test part, with any layout


def read_file(path: str | os.PathLike[str], *, target: str | int | None = None,
              header: bool | str = "auto") -> RawData:
    """Reads a `.npz` or `.csv` file into a `RawData`.

    Args:
        path: String, the file; a relative path is relative to the current directory.
        target: Optional string or integer, the target column of a `.csv`.
        header: `"auto"`, `True` or `False`: whether the first line of a `.csv` is
            its header (see the module docstring). Defaults to `"auto"`.

    Returns:
        A `RawData` with float32 features and raw (unencoded) targets.

    Raises:
        DataError: when the file is missing, unreadable or laid out wrongly.
    """
    if not os.path.isfile(path):
        raise DataError(
            f"`dataset` must be an existing file. Received: dataset={path!r}: file not "
            f"found (looked in {os.path.abspath(path)!r}). Relative paths are relative "
            "to the current directory.", key="data.dataset")
    if str(path).lower().endswith(".npz"):
        return read_npz(path)
    return read_csv(path, target=target, header=header)


def _features(x, path, key):
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise DataError(f"`{key}` in {path!r} must hold numbers. Received: dtype "
                        f"{x.dtype}. Encode text or categories as numbers first.",
                        key="data.dataset")
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    return x.astype(np.float32)


def _targets(y, x, path, key):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(f"`{key}` in {path!r} must be 1-D with one target per sample "
                        f"({len(x)}). Received: shape {y.shape}.", key="data.dataset")
    return y


def read_npz(path: str | os.PathLike[str]) -> RawData:
    """Reads an `.npz` archive; see the module docstring for its layouts."""
    with np.load(path, allow_pickle=False) as archive:
        found = sorted(archive.files)
        present = [layout for layout in NPZ_LAYOUTS if set(layout) <= set(found)]
        if len(present) == 2 and present[1] == NPZ_LAYOUTS[2]:
            present = present[:1]  # x_train, y_train, x_val, y_val and a test part
        if len(present) != 1:
            expected = " or ".join("(" + ", ".join(layout) + ")" for layout in NPZ_LAYOUTS)
            raise DataError(
                f"`dataset` must be an .npz with keys {expected}. Received: "
                f"dataset={path!r} with keys {found}.", key="data.dataset")
        names = present[0] + (TEST_KEYS if set(TEST_KEYS) <= set(found) else ())
        arrays = {name: archive[name] for name in dict.fromkeys(names)}
    if "x" in arrays:
        x = _features(arrays["x"], path, "x")
        raw = RawData(x=x, y=_targets(arrays["y"], x, path, "y"), input_kind=_input_kind(x))
    else:
        x = _features(arrays["x_train"], path, "x_train")
        raw = RawData(x=x, y=_targets(arrays["y_train"], x, path, "y_train"),
                      input_kind=_input_kind(x))
        if "x_val" in arrays:
            raw.x_val, raw.y_val = _part(arrays, "val", x, path)
    if "x_test" in arrays:
        raw.x_test, raw.y_test = _part(arrays, "test", x, path)
    return raw


def _part(arrays, part, x, path):
    """`(x_<part>, y_<part>)`, checked against the training features `x`."""
    x_part = _features(arrays[f"x_{part}"], path, f"x_{part}")
    if x_part.shape[1:] != x.shape[1:]:
        raise DataError(f"`x_{part}` in {path!r} must have the sample shape of the training "
                        f"features {x.shape[1:]}. Received: {x_part.shape[1:]}.",
                        key="data.dataset")
    return x_part, _targets(arrays[f"y_{part}"], x_part, path, f"y_{part}")


def _input_kind(x):
    return "image" if x.ndim >= 3 else "features"


def _quoted(fields, limit=80):
    line = ",".join(fields)
    return repr(line if len(line) <= limit else line[:limit] + "…")


def _is_count_line(rows):
    """Whether line 1 is scikit-learn's `n_samples,n_features,class names…`."""
    counts = [field.strip() for field in rows[0][:2]]
    if len(rows) < 2 or len(counts) < 2 or not all(c.isdigit() for c in counts):
        return False
    return int(counts[0]) == len(rows) - 1 and int(counts[1]) == len(rows[1]) - 1


def _layout(rows, header):
    """Returns (column names, data rows, whether line 1 is the header)."""
    first = rows[0]
    if header == "auto":
        if _is_count_line(rows):
            logger.info("Line 1 %s is a count of samples and features (scikit-learn's "
                        "layout), skipped: no header found; columns named 0…%d.",
                        _quoted(first), len(rows[1]) - 1)
            return [str(i) for i in range(len(rows[1]))], rows[1:], False
        header = not all(_is_float(field) for field in first)
        if not header:
            logger.info("Line 1 %s is all numbers, read as a sample: no header found; "
                        "columns named 0…%d. Set `data.header: true` if it is the header.",
                        _quoted(first), len(first) - 1)
    if header:
        return [name.strip() for name in first], rows[1:], True
    return [str(i) for i in range(len(first))], rows, False


def _read_rows(path, header):
    """Returns (column names, data rows, line number of the first data row)."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = [row for row in csv.reader(handle) if row]
    names, data, has_header = _layout(rows, header) if rows else ([], [], True)
    if not data:
        raise DataError(f"`dataset` must be a .csv with a header row and data rows. "
                        f"Received: dataset={path!r} with {len(rows)} row(s).",
                        key="data.dataset")
    first_line = len(rows) - len(data) + 1
    if has_header:
        like = f"the header (line 1: {_quoted(rows[0])})"
        hint = ("If line 1 is not a header but a sample, set `data.header: false`; if it "
                "is a note or a count, delete it.")
    else:
        like = f"line {first_line}: {_quoted(data[0])}"
        hint = ("If line 1 is a header, set `data.header: true`; if it is a note or a "
                "count, delete it.")
    for number, row in enumerate(data, start=first_line):
        if len(row) != len(names):
            raise DataError(f"`dataset` rows must have {len(names)} fields like {like}. "
                            f"Received: dataset={path!r}, line {number} has {len(row)}. "
                            f"{hint}", key="data.dataset")
    return names, data, first_line


def _target_index(header, target):
    if target is None:
        return len(header) - 1
    if isinstance(target, int) and not isinstance(target, bool):
        if -len(header) <= target < len(header):
            return target % len(header)
    elif str(target).strip() in header:
        return header.index(str(target).strip())
    hint = suggest(target, header)
    raise DataError(
        f"`target` must be a column name or an index in 0..{len(header) - 1}. Received: "
        f"target={target!r}.{hint} Columns: {', '.join(header)}.", key="data.target")


def _column(rows, index, name, path, first_line):
    values = [row[index].strip() for row in rows]
    try:
        return np.array([float(value) for value in values], dtype=np.float64)
    except ValueError:
        bad = next(i for i, value in enumerate(values) if not _is_float(value))
        raise DataError(
            f"Feature column `{name}` must be numeric. Received: {values[bad]!r} on line "
            f"{bad + first_line} of {path!r}. Encode it as numbers, drop it, or make it the "
            "`target`.", key="data.dataset") from None


def _is_float(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def read_csv(path: str | os.PathLike[str], *, target: str | int | None = None,
             header: bool | str = "auto") -> RawData:
    """Reads a `.csv`; see the module docstring for the rules and `read_file` for the
    arguments."""
    if not (isinstance(header, bool) or header == "auto"):
        raise invalid("data.header", "one of auto, true, false", header,
                      "auto reads a first line of numbers as a sample.", error=DataError)
    header, rows, first_line = _read_rows(path, header)
    target_index = _target_index(header, target)
    features = [_column(rows, i, header[i], path, first_line)
                for i in range(len(header)) if i != target_index]
    if not features:
        raise DataError(f"`dataset` must have a feature column besides the target. "
                        f"Received: dataset={path!r} with columns {header}.",
                        key="data.dataset")
    labels = [row[target_index].strip() for row in rows]
    if all(_is_float(label) for label in labels):
        y = np.array([float(label) for label in labels], dtype=np.float64)
    else:
        y = np.array(labels, dtype=str)
    x = np.stack(features, axis=1).astype(np.float32)
    return RawData(x=x, y=y, input_kind="features")
