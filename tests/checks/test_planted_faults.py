"""`kt-toolkit check`: a planted fault for each group test_check.py does not plant.

`layers`, `labels` (classes and regression targets), `initial_loss`,
`sequence_lengths` and the regression variants of `split`, `order` and `outputs`.
Each fault is planted in real data (scikit-learn's digits and diabetes) or a real
Keras model, and the test asserts that the check of that name reports it, with the
numbers behind it; the same check on the data without the fault passes. No
training: each test takes well under a second after Keras has loaded.
"""

import math

import keras
import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_digits

from kt_toolkit.checks import check_experiment, training
from kt_toolkit.checks.data import dataset_findings
from kt_toolkit.config import DataConfig, config_from_dict
from kt_toolkit.data import Dataset
from kt_toolkit.data.dataset import RawData
from kt_toolkit.hypermodels import HyperMLP


def _by_name(findings):
    return {finding.name: finding for finding in findings}


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    x, y = x.astype("float32"), y.astype("int64")
    return Dataset("digits", "multiclass", x[:1200], y[:1200], x[1200:], y[1200:],
                   num_classes=10)


def _regression(x, y, split=350):
    return Dataset("diabetes", "regression", x[:split], y[:split], x[split:], y[split:])


@pytest.fixture(scope="module")
def diabetes():
    """Diabetes in a shuffled order, targets as the source gives them (152 +- 77)."""
    x, y = load_diabetes(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    return x[order].astype("float32"), y[order].astype("float32")


# layers

def _model(inputs, *layers):
    tensor = keras.Input(shape=inputs)
    outputs = tensor
    for layer in layers:
        outputs = layer(outputs)
    return keras.Model(tensor, outputs)


def test_an_output_of_the_wrong_width_fails_layers(digits):
    wrong = _model((64,), keras.layers.Dense(9, activation="softmax"))  # 9 of 10 classes
    finding = training.layers_finding(wrong, digits)
    assert (finding.name, finding.status) == ("layers", "fail")
    assert "(None, 9)" in finding.message and "needs (None, 10)" in finding.message
    assert finding.numbers["output_shape"] == [None, 9] and finding.numbers["expected_width"] == 10
    right = _model((64,), keras.layers.Dense(10, activation="softmax"))
    assert training.layers_finding(right, digits).status == "pass"


def test_an_output_with_one_row_per_position_fails_layers(digits):
    images = Dataset("d", "multiclass", digits.x_train.reshape(-1, 8, 8), digits.y_train,
                     digits.x_val.reshape(-1, 8, 8), digits.y_val, num_classes=10)
    no_flatten = _model((8, 8), keras.layers.Dense(10, activation="softmax"))
    finding = training.layers_finding(no_flatten, images)
    assert (finding.name, finding.status) == ("layers", "fail")
    assert finding.numbers["output_shape"] == [None, 8, 10]


class _BrokenBuild(HyperMLP):
    def build(self, hp):
        raise ValueError("planted: a layer of -1 units")


def test_a_builder_that_raises_fails_layers_and_stops_the_model_checks(tmp_path):
    config = config_from_dict({"experiment": {"name": "broken"},
                               "data": {"dataset": "digits", "subsample": 200},
                               "output": {"directory": str(tmp_path)}})
    report = check_experiment(config, hypermodel=_BrokenBuild)
    layers = report.finding("layers")
    assert layers.status == "fail" and "planted: a layer of -1 units" in layers.message
    assert "building the default configuration raised ValueError" in layers.message
    assert [f.name for f in report.failures] == ["layers"]
    assert report.finding("overfit") is None  # nothing trained


# labels (classification)

def test_imbalanced_classes_warn_in_labels(digits):
    keep = (digits.y_train != 1) | (np.cumsum(digits.y_train == 1) <= 10)  # 10 ones left
    planted = Dataset("d", "multiclass", digits.x_train[keep], digits.y_train[keep],
                      digits.x_val, digits.y_val, num_classes=10)
    labels = _by_name(dataset_findings(planted, None, DataConfig()))["labels"]
    counts = np.bincount(planted.y_train)
    assert labels.status == "warn", labels.message
    assert labels.numbers["counts"]["1"] == 10
    assert labels.numbers["imbalance_ratio"] == pytest.approx(counts.max() / 10)
    assert "class_balance" in labels.advice
    assert _by_name(dataset_findings(digits, None, DataConfig()))["labels"].status == "pass"


# initial_loss

def test_confident_initial_outputs_warn_in_initial_loss(digits):
    x, y = digits.x_train[:64], digits.y_train[:64]
    keras.utils.set_random_seed(0)
    # Raw 0..16 pixels into large initial weights: a near one-hot softmax at step 0.
    loud = _model((64,), keras.layers.Dense(
        10, activation="softmax", kernel_initializer=keras.initializers.RandomNormal(stddev=5)))
    finding = training.initial_loss_finding(loud, digits, x, y)
    assert (finding.name, finding.status) == ("initial_loss", "warn")
    assert finding.numbers["ratio"] > 1.5 and finding.numbers["ln_k"] == pytest.approx(
        math.log(10))
    assert "outside 0.5..1.5" in finding.message and "initializers" in finding.advice
    quiet = _model((64,), keras.layers.Dense(10, activation="softmax",
                                             kernel_initializer="zeros"))
    calm = training.initial_loss_finding(quiet, digits, x, y)
    assert calm.status == "pass" and calm.numbers["ratio"] == pytest.approx(1.0, abs=1e-5)


# sequence_lengths

def test_truncated_sequences_are_named_in_sequence_lengths():
    rng = np.random.default_rng(0)
    lengths = np.r_[np.full(70, 10), np.full(30, 50)]  # 30 of 100 beyond the padding
    ragged = np.empty(100, dtype=object)
    for i, length in enumerate(lengths):
        ragged[i] = rng.integers(1, 100, length).astype("int32")
    padded = np.zeros((100, 20), dtype="int32")
    for i, sequence in enumerate(ragged):
        padded[i, :min(20, len(sequence))] = sequence[-20:]
    y = rng.integers(0, 2, 100)
    data = Dataset("t", "binary", padded, y, padded[:10], y[:10], num_classes=2,
                   input_kind="tokens", vocabulary_size=100)
    raw = RawData(ragged, y, input_kind="tokens", vocabulary_size=100)
    finding = _by_name(dataset_findings(data, raw, DataConfig()))["sequence_lengths"]
    assert finding.numbers["truncated_share"] == pytest.approx(0.3)
    assert finding.numbers["padding_length"] == 20 and finding.numbers["max"] == 50
    assert finding.numbers["p50"] == 10 and finding.numbers["p90"] == 50
    assert "padded to 20 tokens" in finding.message and "truncates 30.0%" in finding.message
    # Without the source, the padded training part: nothing beyond the padding.
    fitted = _by_name(dataset_findings(data, None, DataConfig()))["sequence_lengths"]
    assert fitted.numbers["truncated_share"] == 0 and fitted.numbers["max"] == 20


# regression: labels (targets' scale), split, order, outputs

def test_regression_targets_far_from_unit_scale_warn_in_labels(diabetes):
    x, y = diabetes
    raw = _by_name(dataset_findings(_regression(x, y), None, DataConfig()))["labels"]
    assert raw.status == "warn" and "far from unit scale" in raw.message
    assert raw.numbers["mean"] == pytest.approx(float(y[:350].mean()), rel=1e-6)
    scaled = (y - y.mean()) / y.std()
    assert _by_name(dataset_findings(_regression(x, scaled), None,
                                     DataConfig()))["labels"].status == "pass"


def test_regression_sorted_by_target_fails_order_and_warns_in_split(diabetes):
    x, y = diabetes
    order = np.argsort(y, kind="stable")
    sorted_data = _regression(x[order], (y[order] - y.mean()) / y.std())
    found = _by_name(dataset_findings(sorted_data, None, DataConfig(shuffle=False)))
    assert found["order"].status == "fail" and "ordered by target" in found["order"].message
    assert found["order"].numbers["rank_correlation_with_position"] > 0.99  # ties: not 1
    assert found["split"].status == "warn"  # the validation part is the largest targets
    assert found["split"].numbers["standardized_mean_difference"] > 0.5
    shuffled = _by_name(dataset_findings(_regression(x, (y - y.mean()) / y.std()), None,
                                         DataConfig(shuffle=False)))
    assert shuffled["order"].status == "pass" and shuffled["split"].status == "pass"


def test_a_bounded_output_for_unbounded_targets_fails_outputs(diabetes):
    x, y = diabetes
    data = _regression(x, y)
    sigmoid = _model((10,), keras.layers.Dense(1, activation="sigmoid"))
    finding = training.outputs_finding(sigmoid, data, x[:64])
    assert (finding.name, finding.status) == ("outputs", "fail")
    assert "can only give 0..1" in finding.message and "linear output" in finding.advice
    linear = _model((10,), keras.layers.Dense(1))
    assert training.outputs_finding(linear, data, x[:64]).status == "pass"
