"""Streamed data: `keras.utils.PyDataset` and `tf.data.Dataset`, read only in part.

Nothing of a stream is materialized but a bounded sample of its first batches
(`SAMPLE_BATCHES`, at most `SAMPLE_SAMPLES` samples): the input shape, the task,
the class count and the data checks read that sample; the search trains on the
stream itself. Keras (and TensorFlow) is imported only when a stream is read.
"""

import sys
from typing import Any

import numpy as np

from kt_toolkit.errors import DataError

__all__ = ["SAMPLE_BATCHES", "SAMPLE_SAMPLES", "counting", "is_stream", "joined", "sample",
           "stream_kind", "stream_task"]

SAMPLE_BATCHES = 8
SAMPLE_SAMPLES = 2048


def stream_kind(value: Any) -> str | None:
    """`"py_dataset"`, `"tf_data"` or `None` for anything else (imports nothing new)."""
    keras = sys.modules.get("keras")
    if keras is not None and isinstance(value, keras.utils.PyDataset):
        return "py_dataset"
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(value, tf.data.Dataset):
        return "tf_data"
    return None


def is_stream(value: Any) -> bool:
    """Whether `value` is a `keras.utils.PyDataset` or a `tf.data.Dataset`."""
    return stream_kind(value) is not None


def _batches(stream, limit):
    if stream_kind(stream) == "py_dataset":
        count = len(stream)
        for index in range(min(count, limit)):
            yield stream[index]
        return
    yield from stream.take(limit).as_numpy_iterator()


def _array(value, key, what):
    if isinstance(value, dict) or not hasattr(value, "shape"):
        raise DataError(f"`{key}` batches must be (x, y) with array x and y. Received: "
                        f"{what} of type {type(value).__name__}. Return one array input "
                        "per batch (x) and its targets (y).", key=key)
    return np.asarray(value)


def sample(stream: Any, *, key: str, part: str,
           max_batches: int = SAMPLE_BATCHES) -> tuple[np.ndarray, np.ndarray, int]:
    """The first batches of `stream` as arrays, at most `SAMPLE_SAMPLES` samples.

    Args:
        stream: A `keras.utils.PyDataset` or `tf.data.Dataset` of `(x, y)` batches.
        key: String, the setting named in errors (`data.loader`, `data.dataset`).
        part: String, the part (`train`, `validation`) named in errors.
        max_batches: Integer, how many batches to read at most.

    Returns:
        Tuple `(x, y, batches read)`.

    Raises:
        DataError: a stream with no batch, or batches that are not `(x, y)` arrays.
    """
    xs, ys, count, total = [], [], 0, 0
    for batch in _batches(stream, max_batches):
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise DataError(f"`{key}` batches must be (x, y) pairs. Received: a {part} "
                            f"batch of type {type(batch).__name__}. Yield (x, y) or "
                            "(x, y, sample_weight).", key=key)
        xs.append(_array(batch[0], key, f"{part} x"))
        ys.append(_array(batch[1], key, f"{part} y"))
        count += 1
        total += len(xs[-1])
        if total >= SAMPLE_SAMPLES:
            break
    if not xs:
        raise DataError(f"`{key}` {part} data must hold at least one batch. Received: an "
                        f"empty {type(stream).__name__}.", key=key)
    x, y = np.concatenate(xs)[:SAMPLE_SAMPLES], np.concatenate(ys)[:SAMPLE_SAMPLES]
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    return x, y, count


def stream_task(y: np.ndarray, task: str, *, key: str) -> tuple[str, int | None]:
    """The task and class count of streamed targets, read off a sample.

    A stream's targets go to the model as they are, so classes must already be
    integers `0..k-1` (one per sample); `k` is the largest seen plus one.

    Returns:
        Tuple `(task, num_classes)`, `num_classes` `None` for a regression.

    Raises:
        DataError: targets that are not one number per sample, or class labels
            that are not integers `>= 0`.
    """
    if y.ndim != 1:
        raise DataError(f"`{key}` targets must be one number per sample. Received: y "
                        f"batches of shape {y.shape[1:]} per sample. Give integer class "
                        "ids (not one-hot) or one regression target.", key=key)
    integer = y.dtype.kind in "biu" or (y.dtype.kind == "f" and np.all(y == np.round(y)))
    if task == "auto":
        task = "regression" if not integer else ("binary" if y.max() <= 1 else "multiclass")
    if task == "regression":
        return task, None
    if not integer or y.min() < 0:
        raise DataError(f"`{key}` targets of a {task} task must be integer class ids 0..k-1. "
                        f"Received: values from {y.min()!r} to {y.max()!r} in the sample. "
                        "Encode the classes, or set `data.task: regression`.", key=key)
    return task, 2 if task == "binary" else max(int(y.max()) + 1, 2)


def counting(stream: Any) -> tuple[Any, Any]:
    """`stream` wrapped to count the samples read through it, as it is read.

    The final step evaluates (and refits) on streams of unknown size: the count
    comes with that one pass, nothing is read twice.

    Returns:
        Tuple `(wrapped stream, count)`: `count(passes=1)` is the number of
        samples in one pass, once the stream was read `passes` times over (a
        PyDataset counts each batch index once; a tf.data stream counts every
        sample read and divides).
    """
    if stream_kind(stream) == "py_dataset":
        from kt_toolkit.data._py_datasets import CountingPyDataset

        wrapped = CountingPyDataset(stream)
        return wrapped, lambda passes=1: wrapped.samples
    import tensorflow as tf  # a tf.data stream: TensorFlow is loaded already

    read = tf.Variable(0, dtype=tf.int64, trainable=False)

    @tf.autograph.experimental.do_not_convert
    def add(*parts):
        first = tf.nest.flatten(parts[0])[0]
        read.assign_add(tf.cast(tf.shape(first)[0], tf.int64))
        return parts if len(parts) > 1 else parts[0]

    return stream.map(add), lambda passes=1: int(read.numpy()) // max(passes, 1)


def joined(first: Any, second: Any) -> Any:
    """One stream: the batches of `first`, then those of `second` (of the same kind).

    Raises:
        DataError: streams of two kinds (a PyDataset and a tf.data.Dataset).
    """
    kinds = stream_kind(first), stream_kind(second)
    if kinds[0] != kinds[1]:
        raise DataError(f"`data.loader` train and validation parts must be streams of one "
                        f"kind to be joined for `final.refit`. Received: {kinds[0]} and "
                        f"{kinds[1]}. Return two PyDatasets or two tf.data.Datasets.",
                        key="data.loader")
    if kinds[0] == "py_dataset":
        from kt_toolkit.data._py_datasets import ChainedPyDataset

        return ChainedPyDataset(first, second)
    return first.concatenate(second)
