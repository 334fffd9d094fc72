"""`kt-toolkit ablate`'s input: knob, values, sweep and seeds are checked before training."""

import pytest

from kt_toolkit.ablation.values import default_values, find_knob, parse_sweep, parse_values
from kt_toolkit.cli import main
from kt_toolkit.errors import ConfigError


@pytest.fixture
def experiment(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(f"output: {{directory: {tmp_path / 'runs'}}}\n")
    return str(path)


@pytest.mark.parametrize("flags, message", [
    (["--knob", "kernel_init", "--values", "zeros,he_normal"],
     "`--knob` must be a knob of builder mlp (num_layers, units, activation, dropout,"),
    (["--knob", "kernel_initializer", "--values", "zeros,ones"],
     "`--values` must be one of the known kernel_initializer values. Received: "
     "--values='ones'. Allowed: glorot_uniform,"),
    (["--knob", "learning_rate", "--sweep", "1e-5:10"],
     "`--sweep` must be start:stop:count, e.g. 1e-5:10:9"),
    (["--knob", "learning_rate", "--sweep", "log:0:1:4"], "A log sweep needs both ends > 0"),
    (["--knob", "kernel_initializer", "--sweep", "1:2:3"], "list its values with --values"),
    (["--knob", "kernel_initializer", "--seeds", "1"],
     "`--seeds` must be an integer >= 2. Received: --seeds=1."),
    (["--knob", "dropout", "--values", "0.1,1.5"], "`--values` must be a number < 1.0"),
    (["--knob", "momentum", "--values", "0.5,0.9"],
     "`momentum` applies only when `optimizer` is sgd"),
])
def test_bad_input_exits_2_with_one_clear_line(experiment, tmp_path, capsys, flags, message):
    assert main(["ablate", experiment, *flags, "-q"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: ")
    assert not (tmp_path / "runs").exists()  # nothing was created


def test_unknown_knob_lists_the_builders_knobs_and_suggests(capsys, experiment):
    assert main(["ablate", experiment, "--knob", "kernel_init", "-q"]) == 2
    err = capsys.readouterr().err
    assert "batch_size, class_balance)" in err and "Did you mean `kernel_initializer`?" in err


def test_a_source_that_is_no_experiment_nor_run(tmp_path, capsys):
    assert main(["ablate", str(tmp_path), "--knob", "units", "-q"]) == 2
    assert "must be an experiment YAML file or a run directory" in capsys.readouterr().err


def test_sweeps_choose_their_scale():
    lr = find_knob("mlp", "learning_rate")
    values, scale = parse_sweep(lr, "1e-5:10:7")
    assert scale == "log" and values == [1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0]
    values, scale = parse_sweep(lr, "0.001:0.005:5")  # less than two decades: linear
    assert scale == "linear" and values == pytest.approx([0.001, 0.002, 0.003, 0.004, 0.005])
    dropout = find_knob("mlp", "dropout")
    assert parse_sweep(dropout, "lin:0:0.5:6") == ([0.0, 0.1, 0.2, 0.3, 0.4, 0.5], "linear")
    units = find_knob("mlp", "units")
    assert parse_sweep(units, "log:16:256:5") == ([16, 32, 64, 128, 256], "log")
    assert parse_values(units, "16, 64") == [16, 64]
    assert parse_values(find_knob("mlp", "batch_norm"), "true,false") == [True, False]
    with pytest.raises(ConfigError, match="integer"):
        parse_values(units, "16,64.5")


def test_default_values_come_from_the_space():
    init = find_knob("mlp", "kernel_initializer")
    assert default_values(init, {"values": ["he_normal", "zeros"], "default": "zeros"}) == (
        ["he_normal", "zeros"], None)
    lr = find_knob("mlp", "learning_rate")
    values, scale = default_values(lr, {"min": 1e-4, "max": 1e-2, "sampling": "log",
                                        "step": None, "default": 1e-3})
    assert scale == "log" and values == pytest.approx([1e-4, 3.16228e-4, 1e-3, 3.16228e-3,
                                                       1e-2])
