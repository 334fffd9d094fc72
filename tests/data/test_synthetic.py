"""The generated sentiment task: its labelling rule, its generator, its registry name."""

import dataclasses

import numpy as np
import pytest

from kt_toolkit.config import DataConfig
from kt_toolkit.data import DATASETS, dataset_task, generate_sentiment, load_dataset
from kt_toolkit.data import sentiment_label
from kt_toolkit.data.sequences import pad_sequences, padding_length
from kt_toolkit.data.synthetic import (FIRST_FILLER_ID, NEGATIVE_IDS, NOT_ID, OOV_ID,
                                       PAD_ID, POSITIVE_IDS, sentiment_score)
from kt_toolkit.errors import ConfigError

GOOD, GREAT = POSITIVE_IDS[0], POSITIVE_IDS[-1]
BAD, AWFUL = NEGATIVE_IDS[0], NEGATIVE_IDS[-1]
THE, MOVIE = FIRST_FILLER_ID, 500


@pytest.fixture(scope="module")
def generated():
    return generate_sentiment()


@pytest.mark.parametrize("tokens, score", [
    ([THE, GOOD, MOVIE], 1),
    ([NOT_ID, GOOD], -1),
    ([THE, NOT_ID, MOVIE, THE, GOOD], -1),   # whatever comes between
    ([NOT_ID, BAD, AWFUL], 0),               # only the NEXT sentiment word flips
    ([NOT_ID, NOT_ID, GOOD], 1),             # two cancel out
    ([GOOD, BAD, NOT_ID], 0),                # nothing after it: no effect
    ([PAD_ID, GOOD, GREAT, NOT_ID, AWFUL, PAD_ID], 3),
])
def test_sentiment_score_rule(tokens, score):
    assert sentiment_score(tokens) == score
    assert sentiment_score(np.asarray(tokens, dtype=np.int32)) == score


def test_not_flips_the_label():
    assert sentiment_label([THE, GOOD, MOVIE]) == 1
    assert sentiment_label([THE, NOT_ID, GOOD, MOVIE]) == 0
    assert sentiment_label([BAD, MOVIE]) == 0
    assert sentiment_label([NOT_ID, MOVIE, BAD, MOVIE]) == 1
    # Same bag of words, different order, different label.
    assert sentiment_label([NOT_ID, GOOD, BAD, AWFUL]) == 0
    assert sentiment_label([GOOD, NOT_ID, BAD, AWFUL]) == 1


def test_tie_has_no_label():
    with pytest.raises(ValueError, match="net polarity of 0"):
        sentiment_label([GOOD, BAD])
    with pytest.raises(ValueError, match="net polarity of 0"):
        sentiment_label([THE, MOVIE])


def test_generator_is_deterministic(generated):
    sequences, labels = generated
    again, again_labels = generate_sentiment()
    np.testing.assert_array_equal(labels, again_labels)
    assert all(np.array_equal(a, b) for a, b in zip(sequences, again))
    other, _ = generate_sentiment(seed=1)
    assert not all(np.array_equal(a, b) for a, b in zip(sequences[:20], other[:20]))


def test_generated_sequences(generated):
    sequences, labels = generated
    assert len(sequences) == len(labels) == 4000
    assert labels.dtype == np.int64 and labels.sum() == 2000  # exactly balanced
    assert all(seq.dtype == np.int32 and seq.ndim == 1 for seq in sequences)
    lengths = np.array([len(seq) for seq in sequences])
    assert lengths.min() >= 10 and lengths.max() <= 200
    # Skewed lengths (C8): padding to the longest would cost far more than the 90 %.
    assert np.percentile(lengths, 90) > 2 * np.median(lengths)
    assert lengths.max() > 2 * np.percentile(lengths, 90)
    tokens = np.concatenate(sequences)
    assert tokens.min() == NOT_ID and tokens.max() < 1000
    assert not np.isin(tokens, [PAD_ID, OOV_ID]).any()
    assert [sentiment_label(seq) for seq in sequences] == labels.tolist()


def test_word_order_decides_many_labels(generated):
    sequences, labels = generated
    # The label a bag of words would guess: the sign of the raw word count.
    raw = np.array([np.isin(seq, POSITIVE_IDS).sum() - np.isin(seq, NEGATIVE_IDS).sum()
                    for seq in sequences])
    disagree = np.mean(np.where(raw == 0, 0.5, (raw > 0) != (labels == 1)))
    assert 0.1 < disagree < 0.35
    negated = np.mean([NOT_ID in seq for seq in sequences])
    assert 0.2 < negated < 0.6


