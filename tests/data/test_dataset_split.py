"""Split, subsample (D1), shuffle (F2), statistics (F1) and determinism."""

import logging

import numpy as np
import pytest
import sklearn.datasets

from kt_toolkit.config import DataConfig
from kt_toolkit.data import load_dataset
from kt_toolkit.errors import DataError

DIGITS_X, DIGITS_Y = sklearn.datasets.load_digits(return_X_y=True)


def _digits(seed=0, **kwargs):
    return load_dataset(DataConfig(dataset="digits", **kwargs), seed=seed)


def test_stratified_split_keeps_class_proportions():
    data = _digits(validation_split=0.25)
    totals = np.bincount(DIGITS_Y)
    val_counts = np.bincount(data.y_val, minlength=10)
    assert np.all(np.abs(val_counts - 0.25 * totals) <= 1)
    np.testing.assert_array_equal(np.bincount(data.y_train) + val_counts, totals)


def test_statistics_are_fitted_on_training_part_only():
    data = _digits()
    variance = data.x_train.var(axis=0, dtype=np.float64)
    constant = variance == 0
    assert constant.any()  # digits has blank pixels: their variance becomes 1.0
    np.testing.assert_allclose(data.feature_mean, data.x_train.mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(data.feature_variance, np.where(constant, 1.0, variance),
                               rtol=1e-5)
    everything = np.concatenate([data.x_train, data.x_val])
    assert not np.allclose(data.feature_mean, everything.mean(axis=0), atol=1e-3)
    assert data.feature_mean.dtype == data.feature_variance.dtype == np.float32
    # The arrays themselves stay raw: the model's Normalization layer standardizes.
    assert data.x_train.max() == 16.0 and data.x_train.min() == 0.0


def test_statistics_follow_the_subsample():
    data = _digits(subsample=100)
    np.testing.assert_allclose(data.feature_mean, data.x_train.mean(axis=0), atol=1e-5)


def test_standardize_false_gives_no_statistics():
    data = _digits(standardize=False)
    assert data.feature_mean is None and data.feature_variance is None


def test_subsample_is_stratified_exact_and_leaves_validation_whole():
    whole = _digits(seed=3)
    small = _digits(seed=3, subsample=200)
    assert len(small.x_train) == 200
    counts = np.bincount(small.y_train, minlength=10)
    expected = 200 * np.bincount(whole.y_train) / len(whole.y_train)
    assert np.all(np.abs(counts - expected) <= 1)
    np.testing.assert_array_equal(small.x_val, whole.x_val)
    np.testing.assert_array_equal(small.y_val, whole.y_val)
    rows = {row.tobytes() for row in whole.x_train}
    assert all(row.tobytes() in rows for row in small.x_train)


def test_subsample_not_below_training_size_keeps_all(caplog):
    with caplog.at_level(logging.WARNING, logger="kt_toolkit.data.split"):
        data = load_dataset(DataConfig(dataset="iris", subsample=500), seed=0)
    assert len(data.x_train) == 120
    assert "subsample=500" in caplog.text


def test_subsample_too_small_for_the_classes():
    with pytest.raises(DataError) as info:
        _digits(subsample=15)
    message = str(info.value)
    assert info.value.key == "data.subsample" and "subsample=15" in message
    assert "20 for 10 classes" in message


def test_subsample_for_regression():
    data = load_dataset(DataConfig(dataset="diabetes", subsample=50), seed=0)
    assert len(data.x_train) == 50 and len(data.x_val) == 89


def test_shuffle_false_gives_an_ordered_split(write_npz):
    x = np.arange(100, dtype=np.float32).reshape(-1, 1)
    path = write_npz(x=x, y=np.repeat([0, 1], 50))
    data = load_dataset(DataConfig(dataset=path, shuffle=False), seed=0)
    np.testing.assert_array_equal(data.x_train[:, 0], np.arange(80))
    np.testing.assert_array_equal(data.x_val[:, 0], np.arange(80, 100))
    np.testing.assert_array_equal(data.y_val, np.ones(20))  # ordered data, ordered split


def test_shuffle_false_subsample_keeps_file_order():
    data = _digits(shuffle=False, subsample=100)
    positions = [np.flatnonzero((DIGITS_X == row).all(axis=1))[0] for row in data.x_train]
    assert positions == sorted(positions)
    np.testing.assert_array_equal(data.x_val, DIGITS_X[-360:].astype(np.float32))


def test_shuffle_true_reorders_a_given_training_part(write_npz):
    x = np.arange(50, dtype=np.float32).reshape(-1, 1)
    path = write_npz(x_train=x, y_train=np.arange(50) % 2, x_val=x[:10],
                     y_val=np.arange(10) % 2)
    data = load_dataset(DataConfig(dataset=path), seed=0)
    assert not np.array_equal(data.x_train[:, 0], np.arange(50))
    np.testing.assert_array_equal(np.sort(data.x_train[:, 0]), np.arange(50))
    np.testing.assert_array_equal(data.y_train, data.x_train[:, 0].astype(int) % 2)


def test_same_seed_same_arrays():
    first = _digits(seed=7, subsample=300)
    second = _digits(seed=7, subsample=300)
    for name in ("x_train", "y_train", "x_val", "y_val", "feature_mean",
                 "feature_variance"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    other = _digits(seed=8, subsample=300)
    assert not np.array_equal(first.x_val, other.x_val)


def test_validation_split_too_large_for_tiny_data(write_npz):
    path = write_npz(x=np.arange(6.0), y=np.array([0, 1, 2, 0, 1, 2]))
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig(dataset=path, validation_split=0.2), seed=0)
    assert info.value.key == "data.validation_split"
