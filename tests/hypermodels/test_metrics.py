"""The objective's metric, compiled besides the task's own (issue 14, part 4)."""

import logging
import sys
import uuid

import keras
import numpy as np
import pytest
from sklearn.metrics import auc, f1_score, precision_recall_curve, precision_score, recall_score

from kt_toolkit.errors import ConfigError
from kt_toolkit.hypermodels.metrics import (LabelF1Score, LabelPRAUC, MacroPrecision, MacroRecall,
                                            check_logged_objective, objective_metric)

RNG = np.random.default_rng(0)


def test_label_f1_score_is_sklearns_macro_and_binary_f1():
    y = RNG.integers(0, 4, 64)
    p = RNG.random((64, 4))
    metric = objective_metric("val_f1_score", "multiclass", num_classes=4)
    metric.update_state(y, p)
    assert float(metric.result()) == pytest.approx(f1_score(y, p.argmax(1), average="macro"),
                                                   abs=1e-6)
    yb, pb = RNG.integers(0, 2, 64), RNG.random((64, 1))
    metric = objective_metric("f1_score", "binary")
    metric.update_state(yb, pb)
    assert float(metric.result()) == pytest.approx(f1_score(yb, pb[:, 0] > 0.5), abs=1e-6)
    restored = LabelF1Score.from_config(LabelF1Score(4).get_config())
    assert restored.num_classes == 4 and restored.average == "macro"


def test_multiclass_precision_recall_and_pr_auc_are_sklearns_macro_scores():
    # 6 softmax outputs, labels 0-3 only: class 4 counts as it is predicted, class 5
    # (never predicted) does not: scikit-learn averages over the classes in the
    # labels or the predictions.
    y = RNG.integers(0, 4, 300)
    p = RNG.random((300, 6))
    p[:, 5] = 0.0
    p[np.arange(300), y] += RNG.random(300)  # better than chance, far from perfect
    p /= p.sum(axis=1, keepdims=True)
    guess = p.argmax(1)
    assert 4 in guess  # the class without labels is predicted: precision 0 for it
    weight = RNG.random(300)
    for name, score in (("val_precision", precision_score), ("recall", recall_score)):
        metric = objective_metric(name, "multiclass", num_classes=6)
        for part in (slice(0, 120), slice(120, 300)):  # counts add up over batches
            metric.update_state(y[part], p[part])
        assert float(metric.result()) == pytest.approx(
            score(y, guess, average="macro", zero_division=0), abs=1e-6)
        metric.reset_state()
        metric.update_state(y, p, sample_weight=weight)
        assert float(metric.result()) == pytest.approx(
            score(y, guess, average="macro", sample_weight=weight, zero_division=0), abs=1e-5)
        restored = type(metric).from_config(metric.get_config())
        assert (restored.name, restored.num_classes) == (metric.name, 6)
    assert isinstance(metric, MacroRecall) and float(MacroPrecision(3).result()) == 0.0
    # PR-AUC: each class against the rest, averaged (Keras's 200 thresholds)
    metric = objective_metric("val_pr_auc", "multiclass", num_classes=4)
    q = p[:, :4] / p[:, :4].sum(axis=1, keepdims=True)
    metric.update_state(y, q)
    areas = [auc(*precision_recall_curve(y == c, q[:, c])[1::-1]) for c in range(4)]
    assert float(metric.result()) == pytest.approx(np.mean(areas), abs=5e-3)
    restored = LabelPRAUC.from_config(metric.get_config())
    assert (restored.num_labels, restored.multi_label, restored.name) == (4, True, "pr_auc")


def test_only_a_metric_the_task_lacks_is_made_and_a_wrong_one_says_what_exists():
    assert objective_metric("val_auc", "binary") is None  # compiled already
    assert objective_metric("auto", "multiclass", num_classes=3) is None
    made = {name: objective_metric(name, task, num_classes=10) for name, task in [
        ("val_precision", "binary"), ("val_rmse", "regression"),
        ("val_top_3_accuracy", "multiclass")]}
    assert {name: m.name for name, m in made.items()} == {
        "val_precision": "precision", "val_rmse": "rmse",
        "val_top_3_accuracy": "top_3_accuracy"}
    with pytest.raises(ConfigError, match="k below the 3 classes"):
        objective_metric("val_top_3_accuracy", "multiclass", num_classes=3)
    with pytest.raises(ConfigError, match="val_f1_score, val_precision, val_recall") as info:
        objective_metric("val_auc", "multiclass", num_classes=3)
    assert info.value.key == "tuner.objective"


