"""Parallel workers on loopback, kill -9 and resume, the failure policy across processes.

Each test runs the real command (`python -m kt_toolkit tune … --workers N`) in a
subprocess: a chief, workers, real training on digits.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from kt_toolkit._io import read_csv
from kt_toolkit.errors import RunDirectoryError

TIMEOUT = 240


def _write_config(tmp_path, *, data=None, epochs=2, **tuner):
    raw = {
        "experiment": {"name": "par", "seed": 1},
        "data": {"dataset": "digits", "subsample": 200, **(data or {})},
        "model": {"space": {"num_layers": 1, "units": {"values": [16, 32]},
                            "optimizer": "adam", "batch_norm": False,
                            "learning_rate": {"min": 1e-3, "max": 1e-2, "sampling": "log"}}},
        "tuner": {"algorithm": "random", "max_trials": 6, **tuner},
        "training": {"epochs": epochs, "batch_size": 64},
        "output": {"directory": str(tmp_path / "runs"), "run_name": "par", "report": False},
    }
    path = tmp_path / "par.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path), str(tmp_path / "runs" / "par")


def _start(config, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen([sys.executable, "-m", "kt_toolkit", "tune", config, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True)


def _children(run_dir):
    """`{worker id or "chief": pid}` of the live processes working on `run_dir`."""
    from kt_toolkit.tuners.launcher import run_processes

    return run_processes(run_dir)


def _rows(run_dir):
    return read_csv(os.path.join(run_dir, "trials.csv"))


def _wait_for(predicate, process, what):
    started = time.monotonic()
    while not predicate():
        assert process.poll() is None, f"the run ended before {what}:\n{process.stdout.read()}"
        assert time.monotonic() - started < TIMEOUT, f"no {what} within {TIMEOUT} s"
        time.sleep(0.2)


def test_two_workers_share_the_budget_and_a_killed_worker_is_restarted(tmp_path):
    config, run_dir = _write_config(tmp_path)
    process = _start(config, "--workers", "2", "--trials-per-process", "2")
    completed = lambda: sum(r["status"] == "COMPLETED" for r in _rows(run_dir)) >= 1  # noqa: E731
    _wait_for(lambda: os.path.exists(os.path.join(run_dir, "trials.csv")) and completed(),
              process, "a finished trial")
    os.kill(_children(run_dir)["worker0"], signal.SIGKILL)
    output, _ = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, output
    rows = _rows(run_dir)
    assert len(rows) == 6 and {r["status"] for r in rows} == {"COMPLETED"}, output
    workers = set()
    for row in rows:
        with open(os.path.join(run_dir, "trials", row["trial_id"], "meta.json")) as handle:
            workers.add(json.load(handle)["tuner_id"])
    assert workers == {"worker0", "worker1"}
    assert "worker0 died (signal 9)" in output
    worker_log = open(os.path.join(run_dir, "logs", "worker1.log")).read()
    assert "a fresh one takes over" in worker_log
    assert "| trials " in worker_log and "/6" in worker_log  # the worker knows the total
    assert "oneDNN" not in worker_log  # TensorFlow's start-up lines are filtered out
    assert "trials 6/6 (6 completed)" in output
    assert _children(run_dir) == {}  # every process it started has ended
    assert os.path.exists(os.path.join(run_dir, "best", "model.keras"))


def test_kill_9_of_the_whole_run_then_the_same_command_loses_nothing(tmp_path):
    # With data.cv_folds (2 folds of 1 epoch: as many epochs as 2 plain ones).
    config, run_dir = _write_config(tmp_path, max_trials=5, data={"cv_folds": 2}, epochs=1)
    process = _start(config, "--workers", "2")
    done = lambda: [r for r in _rows(run_dir) if r["status"] == "COMPLETED"]  # noqa: E731
    _wait_for(lambda: os.path.exists(os.path.join(run_dir, "trials.csv")) and len(done()) >= 2,
              process, "two finished trials")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 30  # the chief and workers end with their launcher
    while _children(run_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _children(run_dir) == {}
    kept = {}
    for row in done():
        trial_dir = os.path.join(run_dir, "trials", row["trial_id"])
        with open(os.path.join(trial_dir, "history.csv")) as handle:
            kept[row["trial_id"]] = (row["objective"], handle.read())
    rerun = _start(config, "--workers", "2", "--set", "output.report=true")
    output, _ = rerun.communicate(timeout=TIMEOUT)
    assert rerun.returncode == 0, output
    rows = {r["trial_id"]: r for r in _rows(run_dir)}
    assert len(rows) == 5 and {r["status"] for r in rows.values()} == {"COMPLETED"}
    for trial_id, (objective, history) in kept.items():
        assert rows[trial_id]["objective"] == objective
        with open(os.path.join(run_dir, "trials", trial_id, "history.csv")) as handle:
            assert handle.read() == history
    with open(os.path.join(run_dir, "report.md")) as handle:
        report = handle.read()
    with open(os.path.join(run_dir, "best", "evaluation.yaml")) as handle:
        assert "split: validation part of fold " in handle.read()  # the chief's folds
    for trial_id in rows:
        assert f"| {trial_id} |" in report
        with open(os.path.join(run_dir, "trials", trial_id, "meta.json")) as handle:
            folds = json.load(handle)["cv"]  # each worker scored every trial on both folds
        assert len(folds["scores"]) == 2
        assert float(rows[trial_id]["objective"]) == pytest.approx(folds["mean"], abs=1e-5)


def test_consecutive_failures_stop_every_worker_with_the_reasons(tmp_path):
    config, run_dir = _write_config(tmp_path, algorithm="grid", max_trials=None,
                                    max_consecutive_failed_trials=2)
    space = {"num_layers": 1, "units": 16, "optimizer": "sgd", "momentum": 0.9,
             "nesterov": False, "learning_rate": [1.0e4, 2.0e4, 5.0e4, 1.0e-2],
             "batch_norm": False, "regularizer": "none", "dropout": 0.0,
             "activation": "relu", "kernel_initializer": "glorot_uniform",
             "lr_schedule": "constant"}
    raw = yaml.safe_load(open(config))
    raw["model"]["space"] = space
    open(config, "w").write(yaml.safe_dump(raw))
    process = _start(config, "--workers", "1")
    output, _ = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 1, output  # no trial completed: no best model
    rows = _rows(run_dir)
    assert [r["status"] for r in rows] == ["FAILED", "FAILED"]
    assert all("diverged" in r["reason"] for r in rows), rows  # the worker's reasons
    assert "Search stopped early: 2 consecutive trials failed" in output
    assert _children(run_dir) == {}


def test_a_second_search_of_the_same_run_directory_is_refused(make_config):
    from kt_toolkit.experiment import run_experiment
    from kt_toolkit.rundir import prepare_run_dir, run_lock

    config = make_config()
    run_dir = prepare_run_dir(config)
    kept = os.path.join(run_dir, "trials", "0", "history.csv")
    os.makedirs(os.path.dirname(kept))
    open(kept, "w").write("epoch\n1\n")
    with run_lock(run_dir):  # a search is running there
        for launch in ({}, {"workers": 1}):
            with pytest.raises(RunDirectoryError,
                               match=r"being searched by kt-toolkit \(pid \d+\)"):
                run_experiment(config, overwrite=True, **launch)
            assert open(kept).read() == "epoch\n1\n"  # refused before touching anything
    with run_lock(run_dir):  # released with its holder
        pass


def test_hyperband_budget_matches_keras_tuner():
    from kt_toolkit.config import config_from_dict
    from kt_toolkit.tuners.progress import trial_budget
    import keras_tuner

    for max_epochs, factor, iterations in ((20, 3, 1), (27, 3, 2), (9, 2, 1)):
        config = config_from_dict({"experiment": {"name": "b"}, "data": {"dataset": "digits"},
                                   "tuner": {"algorithm": "hyperband", "max_epochs": max_epochs,
                                             "factor": factor,
                                             "hyperband_iterations": iterations}})
        oracle = keras_tuner.oracles.HyperbandOracle(
            objective="val_accuracy", max_epochs=max_epochs, factor=factor,
            hyperband_iterations=iterations)
        expected = iterations * sum(oracle._get_size(b, r)
                                    for b in range(oracle._get_num_brackets())
                                    for r in range(oracle._get_num_rounds(b)))
        assert trial_budget(config) == expected


JOIN_HOOK = """
import os, time

