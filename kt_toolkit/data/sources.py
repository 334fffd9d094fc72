"""Your own data sources: a loader function, an image folder, a mixed-type table.

(`tables.py`: a `.csv` with categorical or text columns, or a `.parquet` file.)

`open_source` is what `load_dataset` asks first. Arrays (a loader's `(x, y)` or
dict of array parts) come back as a `RawData` and go through the usual pipeline
(split, classes, subsample, standardization); streams (a loader's `PyDataset` or
`tf.data.Dataset`, an image folder, a table) come back as a finished streamed
`Dataset`, whose arrays are a bounded sample (`kt_toolkit.data.streams`).
"""

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from kt_toolkit.data import images, loaders, streams, tables
from kt_toolkit.data.dataset import Dataset, HeldOut
from kt_toolkit.errors import DataError

if TYPE_CHECKING:
    from kt_toolkit.config.schema import DataConfig

__all__ = ["describe_source", "is_own_source", "open_source", "source_task"]

logger = logging.getLogger(__name__)
_ARRAYS_ONLY = ("subsample", "classes", "imbalance", "test_split", "cv_folds")


def is_own_source(config: "DataConfig") -> bool:
    """Whether `config` names a loader, an image folder or a table with categorical or
    text columns (not a registry name, an .npz or a numeric .csv)."""
    return (config.loader is not None or images.is_image_folder(config.dataset)
            or tables.is_table(config))


def source_task(config: "DataConfig") -> str | None:
    """The task known before loading: an image folder's (2 classes: binary), else `None`.

    Raises:
        DataError: an image folder that is missing, has one class or no images.
    """
    if (config.loader is None and not tables.is_table(config)
            and images.is_image_folder(config.dataset)):
        folder = images.split_folders(str(config.dataset))[0]
        classes = [name for name, n in images.class_folders(folder).items() if n]
        return "binary" if len(classes) == 2 else "multiclass"
    return None


def describe_source(config: "DataConfig") -> list[str]:
    """Lines `kt-toolkit validate` prints about your own data (none for other data).

    Raises:
        DataError: see `tables.column_kinds` and `images.class_folders`.
    """
    if config.loader is not None:
        return [f"data: {config.loader}() returns arrays or streams; of a stream only a "
                f"sample of the first {streams.SAMPLE_BATCHES} batches (at most "
                f"{streams.SAMPLE_SAMPLES} samples) is read for the input shape, task, "
                "classes and checks"]
    if tables.is_table(config):
        kinds = tables.column_kinds(config)
        return ["columns: " + ", ".join(f"{name} {kind}" for name, kind in kinds.items())
                + (" (inferred)" if not config.columns else "")]
    if images.is_image_folder(config.dataset):
        folder, test = images.split_folders(str(config.dataset))
        counts = images.class_folders(folder)
        held_out = "" if test is None else (
            f"; test part: {sum(images.class_folders(test).values())} images in {test} "
            "(held out)")
        return [f"image folder: {len(counts)} classes ("
                + ", ".join(f"{name} {n}" for name, n in counts.items())
                + f" images), resized to {config.image_size[0]}x{config.image_size[1]} "
                f"{config.color_mode}, streamed; checks read a sample of the first "
                f"{streams.SAMPLE_BATCHES} batches{held_out}"]
    return []


def open_source(config: "DataConfig", *, seed: int, batch_size: int) -> tuple[Any, Any]:
    """Opens the source: `(RawData, None)` for arrays, `(Dataset, HeldOut | None)` for
    streams (the held-out test part of a loader's `test` stream)."""
    if config.loader is not None:
        kind, value = loaders.call_loader(config, seed=seed)
        if kind == "arrays":
            return value, None
        test = value.get("test")
        held = None if test is None else HeldOut(test, None, source="dataset")
        dataset = streamed_dataset(config, value["train"], value["validation"],
                                   name=config.loader, key=loaders.KEY)
        return dataset, held
    if tables.is_table(config):
        return tables.read_table(config, seed=seed, batch_size=batch_size)
    train, validation, test, classes = images.read_image_folder(
        config, batch_size=batch_size, seed=seed)
    dataset = streamed_dataset(config, train, validation, name=str(config.dataset),
                               key=images.KEY, class_names=classes, input_scale=1.0 / 255)
    dataset.input_kind = "image"
    held = None
    if test is not None:  # the folder's test/ images: held out, their number known
        held = HeldOut(test, None, source="dataset")
        held.samples = dataset.test_samples = len(test.file_paths)
    return dataset, held


def _refuse_array_options(config, key):
    for name in _ARRAYS_ONLY:
        value = getattr(config, name, None)
        if value is not None:
            raise DataError(f"`{name}` must be null for streamed data. Received: "
                            f"{name}={value!r} with {key}={getattr(config, key.split('.')[-1])!r}"
                            ". Streams are read in batches, never as a whole: filter, "
                            "split or sample them in your loader.", key=f"data.{name}")


def streamed_dataset(config: "DataConfig", train: Any, validation: Any, *, name: str,
                     key: str, class_names: list[str] | None = None,
                     input_scale: float | None = None) -> Dataset:
    """A streamed `Dataset`: the streams, and a sample of their first batches.

    Args:
        config: The `DataConfig`.
        train: The training stream; `validation` the validation stream.
        name: String, the dataset's name in summaries.
        key: String, the setting the data came from, named in errors.
        class_names: Optional list of strings, the classes (an image folder's);
            else the stream's `class_names` attribute, else read off the sample.
        input_scale: Optional float, the model's first `Rescaling` of raw inputs.

    Raises:
        DataError: see `kt_toolkit.data.streams.sample` and `stream_task`; an
            option that needs arrays (`subsample`, `classes`, …).
    """
    _refuse_array_options(config, key)
    x, y, batches = streams.sample(train, key=key, part="train")
    x_val, y_val, _ = streams.sample(validation, key=key, part="validation")
    if x_val.shape[1:] != x.shape[1:]:
        raise DataError(f"`{key}` validation batches must have the training sample shape "
                        f"{x.shape[1:]}. Received: {x_val.shape[1:]}.", key=key)
    task, num_classes = streams.stream_task(np.concatenate([y, y_val]), config.task, key=key)
    class_names = class_names or getattr(train, "class_names", None)
    if num_classes is not None:
        if class_names is not None:
            num_classes = len(class_names)
        class_names = [str(c) for c in class_names or range(num_classes)]
        y, y_val = y.astype(np.int64), y_val.astype(np.int64)
    else:
        class_names, y, y_val = None, y.astype(np.float32), y_val.astype(np.float32)
    mean = variance = None
    if config.standardize and input_scale is None and x.dtype.kind == "f":
        from kt_toolkit.data.split import feature_statistics

        mean, variance = feature_statistics(x.astype(np.float32))
        logger.info("Standardization statistics of %s read from a sample of %d training "
                    "samples (the first %d batches).", name, len(x), batches)
    input_kind = "image" if x.ndim >= 3 else "features"
    return Dataset(name=name, task=task, x_train=x, y_train=y, x_val=x_val, y_val=y_val,
                   num_classes=num_classes, class_names=class_names, feature_mean=mean,
                   feature_variance=variance, input_kind=input_kind, train_data=train,
                   validation_data=validation, sample_batches=batches,
                   input_scale=input_scale)
