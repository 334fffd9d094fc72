"""Good experiment files: loading, overrides, spec shorthands, dump round trip,
fingerprints, callback shorthands, seeds, and no TensorFlow on the way."""

import json
import pathlib
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the package is not installed everywhere
    sys.path.insert(0, str(ROOT))

from kt_toolkit.config import (ExperimentConfig, config_from_dict, dump_config,  # noqa: E402
                               fingerprint, load_config)
from kt_toolkit.config.knobs import builder_knobs  # noqa: E402
from kt_toolkit.errors import ConfigError  # noqa: E402

EXPERIMENTS = sorted((ROOT / "experiments").glob("*.yaml"))
DIGITS = ROOT / "experiments" / "digits_mlp.yaml"


@pytest.fixture
def write(tmp_path):
    """Returns `write(text, name="experiment.yaml") -> path`."""

    def write_file(text, name="experiment.yaml"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write_file


def space_of(write, text):
    return load_config(write(f"model:\n  space:\n{text}")).model.space


# --- experiments/*.yaml ---

def test_there_are_experiments():
    assert DIGITS in EXPERIMENTS
    assert len(EXPERIMENTS) >= 2


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_experiment_file_loads_and_validates(path):
    config = load_config(path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))

    assert isinstance(config, ExperimentConfig)
    assert config.experiment.name == path.stem
    # Every scalar setting the file writes arrives unchanged.
    assert config.stages == raw.get("stages", [])  # a list, kept as written
    for section, settings in raw.items():
        if section == "stages":
            continue
        for name, value in settings.items():
            if not isinstance(value, dict):
                assert getattr(getattr(config, section), name) == value, f"{section}.{name}"
    # The space is resolved: every knob of the builder, each in normalized form.
    knobs = builder_knobs(config.model.builder)
    assert list(config.model.space) == [knob.name for knob in knobs]
    for name, spec in config.model.space.items():
        assert set(spec) in ({"fixed"}, {"values", "default"},
                             {"min", "max", "step", "sampling", "default"}), name
    for name, spec in raw["model"].get("space", {}).items():
        if isinstance(spec, dict) and "min" in spec:
            resolved = config.model.space[name]
            assert (resolved["min"], resolved["max"]) == (spec["min"], spec["max"]), name


def test_digits_experiment_values():
    config = load_config(DIGITS)

    assert config.model.space["units"] == {"values": [32, 64, 128, 256], "default": 128}
    assert config.model.space["dropout"] == {"min": 0.0, "max": 0.5, "step": 0.1,
                                             "sampling": "linear", "default": 0.5}
    assert config.model.space["learning_rate"]["sampling"] == "log"
    assert config.training.callbacks.early_stopping.patience == 5
    assert config.training.epochs == 20  # left out: the schema default
    assert config.tuner.max_trials == 30 and config.tuner.algorithm == "tpe"


def test_empty_file_gives_the_defaults(write):
    config = load_config(write(""))

    assert config.to_dict() == load_config(write("{}\n", name="braces.yaml")).to_dict()
    assert config.tuner.algorithm == "tpe"  # issue 12: the race (benchmarks/race.py)
    assert config.model.builder == "mlp"


# --- --set overrides ---

def test_overrides_set_typed_values():
    plain = load_config(DIGITS)
    config = load_config(DIGITS, ["tuner.max_trials=4", "data.subsample=600"])

    assert config.tuner.max_trials == 4 and type(config.tuner.max_trials) is int
    assert config.data.subsample == 600 and type(config.data.subsample) is int
    # Nothing else moves.
    changed = plain.to_dict()
    changed["tuner"]["max_trials"] = 4
    changed["data"]["subsample"] = 600
    assert config.to_dict() == changed


