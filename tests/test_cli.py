"""`kt-toolkit` from the command line: a real tune, bad input, resume."""

import os
import subprocess
import sys

import pytest

from kt_toolkit.cli import main

TINY = ["--set", "data.subsample=200", "--set", "tuner.algorithm=random",
        "--set", "tuner.max_trials=2", "--set", "training.epochs=2",
        "--set", "model.space.num_layers=1", "--set", "model.space.units=[16, 32]"]


def _snapshot(folder):
    state = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            stat = os.stat(path)
            with open(path, "rb") as handle:
                state[path] = (stat.st_mtime_ns, handle.read())
    return state


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    runs = tmp_path_factory.mktemp("cli") / "runs"
    args = ["tune", "experiments/digits_mlp.yaml", *TINY,
            "--set", f"output.directory={runs}", "--set", "output.run_name=cli"]
    return args, runs / "cli"


def test_tune_prints_the_best_trial_and_where_things_are(tuned, capsys):
    args, run_dir = tuned
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Best trial" in out and "val_accuracy=" in out
    assert str(run_dir / "best" / "model.keras") in out
    assert str(run_dir / "trials.csv") in out and "2 trials: 2 completed" in out
    from kt_toolkit.config.practices import PRACTICES_LEGEND

    assert out.count(PRACTICES_LEGEND) == 1  # under the next steps, which cite IDs
    assert out.index("Next steps:") < out.index(PRACTICES_LEGEND) < out.index("Run directory:")


BAD_INPUT = [
    (["--set", "tuner.algoritm=random"], "tuner.algoritm", "Did you mean `algorithm`?"),
    (["--set", "model.space.dropout={min: 0.9, max: 0.2}"], "model.space.dropout.min",
     "<= max"),
    (["--set", "model.space.learning_rate=0"], "model.space.learning_rate", "> 0.0"),
    (["--set", "data.dataset=digts"], "data.dataset", "digits"),
    (["--set", "data.dataset=missing/file.csv"], "data.dataset", "missing/file.csv"),
    (["--set", "tuner.objective=val_auc"], "tuner.objective", "val_accuracy"),
    (["--set", "model.space.dropout=0.2"], "model.space.dropout", "--overwrite"),
]


@pytest.mark.parametrize("extra,key,expected", BAD_INPUT,
                         ids=["typo", "min_gt_max", "lr_zero", "dataset", "file",
                              "objective", "changed_settings"])
def test_bad_input_exits_2_with_one_message_and_changes_nothing(tuned, capsys, extra, key,
                                                                 expected):
    args, run_dir = tuned
    if not run_dir.exists():
        assert main(args) == 0
    capsys.readouterr()
    before = _snapshot(run_dir)
    assert main(args + extra) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert err[-1].startswith("error: experiments/digits_mlp.yaml")
    assert key in err[-1] and expected in err[-1]
    assert "Traceback" not in captured.err + captured.out
    assert _snapshot(run_dir) == before


def test_console_script_reports_bad_files_with_exit_code_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("tuner: {max_trials: many}\n")
    process = subprocess.run([sys.executable, "-m", "kt_toolkit", "tune", str(bad)],
                             capture_output=True, text=True, timeout=120)
    assert process.returncode == 2
    assert f"{bad}: tuner.max_trials: `max_trials` must be an integer" in process.stderr
    assert "Traceback" not in process.stderr


def test_validate_prints_the_resolved_config(capsys):
    assert main(["validate", "experiments/breast_cancer_mlp.yaml"]) == 0
    out = capsys.readouterr().out
    assert "learning_rate: {min: 0.0003, max: 0.03" in out


def test_error_classes_map_to_exit_codes(tmp_path, capsys):
    """A busy run directory (RunDirectoryError) exits 2 with one line naming the file;
    a launch failure (LaunchError) exits 1 and says the finished trials are kept."""
    from kt_toolkit.cli import EXIT_CODES, _error
    from kt_toolkit.errors import KtToolkitError, LaunchError
    from kt_toolkit.rundir import run_lock

    args = ["tune", "experiments/digits_mlp.yaml", *TINY,
            "--set", f"output.directory={tmp_path}", "--set", "output.run_name=busy"]
    with run_lock(str(tmp_path / "busy")):
        assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: experiments/digits_mlp.yaml: output.run_name: ")
    assert "is being searched by kt-toolkit" in err and err.count("\n") == 1
    assert not (tmp_path / "busy").exists()

    class Namespace:
        config = "x.yaml"

    assert _error(LaunchError("The chief died 3 times"), Namespace()) == 1
    assert "Finished trials are kept" in capsys.readouterr().err
    assert _error(KtToolkitError("other"), Namespace()) == 1
    assert [cls.__name__ for cls, _ in EXIT_CODES] == [
        "ConfigError", "RunDirectoryError", "LaunchError", "KtToolkitError"]
