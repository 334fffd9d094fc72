"""HyperMLP: sampled builds with a forward pass, task heads, priors, plain KerasTuner use."""

import keras
import keras_tuner
import numpy as np
import pytest
from sklearn.datasets import load_digits

from kt_toolkit.errors import ConfigError
from kt_toolkit.hypermodels import HyperMLP
from kt_toolkit.config.knobs import MLP_KNOBS


def _sample(hypermodel, seed):
    """Random values for every knob, conditional ones included (as an oracle would)."""
    hp = keras_tuner.HyperParameters()
    hypermodel.declare(hp)
    rng = np.random.default_rng(seed)
    for _ in range(2):  # second pass reaches knobs enabled by the first (momentum)
        for entry in hp.space:
            if hp.is_active(entry):
                hp.values[entry.name] = entry.random_sample(int(rng.integers(1 << 30)))
        hypermodel.declare(hp)
    return hp


@pytest.mark.parametrize("seed", range(30))
def test_sampled_configurations_build_and_run(seed):
    x = np.random.default_rng(seed).normal(size=(16, 64)).astype("float32")
    hypermodel = HyperMLP((64,), num_classes=10, feature_mean=x.mean(0),
                          feature_variance=x.var(0) + 1.0)
    hp = _sample(hypermodel, seed)
    model = hypermodel.build(hp)
    model.run_eagerly = True  # one step: tracing a graph would cost more than the step
    model.train_on_batch(x, np.arange(16) % 10)  # a backward step too
    predictions = keras.ops.convert_to_numpy(model(x, training=False))
    assert predictions.shape == (16, 10)
    np.testing.assert_allclose(predictions.sum(axis=1), 1.0, rtol=1e-4)
    dense = [layer for layer in model.layers if layer.name.startswith("dense_")]
    assert len(dense) == hp.get("num_layers")
    assert all(layer.units == hp.get("units") for layer in dense)
    assert model.optimizer.__class__.__name__.lower() == hp.get("optimizer")
    assert float(model.optimizer.learning_rate) == pytest.approx(hp.get("learning_rate"))


def test_defaults_are_the_practices_priors():
    hypermodel = HyperMLP((64,), num_classes=10)
    hp = keras_tuner.HyperParameters()
    values = hypermodel.declare(hp)
    assert values["num_layers"] == 1          # E6
    assert values["dropout"] == 0.5           # E10
    assert values["kernel_initializer"] == "glorot_uniform"  # E13
    assert values["optimizer"] == "adam" and values["learning_rate"] == 1e-3  # E2, E4
    assert values["momentum"] is None         # only under optimizer=sgd
    learning_rate = next(e for e in hp.space if e.name == "learning_rate")
    # E1 log scale; the range where every default optimizer trains in a few dozen
    # epochs (benchmarks/space.py, issue 12)
    assert learning_rate.sampling == "log" and learning_rate.min_value == 3e-4
    assert learning_rate.max_value == 3e-2
    practices = {knob.name: knob.practice for knob in MLP_KNOBS}
    for name, practice in [("num_layers", "E6"), ("units", "E7"), ("dropout", "E10"),
                           ("l2", "E11"), ("kernel_initializer", "E13"),
                           ("learning_rate", "E2")]:
        assert practice in practices[name]


def test_demonstration_values_are_out_of_the_default_space_and_one_line_away():
    # benchmarks/space.py: zeros initialization, adagrad/adadelta, learning rates of
    # 1e-5 or 1 and L1/L2 of 1 and more left most trials at chance level (issue 12).
    space = {hp.name: hp for hp in _declared(HyperMLP((8,), num_classes=3)).space}
    assert "zeros" not in space["kernel_initializer"].values
    assert not {"adagrad", "adadelta", "sgd"} & set(space["optimizer"].values)
    assert space["l2"].max_value <= 1e-2 and space["l1"].max_value <= 1e-2
    wide = HyperMLP((8,), num_classes=3, space={
        "kernel_initializer": ["glorot_uniform", "zeros"], "optimizer": ["adam", "adadelta"],
        "learning_rate": {"min": 1e-5, "max": 1.0, "sampling": "log"},
        "l2": {"min": 1e-6, "max": 10.0, "sampling": "log"}})
    space = {hp.name: hp for hp in _declared(wide).space}
    assert "zeros" in space["kernel_initializer"].values
    assert "adadelta" in space["optimizer"].values
    assert space["learning_rate"].min_value == 1e-5 and space["l2"].max_value == 10.0


def _declared(hypermodel):
    hp = keras_tuner.HyperParameters()
    hypermodel.declare(hp)
    return hp


def test_momentum_is_conditional_on_sgd():
    hypermodel = HyperMLP((8,), num_classes=3, space={"optimizer": "sgd"})
    hp = keras_tuner.HyperParameters()
    assert hypermodel.declare(hp)["momentum"] == 0.9
    hypermodel = HyperMLP((8,), num_classes=3, space={"optimizer": "adam"})
    hp = keras_tuner.HyperParameters()
    hypermodel.declare(hp)
    assert not hp.is_active("momentum")