@pytest.mark.parametrize("override, section, name, expected, kind", [
    ("data.validation_split=0.3", "data", "validation_split", 0.3, float),
    ("training.callbacks.early_stopping.min_delta=0", "training", "callbacks", 0.0, float),
    ("data.shuffle=false", "data", "shuffle", False, bool),
    ("tuner.algorithm=random", "tuner", "algorithm", "random", str),
    ("output.run_name=trial-run", "output", "run_name", "trial-run", str),
    ("data.classes=[3, 8]", "data", "classes", [3, 8], list),
    ("tuner.max_trials=null", "tuner", "max_trials", None, type(None)),
], ids=["float", "int_for_float", "bool", "string", "name", "list", "null"])
def test_override_value_types(write, override, section, name, expected, kind):
    value = getattr(getattr(load_config(write("tuner: {max_trials: 3}\n"), [override]),
                            section), name)
    if name == "callbacks":  # an int widened to a float field
        value = value.early_stopping.min_delta
    assert value == expected and type(value) is kind


def test_override_into_a_section_the_file_lacks(write):
    config = load_config(write("experiment: {name: small}\n"),
                         ["training.callbacks.early_stopping.patience=2",
                          "model.space.dropout=0.25"])

    assert config.training.callbacks.early_stopping.patience == 2
    assert config.model.space["dropout"] == {"fixed": 0.25}


def test_later_override_wins():
    config = load_config(DIGITS, ["tuner.max_trials=4", "tuner.max_trials=6"])
    assert config.tuner.max_trials == 6


# --- spec shorthands ---

def test_list_shorthand_equals_values(write):
    short = space_of(write, "    units: [32, 64]\n")["units"]
    long = space_of(write, "    units: {values: [32, 64]}\n")["units"]

    assert short == long == {"values": [32, 64], "default": 32}


def test_choices_keep_the_prior_default_when_listed(write):
    assert space_of(write, "    activation: [tanh, relu]\n")["activation"] == {
        "values": ["tanh", "relu"], "default": "relu"}


@pytest.mark.parametrize("text, name, expected", [
    ("dropout: 0.3", "dropout", 0.3),
    ("dropout: 0", "dropout", 0.0),
    ("num_layers: 2", "num_layers", 2),
    ("activation: tanh", "activation", "tanh"),
    ("batch_norm: true", "batch_norm", True),
    ("learning_rate: 3.0e-4", "learning_rate", 3e-4),
], ids=["float", "int_widened", "int", "choice", "bool", "log_knob"])
def test_fixed_value(write, text, name, expected):
    spec = space_of(write, f"    {text}\n")[name]

    assert spec == {"fixed": expected}
    assert type(spec["fixed"]) is type(expected)


def test_range_fills_in_sampling_step_and_default(write):
    spec = space_of(write, "    dropout: {min: 0.1, max: 0.3}\n")["dropout"]

    # The knob's own default (0.5) is outside the user range: the range starts there.
    assert spec == {"min": 0.1, "max": 0.3, "step": None, "sampling": "linear",
                    "default": 0.1}


def test_knobs_left_out_keep_their_priors(write):
    space = space_of(write, "    dropout: 0.3\n")
    default = load_config(write("{}\n", name="default.yaml")).model.space

    assert {k: v for k, v in space.items() if k != "dropout"} == {
        k: v for k, v in default.items() if k != "dropout"}


def test_grid_gives_every_float_knob_a_step(write):
    space = load_config(write("tuner: {algorithm: grid}\n")).model.space

    ranges = [knob.name for knob in builder_knobs("mlp")
              if knob.kind == "float" and knob.tuned and not knob.values]
    assert ranges
    for name in ranges:
        assert space[name]["step"] is not None, name
    assert space["learning_rate"]["step"] == 10.0  # a multiplier on the log scale


# --- dump / reload round trip and fingerprints ---

@pytest.mark.parametrize("source, overrides", [
    (path, ()) for path in EXPERIMENTS] + [
    (DIGITS, ("tuner.algorithm=grid", "model.space.learning_rate={values: [0.01, 0.001]}",
              "model.space.dropout=0.2", "output.run_name=named")),
], ids=[p.stem for p in EXPERIMENTS] + ["grid_fixed_named"])
def test_dump_round_trip(tmp_path, source, overrides):
    config = load_config(source, overrides)
    dumped = tmp_path / "config.yaml"
    dumped.write_text(dump_config(config), encoding="utf-8")

    reloaded = load_config(dumped)

    assert reloaded.to_dict() == config.to_dict()
    assert fingerprint(reloaded) == fingerprint(config)
    assert dump_config(reloaded) == dump_config(config)


