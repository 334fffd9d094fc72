"""Task inference, the `classes` filter (D2) and label remapping."""

import numpy as np
import pytest

from kt_toolkit.config import DataConfig
from kt_toolkit.data import load_dataset
from kt_toolkit.data.labels import encode_targets, infer_task
from kt_toolkit.errors import DataError


@pytest.mark.parametrize("y, task", [
    (np.array([0.5, 1.25, 3.0]), "regression"),
    (np.array([0.0, 1.0, 1.0, 0.0]), "binary"),
    (np.array([3, 7, 7, 3]), "binary"),
    (np.arange(10) % 5, "multiclass"),
    (np.arange(150), "regression"),
    (np.array(["a", "b", "c", "a"]), "multiclass"),
    (np.array(["no", "yes", "yes"]), "binary"),
    (np.array([True, False, True]), "binary"),
])
def test_infer_task(y, task):
    assert infer_task(y) == task


def test_infer_task_rejects_many_text_labels():
    with pytest.raises(DataError, match="task: multiclass"):
        infer_task(np.array([f"label{i}" for i in range(101)]))


def test_encode_targets_sorts_numbers_numerically():
    y, y_val, names = encode_targets(np.array([10, 2, 10, 2, 33]), np.array([33, 2]),
                                     task="multiclass")
    assert names == ["2", "10", "33"]
    np.testing.assert_array_equal(y, [1, 0, 1, 0, 2])
    np.testing.assert_array_equal(y_val, [2, 0])


def test_classes_filter_and_remap_in_listed_order(labelled_npz):
    data = load_dataset(DataConfig(dataset=labelled_npz, classes=[4, 1]), seed=0)
    assert data.task == "multiclass" and data.num_classes == 2
    assert data.class_names == ["4", "1"]
    for x, y in ((data.x_train, data.y_train), (data.x_val, data.y_val)):
        originals = x[:, 0].astype(int)
        assert set(originals) == {1, 4}
        np.testing.assert_array_equal(np.where(originals == 4, 0, 1), y)
    assert len(data.x_train) + len(data.x_val) == 80


def test_classes_on_digits():
    data = load_dataset(DataConfig(dataset="digits", classes=[3, 8]), seed=0)
    assert data.class_names == ["3", "8"] and data.num_classes == 2
    assert data.task == "multiclass"  # a 2-class selection keeps its task
    assert set(np.unique(data.y_train)) == {0, 1}
    assert len(data.x_train) + len(data.x_val) == 183 + 174  # 3s and 8s in digits


def test_classes_with_forced_binary_task():
    data = load_dataset(DataConfig(dataset="digits", classes=[3, 8], task="binary"),
                        seed=0)
    assert (data.task, data.num_classes) == ("binary", 2)


def test_classes_by_string_label(write_csv):
    rows = [[i, ["dog", "cat", "bird"][i % 3]] for i in range(60)]
    path = write_csv(["a", "animal"], rows)
    data = load_dataset(DataConfig(dataset=path, classes=["dog", "bird"]), seed=0)
    assert data.class_names == ["dog", "bird"] and len(data.y_train) == 32


def test_unknown_class_lists_available():
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig(dataset="digits", classes=[3, 42]), seed=0)
    message = str(info.value)
    assert info.value.key == "data.classes" and "data.classes" in message
    assert "classes=[3, 42]" in message and "not found: 42" in message
    assert "Available classes: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9." in message


def test_repeated_class_is_an_error():
    with pytest.raises(DataError, match="must not repeat"):
        load_dataset(DataConfig(dataset="iris", classes=[1, 1]), seed=0)


def test_binary_task_with_ten_classes_is_an_error():
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig(dataset="digits", task="binary"), seed=0)
    assert info.value.key == "data.task"
    assert "task='binary' with 10 classes" in str(info.value)


def test_classification_of_continuous_targets_is_an_error(write_csv):
    path = write_csv(["a", "y"], [[i, i * 0.1] for i in range(1, 30)])
    with pytest.raises(DataError, match="non-integer") as info:
        load_dataset(DataConfig(dataset=path, task="multiclass"), seed=0)
    assert info.value.key == "data.task"


def test_regression_of_text_targets_is_an_error(write_csv):
    path = write_csv(["a", "y"], [[i, "x" if i % 2 else "z"] for i in range(20)])
    with pytest.raises(DataError, match="numeric targets"):
        load_dataset(DataConfig(dataset=path, task="regression"), seed=0)


def test_classes_for_regression_is_an_error():
    with pytest.raises(DataError, match="classes=\\[1, 2\\]") as info:
        load_dataset(DataConfig(dataset="diabetes", classes=[1, 2]), seed=0)
    assert info.value.key == "data.classes"


def test_forced_regression_on_classes():
    data = load_dataset(DataConfig(dataset="iris", task="regression"), seed=0)
    assert data.task == "regression" and data.y_train.dtype == np.float32
    assert data.class_names is None and set(np.unique(data.y_train)) == {0.0, 1.0, 2.0}


def test_class_with_one_sample_is_named(write_csv):
    rows = [[i, "rare" if i == 0 else ("a" if i % 2 else "b")] for i in range(30)]
    with pytest.raises(DataError, match="classes with 1 sample: rare"):
        load_dataset(DataConfig(dataset=write_csv(["f", "y"], rows)), seed=0)