@pytest.mark.parametrize("task,num_classes,activation,loss,metric", [
    ("multiclass", 4, "softmax", "sparse_categorical_crossentropy", "accuracy"),
    ("binary", None, "sigmoid", "binary_crossentropy", "auc"),
    ("regression", None, "linear", "mean_squared_error", "mae"),
])
def test_head_follows_the_task(task, num_classes, activation, loss, metric):
    model = HyperMLP((5,), task=task, num_classes=num_classes).build(
        keras_tuner.HyperParameters())
    output = model.get_layer("output")
    assert output.activation.__name__ == activation
    assert model.loss == loss
    x = np.zeros((4, 5), "float32")
    y = np.array([0, 1, 2, 3]) if task == "multiclass" else np.array([0, 1, 0, 1], "float32")
    history = model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y))
    assert f"val_{metric}" in history.history


def test_yaml_style_space_fixes_and_ranges():
    hypermodel = HyperMLP((4,), num_classes=3, space={
        "dropout": 0.3, "units": [8, 16], "num_layers": {"min": 2, "max": 2},
        "activation": {"values": ["tanh"]}})
    hp = keras_tuner.HyperParameters()
    values = hypermodel.declare(hp)
    assert values["dropout"] == 0.3 and values["num_layers"] == 2
    assert values["units"] in (8, 16) and values["activation"] == "tanh"


@pytest.mark.parametrize("kwargs,message", [
    ({"task": "multiclass", "num_classes": None}, "num_classes"),
    ({"task": "ranking"}, "task"),
    ({"space": {"dropout": 1.5}}, "dropout"),
    ({"space": {"unitz": 3}}, "Did you mean `units`"),
])
def test_bad_arguments_are_clear_errors(kwargs, message):
    kwargs.setdefault("num_classes", 3)
    with pytest.raises(ConfigError, match=message):
        HyperMLP((4,), **kwargs)


def test_standardization_inside_the_model_uses_training_statistics():
    mean, variance = np.full(3, 10.0, "float32"), np.full(3, 4.0, "float32")
    model = HyperMLP((3,), task="regression", feature_mean=mean, feature_variance=variance,
                     space={"num_layers": 0}).build(keras_tuner.HyperParameters())
    standardize = model.get_layer("standardize")
    out = standardize(np.array([[12.0, 10.0, 8.0]], "float32"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out), [[1.0, 0.0, -1.0]], atol=1e-5)


def test_regression_head_predicts_in_the_targets_units_from_the_start(tmp_path):
    """Raw targets (diabetes: 152 ± 77): `from_data` puts the training targets' mean
    and spread after the linear output, so an untrained model already predicts near
    the mean, and a saved model keeps the scale."""
    from kt_toolkit.config import DataConfig
    from kt_toolkit.data import load_dataset

    data = load_dataset(DataConfig(dataset="diabetes"), seed=0)
    mean, std = float(np.mean(data.y_train)), float(np.std(data.y_train))
    assert mean > 100 and std > 50
    hp = keras_tuner.HyperParameters()
    scaled = HyperMLP.from_data(data).build(hp)
    plain = HyperMLP(data.input_shape, task="regression",
                     feature_mean=data.feature_mean,
                     feature_variance=data.feature_variance).build(hp)
    layer = scaled.get_layer("target_scale")
    assert (layer.scale, layer.offset) == pytest.approx((std, mean))

    def mse(model):
        return float(np.mean((model.predict(data.x_val, verbose=0)[:, 0] - data.y_val) ** 2))

    # Untrained: within a few variances of the targets, against ~mean² without.
    assert mse(scaled) < 5 * np.var(data.y_val) < mse(plain)
    path = str(tmp_path / "model.keras")
    scaled.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_allclose(reloaded.predict(data.x_val[:4], verbose=0),
                               scaled.predict(data.x_val[:4], verbose=0), rtol=1e-5)
    with pytest.raises(ConfigError, match="target_std"):
        HyperMLP((3,), task="regression", target_mean=1.0, target_std=0.0)


def test_plain_keras_tuner_use(tmp_path):
    """The README example: HyperMLP in someone's own script with a stock tuner."""
    x, y = load_digits(return_X_y=True)
    x = (x[:300] / 16.0).astype("float32")
    y = y[:300]
    hypermodel = HyperMLP((64,), num_classes=10, space={"num_layers": 1, "units": 32})
    tuner = keras_tuner.RandomSearch(hypermodel, objective="val_accuracy", max_trials=2,
                                     directory=str(tmp_path), project_name="plain", seed=3)
    tuner.search(x, y, validation_split=0.25, epochs=2, verbose=0)
    best = tuner.get_best_models(1)[0]
    assert best.predict(x[:2], verbose=0).shape == (2, 10)
    assert len(tuner.oracle.trials) == 2