def test_fingerprint_is_eight_hex_digits_and_deterministic():
    first, second = fingerprint(load_config(DIGITS)), fingerprint(load_config(DIGITS))

    assert first == second
    assert len(first) == 8 and int(first, 16) >= 0


def test_a_setting_added_later_keeps_older_runs_fingerprint_at_its_default():
    """`data.header` came after runs existed: at `auto` it is left out, so an older
    YAML resumes its run directory; set otherwise it starts another run."""
    from kt_toolkit.config.identity import ADDED_LATER, search_settings

    config = load_config(DIGITS)
    assert "header" not in search_settings(config)["data"]
    assert set(ADDED_LATER) >= {"data.header", "training.mixed_precision",
                                "training.jit_compile", "training.steps_per_execution",
                                "model.module_dir"}
    for key in ADDED_LATER:  # every one has a field in the schema, at that default
        section, name = key.split(".")
        assert getattr(getattr(config, section), name) == ADDED_LATER[key]
    csv_config = config_from_dict({"experiment": {"name": "x"},
                                   "data": {"dataset": "a.csv", "header": False}})
    auto = config_from_dict({"experiment": {"name": "x"}, "data": {"dataset": "a.csv"}})
    assert fingerprint(csv_config) != fingerprint(auto)


def test_speed_switches_keep_the_fingerprint_at_their_defaults_and_change_it_otherwise():
    """Issue 16: an older YAML resumes its run; a speed switch that changes results
    (mixed precision) starts another run; `training.oom` may change between runs."""
    base = config_from_dict({"experiment": {"name": "x"}})
    assert fingerprint(base) == fingerprint(config_from_dict(
        {"experiment": {"name": "x"}, "training": {"mixed_precision": None, "jit_compile": False,
                                                   "steps_per_execution": 1}}))
    assert fingerprint(base) == fingerprint(config_from_dict(
        {"experiment": {"name": "x"}, "training": {"oom": "halve_batch"}}))
    for training in ({"mixed_precision": "mixed_float16"}, {"jit_compile": True},
                     {"steps_per_execution": 8}):
        assert fingerprint(base) != fingerprint(config_from_dict(
            {"experiment": {"name": "x"}, "training": training})), training


@pytest.mark.parametrize("key, value, expected", [
    ("training.mixed_precision", "float16", "null, mixed_float16 or mixed_bfloat16"),
    ("training.steps_per_execution", 0, "an integer >= 1"),
    ("training.oom", "retry", "one of fail, halve_batch"),
])
def test_speed_switches_and_oom_policy_are_validated(key, value, expected):
    section, leaf = key.split(".")
    with pytest.raises(ConfigError) as caught:
        config_from_dict({"experiment": {"name": "x"}, section: {leaf: value}})
    assert f"`{leaf}` must be {expected}. Received: {leaf}={value!r}." in str(caught.value)
    assert caught.value.key.endswith(key)


@pytest.mark.parametrize("override", [
    "model.space.dropout={min: 0.0, max: 0.6, step: 0.1, default: 0.5}",
    "model.space.dropout=0.3",
    "model.space.units=[64]",
    "tuner.algorithm=random",
    "tuner.factor=4",
    "training.epochs=5",
    "training.callbacks.early_stopping=false",
    "data.subsample=600",
    "experiment.seed=1",
])
def test_fingerprint_changes_with_search_settings(override):
    assert fingerprint(load_config(DIGITS, [override])) != fingerprint(load_config(DIGITS))


@pytest.mark.parametrize("override", [
    "tuner.max_trials=4",
    "output.directory=elsewhere/runs",
    "output.run_name=named",
    "training.verbose=1",
    "experiment.description=another note",
    "tuner.max_consecutive_failed_trials=5",
])
def test_fingerprint_ignores_budget_and_output(override):
    changed = load_config(DIGITS, [override])

    assert changed.to_dict() != load_config(DIGITS).to_dict()  # the override did something
    assert fingerprint(changed) == fingerprint(load_config(DIGITS))


# --- callbacks and seeds ---

