"""`keras.datasets` names: offline failure, and their conversion on fake downloads.

The fakes replace `load_data` so nothing is downloaded; they return what Keras
returns (uint8 images, `(n, 1)` CIFAR labels, ragged lists of word ids).
"""

import numpy as np
import pytest

from kt_toolkit.config import DataConfig
from kt_toolkit.data import load_dataset, load_parts
from kt_toolkit.errors import DataError


def test_mnist_offline_raises_a_helpful_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    try:
        data = load_dataset(DataConfig(dataset="mnist", subsample=None), seed=0)
    except DataError as error:
        message = str(error)
        assert error.key == "data.dataset" and "data.dataset" in message
        assert "download" in message and "offline" in message
        assert "URL fetch failure" in message  # the original error is kept
        for name in ("breast_cancer", "diabetes", "digits", "iris", "wine"):
            assert name in message
        assert ".npz" in message and ".csv" in message
        assert isinstance(error.__cause__, Exception)
    else:  # a network (or a cached copy) is available
        assert data.x_train.shape[1:] == (28, 28) and 50000 <= len(data.x_train) <= 60000
        assert data.input_kind == "image" and data.num_classes == 10


@pytest.fixture
def keras_datasets():
    keras = pytest.importorskip("keras")
    return keras.datasets


def _fake_images(shape, label_shape, seed=0):
    rng = np.random.default_rng(seed)

    def load_data():
        parts = []
        for size in (50, 20):
            x = rng.integers(0, 256, size=(size,) + shape, dtype=np.uint8)
            parts.append((x, (np.arange(size) % 10).astype(np.uint8).reshape(
                (size,) + label_shape)))
        return tuple(parts)

    return load_data


def test_cifar10_conversion(keras_datasets, monkeypatch):
    monkeypatch.setattr(keras_datasets.cifar10, "load_data",
                        _fake_images((32, 32, 3), (1,)))
    data, test = load_parts(DataConfig(dataset="cifar10"), seed=0)
    assert (data.task, data.input_kind, data.num_classes) == ("multiclass", "image", 10)
    # The test part is held out; validation is cut from the training part (0.2).
    assert data.x_train.shape == (40, 32, 32, 3) and data.x_val.shape == (10, 32, 32, 3)
    assert data.y_train.shape == (40,) and data.y_train.dtype == np.int64
    assert data.x_train.dtype == np.float32
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    assert data.feature_mean.shape == (32, 32, 3)
    x_test, y_test = test.open()
    assert x_test.shape == (20, 32, 32, 3) and x_test.max() <= 1.0
    np.testing.assert_array_equal(y_test, np.arange(20) % 10)  # the test part, as is
    assert (test.source, data.test_samples) == ("dataset", 20)


def test_fashion_mnist_classes_and_subsample(keras_datasets, monkeypatch):
    monkeypatch.setattr(keras_datasets.fashion_mnist, "load_data",
                        _fake_images((28, 28), ()))
    data, test = load_parts(DataConfig(dataset="fashion_mnist", classes=[2, 5], subsample=6),
                            seed=0)
    assert data.class_names == ["2", "5"] and data.input_shape == (28, 28)
    assert len(data.x_train) == 6 and np.bincount(data.y_train).tolist() == [3, 3]
    assert len(data.x_val) == 2  # a fifth of the 10 training samples of 2 and 5
    assert test.open()[1].tolist() == [0, 1, 0, 1]  # the test part filtered by class too


def test_imdb_padding_covers_ninety_percent(keras_datasets, monkeypatch):
    rng = np.random.default_rng(0)
    lengths = np.arange(1, 101)  # 90th percentile: 90.1 -> 91 tokens
    val = [list(rng.integers(1, 20000, size=n)) for n in (5, 300)]

    def load_data(num_words=None, **kwargs):
        assert num_words == 20000
        train = [list(rng.integers(1, num_words, size=n)) for n in lengths]
        return ((np.array(train, dtype=object), np.arange(100) % 2),
                (np.array(val, dtype=object), np.array([0, 1])))

    monkeypatch.setattr(keras_datasets.imdb, "load_data", load_data)
    data, test = load_parts(DataConfig(dataset="imdb", validation_split=0.02), seed=0)
    assert (data.task, data.input_kind, data.vocabulary_size) == ("binary", "tokens", 20000)
    assert data.x_train.shape == (98, 91) and data.x_val.shape == (2, 91)
    assert data.x_train.dtype == np.int32 and data.x_train.max() < 20000
    # The test part is padded as the training part says, when it is opened: zeros after
    # the tokens (cuDNN wants right padding); long reviews keep their end.
    x_test = test.open()[0]
    np.testing.assert_array_equal(x_test[0], val[0] + [0] * 86)
    np.testing.assert_array_equal(x_test[1], val[1][-91:])
    assert data.feature_mean is None and data.feature_variance is None
    assert "tokens, vocabulary 20000" in data.summary()
