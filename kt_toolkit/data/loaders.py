"""Your own data: `data.loader: "package.module:function"`.

The function is imported like your own model (from `data.module_dir`, the
experiment file's folder, or an installed package) and called with no
arguments, or with `seed=` (the experiment's seed) when it takes one. It returns:

- arrays `(x, y)`: split, filtered and standardized like a `.npz` file;
- a dict with a `train` part and optional `validation` and `test` parts, each
  `(x, y)`: used as given (no split);
- a `keras.utils.PyDataset` or a `tf.data.Dataset` (TensorFlow backend) of
  batches `(x, y)`, or a dict of them with `train` and `validation` (required: a
  stream is not split): streamed, nothing materialized but a sample of the first
  batches (`kt_toolkit.data.streams`). Stream targets must be integer class ids
  `0..k-1` or regression values; `k` is the stream's `class_names` length when it
  has that attribute (as `image_dataset_from_directory`'s datasets do), else the
  largest id in the sample plus one.
"""

import inspect
from typing import TYPE_CHECKING, Any

import numpy as np

from kt_toolkit._imports import load_object
from kt_toolkit.data.dataset import RawData
from kt_toolkit.data.streams import is_stream, stream_kind
from kt_toolkit.errors import DataError

if TYPE_CHECKING:
    from kt_toolkit.config.schema import DataConfig

__all__ = ["PARTS", "call_loader"]

KEY = "data.loader"
PARTS = ("train", "validation", "test")
_EXPECTED = ("arrays (x, y), a dict with `train` (and optional `validation`, `test`) "
             "parts, a keras.utils.PyDataset or a tf.data.Dataset")


def _describe(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        inner = ", ".join(type(v).__name__ for v in value[:4])
        return f"a {type(value).__name__} of {len(value)} ({inner})"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(map(str, value))}"
    return f"{type(value).__name__} {value!r:.60}"


def _wrong(config, value, detail=""):
    return DataError(f"`loader` must return {_EXPECTED}. Received: {config.loader} "
                     f"returned {_describe(value)}.{detail} See the README's "
                     "'Your own data'.", key=KEY)


def _is_pair(value):
    return (isinstance(value, (tuple, list)) and len(value) == 2
            and all(hasattr(v, "__len__") and not isinstance(v, (str, dict)) for v in value))


def _arrays(config, value, part):
    x, y = (np.asarray(v) for v in value)
    if x.dtype.kind not in "biuf" or x.ndim == 0:
        raise DataError(f"`loader` {part} x must be an array of numbers. Received: dtype "
                        f"{x.dtype}, shape {x.shape} from {config.loader}. Encode text or "
                        "categories as numbers, or return a stream.", key=KEY)
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(f"`loader` {part} y must be 1-D with one target per sample "
                        f"({len(x)}). Received: shape {y.shape} from {config.loader}.",
                        key=KEY)
    return x.astype(np.float32), y


def _call(config, seed):
    function = load_object(config.loader, config.module_dir, key=KEY)
    if not callable(function):
        raise DataError(f"`loader` must name a function. Received: {config.loader} is "
                        f"{type(function).__name__} {function!r:.60}.", key=KEY)
    try:
        takes_seed = "seed" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        takes_seed = False
    try:
        return function(seed=seed) if takes_seed else function()
    except DataError:
        raise
    except Exception as error:  # noqa: BLE001 - the user's function, reported as such
        raise DataError(f"`loader` must run without an error. Received: {config.loader} "
                        f"raised {type(error).__name__}: {error}", key=KEY) from error


def _parts(config, value):
    """`{part: value}` from what the loader returned."""
    if isinstance(value, dict):
        unknown = sorted(str(k) for k in value if k not in PARTS)
        if unknown or "train" not in value:
            raise _wrong(config, value, f" Its keys must be {', '.join(PARTS)} with train "
                         f"required{'; unknown: ' + ', '.join(unknown) if unknown else ''}.")
        return dict(value)
    return {"train": value}


def call_loader(config: "DataConfig", *, seed: int) -> tuple[str, Any]:
    """Calls the loader; returns `("arrays", RawData)` or `("streams", {part: stream})`.

    Raises:
        DataError: the function does not import or run, or returns anything else
            than the module docstring lists (what it returned is named).
    """
    value = _call(config, seed)
    if stream_kind(value) is None and not _is_pair(value) and not isinstance(value, dict):
        raise _wrong(config, value)
    parts = _parts(config, value)
    streams = {name: is_stream(part) for name, part in parts.items()}
    if all(streams.values()):
        if "validation" not in parts:
            raise DataError("`loader` must return a `validation` part with a stream: a "
                            f"stream is not split. Received: {config.loader} returned "
                            f"{_describe(value)}. Return {{'train': ..., 'validation': "
                            "...}.", key=KEY)
        return "streams", parts
    bad = [name for name, part in parts.items() if streams[name] or not _is_pair(part)]
    if bad:
        raise _wrong(config, value, f" Each part must be (x, y) arrays, or each a stream; "
                     f"the {bad[0]} part is {_describe(parts[bad[0]])}.")
    arrays = {name: _arrays(config, part, name) for name, part in parts.items()}
    x, y = arrays["train"]
    raw = RawData(x=x, y=y, input_kind="image" if x.ndim >= 3 else "features")
    if "validation" in arrays:
        raw.x_val, raw.y_val = arrays["validation"]
    if "test" in arrays:
        test = arrays["test"]
        if hasattr(raw, "x_test"):  # the held-out test part (data/split.py's owner)
            raw.x_test, raw.y_test = test
    return "arrays", raw
