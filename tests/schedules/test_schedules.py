"""kt_toolkit.schedules: values, serialization, saved models, validation, factory."""

import inspect
import json
import math

import keras
import numpy as np
import pytest
from keras import ops

import kt_toolkit.schedules as schedules_pkg
from kt_toolkit.schedules import (
    SCHEDULES,
    MultiStepDecay,
    WarmupInverseSqrtSchedule,
    make_schedule,
)

OURS = (MultiStepDecay, WarmupInverseSqrtSchedule)
EXPECTED_TYPES = {
    "constant": float,
    "exponential": keras.optimizers.schedules.ExponentialDecay,
    "step": keras.optimizers.schedules.ExponentialDecay,
    "multistep": MultiStepDecay,
    "cosine": keras.optimizers.schedules.CosineDecay,
    "noam": WarmupInverseSqrtSchedule,
}
CHECK_STEPS = [0, 1, 5, 9, 10, 11, 20, 39, 40, 59, 60, 79, 80, 200]


def value(schedule, step):
    return float(ops.convert_to_numpy(schedule(step)))


def values(schedule, steps):
    return np.array([value(schedule, step) for step in steps])


# --- WarmupInverseSqrtSchedule -------------------------------------------------

def test_noam_first_step_is_small_and_positive():
    schedule = WarmupInverseSqrtSchedule(1e-3, warmup_steps=100)
    first = value(schedule, 0)
    assert math.isfinite(first) and first > 0
    np.testing.assert_allclose(first, 1e-3 / 100, rtol=1e-6)


def test_noam_warmup_is_linear_up_to_the_peak():
    peak, warmup = 1e-3, 100
    schedule = WarmupInverseSqrtSchedule(peak, warmup_steps=warmup)
    updates = np.array([1, 2, 25, 50, 99, 100])  # update n is step n - 1
    np.testing.assert_allclose(values(schedule, updates - 1), peak * updates / warmup,
                               rtol=1e-6)
    np.testing.assert_allclose(value(schedule, warmup - 1), peak, rtol=1e-6)


def test_noam_decays_as_inverse_sqrt_after_warmup():
    peak, warmup = 1e-3, 100
    schedule = WarmupInverseSqrtSchedule(peak, warmup_steps=warmup)
    updates = np.array([101, 150, 400, 2500, 10_000])
    np.testing.assert_allclose(values(schedule, updates - 1),
                               peak * np.sqrt(warmup / updates), rtol=1e-6)
    np.testing.assert_allclose(value(schedule, 4 * warmup - 1), peak / 2, rtol=1e-6)


def test_noam_peaks_once_at_the_end_of_warmup():
    schedule = WarmupInverseSqrtSchedule(2e-3, warmup_steps=50)
    curve = np.asarray(ops.convert_to_numpy(schedule(np.arange(500))))
    assert curve.shape == (500,)
    assert int(np.argmax(curve)) == 49
    assert np.all(np.diff(curve[:50]) > 0) and np.all(np.diff(curve[49:]) < 0)


def test_noam_accepts_an_integer_tensor_step():
    schedule = WarmupInverseSqrtSchedule(1e-3, warmup_steps=10)
    step = keras.Variable(9, dtype="int32", trainable=False)
    np.testing.assert_allclose(value(schedule, step), 1e-3, rtol=1e-6)


