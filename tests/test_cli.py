"""`kt-toolkit` from the command line: a real tune, bad input, resume."""

import os
import signal
import subprocess
import sys
import time

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
    assert sorted(os.listdir(run_dir.parent)) == [run_dir.name]  # no lock file left


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


# --- a whole command in its own process: what a user sees on the console ---

ONE_TRIAL = ["--set", "data.subsample=200", "--set", "tuner.algorithm=random",
             "--set", "tuner.max_trials=1", "--set", "training.epochs=1",
             "--set", "model.space.num_layers=1", "--set", "model.space.units=[16]",
             "--set", "output.report=false"]
BACKEND_NOISE = ("absl::InitializeLog", "cudart_stub", "oneDNN", "port.cc")


def _tune_command(runs, name, *extra):
    return [sys.executable, "-m", "kt_toolkit", "tune", "experiments/digits_mlp.yaml",
            *ONE_TRIAL, "--set", f"output.directory={runs}", "--set",
            f"output.run_name={name}", *extra]


@pytest.fixture(scope="module")
def one_trial_run(tmp_path_factory):
    """`(process, runs)`: `kt-toolkit tune` of one trial of one epoch, in a subprocess."""
    runs = tmp_path_factory.mktemp("console") / "runs"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.run(_tune_command(runs, "one"), capture_output=True, text=True,
                             env=env, timeout=600)
    assert process.returncode == 0, process.stderr
    return process, runs


def test_loading_tensorflow_prints_none_of_its_startup_noise(one_trial_run):
    process, _ = one_trial_run
    for noise in BACKEND_NOISE:
        assert noise not in process.stderr, process.stderr
    # stderr works again after the import: the search's own log lines are there
    assert "Data: digits" in process.stderr and "trial 0 COMPLETED" in process.stderr


def test_a_finished_search_leaves_no_lock_file(one_trial_run):
    _, runs = one_trial_run
    assert sorted(os.listdir(runs)) == ["one"]


def test_one_trial_and_one_epoch_are_counted_in_the_singular(one_trial_run):
    process, _ = one_trial_run
    line = next(line for line in process.stderr.splitlines() if "trial 0 COMPLETED" in line)
    assert "| 1 epoch, " in line and "| trials 1/1 " in line, line
    assert "(1 trial: 1 completed, 0 failed)" in process.stdout, process.stdout
    assert "1 trials" not in process.stdout + process.stderr
    assert "1 epochs" not in process.stdout + process.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM])
def test_a_terminated_search_says_how_to_resume_and_exits_128_plus_the_signal(tmp_path,
                                                                              signum):
    runs = tmp_path / "runs"
    history = runs / "stopped" / "trials" / "0" / "history.csv"
    command = _tune_command(runs, "stopped", "--set", "training.epochs=500",
                            "--set", "training.callbacks.early_stopping.enabled=false",
                            "--set", "training.callbacks.chance_pruning.enabled=false")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    try:
        started = time.monotonic()
        while not history.exists():  # trial 0 has trained an epoch: mid-run
            assert process.poll() is None, process.communicate()
            assert time.monotonic() - started < 300, "no epoch within 300 s"
            time.sleep(0.1)
        process.send_signal(signum)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 128 + signum, err
    assert "rerun the same command to resume" in err, err
    assert "Traceback" not in err
    assert sorted(os.listdir(runs)) == ["stopped"]  # the lock went with the command


def test_show_prints_the_best_trials_and_refuses_bad_flags(tuned, capsys, tmp_path):
    args, run_dir = tuned
    if not run_dir.exists():
        assert main(args) == 0
    capsys.readouterr()
    assert main(["show", str(run_dir), "--all"]) == 0
    out = capsys.readouterr().out
    from kt_toolkit.rundir import load_study

    study = load_study(str(run_dir))
    best = study.best(1)[0]
    first_row = out.splitlines()[out.splitlines().index(next(
        line for line in out.splitlines() if line.startswith("----"))) + 1]
    assert first_row.split()[:3] == ["1", best["trial_id"], "completed"]
    assert f"{best['objective']:.4f}" in first_row
    assert "val_accuracy" in out and "units" in out  # units [16, 32] is tuned
    assert main(["show", str(run_dir), "--sort", "unit"]) == 2
    assert "`--sort` must be one of" in capsys.readouterr().err
    assert main(["show", str(tmp_path)]) == 2
    assert "is not a run directory" in capsys.readouterr().err
