"""Bad experiment files and `--set` overrides: every one is a `ConfigError`.

Each case is YAML text written to `tmp_path` and loaded with `load_config`. The
error must name the file, the dotted key, the value as written and what was
expected (house style: "`key` must be X. Received: key=V. Hint."), and must come
before anything is created on disk.

"""

import json
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the package is not installed everywhere
    sys.path.insert(0, str(ROOT))

from kt_toolkit.config import load_config  # noqa: E402
from kt_toolkit.errors import ConfigError  # noqa: E402

FILE_NAME = "experiment.yaml"


def case(case_id, text, key, value, *expect, overrides=(), bug=None):
    """One row of the table.

    Args:
        case_id: String, the pytest id.
        text: String, the YAML file (`RUNS` stands for a folder inside tmp_path).
        key: String, the dotted key the error must name.
        value: String, the bad value as the message must show it.
        *expect: Strings the message must also contain (expectation, hint).
        overrides: Sequence of `--set` strings.
        bug: Optional string: a known bug, the case is a strict xfail.
    """
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(text, list(overrides), key, value, list(expect), id=case_id,
                        marks=marks)


BAD_CONFIGS = [
    # --- unknown keys, with the closest valid name suggested ---
    case("unknown_section", "trainig: {epochs: 3}\n",
         "trainig", "`trainig`", "Unknown key", "Allowed here: experiment, data",
         "Did you mean `training`?"),
    case("tuner_key_typo", "tuner: {algoritm: random}\n",
         "tuner.algoritm", "`algoritm`", "Unknown key", "Did you mean `algorithm`?"),
    case("callback_key_typo", "training: {callbacks: {early_stoping: false}}\n",
         "training.callbacks.early_stoping", "`early_stoping`", "Unknown key",
         "Did you mean `early_stopping`?"),
    case("unknown_knob", "model: {space: {dropuot: 0.3}}\n",
         "model.space.dropuot", "`dropuot`", "Unknown knob", "Known knobs: num_layers",
         "Did you mean `dropout`?"),
    case("range_key_typo", "model: {space: {dropout: {min: 0.1, maximum: 0.5}}}\n",
         "model.space.dropout.maximum", "`maximum`", "Unknown key",
         "Allowed here: min, max, step, sampling, default", "Did you mean `max`?"),
    # --- wrong types ---
    case("max_trials_string", "tuner: {max_trials: ten}\n",
         "tuner.max_trials", "max_trials='ten'", "`max_trials` must be an integer or null"),
    case("max_trials_quoted_number", "tuner: {max_trials: '10'}\n",
         "tuner.max_trials", "max_trials='10'", "must be an integer or null"),
    case("epochs_float", "training: {epochs: 2.5}\n",
         "training.epochs", "epochs=2.5", "`epochs` must be an integer"),
    case("batch_size_bool", "training: {batch_size: true}\n",
         "training.batch_size", "batch_size=True", "`batch_size` must be an integer"),
    case("tuner_seed_bool", "tuner: {seed: false}\n",
         "tuner.seed", "seed=False", "`seed` must be an integer or null"),
    case("standardize_int", "data: {standardize: 1}\n",
         "data.standardize", "standardize=1", "must be true or false"),
    case("section_not_mapping", "tuner: hyperband\n",
         "tuner", "tuner='hyperband'", "`tuner` must be a mapping of settings"),
    case("bool_knob_int", "model: {space: {batch_norm: 1}}\n",
         "model.space.batch_norm", "batch_norm=1", "must be true or false"),
    case("int_knob_float", "model: {space: {num_layers: 2.0}}\n",
         "model.space.num_layers", "num_layers=2.0", "must be an integer"),
    # --- ranges ---
    case("min_above_max", "model: {space: {dropout: {min: 0.6, max: 0.2}}}\n",
         "model.space.dropout.min", "min=0.6", "<= max (0.2)", "Swap the two ends"),
    case("learning_rate_fixed_zero", "model: {space: {learning_rate: 0}}\n",
         "model.space.learning_rate", "learning_rate=0", "must be a number > 0"),
    case("learning_rate_fixed_negative", "model: {space: {learning_rate: -0.01}}\n",
         "model.space.learning_rate", "learning_rate=-0.01", "must be a number > 0"),
    case("learning_rate_range_min_negative",
         "model: {space: {learning_rate: {min: -0.01, max: 0.1}}}\n",
         "model.space.learning_rate.min", "min=-0.01", "must be a number > 0"),
    case("log_sampling_min_zero",
         "model: {space: {l2: {min: 0, max: 0.1, sampling: log}}}\n",
         "model.space.l2.min", "min=0", "> 0 with sampling=log",
         "use a small positive minimum"),
    case("unknown_sampling",
         "model: {space: {dropout: {min: 0.1, max: 0.5, sampling: linaer}}}\n",
         "model.space.dropout.sampling", "sampling='linaer'",
         "one of linear, log, reverse_log", "Did you mean `linear`?"),
    case("default_outside_range",
         "model: {space: {dropout: {min: 0.1, max: 0.3, default: 0.5}}}\n",
         "model.space.dropout.default", "default=0.5", "inside [0.1, 0.3]"),
    case("range_missing_max", "model: {space: {dropout: {min: 0.1}}}\n",
         "model.space.dropout", "{'min': 0.1}", "A range needs `min` and `max`",
         "`max` is missing"),
    case("int_step_fractional",
         "model: {space: {num_layers: {min: 1, max: 3, step: 0.5}}}\n",
         "model.space.num_layers.step", "step=0.5", "a positive integer"),
    case("log_step_not_multiplier",
         "model: {space: {learning_rate: {min: 1.0e-4, max: 0.1, sampling: log, "
         "step: 0.5}}}\n",
         "model.space.learning_rate.step", "step=0.5", "a multiplier > 1"),
    case("momentum_max_one", "model: {space: {momentum: {min: 0.5, max: 1.0}}}\n",
         "model.space.momentum.max", "max=1.0", "must be a number < 1.0"),
    case("range_for_choice_knob", "model: {space: {activation: {min: 1, max: 2}}}\n",
         "model.space.activation", "activation={'min': 1, 'max': 2}",
         "has no numeric range"),
    case("grid_float_range_without_step",
         "tuner: {algorithm: grid}\nmodel: {space: {dropout: {min: 0.1, max: 0.5}}}\n",
         "model.space.dropout", "{'min': 0.1, 'max': 0.5}",
         "Grid search needs a finite grid", "Add `step`"),
    # --- choices ---
    case("unknown_activation", "model: {space: {activation: [relu, rellu]}}\n",
         "model.space.activation.values", "values='rellu'",
         "one of the known activation values", "Allowed: relu, leaky_relu",
         "Did you mean `relu`?"),
    case("unknown_optimizer_fixed", "model: {space: {optimizer: adamm}}\n",
         "model.space.optimizer", "optimizer='adamm'", "one of the known optimizer values",
         "Did you mean `adam`?"),
    case("unknown_initializer",
         "model: {space: {kernel_initializer: {values: [he_normal, he_normall]}}}\n",
         "model.space.kernel_initializer.values", "values='he_normall'",
         "one of the known kernel_initializer values", "Did you mean `he_normal`?"),
    case("empty_values", "model: {space: {units: []}}\n",
         "model.space.units.values", "values=[]", "a non-empty list"),
    case("repeated_values", "model: {space: {activation: [relu, tanh, relu]}}\n",
         "model.space.activation.values", "values=['relu', 'tanh', 'relu']",
         "a list without repeats"),
    case("default_not_a_choice",
         "model: {space: {activation: {values: [relu, tanh], default: elu}}}\n",
         "model.space.activation.default", "default='elu'", "one of ['relu', 'tanh']"),
    case("units_bool", "model: {space: {units: true}}\n",
         "model.space.units", "units=True", "must be an integer"),
    case("units_float", "model: {space: {units: 64.0}}\n",
         "model.space.units", "units=64.0", "must be an integer"),
    # --- section values ---
    case("unknown_algorithm", "tuner: {algorithm: hyperbnd}\n",
         "tuner.algorithm", "algorithm='hyperbnd'", "one of hyperband, bayesian, random, grid",
         "Did you mean `hyperband`?"),
    case("unknown_direction", "tuner: {direction: maximize}\n",
         "tuner.direction", "direction='maximize'", "one of auto, max, min"),
    case("unknown_builder", "model: {builder: mpl}\n",
         "model.builder", "builder='mpl'", "one of mlp", "Did you mean `mlp`?"),
    case("unknown_task", "data: {task: multiclas}\n",
         "data.task", "task='multiclas'", "one of auto, multiclass, binary, regression",
         "Did you mean `multiclass`?"),
    case("validation_split_one", "data: {validation_split: 1.0}\n",
         "data.validation_split", "validation_split=1.0", "a fraction in (0, 1)"),
    case("validation_split_zero", "data: {validation_split: 0.0}\n",
         "data.validation_split", "validation_split=0.0", "a fraction in (0, 1)"),
    case("subsample_zero", "data: {subsample: 0}\n",
         "data.subsample", "subsample=0", "a positive number"),
    case("one_class", "data: {classes: [3]}\n",
         "data.classes", "classes=[3]", "a list of at least 2 class labels"),
    case("factor_below_two", "tuner: {factor: 1}\n",
         "tuner.factor", "factor=1", "an integer >= 2", "3 is usual"),
    case("max_trials_zero", "tuner: {max_trials: 0}\n",
         "tuner.max_trials", "max_trials=0", "a positive number"),
    case("negative_patience", "training: {callbacks: {early_stopping: {patience: -2}}}\n",
         "training.callbacks.early_stopping.patience", "patience=-2", "a number >= 0"),
    case("reduce_lr_factor_one",
         "training: {callbacks: {reduce_lr_on_plateau: {factor: 1.0}}}\n",
         "training.callbacks.reduce_lr_on_plateau.factor", "factor=1.0",
         "a number in (0, 1)", "0.5 halves the learning rate"),
    case("verbose_out_of_choices", "training: {verbose: 3}\n",
         "training.verbose", "verbose=3", "one of 0, 1, 2"),
    case("experiment_name_slash", "experiment: {name: a/b}\n",
         "experiment.name", "name='a/b'", "a non-empty name without slashes"),
    case("run_name_parent", "output: {directory: RUNS, run_name: '..'}\n",
         "output.run_name", "run_name='..'", "folder name without slashes"),
    case("negative_seed", "experiment: {seed: -1}\n",
         "experiment.seed", "seed=-1", ">= 0"),
    case("min_delta_nan", "training: {callbacks: {early_stopping: {min_delta: .nan}}}\n",
         "training.callbacks.early_stopping.min_delta", "min_delta=nan", ">= 0"),
    case("duplicate_key", "tuner:\n  max_trials: 4\n  max_trials: 8\n",
         "tuner.max_trials", "max_trials", "more than once"),
    # --- --set overrides ---
    case("override_without_equals", "tuner: {max_trials: 5}\n",
         "--set", "'tuner.max_trials'", "dotted.key=value",
         overrides=["tuner.max_trials"]),
    case("override_value_not_yaml", "tuner: {max_trials: 5}\n",
         "tuner.max_trials", "'[1'", "not valid YAML", "--set tuner.max_trials=[1",
         overrides=["tuner.max_trials=[1"]),
    case("override_through_scalar", "tuner: {max_trials: 5}\n",
         "tuner.max_trials.x", "holds the value 5", "not a mapping",
         "(--set tuner.max_trials.x=3)", overrides=["tuner.max_trials.x=3"]),
    case("override_invalid_value", "training: {epochs: 10}\n",
         "training.epochs", "epochs=0", "must be a positive number",
         "(--set training.epochs=0)", overrides=["training.epochs=0"]),
    case("override_unknown_algorithm", "tuner: {algorithm: random}\n",
         "tuner.algorithm", "algorithm='hyprband'", "Did you mean `hyperband`?",
         "(--set tuner.algorithm=hyprband)", overrides=["tuner.algorithm=hyprband"]),
    case("override_key_typo", "", "tuner.max_trail", "`max_trail`",
         "Did you mean `max_trials`?", "(--set tuner.max_trail=4)",
         overrides=["tuner.max_trail=4"]),
    case("override_knob_range", "", "model.space.dropout.min", "min=0.5", "<= max (0.1)",
         "(--set model.space.dropout={min: 0.5, max: 0.1})",
         overrides=["model.space.dropout={min: 0.5, max: 0.1}"]),
]


