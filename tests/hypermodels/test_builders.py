"""HyperCNN and HyperSequence sampled builds, the practices' knobs, fit-time knobs."""

import keras
import keras_tuner
import numpy as np
import pytest

from kt_toolkit.hypermodels import HyperCNN, HyperMLP, HyperSequence
from kt_toolkit.config.knobs import ADAM_FAMILY


def sample(hypermodel, seed):
    """Random values for every knob of the DEFAULT space, conditional ones included."""
    hp = keras_tuner.HyperParameters()
    hypermodel.declare(hp)
    rng = np.random.default_rng(seed)
    for _ in range(3):  # later passes reach knobs that earlier choices enabled
        for entry in hp.space:
            if hp.is_active(entry) and not isinstance(entry, keras_tuner.engine.
                                                      hyperparameters.Fixed):
                hp.values[entry.name] = entry.random_sample(int(rng.integers(1 << 30)))
        hypermodel.declare(hp)
    return hp


def _cnn(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(8, 8, 8, 1)).astype("float32")
    hypermodel = HyperCNN((8, 8, 1), num_classes=10, feature_mean=x.mean(0),
                          feature_variance=x.var(0) + 1.0)
    return hypermodel, x, np.arange(8) % 10, (8, 10)


def _sequence(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 50, size=(8, 12)).astype("int32")
    x[:, 9:] = 0  # padding at the end, masked
    return HyperSequence((12,), vocabulary_size=50, task="binary"), x, np.arange(8) % 2, (8, 1)


@pytest.mark.parametrize("make", [_cnn, _sequence], ids=["cnn", "sequence"])
@pytest.mark.parametrize("seed", range(30))
def test_sampled_configurations_build_and_train_a_step(make, seed):
    hypermodel, x, y, shape = make(seed)
    hp = sample(hypermodel, seed)
    model = hypermodel.build(hp)
    model.run_eagerly = True  # one step: tracing a graph would cost more than the step
    logs = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"]) or hp.get("learning_rate") > 0.1
    assert tuple(model(x, training=False).shape) == shape


def test_cnn_works_on_28x28_and_32x32x3_images():
    for shape in ((28, 28), (32, 32, 3)):
        hypermodel = HyperCNN(shape, num_classes=10, space={
            "num_blocks": 3, "residual": True, "factorized": True, "convs_per_block": 2,
            "augment_flip": "horizontal", "augment_translation": 0.1, "augment_crop": 0.1,
            "head": "flatten"})
        model = hypermodel.build(keras_tuner.HyperParameters())
        names = [layer.name for layer in model.layers]
        assert {"augment_flip", "augment_translation", "augment_crop", "block2_add",
                "block0_conv1_1xn", "block0_conv1_nx1"} <= set(names)
        assert model.get_layer("block2_conv0_1xn").filters == 32 * 4
        x = np.zeros((2,) + shape, "float32")
        assert model.predict(x, verbose=0).shape == (2, 10)


# Every PRACTICES ID the builders promise, and the knob names that carry it.
PROMISED = {
    "mlp": {"E6": ["num_layers"], "E7": ["units"], "E10": ["dropout"], "E11": ["l2"],
            "E13": ["kernel_initializer"], "E14": ["activation"]},
    "cnn": {"E7": ["filters"], "E13": ["kernel_initializer"], "F3": [
        "augment_flip", "augment_translation", "augment_crop"], "E16": [
        "kernel_size", "factorized", "convs_per_block", "batch_norm", "residual", "pooling",
        "head"], "E10": ["dropout"]},
    "sequence": {"E12": ["embedding_dim"], "E13": ["embedding_initializer",
                                                   "recurrent_initializer"],
                 "E16": ["cell", "bidirectional", "layer_norm"], "E9": ["clipnorm"],
                 "E10": ["dropout", "recurrent_dropout"]},
}
SHARED = {"E2": ["learning_rate"], "E3": ["lr_schedule", "decay_rate", "decay_factor",
                                            "warmup_epochs"],
          "E4": ["optimizer", "momentum", "nesterov"], "E5": ["beta_1", "beta_2", "epsilon"],
          "E8": ["batch_size"], "E9": ["clipnorm"], "E11": ["weight_decay"],
          "E17": ["class_balance"]}
CONDITIONS = {"momentum": ("optimizer", ["sgd"]), "nesterov": ("optimizer", ["sgd"]),
              "beta_1": ("optimizer", list(ADAM_FAMILY)),
              "beta_2": ("optimizer", list(ADAM_FAMILY)),
              "epsilon": ("optimizer", list(ADAM_FAMILY)),
              "weight_decay": ("optimizer", ["adamw"]),
              "decay_rate": ("lr_schedule", ["exponential"]),
              "decay_factor": ("lr_schedule", ["step", "multistep"]),
              "warmup_epochs": ("lr_schedule", ["noam"])}
BUILDERS = {"mlp": lambda: HyperMLP((64,), num_classes=10),
            "cnn": lambda: HyperCNN((8, 8, 1), num_classes=10),
            "sequence": lambda: HyperSequence((12,), vocabulary_size=50, task="binary")}


