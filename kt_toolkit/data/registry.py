"""The dataset registry: names a YAML file can use instead of a path.

The scikit-learn sets ship with scikit-learn and load offline (`digits_images` is
`digits` as 8x8x1 images, for CNNs); `synthetic_sentiment` is generated, offline
too. The `keras.datasets` sets download on first use (to `$KERAS_HOME/datasets`)
and come with their own split: their test part is the run's test part, held out of
the search (`kt_toolkit.data.HeldOut`); the validation part is cut from their
training part. Keras
(and so TensorFlow) is imported only inside their loaders.

Token datasets return ragged sequences (`sequences.as_ragged`): `load_dataset`
pads them after the split, to a length read off the training part (C8).
"""

import dataclasses
from typing import Callable

import numpy as np

from kt_toolkit.data import synthetic
from kt_toolkit.data.dataset import RawData
from kt_toolkit.data.sequences import as_ragged
from kt_toolkit.errors import DataError, suggest

__all__ = ["DATASETS", "DatasetEntry", "FILE_SUFFIXES", "get_entry", "is_file_path",
           "offline_names"]

FILE_SUFFIXES = (".npz", ".csv")
IMDB_NUM_WORDS = 20000
SENTIMENT_SAMPLES = 4000
SENTIMENT_VOCABULARY = 1000
SENTIMENT_SEED = 0  # fixed: the data never change; the experiment seed drives the split


@dataclasses.dataclass(frozen=True)
class DatasetEntry:
    """One registry name.

    Args:
        loader: Callable taking no argument and returning a `RawData`.
        task: String, `"multiclass"`, `"binary"` or `"regression"`.
        input_kind: String, `"features"`, `"image"` or `"tokens"`.
        offline: Boolean, whether it loads without a network.
        description: String, one line for listings.
    """

    loader: Callable[[], RawData]
    task: str
    input_kind: str
    offline: bool = True
    description: str = ""


def _sklearn(function_name, **kwargs):
    def load():
        import sklearn.datasets

        x, y = getattr(sklearn.datasets, function_name)(return_X_y=True, **kwargs)
        return RawData(x=np.asarray(x, dtype=np.float32), y=np.asarray(y))

    return load


def _load_digits_images():
    raw = _sklearn("load_digits")()
    return RawData(x=raw.x.reshape(-1, 8, 8, 1), y=raw.y, input_kind="image")


def _load_synthetic_sentiment():
    sequences, labels = synthetic.generate_sentiment(
        SENTIMENT_SAMPLES, seed=SENTIMENT_SEED, vocabulary_size=SENTIMENT_VOCABULARY)
    return RawData(x=as_ragged(sequences), y=labels, input_kind="tokens",
                   vocabulary_size=SENTIMENT_VOCABULARY)


def _download(name, load_data):
    """Calls a `keras.datasets` loader; a failed download becomes a `DataError`."""
    try:
        return load_data()
    except Exception as error:  # Keras raises a bare `Exception("URL fetch failure")`.
        raise DataError(
            f"`dataset` could not be downloaded. Received: dataset={name!r}. "
            f"The download failed ({error}); this machine seems offline. Bundled "
            f"offline datasets: {', '.join(offline_names())}. A path to a .npz or "
            ".csv file works too.", key="data.dataset") from error


def _keras_images(name):
    def load():
        import keras

        module = getattr(keras.datasets, name)
        (x, y), (x_test, y_test) = _download(name, module.load_data)
        scale = np.float32(1.0 / 255.0)
        return RawData(x=x.astype(np.float32) * scale, y=y.reshape(-1),
                       x_test=x_test.astype(np.float32) * scale, y_test=y_test.reshape(-1),
                       input_kind="image")

    return load


def _load_imdb():
    import keras

    (x, y), (x_test, y_test) = _download(
        "imdb", lambda: keras.datasets.imdb.load_data(num_words=IMDB_NUM_WORDS))
    return RawData(x=as_ragged(x), y=np.asarray(y), x_test=as_ragged(x_test),
                   y_test=np.asarray(y_test), input_kind="tokens",
                   vocabulary_size=IMDB_NUM_WORDS)


DATASETS = {
    "digits": DatasetEntry(_sklearn("load_digits"), "multiclass", "features",
                           description="8x8 handwritten digits, 64 features, 10 classes"),
    "digits_images": DatasetEntry(_load_digits_images, "multiclass", "image",
                                  description="the same digits as 8x8x1 images (pixels "
                                              "0..16), 10 classes"),
    "breast_cancer": DatasetEntry(_sklearn("load_breast_cancer"), "binary", "features",
                                  description="Wisconsin breast cancer, 30 features"),
    "wine": DatasetEntry(_sklearn("load_wine"), "multiclass", "features",
                         description="wine cultivars, 13 features, 3 classes"),
    "iris": DatasetEntry(_sklearn("load_iris"), "multiclass", "features",
                         description="iris species, 4 features, 3 classes"),
    "diabetes": DatasetEntry(_sklearn("load_diabetes", scaled=False), "regression",
                             "features",
                             description="diabetes progression, 10 raw features"),
    "synthetic_sentiment": DatasetEntry(
        _load_synthetic_sentiment, "binary", "tokens",
        description=f"{SENTIMENT_SAMPLES} generated token sequences, "
                    f"{SENTIMENT_VOCABULARY} words; 'not' makes word order matter"),
    "mnist": DatasetEntry(_keras_images("mnist"), "multiclass", "image", offline=False,
                          description="28x28 handwritten digits (download)"),
    "fashion_mnist": DatasetEntry(_keras_images("fashion_mnist"), "multiclass", "image",
                                  offline=False,
                                  description="28x28 clothing images (download)"),
    "cifar10": DatasetEntry(_keras_images("cifar10"), "multiclass", "image", offline=False,
                            description="32x32x3 colour images, 10 classes (download)"),
    "imdb": DatasetEntry(_load_imdb, "binary", "tokens", offline=False,
                         description=f"movie review sentiment, {IMDB_NUM_WORDS} words "
                                     "(download)"),
}


def offline_names() -> list[str]:
    """Returns the sorted registry names that load without a network."""
    return sorted(name for name, entry in DATASETS.items() if entry.offline)


def is_file_path(dataset: object) -> bool:
    """Returns whether `dataset` names a `.npz`/`.csv` file rather than a registry entry."""
    return str(dataset).lower().endswith(FILE_SUFFIXES)


def get_entry(name: str) -> DatasetEntry:
    """Returns the `DatasetEntry` of a registry name.

    Raises:
        DataError: for an unknown name, listing the names and the closest one.
    """
    if name in DATASETS:
        return DATASETS[name]
    hint = suggest(name, DATASETS).lstrip()
    hint += " " if hint else ""
    if "/" in str(name) or "\\" in str(name) or "." in str(name):
        hint += "Only .npz and .csv files can be read; convert other formats first. "
    raise DataError(
        f"`dataset` must be a registered name or a path ending in .npz or .csv. "
        f"Received: dataset={name!r}. {hint}Registered names: "
        f"{', '.join(sorted(DATASETS))}.",
        key="data.dataset")
