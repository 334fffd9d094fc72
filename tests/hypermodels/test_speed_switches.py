"""Speed switches (issue 16): mixed precision, XLA, steps per execution, in every builder."""

import keras
import keras_tuner
import numpy as np
import pytest

from kt_toolkit.config import config_from_dict
from kt_toolkit.data import load_dataset
from kt_toolkit.errors import ConfigError
from kt_toolkit.hypermodels import HyperCNN, HyperMLP, HyperSequence, build_hypermodel

BUILDERS = [
    lambda **kw: HyperMLP((6,), num_classes=3, space={"num_layers": 1, "units": 8}, **kw),
    lambda **kw: HyperCNN((8, 8, 1), num_classes=3, **kw),
    lambda **kw: HyperSequence((10,), vocabulary_size=20, task="binary",
                               space={"num_layers": 1, "units": 8}, **kw),
]


@pytest.mark.parametrize("make", BUILDERS, ids=["mlp", "cnn", "sequence"])
def test_mixed_float16_computes_hidden_layers_in_float16_and_the_output_in_float32(make):
    model = make(mixed_precision="mixed_float16").build(keras_tuner.HyperParameters())

    hidden = [layer for layer in model.layers if layer.weights and layer.name != "output"]
    assert hidden and all(layer.compute_dtype == "float16" for layer in hidden)
    assert all(w.dtype == "float32" for layer in hidden for w in layer.weights)
    assert model.get_layer("output").compute_dtype == "float32"
    assert model.outputs[0].dtype == "float32"
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert keras.config.dtype_policy().name == "float32"  # only while building


@pytest.mark.parametrize("make", BUILDERS, ids=["mlp", "cnn", "sequence"])
def test_jit_compile_and_steps_per_execution_reach_compile(make):
    hypermodel = make(jit_compile=True, steps_per_execution=4)
    model = hypermodel.build(keras_tuner.HyperParameters())
    assert model.steps_per_execution == 4
    assert model.jit_compile is True
    default = make().build(keras_tuner.HyperParameters())
    assert default.steps_per_execution == 1 and default.jit_compile is False
    assert default.get_layer("output").compute_dtype == "float32"


def test_a_regression_target_scale_stays_float32_under_mixed_bfloat16():
    hypermodel = HyperMLP((4,), task="regression", target_mean=150.0, target_std=77.0,
                          space={"num_layers": 1, "units": 8}, mixed_precision="mixed_bfloat16")
    model = hypermodel.build(keras_tuner.HyperParameters())
    assert model.get_layer("dense_0").compute_dtype == "bfloat16"
    assert model.get_layer("target_scale").compute_dtype == "float32"


def test_the_experiment_switches_train_a_real_model_and_survive_a_schedule(tmp_path):
    """From `training:` to the builder's compile, through a fit whose schedule
    recompiles the model (the switches must stay)."""
    config = config_from_dict({
        "experiment": {"name": "speed", "seed": 1},
        "data": {"dataset": "digits", "subsample": 120},
        "model": {"space": {"num_layers": 1, "units": 16, "lr_schedule": "cosine",
                            "batch_norm": False}},
        "training": {"epochs": 2, "mixed_precision": "mixed_bfloat16",
                     "steps_per_execution": 4},
        "output": {"directory": str(tmp_path)}})
    data = load_dataset(config.data, seed=1)
    hypermodel = build_hypermodel(config, data)
    assert (hypermodel.mixed_precision, hypermodel.jit_compile,
            hypermodel.steps_per_execution) == ("mixed_bfloat16", False, 4)
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    history = hypermodel.fit(hp, model, data.x_train, data.y_train, epochs=2, verbose=0,
                             validation_data=(data.x_val, data.y_val))
    assert model.steps_per_execution == 4
    assert model.get_layer("dense_0").compute_dtype == "bfloat16"
    assert np.all(np.isfinite(history.history["loss"])) and len(history.history["loss"]) == 2


@pytest.mark.parametrize("kwargs, key", [
    ({"mixed_precision": "float16"}, "mixed_precision"),
    ({"jit_compile": "yes"}, "jit_compile"),
    ({"steps_per_execution": 0}, "steps_per_execution"),
])
def test_bad_switches_are_refused_in_init(kwargs, key):
    with pytest.raises(ConfigError, match=f"`{key}` must be"):
        HyperMLP((4,), num_classes=2, **kwargs)