def test_generator_options():
    sequences, labels = generate_sentiment(101, seed=3, vocabulary_size=50,
                                           median_length=60, negation_rate=0.0)
    assert len(sequences) == 101 and labels.sum() == 50
    assert max(seq.max() for seq in sequences) < 50
    assert np.median([len(seq) for seq in sequences]) > 40
    assert not any(NOT_ID in seq for seq in sequences)


@pytest.mark.parametrize("kwargs, key", [
    ({"num_samples": 0}, "num_samples"),
    ({"negation_rate": 1.5}, "negation_rate"),
    ({"vocabulary_size": FIRST_FILLER_ID}, "vocabulary_size"),
    ({"median_length": 5}, "median_length"),
    ({"max_negation_gap": -1}, "max_negation_gap"),
    ({"filler_exponent": -1.0}, "filler_exponent"),
])
def test_generator_argument_errors(kwargs, key):
    with pytest.raises(ConfigError, match=f"Received: {key}=") as info:
        generate_sentiment(**kwargs)
    assert info.value.key == key


def test_registry_dataset(generated):
    data = load_dataset(DataConfig(dataset="synthetic_sentiment"), seed=0)
    assert (data.task, data.input_kind, data.num_classes) == ("binary", "tokens", 2)
    assert data.vocabulary_size == 1000 and "vocabulary 1000" in data.summary()
    assert data.x_train.dtype == data.x_val.dtype == np.int32
    assert data.x_train.shape[0] == 3200 and data.x_val.shape[0] == 800
    assert data.x_train.shape[1] == data.x_val.shape[1] == data.input_shape[0]
    assert data.feature_mean is None and data.feature_variance is None
    assert abs(data.y_train.mean() - 0.5) < 0.02 and abs(data.y_val.mean() - 0.5) < 0.02
    again = load_dataset(DataConfig(dataset="synthetic_sentiment"), seed=0)
    np.testing.assert_array_equal(data.x_train, again.x_train)
    np.testing.assert_array_equal(data.y_val, again.y_val)


@pytest.mark.parametrize("seed", [0, 1])
def test_padding_covers_ninety_percent_of_training(generated, seed):
    sequences, labels = generated
    data = load_dataset(DataConfig(dataset="synthetic_sentiment"), seed=seed)
    length = data.input_shape[0]
    # Find each training row's generated sequence, to read its true length.
    rows = {row.tobytes(): i for i, row in enumerate(pad_sequences(sequences, length))}
    index = np.array([rows[row.tobytes()] for row in data.x_train])
    np.testing.assert_array_equal(labels[index], data.y_train)
    train_lengths = np.array([len(sequences[i]) for i in index])
    assert length == int(np.ceil(np.percentile(train_lengths, 90)))
    assert length == padding_length(sequences[i] for i in index)
    assert np.mean(train_lengths <= length) >= 0.9
    # Right padding: zeros only after the tokens; a long sequence keeps its end.
    longest = index[np.argmax(train_lengths)]
    row = data.x_train[np.argmax(train_lengths)]
    np.testing.assert_array_equal(row, sequences[longest][-length:])
    shortest = np.argmin(train_lengths)
    assert (data.x_train[shortest, train_lengths[shortest]:] == 0).all()
    assert (data.x_train[shortest, :train_lengths[shortest]] != 0).all()


def test_experiment_seed_drives_only_the_split(generated):
    _, labels = generated
    first = load_dataset(DataConfig(dataset="synthetic_sentiment"), seed=0)
    second = load_dataset(DataConfig(dataset="synthetic_sentiment"), seed=1)
    assert not np.array_equal(first.y_train, second.y_train)
    for data in (first, second):
        assert np.concatenate([data.y_train, data.y_val]).sum() == labels.sum()


def test_dataset_task_without_loading(monkeypatch):
    def refuse():
        raise AssertionError("dataset_task must not load the data")

    for name in ("synthetic_sentiment", "digits_images"):
        monkeypatch.setitem(DATASETS, name, dataclasses.replace(DATASETS[name],
                                                                loader=refuse))
    assert dataset_task(DataConfig(dataset="synthetic_sentiment")) == "binary"
    assert dataset_task(DataConfig(dataset="digits_images")) == "multiclass"
