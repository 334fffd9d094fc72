"""Padding of token sequences: the C8 length and the right-padding convention."""

import numpy as np
import pytest

from kt_toolkit.config import DataConfig
from kt_toolkit.data import DATASETS, DatasetEntry, RawData, load_dataset
from kt_toolkit.data.sequences import as_ragged, is_ragged, pad_sequences, padding_length


def test_padding_length_is_the_ninetieth_percentile_rounded_up():
    assert padding_length([[1] * n for n in range(1, 101)]) == 91  # 90.1 -> 91
    assert padding_length([[1] * n for n in (2, 4, 1)]) == 4       # 3.6 -> 4
    assert padding_length([[1] * 7] * 5) == 7
    assert padding_length([[1] * n for n in range(1, 101)], quantile=50) == 51
    assert padding_length([[], []]) == 1


def test_pad_sequences_pads_at_the_end_and_keeps_the_end():
    padded = pad_sequences([[5, 6], [7, 8, 9, 10], [11], []], 3)
    assert padded.dtype == np.int32
    np.testing.assert_array_equal(padded, [[5, 6, 0], [8, 9, 10], [11, 0, 0], [0, 0, 0]])


def test_pad_sequences_matches_keras_convention():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    sequences = [rng.integers(1, 50, size=n).tolist() for n in rng.integers(0, 30, 40)]
    expected = keras.utils.pad_sequences(sequences, maxlen=17, dtype="int32",
                                         padding="post", truncating="pre")
    np.testing.assert_array_equal(pad_sequences(sequences, 17), expected)


def test_as_ragged_stays_one_dimensional():
    ragged = as_ragged([[1, 2], [3, 4]])  # equal lengths: np.array would make 2-D
    assert ragged.shape == (2,) and ragged.dtype == object and is_ragged(ragged)
    assert ragged[1].dtype == np.int32 and ragged[1].tolist() == [3, 4]
    assert not is_ragged(np.zeros((2, 2), dtype=np.int32)) and not is_ragged(None)


def test_padding_length_comes_from_the_training_part(monkeypatch):
    # Without shuffling the last 20 % are the validation part: 40 long sequences
    # that must not raise the padding length of the 160 short training ones.
    lengths = list(range(1, 161)) + [500] * 40

    def load():
        x = as_ragged([np.arange(1, n + 1) for n in lengths])
        return RawData(x=x, y=np.arange(200) % 2, input_kind="tokens",
                       vocabulary_size=501)

    monkeypatch.setitem(DATASETS, "fake_tokens", DatasetEntry(load, "binary", "tokens"))
    data = load_dataset(DataConfig(dataset="fake_tokens", shuffle=False, subsample=20),
                        seed=0)
    assert data.input_shape == (145,)  # ceil(90th percentile of 1..160) = ceil(144.1)
    assert data.x_val.shape == (40, 145) and len(data.x_train) == 20  # after padding
    np.testing.assert_array_equal(data.x_val[0], np.arange(356, 501))  # the end kept
    assert data.feature_mean is None