if os.environ.get("KT_TEST_JOIN"):
    from kt_toolkit.callbacks.history import EpochLogger

    _logged, _marker = EpochLogger.on_epoch_end, os.environ["KT_TEST_JOIN"]

    def on_epoch_end(self, index, logs=None):
        _logged(self, index, logs)
        if os.environ.get("KERASTUNER_TUNER_ID") == "remote":
            open(_marker, "w").close()
        deadline = time.monotonic() + 120
        while not os.path.exists(_marker) and time.monotonic() < deadline:
            time.sleep(0.1)  # the chief's own worker waits for the remote one

    EpochLogger.on_epoch_end = on_epoch_end
"""


def test_kt_toolkit_worker_joins_a_chief_by_address(tmp_path):
    # The chief's own worker holds its first epoch until the remote worker has trained
    # one (a sitecustomize hook), so it cannot finish the budget alone while the remote
    # one is still importing TensorFlow.
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(JOIN_HOOK)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KT_TEST_JOIN=str(tmp_path / "joined"),
               PYTHONPATH=os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")]))
    config, run_dir = _write_config(tmp_path, max_trials=4)
    process = subprocess.Popen([sys.executable, "-m", "kt_toolkit", "tune", config,
                                "--workers", "1"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=env,
                               start_new_session=True)
    chief = os.path.join(run_dir, "tuner", "chief.json")
    _wait_for(lambda: os.path.exists(chief), process, "the chief's address")
    with open(chief) as handle:
        port = json.load(handle)["port"]
    joined = subprocess.run(
        [sys.executable, "-m", "kt_toolkit", "worker", config, "--oracle", f"127.0.0.1:{port}",
         "--id", "remote"], capture_output=True, text=True, timeout=TIMEOUT, env=env)
    assert joined.returncode == 0, joined.stderr
    output, _ = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, output
    workers = {}
    for row in _rows(run_dir):
        with open(os.path.join(run_dir, "trials", row["trial_id"], "meta.json")) as handle:
            worker = json.load(handle)["tuner_id"]
        workers[worker] = workers.get(worker, 0) + 1
    assert set(workers) == {"worker0", "remote"} and sum(workers.values()) == 4, workers


def test_a_worker_with_no_chief_to_reach_says_so(tmp_path, capsys):
    import socket

    from kt_toolkit.cli import main
    from kt_toolkit.config import load_config
    from kt_toolkit.rundir import prepare_run_dir

    config, run_dir = _write_config(tmp_path)
    prepare_run_dir(load_config(config))  # the chief made the run, then went away
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = ["worker", config, "--oracle", f"127.0.0.1:{port}", "--connect-timeout", "1"]
    assert main(argv) == 2
    assert f"No chief answers at 127.0.0.1:{port} (waited 1 s)" in capsys.readouterr().err


@pytest.mark.parametrize("argv, words", [
    (["tune", "{config}", "--workers", "0"], "--workers must be a whole number >= 1"),
    (["tune", "{config}", "--trials-per-process", "3"], "--trials-per-process needs --workers"),
    (["worker", "{config}", "--oracle", "nohost"], "--oracle must be HOST:PORT"),
    (["worker", "{config}", "--oracle", "127.0.0.1:5000", "--id", "chief2"],
     "--id may not contain 'chief'"),
    (["worker", "{config}", "--oracle", "127.0.0.1:5000", "--id", "worker0"],
     "nor be worker<N>"),
    (["worker", "{config}", "--oracle", "127.0.0.1:5000", "--trials-per-process", "-3"],
     "--trials-per-process must be > 0"),
    (["worker", "{config}", "--oracle", "127.0.0.1:5000"], "There is no run in"),
    (["worker", "{config}", "--oracle", "127.0.0.1:5000", "--set",
      "stages=[{name: a, tuner: {max_trials: 2}}]"], "cannot join a staged experiment"),
    (["tune", "{config}", "--workers", "1", "--oracle-address", "10.9.9.9"],
     "--oracle-address '10.9.9.9' cannot be bound on this host"),
])
def test_bad_parallel_options_are_refused_before_anything_runs(tmp_path, capsys, argv, words):
    from kt_toolkit.cli import main

    config, run_dir = _write_config(tmp_path)
    assert main([part.replace("{config}", config) for part in argv]) == 2
    assert words in capsys.readouterr().err
    assert not os.path.exists(os.path.join(run_dir, "trials"))


def test_a_trial_that_kills_its_worker_twice_is_failed_and_the_search_goes_on(tmp_path):
    # What the kernel's OOM killer does to a worker: SIGKILL mid-trial. The
    # sitecustomize below makes every 32-unit model do it (in the workers only).
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import os, signal, sys\n"
        "if 'kt_toolkit._child' in sys.orig_argv and 'worker' in sys.orig_argv:\n"
        "    from kt_toolkit.hypermodels import HyperMLP\n"
        "    build = HyperMLP.build\n"
        "    def killing_build(self, hp):\n"
        "        if hp.get('units') == 32 and os.environ.get('KERASTUNER_TUNER_ID'):\n"
        "            os.kill(os.getpid(), signal.SIGKILL)\n"
        "        return build(self, hp)\n"
        "    HyperMLP.build = killing_build\n")
    config, run_dir = _write_config(tmp_path, algorithm="grid", max_trials=None)
    raw = yaml.safe_load(open(config))
    raw["model"]["space"] = {"num_layers": 1, "units": [16, 32], "optimizer": "adam",
                             "learning_rate": 0.01, "batch_norm": False,
                             "regularizer": "none", "dropout": 0.0, "activation": "relu",
                             "kernel_initializer": "glorot_uniform",
                             "lr_schedule": "constant"}
    open(config, "w").write(yaml.safe_dump(raw))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-m", "kt_toolkit", "tune", config, "--workers", "1"],
                          capture_output=True, text=True, timeout=TIMEOUT, env=env)
    assert done.returncode == 0, done.stderr
    rows = {int(r["units"]): r for r in _rows(run_dir)}
    assert rows[16]["status"] == "COMPLETED"
    assert rows[32]["status"] == "FAILED"
    assert "worker process died 2 times while training this trial" in rows[32]["reason"]
    assert "worker0 died (signal 9) during trial" in done.stderr
