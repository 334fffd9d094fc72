"""Registry names, `dataset_task`, the `Dataset` container and lazy imports."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

from kt_toolkit.config import DataConfig
from kt_toolkit.data import DATASETS, Dataset, dataset_task, load_dataset
from kt_toolkit.errors import DataError

BUNDLED = {
    # name: (task, samples, features, classes)
    "digits": ("multiclass", 1797, 64, 10),
    "breast_cancer": ("binary", 569, 30, 2),
    "wine": ("multiclass", 178, 13, 3),
    "iris": ("multiclass", 150, 4, 3),
    "diabetes": ("regression", 442, 10, None),
}


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_dataset_loads(name):
    task, samples, features, num_classes = BUNDLED[name]
    data = load_dataset(DataConfig(dataset=name), seed=0)
    assert isinstance(data, Dataset)
    assert (data.name, data.task, data.input_kind) == (name, task, "features")
    assert data.num_classes == num_classes
    assert len(data.x_train) + len(data.x_val) == samples
    assert len(data.x_val) == pytest.approx(0.2 * samples, abs=1)
    assert data.input_shape == (features,)
    assert data.x_train.dtype == data.x_val.dtype == np.float32
    assert data.vocabulary_size is None
    assert data.feature_mean.shape == data.feature_variance.shape == (features,)
    if num_classes is None:
        assert data.y_train.dtype == data.y_val.dtype == np.float32
        assert data.class_names is None
    else:
        assert data.y_train.dtype == data.y_val.dtype == np.int64
        assert set(np.unique(data.y_train)) == set(range(num_classes))
        assert set(np.unique(data.y_val)) == set(range(num_classes))
        assert data.class_names == [str(i) for i in range(num_classes)]


def test_diabetes_features_are_raw():
    data = load_dataset(DataConfig(dataset="diabetes"), seed=0)
    assert data.x_train[:, 0].max() > 10  # ages, not scikit-learn's scaled values


def test_registry_entries():
    assert {"digits", "breast_cancer", "wine", "iris", "diabetes", "mnist",
            "fashion_mnist", "cifar10", "imdb", "digits_images",
            "synthetic_sentiment"} <= set(DATASETS)
    assert DATASETS["mnist"].input_kind == "image" and not DATASETS["mnist"].offline
    assert DATASETS["imdb"].input_kind == "tokens" and DATASETS["imdb"].task == "binary"
    assert DATASETS["cifar10"].task == "multiclass"
    assert all(DATASETS[name].offline for name in BUNDLED)
    images, tokens = DATASETS["digits_images"], DATASETS["synthetic_sentiment"]
    assert (images.task, images.input_kind) == ("multiclass", "image") and images.offline
    assert (tokens.task, tokens.input_kind) == ("binary", "tokens") and tokens.offline


def test_digits_images_are_digits_reshaped():
    import sklearn.datasets

    raw = DATASETS["digits_images"].loader()
    x, y = sklearn.datasets.load_digits(return_X_y=True)
    assert raw.x.shape == (1797, 8, 8, 1) and raw.x.dtype == np.float32
    assert raw.input_kind == "image" and raw.x.min() == 0 and raw.x.max() == 16
    np.testing.assert_array_equal(raw.x, x.reshape(-1, 8, 8, 1).astype(np.float32))
    np.testing.assert_array_equal(raw.y, y)
    images = load_dataset(DataConfig(dataset="digits_images"), seed=3)
    flat = load_dataset(DataConfig(dataset="digits"), seed=3)
    assert (images.task, images.input_kind, images.num_classes) == ("multiclass", "image",
                                                                    10)
    assert images.input_shape == (8, 8, 1) and images.x_train.dtype == np.float32
    np.testing.assert_array_equal(images.x_train.reshape(-1, 64), flat.x_train)
    np.testing.assert_array_equal(images.y_val, flat.y_val)
    assert images.feature_mean.shape == images.feature_variance.shape == (8, 8, 1)
    np.testing.assert_allclose(images.feature_mean.reshape(64), flat.feature_mean)
    np.testing.assert_allclose(images.feature_variance.reshape(64), flat.feature_variance)
    assert images.summary() == ("digits_images: multiclass, 1437 train / 360 val, "
                                "input (8, 8, 1), 10 classes")


def test_dataset_task_without_loading(tmp_path):
    assert dataset_task(DataConfig(dataset="diabetes")) == "regression"
    assert dataset_task(DataConfig(dataset="imdb")) == "binary"
    assert dataset_task(DataConfig(dataset="synthetic_sentiment")) == "binary"
    assert dataset_task(DataConfig(dataset="digits_images")) == "multiclass"
    assert dataset_task(DataConfig(dataset="digits", task="regression")) == "regression"
    missing = str(tmp_path / "nothing.csv")
    assert dataset_task(DataConfig(dataset=missing)) is None
    assert dataset_task(DataConfig(dataset=missing, task="binary")) == "binary"


def test_unknown_name_suggests_closest():
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig(dataset="digts"), seed=0)
    message = str(info.value)
    assert info.value.key == "data.dataset"
    assert "data.dataset" in message and "'digts'" in message
    assert "Did you mean `digits`?" in message
    for name in DATASETS:
        assert name in message
    with pytest.raises(DataError, match="digits"):
        dataset_task(DataConfig(dataset="digts"))


def test_unsupported_file_suffix_is_explained():
    with pytest.raises(DataError, match=r"Only \.npz and \.csv") as info:
        load_dataset(DataConfig(dataset="table.parquet"), seed=0)
    assert "table.parquet" in str(info.value)


def test_target_on_registered_dataset_is_an_error():
    with pytest.raises(DataError, match="target='label'") as info:
        load_dataset(DataConfig(dataset="iris", target="label"), seed=0)
    assert info.value.key == "data.target"


def test_summary_and_input_shape():
    data = load_dataset(DataConfig(dataset="iris"), seed=0)
    assert data.summary() == "iris: multiclass, 120 train / 30 val, input (4,), 3 classes"
    regression = load_dataset(DataConfig(dataset="diabetes"), seed=0)
    assert "classes" not in regression.summary()
    assert "353 train / 89 val" in regression.summary()


def test_import_does_not_load_keras_or_tensorflow():
    code = ("import sys; import kt_toolkit.data; "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=str(pathlib.Path(__file__).resolve().parents[2]),
                            check=True)
    assert result.stdout.strip() == "[]"