def write_experiment(tmp_path, text):
    """Writes `text` as the experiment file; runs (if any) would go inside tmp_path."""
    runs = json.dumps(str(tmp_path / "runs"))
    if "RUNS" in text:
        text = text.replace("RUNS", runs)
    else:
        text += f"output: {{directory: {runs}}}\n"
    path = tmp_path / FILE_NAME
    path.write_text(text, encoding="utf-8")
    return path


def assert_only_experiment_file(tmp_path):
    assert sorted(p.name for p in tmp_path.iterdir()) == [FILE_NAME]


def test_table_is_large_enough():
    assert len(BAD_CONFIGS) >= 20
    assert len({param.id for param in BAD_CONFIGS}) == len(BAD_CONFIGS)


@pytest.mark.parametrize("text, overrides, key, value, expect", BAD_CONFIGS)
def test_bad_config(tmp_path, text, overrides, key, value, expect):
    path = write_experiment(tmp_path, text)

    with pytest.raises(ConfigError) as info:
        load_config(path, overrides)

    message = str(info.value)
    assert message.startswith(str(path)), message
    assert key in message, message
    assert value in message, message
    for part in expect:
        assert part in message, message
    assert_only_experiment_file(tmp_path)


@pytest.mark.parametrize("text, overrides, key, value, expect", [
    pytest.param(*param.values, id=param.id) for param in BAD_CONFIGS if param.values[1]])
