"""Atomic file writes, CSV and JSON helpers shared by the run-directory writers. No Keras."""

import csv
import io
import json
import math
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["append_csv_row", "as_float", "atomic_write_text", "read_csv", "read_json",
           "write_csv"]


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Writes `text` to `path` through a temporary file and `os.replace`.

    A reader (or a run killed mid-write) sees the old file or the new one, never
    half of one.
    """
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}-{threading.get_ident()}"
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_csv(path: str | os.PathLike[str], rows: Sequence[Mapping[str, Any]],
              fields: list[str] | None = None) -> None:
    """Writes dict rows atomically; columns are `fields` or the union in first-seen order."""
    if fields is None:
        fields = []
        for row in rows:
            fields.extend(name for name in row if name not in fields)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def append_csv_row(path: str | os.PathLike[str], row: Mapping[str, Any],
                   fields: Sequence[str]) -> None:
    """Appends one dict row to a CSV file whose header is `fields`, in one `write` call.

    A reader sees the file without the row or with all of it; a process killed
    mid-call leaves whole lines (the kernel has the line or not). Keys outside
    `fields` are left out, missing ones are empty.
    """
    buffer = io.StringIO()
    csv.DictWriter(buffer, fieldnames=list(fields), extrasaction="ignore").writerow(row)
    descriptor = os.open(os.fspath(path), os.O_WRONLY | os.O_APPEND)
    try:
        os.write(descriptor, buffer.getvalue().encode("utf-8"))
    finally:
        os.close(descriptor)


def read_csv(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """The rows of a CSV file as dicts of strings; an empty list when it is missing."""
    if not os.path.exists(path):
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def as_float(value: Any) -> float:
    """`float(value)`, or NaN for what is not a number (a CSV cell, a log value, `None`)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def read_json(path: str | os.PathLike[str], default: Any = None) -> Any:
    """The JSON in `path`, or `default` when it is missing or not (yet) whole JSON."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return default
