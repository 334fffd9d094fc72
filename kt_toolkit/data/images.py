"""Image folders: `data.dataset: path/to/folder/` with one subfolder per class.

Read by `keras.utils.image_dataset_from_directory` as two `tf.data.Dataset`
streams (TensorFlow is needed for the reading, whatever the backend): images
resized to `data.image_size` (default `[64, 64]`), `data.color_mode` (`rgb`,
`grayscale`, `rgba`), batches of `training.batch_size`, and the validation part
cut by its `validation_split`/`subset` with the experiment's seed (the same files
every run). Pixels stay raw (0-255): the model rescales them (`Dataset.input_scale`,
a `keras.layers.Rescaling(1/255)` first in the builders).

A test part: the folder holds `train/` and `test/`, each with the same class
subfolders (`split_folders`). `train/` is split into the training and
validation parts as above; `test/` is held out (`HeldOut`) and read once, in
file order, by the final evaluation. `data.test_split` is refused for an image
folder: the files a test part holds are chosen by where they lie.
"""

import os
from typing import TYPE_CHECKING

from kt_toolkit.errors import DataError

if TYPE_CHECKING:
    from kt_toolkit.config.schema import DataConfig

__all__ = ["IMAGE_SUFFIXES", "class_folders", "is_image_folder", "read_image_folder",
           "split_folders"]

KEY = "data.dataset"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def is_image_folder(dataset: object) -> bool:
    """Whether `dataset` names a folder (an existing one, or a path ending in `/`)."""
    text = str(dataset)
    return text.endswith(("/", os.sep)) or os.path.isdir(text)


def split_folders(path: str) -> tuple[str, str | None]:
    """`(training folder, test folder or None)` of an image folder.

    `path/train` and `path/test` when `path` holds both and `train/` holds
    subfolders (the class folders); else `(path, None)`: the class folders are
    `path`'s own (a class named `train` holds images, not folders).
    """
    train, test = os.path.join(path, "train"), os.path.join(path, "test")
    if os.path.isdir(train) and os.path.isdir(test) and any(
            os.path.isdir(os.path.join(train, name)) for name in os.listdir(train)):
        return train, test
    return path, None


def class_folders(path: str) -> dict[str, int]:
    """`{class folder: number of images}` of an image folder, sorted by name.

    Raises:
        DataError: a missing folder, fewer than 2 class folders holding images,
            or no images at all.
    """
    if not os.path.isdir(path):
        raise DataError(f"`dataset` must be an existing folder of class subfolders. "
                        f"Received: dataset={path!r}: not found (looked in "
                        f"{os.path.abspath(path)!r}).", key=KEY)
    counts = {}
    for name in sorted(os.listdir(path)):
        folder = os.path.join(path, name)
        if os.path.isdir(folder) and not name.startswith("."):
            counts[name] = sum(1 for _, _, files in os.walk(folder) for file in files
                               if file.lower().endswith(IMAGE_SUFFIXES))
    found = {name: n for name, n in counts.items() if n}
    suffixes = ", ".join(IMAGE_SUFFIXES)
    if not found:
        raise DataError(f"`dataset` must be a folder with one subfolder of images per "
                        f"class. Received: dataset={path!r} with no images ({suffixes}) in "
                        f"subfolders {sorted(counts) or 'none'}. Put each class's images in "
                        "a subfolder named after it.", key=KEY)
    if len(found) < 2:
        raise DataError(f"`dataset` must hold at least 2 class subfolders with images. "
                        f"Received: dataset={path!r} with images only in "
                        f"{', '.join(found)}. Add a subfolder of images per class.", key=KEY)
    return counts


def read_image_folder(config: "DataConfig", *, batch_size: int, seed: int):
    """The image folder's training, validation and test streams and its class names.

    Returns:
        Tuple `(train, validation, test, class_names)`: `tf.data.Dataset`s of
        `(images, labels)` batches, uint8-range float32 pixels and int32 labels;
        `test` is `None` without a `test/` folder (`split_folders`).

    Raises:
        DataError: see `class_folders`; `test_split` set; a validation part with
            no image; a `test/` folder whose class folders differ from `train/`'s.
    """
    path = str(config.dataset)
    if config.test_split is not None:
        raise DataError(f"`test_split` must be null for an image folder. Received: "
                        f"test_split={config.test_split!r} with dataset={path!r}. Put the "
                        "test images in train/ and test/ subfolders of it instead (one "
                        "class folder each): test/ is held out.", key="data.test_split")
    train_path, test_path = split_folders(path)
    counts = class_folders(train_path)
    classes = [name for name, n in counts.items() if n]
    options = {"labels": "inferred", "label_mode": "int", "class_names": classes,
               "color_mode": config.color_mode, "batch_size": batch_size,
               "image_size": tuple(config.image_size), "verbose": False}
    train, validation = _read(train_path, options, shuffle=config.shuffle, seed=seed,
                              validation_split=config.validation_split, subset="both")
    if len(validation.file_paths) == 0:
        raise DataError(f"`validation_split` must leave images in the validation part. "
                        f"Received: validation_split={config.validation_split} of "
                        f"{sum(counts.values())} images. Raise it or add images.",
                        key="data.validation_split")
    test = None if test_path is None else _read(test_path, options, shuffle=False)
    return train, validation, test, classes


def _read(path, options, **more):
    import keras

    try:
        return keras.utils.image_dataset_from_directory(path, **options, **more)
    except ValueError as error:
        raise DataError(f"`dataset` must be a folder of readable images, one subfolder "
                        f"per class ({', '.join(options['class_names'])}). Received: "
                        f"{path!r} ({error}).", key=KEY) from error