def test_callback_false_shorthand(write):
    config = load_config(write("training: {callbacks: {early_stopping: false}}\n"))
    callbacks = config.training.callbacks

    assert callbacks.early_stopping.enabled is False
    assert callbacks.early_stopping.patience == 5  # the other settings keep defaults
    assert callbacks.terminate_on_nan.enabled is True
    assert callbacks.reduce_lr_on_plateau.enabled is True


def test_callback_true_shorthand_and_override(write):
    config = load_config(write("training: {callbacks: {terminate_on_nan: true}}\n"),
                         ["training.callbacks.reduce_lr_on_plateau=false"])
    callbacks = config.training.callbacks

    assert callbacks.terminate_on_nan.enabled is True
    assert callbacks.reduce_lr_on_plateau.enabled is False
    assert callbacks.early_stopping.enabled is True


def test_callback_false_round_trips(tmp_path, write):
    config = load_config(write("training: {callbacks: {early_stopping: false}}\n"))
    dumped = write(dump_config(config), name="config.yaml")

    assert load_config(dumped).training.callbacks.early_stopping.enabled is False


@pytest.mark.parametrize("text, overrides, expected", [
    ("experiment: {seed: 7}\n", (), 7),
    ("experiment: {seed: 7}\ntuner: {seed: 3}\n", (), 3),
    ("experiment: {seed: 7}\n", ("experiment.seed=11",), 11),
    ("{}\n", (), 42),
], ids=["from_experiment", "explicit", "experiment_override", "default"])
def test_tuner_seed_defaults_to_experiment_seed(write, text, overrides, expected):
    assert load_config(write(text), overrides).tuner.seed == expected


# --- no TensorFlow ---

def test_loading_imports_no_tensorflow():
    script = (
        "import json, sys\n"
        "import kt_toolkit.config\n"
        "config = kt_toolkit.config.load_config('experiments/digits_mlp.yaml')\n"
        "heavy = sorted(m for m in sys.modules\n"
        "               if m.split('.')[0] in ('tensorflow', 'keras', 'keras_tuner'))\n"
        "print(json.dumps({'name': config.experiment.name, 'heavy': heavy}))\n"
    )
    env = {"PATH": "", "PYTHONPATH": str(ROOT), "PYTHONNOUSERSITE": "1"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["name"] == "digits_mlp"
    assert report["heavy"] == []


def test_scientific_notation_without_a_dot_is_a_number(tmp_path):
    path = tmp_path / "experiment.yaml"
    path.write_text("model: {space: {learning_rate: {min: 1e-4, max: 1e-1, sampling: log}}}\n")
    space = load_config(path).model.space
    assert space["learning_rate"]["min"] == pytest.approx(1e-4)
    assert space["learning_rate"]["max"] == pytest.approx(0.1)


def test_an_empty_space_section_keeps_the_defaults(tmp_path):
    path = tmp_path / "experiment.yaml"
    path.write_text("model:\n  space:\n    # every knob commented out\n")
    assert load_config(path).model.space["dropout"]["default"] == 0.5


def test_a_knob_its_parent_never_enables_is_reported(tmp_path, caplog):
    path = tmp_path / "experiment.yaml"
    path.write_text("model: {space: {optimizer: adam, momentum: {min: 0.5, max: 0.9}}}\n")
    with caplog.at_level("WARNING"):
        load_config(path)
    assert "model.space.momentum is never used" in caplog.text
    assert "optimizer is sgd" in caplog.text
    caplog.clear()
    path.write_text("model: {space: {optimizer: [adam, sgd], momentum: 0.8}}\n")
    with caplog.at_level("WARNING"):
        load_config(path)
    assert "never used" not in caplog.text


def test_a_resolved_config_reloads_without_never_used_warnings(tmp_path, caplog):
    from kt_toolkit.config import config_from_dict, dump_config

    path = tmp_path / "experiment.yaml"
    path.write_text("model: {space: {optimizer: sgd, lr_schedule: constant}}\n")
    resolved = yaml.safe_load(dump_config(load_config(path)))  # every knob spelled out
    with caplog.at_level("WARNING"):
        config_from_dict(resolved)
    assert "never used" not in caplog.text