@pytest.fixture
def module(tmp_path, monkeypatch):
    """`module(source)`: the name of a fresh module in `tmp_path` holding `source`."""
    monkeypatch.setattr(sys, "path", list(sys.path))

    def write(source):
        name = f"mymetrics_{uuid.uuid4().hex[:8]}"
        (tmp_path / f"{name}.py").write_text(source)
        return name
    return write


def test_a_custom_metric_is_a_function_or_a_metric_class(tmp_path, module):
    name = module("import keras\n"
                  "def gap(y_true, y_pred):\n"
                  "    return keras.ops.abs(keras.ops.mean(y_pred) - keras.ops.mean(y_true))\n"
                  "class Count(keras.metrics.Sum):\n"
                  "    def update_state(self, y_true, y_pred, sample_weight=None):\n"
                  "        return super().update_state(keras.ops.ones_like(y_true))\n"
                  "NOT_A_METRIC = 3\n")
    gap = objective_metric(f"{name}:gap", "regression", module_dir=str(tmp_path))
    gap.update_state(np.array([1.0, 2.0]), np.array([[2.0], [3.0]]))
    assert gap.name == "gap" and float(gap.result()) == pytest.approx(1.0)
    count = objective_metric(f"{name}:Count", "binary", module_dir=str(tmp_path))
    count.update_state(np.zeros(5), np.zeros((5, 1)))
    assert count.name == "Count" and float(count.result()) == 5.0
    with pytest.raises(ConfigError, match="It names int 3"):
        objective_metric(f"{name}:NOT_A_METRIC", "binary", module_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="ModuleNotFoundError") as info:
        objective_metric("no_such_module_here:gap", "binary", module_dir=str(tmp_path))
    assert info.value.key == "tuner.objective"


def _own_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["acc"])
    return model


def test_a_model_of_your_own_must_log_the_objective(caplog):
    x, y = RNG.random((10, 4)).astype("float32"), RNG.integers(0, 3, 10)
    model = _own_model()
    check_logged_objective(model, "val_acc", x, y, builder="own:build")  # it logs it
    with pytest.raises(ConfigError) as info:
        check_logged_objective(model, "val_f1_score", x, y, builder="own:build")
    message = str(info.value)
    assert info.value.key == "tuner.objective" and "Received: objective='val_f1_score'" in message
    assert "(own:build) logs: val_acc, val_loss, acc, loss." in message
    with caplog.at_level(logging.WARNING):  # its own fit may report it
        check_logged_objective(model, "val_f1_score", x, y, builder="own:build", own_fit=True)
    assert "val_acc, val_loss" in caplog.text


def test_the_builders_compile_the_objectives_metric_only_when_asked():
    from kt_toolkit.hypermodels import HyperMLP

    import keras_tuner

    x, y = RNG.random((12, 4)).astype("float32"), RNG.integers(0, 3, 12)
    logged = {}
    for objective in (None, "val_top_2_accuracy", "val_f1_score"):
        builder = HyperMLP((4,), task="multiclass", num_classes=3, objective=objective)
        model = builder.build(keras_tuner.HyperParameters())
        logged[objective] = set(model.evaluate(x, y, verbose=0, return_dict=True))
    assert logged[None] == {"loss", "accuracy", "crossentropy"}
    assert logged["val_top_2_accuracy"] - logged[None] == {"top_2_accuracy"}
    assert logged["val_f1_score"] - logged[None] == {"f1_score"}
    with pytest.raises(ConfigError, match="val_accuracy"):  # fails when made, not in trial 0
        HyperMLP((4,), task="multiclass", num_classes=3, objective="val_mae")


def test_your_own_models_objective_is_checked_after_its_first_build(tmp_path, module):
    from kt_toolkit.config import config_from_dict
    from kt_toolkit.data import load_dataset
    from kt_toolkit.hypermodels import build_hypermodel

    name = module("import keras\n"
                  "def build(hp):\n"
                  "    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(\n"
                  "        hp.Int('units', 2, 4), activation='relu'),\n"
                  "        keras.layers.Dense(3, activation='softmax')])\n"
                  "    model.compile('adam', 'sparse_categorical_crossentropy',\n"
                  "                  metrics=[keras.metrics.SparseTopKCategoricalAccuracy(\n"
                  "                      k=2, name='top2')])\n"
                  "    return model\n")
    raw = {"data": {"dataset": "iris"},
           "model": {"builder": f"{name}:build", "module_dir": str(tmp_path)}}
    config = config_from_dict(raw)  # objective auto: val_accuracy, which it does not log
    data = load_dataset(config.data, seed=0)
    with pytest.raises(ConfigError, match="logs: val_loss, val_top2, loss, top2."):
        build_hypermodel(config, data)
    raw["tuner"] = {"objective": "val_top2", "direction": "max"}
    assert build_hypermodel(config_from_dict(raw), data).space["units"]["min"] == 2