@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_every_promised_practice_is_in_the_default_space(builder):
    hypermodel = BUILDERS[builder]()
    tuner_space = keras_tuner.HyperParameters()
    hypermodel.declare(tuner_space)
    # KerasTuner finds conditional knobs by building with each parent value.
    for name, (parent, values) in CONDITIONS.items():
        for value in values:
            tuner_space.values[parent] = value
            tuner_space.ensure_active_values()
            hypermodel.declare(tuner_space)
    entries = {entry.name: entry for entry in tuner_space.space}
    knobs = {knob.name: knob for knob in hypermodel.knobs}
    for practice, names in {**PROMISED[builder], **SHARED}.items():
        for name in names:
            assert name in entries, (builder, practice, name)
            assert practice in knobs[name].practice, (builder, practice, name)
    for name, (parent, values) in CONDITIONS.items():
        conditions = entries[name].conditions
        assert len(conditions) == 1, name
        assert conditions[0].name == parent and sorted(conditions[0].values) == sorted(values)
    unconditional = set(entries) - set(CONDITIONS) - {"l1", "l2"}
    assert all(not entries[name].conditions for name in unconditional)


def _fit(space, *, y=None, epochs=3, task="multiclass", **fit_kwargs):
    keras.utils.set_random_seed(0)  # the same weights whatever ran before
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 6)).astype("float32")
    y = (np.arange(96) % 3) if y is None else y
    hypermodel = HyperMLP((6,), task=task, num_classes=3 if task == "multiclass" else None,
                          space={"num_layers": 1, "units": 8, **space})
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    history = hypermodel.fit(hp, model, x, y, epochs=epochs, verbose=0, **fit_kwargs)
    return model, history


def _rate(model):
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


# 96 samples / batch 32 = 3 steps per epoch; 3 epochs = 9 steps.
@pytest.mark.parametrize("schedule,expected", [
    ("exponential", 0.01 * 0.96 ** 3),
    ("step", 0.01 * 0.5 ** 3),                    # decay every epoch (epochs // 3 = 1)
    ("multistep", 0.01 * 0.5 ** 2),               # both boundaries (steps 4 and 6) passed
    ("cosine", 0.0),                              # annealed over the 9 steps
    ("noam", 0.01 * (3 / 10) ** 0.5),             # warm-up 3 steps, then 1/sqrt
])
def test_schedule_knob_drives_the_optimizer(schedule, expected):
    space = {"lr_schedule": schedule, "learning_rate": 0.01, "batch_size": 32,
             "optimizer": "adam"}
    model, _ = _fit(space)
    assert isinstance(model.optimizer._learning_rate,
                      keras.optimizers.schedules.LearningRateSchedule)
    assert int(model.optimizer.iterations) == 9
    assert _rate(model) == pytest.approx(expected, rel=1e-3, abs=1e-7)


def test_schedule_covers_only_the_epochs_a_hyperband_round_runs():
    space = {"lr_schedule": "cosine", "learning_rate": 0.01, "batch_size": 32}
    model, _ = _fit(space, epochs=5, initial_epoch=2)  # 3 epochs run: 9 steps
    assert _rate(model) == pytest.approx(0.0, abs=1e-7)


def test_schedule_counts_training_steps_only_with_a_validation_split():
    space = {"lr_schedule": "cosine", "learning_rate": 0.01, "batch_size": 16}
    model, history = _fit(space, validation_split=0.5)  # 48 samples: 3 steps per epoch
    assert int(model.optimizer.iterations) == 9
    assert _rate(model) == pytest.approx(0.0, abs=1e-7)
    assert "val_loss" in history.history


def test_batch_size_knob_sets_the_steps_per_epoch():
    model, _ = _fit({"batch_size": 16}, epochs=1)
    assert int(model.optimizer.iterations) == 96 // 16


def test_callers_batch_size_stays_when_the_space_does_not_set_it():
    model, _ = _fit({}, epochs=1, batch_size=48)
    assert int(model.optimizer.iterations) == 2


def test_class_weights_follow_the_class_counts():
    from kt_toolkit.hypermodels.balance import class_weights

    weights = class_weights(np.array([0] * 84 + [1] * 8 + [2] * 4))
    assert weights[2] / weights[0] == pytest.approx(84 / 4)
    assert sum(weights[c] * n for c, n in ((0, 84), (1, 8), (2, 4))) == pytest.approx(96)


@pytest.mark.parametrize("balance", ["none", "class_weight", "oversample", "balanced_batches"])
def test_class_balance_knob_trains_on_imbalanced_data(balance):
    y = np.random.default_rng(1).permutation([0] * 84 + [1] * 8 + [2] * 4)
    space = {"class_balance": balance, "batch_size": 24, "learning_rate": 0.05}
    model, history = _fit(space, y=y, epochs=8, validation_split=0.25)
    steps = int(model.optimizer.iterations) // 8
    majority = int((y[:72] == 0).sum())  # the training part: Keras keeps the first 75 %
    if balance == "oversample":  # every class grown to the majority's count
        assert steps == int(np.ceil(3 * majority / 24))
    elif balance == "balanced_batches":
        assert steps == int(np.ceil(72 / 24))
    else:
        assert steps == 72 // 24
    assert "val_loss" in history.history
    predicted = np.argmax(model.predict(
        np.random.default_rng(0).normal(size=(96, 6)).astype("float32"), verbose=0), 1)
    rare = (predicted != 0).mean()
    if balance == "none":
        assert rare < 0.2  # the natural ratio: the majority class dominates
    else:
        assert rare > 0.2  # rebalanced: the rare classes are predicted too


def test_recurrent_models_clip_gradients_by_default_and_the_others_do_not():
    space = HyperSequence((12,), vocabulary_size=50, task="binary").space
    assert space["clipnorm"] == {"values": [5.0, 10.0, 15.0], "default": 5.0}  # E9
    model = HyperSequence((12,), vocabulary_size=50, task="binary").build(
        keras_tuner.HyperParameters())
    assert model.optimizer.global_clipnorm == 5.0
    assert HyperMLP((4,), num_classes=3).space["clipnorm"] == {"fixed": 0.0}
