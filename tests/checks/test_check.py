"""`kt-toolkit check`: planted faults are caught, a healthy experiment passes.

Each fault is planted in real data (scikit-learn digits written to .npz files)
or a real Keras model; the checks train the default configuration on 64
samples for at most 200 epochs, so each check takes seconds.
"""

import json
import os

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits

from kt_toolkit.checks import check_experiment
from kt_toolkit.checks.data import dataset_findings
from kt_toolkit.checks.relation import association
from kt_toolkit.checks.training import Trace, loss_symptoms
from kt_toolkit.cli import main
from kt_toolkit.config import load_config
from kt_toolkit.data import load_dataset
from kt_toolkit.hypermodels import HyperMLP

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPERIMENT = os.path.join(REPO, "experiments", "digits_mlp.yaml")
DIVERGING = ["model.space.optimizer=sgd", "model.space.learning_rate=10"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Digits with a planted fault each: permuted labels, sorted by label, NaN inputs."""
    folder = tmp_path_factory.mktemp("check")
    x, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    order = np.argsort(y, kind="stable")
    nan = x.copy()
    nan[rng.choice(len(x), 5, replace=False), 10] = np.nan
    arrays = {"permuted": (x, rng.permutation(y)), "sorted": (x[order], y[order]),
              "nan": (nan, y)}
    paths = {}
    for name, (features, labels) in arrays.items():
        paths[name] = str(folder / f"{name}.npz")
        np.savez(paths[name], x=features, y=labels)
    return paths


def _check(*overrides, **kwargs):
    return check_experiment(load_config(EXPERIMENT, list(overrides)), **kwargs)


def _status(report):
    return {finding.name: finding.status for finding in report.findings}


@pytest.fixture(scope="module")
def healthy():
    return _check()


def test_healthy_default_digits_config_passes(healthy):
    statuses = _status(healthy)
    assert healthy.passed and not healthy.warnings, healthy.format()
    assert set(statuses) == {"inputs", "labels", "split", "order", "layers", "outputs",
                             "initial_loss", "overfit", "labels_vs_inputs"}
    overfit = healthy.finding("overfit")
    assert overfit.numbers["reached_at"] <= 200
    assert overfit.numbers["scores"][-1] >= 0.98
    related = healthy.finding("labels_vs_inputs").numbers["model"]
    assert related["score"] > 0.5 and related["p_value"] < 1e-6
    text = healthy.format()
    assert "dense_0" in text and "(None, 128)" in text and "(None, 10)" in text
    assert text.splitlines()[-1].startswith("Result: PASS")
    assert json.loads(json.dumps(healthy.to_dict()))["passed"] is True


class _WrongHead(HyperMLP):
    """HyperMLP whose output layer has a planted activation instead of softmax."""

    head = "relu"

    def build(self, hp):
        values = self.declare(hp)
        inputs = keras.Input(shape=self.input_shape, name="inputs")
        hidden = self.build_body(inputs, values)
        outputs = keras.layers.Dense(self.num_classes, activation=self.head,
                                     name="output")(hidden)
        model = keras.Model(inputs, outputs, name=self.name)
        self.compile_model(model, values)  # sparse categorical cross-entropy, as usual
        return model


class _LinearHead(_WrongHead):
    head = "linear"


@pytest.mark.parametrize("builder", [_WrongHead, _LinearHead], ids=["relu", "linear"])
def test_wrong_output_activation_is_caught(builder):
    report = _check(hypermodel=builder)
    outputs = report.finding("outputs")
    assert not report.passed and outputs.status == "fail"
    assert "not probabilities" in outputs.message and builder.head in outputs.message
    assert "activation/loss pairing" in outputs.advice
    sums = (outputs.numbers["sum_min"], outputs.numbers["sum_max"])
    assert abs(sums[0] - 1) > 1e-3 or abs(sums[1] - 1) > 1e-3
    assert _status(report)["inputs"] == "pass"  # the data are fine: the model is not


def test_labels_shuffled_against_inputs_are_caught(files):
    report = _check(f"data.dataset={files['permuted']}")
    finding = report.finding("labels_vs_inputs")
    assert not report.passed and finding.status == "fail", report.format()
    assert "unrelated to the inputs" in finding.message
    # The model memorizes random labels too; what gives them away is chance on new samples.
    assert finding.numbers["baseline"]["p_value"] > 0.01
    assert [f.name for f in report.failures] == ["labels_vs_inputs"]


def test_unshuffled_ordered_split_is_caught(files):
    report = _check(f"data.dataset={files['sorted']}", "data.shuffle=false")
    statuses = _status(report)
    assert not report.passed
    assert statuses["order"] == "fail" and statuses["split"] == "fail"
    order = report.finding("order")
    assert "sorted by label" in order.message and "data.shuffle is false" in order.message
    assert order.numbers["runs_ratio"] < 0.05
    assert "8, 9" in report.finding("split").message  # validation-only classes
    assert statuses["labels_vs_inputs"] == "pass"  # not blamed on the labels


def test_the_same_sorted_file_passes_the_order_checks_when_the_loader_shuffles(files):
    config = load_config(EXPERIMENT, [f"data.dataset={files['sorted']}"])
    data = load_dataset(config.data, seed=config.experiment.seed)
    statuses = {f.name: f.status for f in dataset_findings(data, None, config.data)}
    assert statuses["order"] == "pass" and statuses["split"] == "pass"


def test_nan_inputs_are_caught_and_model_checks_skipped(files):
    report = _check(f"data.dataset={files['nan']}")
    inputs = report.finding("inputs")
    assert inputs.status == "fail" and not report.passed
    assert inputs.numbers["nonfinite"]["x"] == {"nan": 5, "inf": 0, "samples": 5,
                                                "of": 1797}
    assert "feature columns 10" in inputs.message
    assert report.finding("model").status == "skip"


def test_diverging_learning_rate_is_caught_and_confirmed_by_a_lower_one():
    report = _check(*DIVERGING)
    overfit = report.finding("overfit")
    assert overfit.status == "fail", report.format()
    assert "learning rate is too high" in overfit.message
    assert overfit.numbers["nonfinite_at"] is not None or "rising" in overfit.numbers["symptoms"]
    fixed = overfit.numbers["retries"][-1]
    assert fixed["learning_rate"] < 10 and fixed["reached_at"] is not None
    assert [f.name for f in report.failures] == ["overfit"]


def test_cli_exit_codes(capsys):
    assert main(["check", EXPERIMENT]) == 0
    out = capsys.readouterr().out
    assert "PASS  overfit" in out and out.strip().splitlines()[-1].startswith("Result: PASS")
    assert main(["check", EXPERIMENT, *[arg for o in DIVERGING for arg in ("--set", o)]]) == 1
    out = capsys.readouterr().out
    assert "FAIL  overfit" in out and "Result: FAIL: 1 failed" in out
    assert main(["check", EXPERIMENT, "--set", "data.dataset=digts"]) == 2
    assert "data.dataset" in capsys.readouterr().err


# The heuristics on their own, without training.

def test_the_text_report_says_once_where_practice_ids_are_explained():
    from kt_toolkit.checks.report import CheckReport, Finding
    from kt_toolkit.config.practices import PRACTICES_LEGEND

    report = CheckReport("digits", [
        Finding("order", "fail", "sorted labels.", "Shuffle (F2)."),
        Finding("overfit", "fail", "97 % after 200 epochs.", "Check the data (C4, C6).",
                section="model")])
    lines = report.format().splitlines()
    assert lines.count(PRACTICES_LEGEND) == 1  # one line per output, not per finding
    assert lines[-2] == PRACTICES_LEGEND and lines[-1].startswith("Result: FAIL")


def test_order_heuristic_on_label_sequences():
    from kt_toolkit.checks.data import _class_order
    from kt_toolkit.config import DataConfig
    from kt_toolkit.data import Dataset

    rng = np.random.default_rng(1)

    def order_of(y):
        data = Dataset("t", "multiclass", np.zeros((len(y), 1)), y, np.zeros((2, 1)),
                       np.array([0, 1]), num_classes=int(y.max()) + 1)
        return _class_order(data, DataConfig(shuffle=False)).status

    shuffled = rng.integers(0, 3, 600)
    blocks = np.repeat(rng.permutation(np.tile(np.arange(3), 10)), 20)  # runs of 20+
    assert order_of(shuffled) == "pass"
    assert order_of(np.sort(shuffled)) == "fail"
    assert order_of(blocks) == "fail"


def test_association_needs_more_than_chance():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 500)
    assert not association(rng.integers(0, 10, 500), y, "multiclass")["related"]
    assert not association(np.zeros(500, dtype=int), y, "multiclass")["related"]
    noisy = np.where(rng.random(500) < 0.3, y, rng.integers(0, 10, 500))
    assert association(noisy, y, "multiclass")["related"]
    target = rng.normal(size=300)
    assert association(target + rng.normal(size=300), target, "regression")["related"]
    assert not association(rng.normal(size=300), target, "regression")["related"]


@pytest.mark.parametrize("losses,reached,expected", [
    ([2.3, 1.0, 0.5, 0.2], True, set()),
    ([2.3, 5.0, 40.0, 9.0], True, {"rising"}),
    ([2.3, 2.3, 2.29, 2.3, 2.3, 2.31], False, {"stalled"}),
    ([2.3, 1.5, 1.2, 1.0, 0.8, 0.6], False, {"improving"}),
    ([2.3, 1e12, float("nan")], False, {"nonfinite"}),
], ids=["healthy", "rising", "stalled", "improving", "nonfinite"])
def test_loss_symptoms(losses, reached, expected):
    trace = Trace(learning_rate=0.1, epochs=list(range(len(losses))), losses=losses,
                  scores=[0.5] * len(losses), reached_at=len(losses) if reached else None,
                  nonfinite_at=len(losses) if np.isnan(losses[-1]) else None)
    found = loss_symptoms(trace, "multiclass")
    assert found - {"improving"} == expected - {"improving"}
    if not reached and "nonfinite" not in expected:
        assert ("improving" in found) == ("improving" in expected)
