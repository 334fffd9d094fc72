"""`.npz` and `.csv` files as datasets."""

import numpy as np
import pytest

from kt_toolkit.config import DataConfig
from kt_toolkit.data import load_dataset
from kt_toolkit.errors import DataError


def _load(path, **kwargs):
    return load_dataset(DataConfig(dataset=path, **kwargs), seed=0)


def test_npz_with_x_and_y_is_split(write_npz):
    x = np.random.default_rng(0).normal(size=(100, 3))
    path = write_npz(x=x, y=(x[:, 0] > 0).astype(int))
    data = _load(path)
    assert (data.task, data.num_classes, data.class_names) == ("binary", 2, ["0", "1"])
    assert (len(data.x_train), len(data.x_val)) == (80, 20)
    assert data.x_train.dtype == np.float32 and data.input_shape == (3,)
    assert data.name == path


def test_npz_with_given_split_is_used_as_is(write_npz):
    rng = np.random.default_rng(1)
    x_train, x_val = rng.normal(size=(60, 4)), rng.normal(size=(15, 4))
    y_train, y_val = np.arange(60) % 3, np.arange(15) % 3
    path = write_npz(x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val)
    data = _load(path, shuffle=False)
    np.testing.assert_array_equal(data.x_val, x_val.astype(np.float32))
    np.testing.assert_array_equal(data.y_val, y_val)
    np.testing.assert_array_equal(data.x_train, x_train.astype(np.float32))
    assert data.task == "multiclass"


def test_npz_images_keep_their_shape(write_npz):
    x = np.random.default_rng(2).integers(0, 255, size=(40, 8, 8, 3), dtype=np.uint8)
    data = _load(write_npz(x=x, y=np.arange(40) % 2))
    assert data.input_kind == "image" and data.input_shape == (8, 8, 3)
    assert data.feature_mean.shape == (8, 8, 3)
    assert data.x_train.max() > 1  # raw values: not rescaled


def test_npz_with_other_keys_lists_found_and_expected(write_npz):
    path = write_npz(features=np.zeros((4, 2)), labels=np.zeros(4))
    with pytest.raises(DataError) as info:
        _load(path)
    message = str(info.value)
    assert info.value.key == "data.dataset" and "data.dataset" in message
    assert "['features', 'labels']" in message
    assert "(x, y)" in message and "(x_train, y_train, x_val, y_val)" in message


def test_missing_file_is_named(tmp_path):
    path = str(tmp_path / "absent.npz")
    with pytest.raises(DataError) as info:
        _load(path)
    assert info.value.key == "data.dataset"
    assert "data.dataset" in str(info.value) and path in str(info.value)
    assert "file not found" in str(info.value)


def test_csv_string_target_becomes_sorted_classes(write_csv):
    rows = [[i, i * 0.5, ["dog", "cat", "bird"][i % 3]] for i in range(60)]
    data = _load(write_csv(["a", "b", "animal"], rows))
    assert data.task == "multiclass" and data.class_names == ["bird", "cat", "dog"]
    assert data.input_shape == (2,)
    # "a" is the row number: its class is known, so check the encoding through it.
    for features, label in zip(data.x_train, data.y_train):
        original = ["dog", "cat", "bird"][int(features[0]) % 3]
        assert data.class_names[label] == original


def test_csv_two_strings_make_a_binary_task(write_csv):
    rows = [[i, "yes" if i % 2 else "no"] for i in range(40)]
    data = _load(write_csv(["a", "answer"], rows))
    assert (data.task, data.class_names) == ("binary", ["no", "yes"])


def test_csv_target_by_name_and_by_index(write_csv):
    rows = [[i % 4, i, i * 2.5] for i in range(80)]
    path = write_csv(["label", "count", "size"], rows)
    by_name = _load(path, target="label")
    by_index = _load(path, target=0)
    for data in (by_name, by_index):
        assert data.task == "multiclass" and data.num_classes == 4
        assert data.input_shape == (2,)
        np.testing.assert_array_equal(data.x_train[:, 0].astype(int) % 4, data.y_train)
    np.testing.assert_array_equal(by_name.x_train, by_index.x_train)


def test_csv_default_target_is_last_column_regression(write_csv):
    rows = [[i, i % 7, i * 0.37 + 1.0] for i in range(50)]
    data = _load(write_csv(["a", "b", "price"], rows))
    assert data.task == "regression" and data.num_classes is None
    assert data.y_train.dtype == np.float32 and data.input_shape == (2,)
    np.testing.assert_allclose(data.y_train, data.x_train[:, 0] * 0.37 + 1.0, rtol=1e-5)


def test_csv_relative_path_is_relative_to_cwd(write_csv, tmp_path, monkeypatch):
    write_csv(["a", "y"], [[i, i % 2] for i in range(20)], name="local.csv")
    monkeypatch.chdir(tmp_path)
    assert len(_load("local.csv").x_train) == 16


def test_csv_unknown_target_lists_columns(write_csv):
    path = write_csv(["col_x", "col_y", "label"], [[1, 2, 0], [3, 4, 1]])
    with pytest.raises(DataError) as info:
        _load(path, target="colx")
    message = str(info.value)
    assert info.value.key == "data.target" and "data.target" in message
    assert "target='colx'" in message and "col_x, col_y, label" in message
    assert "Did you mean `col_x`?" in message
    with pytest.raises(DataError, match="target=7"):
        _load(path, target=7)


def test_csv_non_numeric_feature_is_named(write_csv):
    # Text in a feature column makes the file a table (data/tables.py); said to be
    # numeric, the column is refused with its name and value.
    path = write_csv(["size", "colour", "y"], [[1, "red", 0], [2, "blue", 1]])
    with pytest.raises(DataError) as info:
        _load(path, columns={"colour": "numeric"})
    assert "colour" in str(info.value) and "'red'" in str(info.value)


def test_csv_ragged_row_is_an_error(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,y\n1,2,0\n3,1\n")
    with pytest.raises(DataError, match="line 3"):
        _load(str(path))


def test_csv_header_only_is_an_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("a,b,y\n")
    with pytest.raises(DataError, match="header row and data rows"):
        _load(str(path))


def test_non_finite_features_are_an_error(write_npz):
    x = np.ones((10, 2))
    x[3, 1] = np.nan
    with pytest.raises(DataError, match="finite"):
        _load(write_npz(x=x, y=np.arange(10) % 2))