def test_override_errors_keep_the_file_untouched(tmp_path, text, overrides, key, value,
                                                 expect):
    path = write_experiment(tmp_path, text)
    before = path.read_bytes()

    with pytest.raises(ConfigError):
        load_config(path, overrides)

    assert path.read_bytes() == before
    assert_only_experiment_file(tmp_path)


def test_error_key_attribute_is_the_dotted_path(tmp_path):
    path = write_experiment(tmp_path, "model: {space: {dropout: {min: 0.1, max: 1.0}}}\n")

    with pytest.raises(ConfigError) as info:
        load_config(path)

    assert info.value.key == "model.space.dropout.max"
    assert info.value.file == str(path)
    assert "must be a number < 1.0. Received: max=1.0." in str(info.value)


@pytest.mark.parametrize("text, expect", [
    pytest.param("- tuner\n- training\n", ["must hold a mapping of sections",
                                           "['tuner', 'training']"], id="list"),
    pytest.param("42\n", ["must hold a mapping of sections", "42"], id="scalar"),
    pytest.param("tuner: {max_trials: 5\n", ["Not valid YAML", "line 2"],
                 id="unclosed_flow_mapping"),
    pytest.param("tuner:\n  max_trials: 5\n    factor: 3\n", ["Not valid YAML", "line 3"],
                 id="bad_indentation"),
    pytest.param("tuner: !!python/object:os.system {}\n", ["Not valid YAML"],
                 id="python_tag"),
])
def test_file_that_is_not_an_experiment(tmp_path, text, expect):
    path = tmp_path / FILE_NAME
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError) as info:
        load_config(path)

    message = str(info.value)
    assert message.startswith(str(path)), message
    assert info.value.file == str(path)
    for part in expect:
        assert part in message, message
    assert_only_experiment_file(tmp_path)


def test_a_yaml_syntax_error_points_into_the_file(tmp_path):
    path = tmp_path / FILE_NAME
    path.write_text("tuner:\n  max_trials: [1, 2\n", encoding="utf-8")

    with pytest.raises(ConfigError) as info:
        load_config(path)

    message = str(info.value)
    assert f'in "{path}", line 2, column 15' in message, message
    assert "<unicode string>" not in message


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.yaml"

    with pytest.raises(ConfigError) as info:
        load_config(path, ["tuner.max_trials=4"])

    assert str(path) in str(info.value)
    assert "does not exist" in str(info.value)
    assert info.value.file == str(path)
    assert list(tmp_path.iterdir()) == []


def test_directory_is_not_an_experiment_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)

    assert str(tmp_path) in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_file_that_is_not_utf8(tmp_path):
    path = tmp_path / FILE_NAME
    path.write_bytes("experiment: {description: café}\n".encode("latin-1"))

    with pytest.raises(ConfigError) as info:
        load_config(path)

    assert str(info.value).startswith(str(path))
    assert "UTF-8" in str(info.value)
