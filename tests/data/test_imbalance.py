"""`data.imbalance` (E17): the last class cut to a share of the samples, before the split."""

import numpy as np
import pytest

from kt_toolkit.config import DataConfig
from kt_toolkit.data import load_dataset
from kt_toolkit.errors import ConfigError, DataError


def _cancer(**kwargs):
    return load_dataset(DataConfig(dataset="breast_cancer", classes=[1, 0], **kwargs), seed=7)


def test_imbalance_cuts_the_last_class_in_both_parts():
    data = _cancer(imbalance=0.1, validation_split=0.4)
    train, val = np.bincount(data.y_train), np.bincount(data.y_val)
    # 357 benign (first class, kept whole), malignant cut to 0.1 * 357 / 0.9 = 40
    assert train[0] + val[0] == 357
    assert train[1] + val[1] == 40
    assert data.class_names == ["1", "0"]  # malignant is the positive, last class
    assert abs(val[1] / val.sum() - 0.1) < 0.02 and abs(train[1] / train.sum() - 0.1) < 0.02


def test_without_imbalance_every_sample_stays():
    data = _cancer()
    assert len(data.y_train) + len(data.y_val) == 569


def test_imbalance_is_reproducible_and_follows_the_seed():
    first = _cancer(imbalance=0.2)
    again = _cancer(imbalance=0.2)
    np.testing.assert_array_equal(first.x_train, again.x_train)
    other = load_dataset(DataConfig(dataset="breast_cancer", classes=[1, 0], imbalance=0.2),
                         seed=8)
    assert not np.array_equal(np.sort(first.x_val[:, 0]), np.sort(other.x_val[:, 0]))


@pytest.mark.parametrize("value", [0.0, 0.5, 0.9, -0.1, True, "half"])
def test_imbalance_outside_zero_to_half_is_a_config_error(value):
    expected = r"data.imbalance: `imbalance` must be a fraction in \(0, 0.5\)"
    with pytest.raises(ConfigError, match=expected):
        DataConfig(dataset="breast_cancer", imbalance=value).validate("data")


def test_imbalance_leaving_under_two_samples_is_a_data_error():
    with pytest.raises(DataError, match="`imbalance` must leave at least 2 samples"):
        load_dataset(DataConfig(dataset="iris", classes=[0, 1], imbalance=0.005), seed=0)


def test_imbalance_on_a_regression_is_a_data_error():
    with pytest.raises(DataError, match="`imbalance` must be set only for a classification"):
        load_dataset(DataConfig(dataset="diabetes", imbalance=0.1), seed=0)