@pytest.mark.parametrize("d_model,warmup", [(512, 4000), (64, 10)])
def test_from_model_dimension_is_the_transformer_formula(d_model, warmup):
    schedule = WarmupInverseSqrtSchedule.from_model_dimension(d_model, warmup_steps=warmup)
    assert schedule.warmup_steps == warmup
    np.testing.assert_allclose(schedule.peak_learning_rate,
                               d_model ** -0.5 * warmup ** -0.5, rtol=1e-12)
    updates = np.array([1, 2, warmup // 2, warmup, warmup + 1, 3 * warmup, 100_000])
    expected = d_model ** -0.5 * np.minimum(updates ** -0.5, updates * warmup ** -1.5)
    np.testing.assert_allclose(values(schedule, updates - 1), expected, rtol=1e-5)


def test_from_model_dimension_defaults_to_4000_warmup_steps():
    schedule = WarmupInverseSqrtSchedule.from_model_dimension(512)
    assert schedule.get_config() == {"peak_learning_rate": 512 ** -0.5 * 4000 ** -0.5,
                                     "warmup_steps": 4000}


# --- MultiStepDecay ------------------------------------------------------------

def test_multistep_values_before_at_and_after_each_boundary():
    schedule = MultiStepDecay(0.1, boundaries=[10, 20, 30], factor=0.5)
    steps = [0, 9, 10, 11, 19, 20, 21, 29, 30, 31, 10_000]
    expected = 0.1 * 0.5 ** np.array([0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
    np.testing.assert_allclose(values(schedule, steps), expected, rtol=1e-6)


def test_multistep_default_factor_is_a_tenth():
    schedule = MultiStepDecay(1.0, boundaries=[5, 8])
    assert schedule.factor == 0.1
    np.testing.assert_allclose(values(schedule, [4, 5, 7, 8]), [1.0, 0.1, 0.1, 0.01],
                               rtol=1e-6)


def test_multistep_boundary_past_float32_precision_is_exact():
    boundary = 2 ** 24 + 1  # float32 cannot tell it from 2**24
    schedule = MultiStepDecay(1.0, boundaries=[boundary], factor=0.5)
    np.testing.assert_allclose(values(schedule, [boundary - 1, boundary]), [1.0, 0.5])


def test_multistep_config_is_plain_python():
    schedule = MultiStepDecay(np.float32(0.5), boundaries=(np.int64(3), 7),
                              factor=np.float64(0.25))
    config = schedule.get_config()
    assert config == {"initial_learning_rate": 0.5, "boundaries": [3, 7], "factor": 0.25}
    assert type(config["initial_learning_rate"]) is float
    assert [type(b) for b in config["boundaries"]] == [int, int]
    assert type(config["factor"]) is float


# --- serialization ---------------------------------------------------------------

@pytest.mark.parametrize("cls", OURS)
def test_get_config_returns_exactly_the_init_arguments(cls):
    schedule = make_schedule({MultiStepDecay: "multistep",
                              WarmupInverseSqrtSchedule: "noam"}[cls],
                             1e-2, steps_per_epoch=10, epochs=8)
    parameters = set(inspect.signature(cls.__init__).parameters) - {"self"}
    assert set(schedule.get_config()) == parameters
    assert json.loads(json.dumps(schedule.get_config())) == schedule.get_config()


@pytest.mark.parametrize("name", [n for n in SCHEDULES if n != "constant"])
def test_every_factory_schedule_round_trips_through_get_config(name):
    schedule = make_schedule(name, 1e-2, steps_per_epoch=10, epochs=8)
    clone = type(schedule).from_config(schedule.get_config())
    assert type(clone) is type(schedule)
    assert clone.get_config() == schedule.get_config()
    np.testing.assert_array_equal(values(clone, CHECK_STEPS),
                                  values(schedule, CHECK_STEPS))


@pytest.mark.parametrize("schedule", [
    MultiStepDecay(0.1, boundaries=[10, 20], factor=0.3),
    WarmupInverseSqrtSchedule(1e-3, warmup_steps=16),
    WarmupInverseSqrtSchedule.from_model_dimension(128, warmup_steps=40),
], ids=["multistep", "noam", "noam_d_model"])
def test_keras_serialize_and_deserialize(schedule):
    serialized = keras.optimizers.schedules.serialize(schedule)
    assert serialized["registered_name"] == f"kt_toolkit>{type(schedule).__name__}"
    restored = keras.optimizers.schedules.deserialize(json.loads(json.dumps(serialized)))
    assert type(restored) is type(schedule)
    assert restored.get_config() == schedule.get_config()
    np.testing.assert_array_equal(values(restored, CHECK_STEPS),
                                  values(schedule, CHECK_STEPS))


@pytest.mark.parametrize("name", [n for n in SCHEDULES if n != "constant"])
def test_schedule_survives_a_saved_and_reloaded_model(name, tmp_path):
    steps_per_epoch, epochs = 4, 4
    schedule = make_schedule(name, 1e-2, steps_per_epoch=steps_per_epoch, epochs=epochs)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule), loss="mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = rng.normal(size=(32, 2)).astype("float32")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")

    reloaded = keras.saving.load_model(tmp_path / "m.keras")  # no custom_objects

    # Keras keeps the schedule object itself in `_learning_rate`; the public
    # `learning_rate` is its value at the current iteration.
    restored = reloaded.optimizer._learning_rate
    assert type(restored) is type(schedule)
    assert restored.get_config() == schedule.get_config()
    assert int(ops.convert_to_numpy(reloaded.optimizer.iterations)) == steps_per_epoch
    np.testing.assert_allclose(
        float(ops.convert_to_numpy(reloaded.optimizer.learning_rate)),
        value(schedule, steps_per_epoch), rtol=1e-6)


# --- validation ----------------------------------------------------------------

FACTORY = {"name": "cosine", "learning_rate": 1e-3, "steps_per_epoch": 10, "epochs": 8}


@pytest.mark.parametrize("build,arg", [
    (lambda: WarmupInverseSqrtSchedule(0.0), "peak_learning_rate"),
    (lambda: WarmupInverseSqrtSchedule(-1e-3), "peak_learning_rate"),
    (lambda: WarmupInverseSqrtSchedule(float("nan")), "peak_learning_rate"),
    (lambda: WarmupInverseSqrtSchedule("1e-3"), "peak_learning_rate"),
    (lambda: WarmupInverseSqrtSchedule(True), "peak_learning_rate"),
    (lambda: WarmupInverseSqrtSchedule(1e-3, warmup_steps=0), "warmup_steps"),
    (lambda: WarmupInverseSqrtSchedule(1e-3, warmup_steps=-5), "warmup_steps"),
    (lambda: WarmupInverseSqrtSchedule(1e-3, warmup_steps=100.5), "warmup_steps"),
    (lambda: WarmupInverseSqrtSchedule.from_model_dimension(0), "d_model"),
    (lambda: WarmupInverseSqrtSchedule.from_model_dimension(512.0), "d_model"),
    (lambda: WarmupInverseSqrtSchedule.from_model_dimension(512, 0), "warmup_steps"),
    (lambda: MultiStepDecay(0, [10]), "initial_learning_rate"),
    (lambda: MultiStepDecay(float("inf"), [10]), "initial_learning_rate"),
    (lambda: MultiStepDecay(0.1, []), "boundaries"),
    (lambda: MultiStepDecay(0.1, [10, 10]), "boundaries"),
    (lambda: MultiStepDecay(0.1, [20, 10]), "boundaries"),
    (lambda: MultiStepDecay(0.1, [0, 10]), "boundaries"),
    (lambda: MultiStepDecay(0.1, [1.5, 3]), "boundaries"),
    (lambda: MultiStepDecay(0.1, "10"), "boundaries"),
    (lambda: MultiStepDecay(0.1, 10), "boundaries"),
    (lambda: MultiStepDecay(0.1, [10], factor=0.0), "factor"),
    (lambda: MultiStepDecay(0.1, [10], factor=1.0), "factor"),
    (lambda: MultiStepDecay(0.1, [10], factor=2), "factor"),
    (lambda: make_schedule(**{**FACTORY, "learning_rate": 0}), "learning_rate"),
    (lambda: make_schedule(**{**FACTORY, "steps_per_epoch": 0}), "steps_per_epoch"),
    (lambda: make_schedule(**{**FACTORY, "steps_per_epoch": 2.5}), "steps_per_epoch"),
    (lambda: make_schedule(**{**FACTORY, "epochs": 0}), "epochs"),
    (lambda: make_schedule(**{**FACTORY, "epochs": None}), "epochs"),
    (lambda: make_schedule(**FACTORY, decay_rate=1.5), "decay_rate"),
    (lambda: make_schedule(**FACTORY, step_factor=0), "step_factor"),
    (lambda: make_schedule(**{**FACTORY, "name": "multistep"}, step_factor=1),
     "step_factor"),
    (lambda: make_schedule(**FACTORY, step_epochs=0), "step_epochs"),
    (lambda: make_schedule(**FACTORY, cosine_epochs=-1), "cosine_epochs"),
    (lambda: make_schedule(**FACTORY, warmup_epochs=1.5), "warmup_epochs"),
])
def test_bad_arguments_raise_value_error_naming_the_argument(build, arg):
    with pytest.raises(ValueError, match=rf"^`{arg}` must be .* Received: {arg}="):
        build()


def test_unknown_schedule_name_lists_the_names_and_suggests_one():
    with pytest.raises(ValueError) as info:
        make_schedule("cosin", 1e-3, steps_per_epoch=10, epochs=8)
    message = str(info.value)
    assert message.startswith("`name` must be one of") and "name='cosin'" in message
    assert all(repr(name) in message for name in SCHEDULES)
    assert "Did you mean 'cosine'?" in message


# --- factory ---------------------------------------------------------------------

def test_package_exports():
    assert set(schedules_pkg.__all__) == {"SCHEDULES", "MultiStepDecay",
                                          "WarmupInverseSqrtSchedule", "make_schedule"}
    assert SCHEDULES == tuple(EXPECTED_TYPES)


@pytest.mark.parametrize("name", SCHEDULES)
def test_each_name_gives_its_type(name):
    schedule = make_schedule(name, 1e-2, steps_per_epoch=10, epochs=8)
    assert type(schedule) is EXPECTED_TYPES[name]


def test_constant_is_the_plain_learning_rate():
    assert make_schedule("constant", 3e-4, steps_per_epoch=10, epochs=8) == 3e-4


def test_exponential_decays_by_0_96_per_epoch_smoothly():
    lr, spe = 1e-2, 25
    schedule = make_schedule("exponential", lr, steps_per_epoch=spe, epochs=10)
    np.testing.assert_allclose(values(schedule, [0, 12, spe, 2 * spe]),
                               [lr, lr * 0.96 ** (12 / spe), lr * 0.96, lr * 0.96 ** 2],
                               rtol=1e-6)
    other = make_schedule("exponential", lr, steps_per_epoch=spe, epochs=10,
                          decay_rate=0.5)
    np.testing.assert_allclose(value(other, 3 * spe), lr / 8, rtol=1e-6)


def test_step_drops_by_step_factor_every_third_of_training_by_default():
    lr, spe = 1e-2, 10
    schedule = make_schedule("step", lr, steps_per_epoch=spe, epochs=9)  # every 3 epochs
    steps = [0, 3 * spe - 1, 3 * spe, 6 * spe - 1, 6 * spe]
    np.testing.assert_allclose(values(schedule, steps),
                               [lr, lr, lr / 2, lr / 2, lr / 4], rtol=1e-6)


def test_step_with_explicit_epochs_and_factor():
    lr, spe = 1e-2, 10
    schedule = make_schedule("step", lr, steps_per_epoch=spe, epochs=9, step_epochs=2,
                             step_factor=0.1)
    np.testing.assert_allclose(values(schedule, [2 * spe - 1, 2 * spe, 4 * spe]),
                               [lr, lr * 0.1, lr * 0.01], rtol=1e-5)
    tiny = make_schedule("step", lr, steps_per_epoch=spe, epochs=2)  # max(1, 2 // 3)
    assert tiny.get_config()["decay_steps"] == spe


def test_multistep_drops_at_half_and_three_quarters_of_training():
    lr, spe = 1e-2, 10
    schedule = make_schedule("multistep", lr, steps_per_epoch=spe, epochs=8)
    assert schedule.get_config() == {"initial_learning_rate": lr,
                                     "boundaries": [40, 60], "factor": 0.5}
    np.testing.assert_allclose(values(schedule, [39, 40, 59, 60]),
                               [lr, lr / 2, lr / 2, lr / 4], rtol=1e-6)


@pytest.mark.parametrize("spe,epochs,boundaries", [(1, 1, [1]), (1, 2, [1]),
                                                   (1, 3, [1, 2]), (7, 3, [10, 15])])
def test_multistep_boundaries_are_deduplicated_and_positive(spe, epochs, boundaries):
    schedule = make_schedule("multistep", 0.1, steps_per_epoch=spe, epochs=epochs)
    assert schedule.boundaries == boundaries


def test_cosine_anneals_to_zero_over_t_max_epochs():
    lr, spe = 1e-2, 10
    schedule = make_schedule("cosine", lr, steps_per_epoch=spe, epochs=8)
    np.testing.assert_allclose(values(schedule, [0, 4 * spe, 8 * spe, 20 * spe]),
                               [lr, lr / 2, 0.0, 0.0], rtol=1e-5, atol=1e-9)
    t_max = make_schedule("cosine", lr, steps_per_epoch=spe, epochs=8, cosine_epochs=32)
    assert t_max.get_config()["decay_steps"] == 32 * spe
    np.testing.assert_allclose(value(t_max, 16 * spe), lr / 2, rtol=1e-5)


def test_noam_peaks_after_warmup_epochs():
    lr, spe = 1e-3, 10
    schedule = make_schedule("noam", lr, steps_per_epoch=spe, epochs=20)  # 2 epochs
    assert schedule.get_config() == {"peak_learning_rate": lr, "warmup_steps": 2 * spe}
    np.testing.assert_allclose(values(schedule, [spe - 1, 2 * spe - 1, 8 * spe - 1]),
                               [lr / 2, lr, lr / 2], rtol=1e-6)
    short = make_schedule("noam", lr, steps_per_epoch=spe, epochs=5)  # max(1, 5 // 10)
    assert short.warmup_steps == spe
    explicit = make_schedule("noam", lr, steps_per_epoch=spe, epochs=5, warmup_epochs=3)
    assert explicit.warmup_steps == 3 * spe


def test_the_knob_table_offers_exactly_the_schedules_the_factory_makes():
    # knobs.py stays free of Keras, so it keeps its own copy of the names.
    from kt_toolkit.config.knobs import SCHEDULE_NAMES
    from kt_toolkit.schedules import SCHEDULES

    assert tuple(SCHEDULE_NAMES) == tuple(SCHEDULES)
