"""Kill, interrupt, resume: README's "Resume after `kill -9`" and the parallel run's
process claims, each on the real command (`python -m kt_toolkit tune`) in subprocesses.

Where a kill must land in one exact place, a `sitecustomize` (HOOK) on the
children's PYTHONPATH puts it there instead of leaving it to timing:

- `KT_TEST_GATE="<trial>:<epoch>:<folder>"`: once that epoch of that trial is in
  its `history.csv`, the process writes `<folder>/reached` and waits there, mid-trial,
  for the test's SIGKILL.
- `KT_TEST_KILL_AFTER_END="<trial>:<marker>"`: right after KerasTuner's
  `Oracle.end_trial` returned for that trial (its `trial.json` says COMPLETED,
  `oracle.json` was saved with it still ongoing), the process SIGKILLs itself, once
  (it writes `<marker>` first, so a restarted process goes on).
"""

import glob
import json
import os
import re
import signal
import subprocess
import sys
import time

import yaml

from kt_toolkit._io import read_csv

TIMEOUT = 300
HOOK = '''\
import os, signal, time


def _gate(spec):
    from kt_toolkit.callbacks.history import EpochLogger

    trial, epoch, folder = spec.split(":", 2)
    logged = EpochLogger.on_epoch_end

    def on_epoch_end(self, index, logs=None):
        logged(self, index, logs)
        if os.path.basename(os.path.dirname(self.path)) == trial and index + 1 == int(epoch):
            open(os.path.join(folder, "reached"), "w").close()
            while True:
                time.sleep(1)

    EpochLogger.on_epoch_end = on_epoch_end


def _kill_after_end(spec):
    from keras_tuner.src.engine.oracle import Oracle

    trial, marker = spec.split(":", 1)
    ended = Oracle.end_trial

    def end_trial(self, done, *args, **kwargs):
        result = ended(self, done, *args, **kwargs)
        if done.trial_id == trial and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    Oracle.end_trial = end_trial


for name, install in (("KT_TEST_GATE", _gate), ("KT_TEST_KILL_AFTER_END", _kill_after_end)):
    if os.environ.get(name):
        install(os.environ[name])
'''


def _config(tmp_path, *, max_trials, epochs):
    raw = {
        "experiment": {"name": "resume", "seed": 1},
        "data": {"dataset": "digits", "subsample": 200},
        "model": {"space": {"num_layers": 1, "units": {"values": [16, 32]},
                            "optimizer": "adam", "batch_norm": False,
                            "learning_rate": {"min": 1e-3, "max": 1e-2, "sampling": "log"}}},
        "tuner": {"algorithm": "random", "max_trials": max_trials},
        "training": {"epochs": epochs, "batch_size": 64, "callbacks": {
            "early_stopping": {"enabled": False}, "chance_pruning": {"enabled": False},
            "reduce_lr_on_plateau": {"enabled": False}}},
        "output": {"directory": str(tmp_path / "runs"), "run_name": "resume",
                   "report": False},
    }
    path = tmp_path / "resume.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path), str(tmp_path / "runs" / "resume")


def _env(tmp_path, **hooks):
    folder = tmp_path / "hook"
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(HOOK)
    path = os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KT_TEST_")}
    return dict(env, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=path, **hooks)


def _tune(config, env, *args):
    return subprocess.Popen([sys.executable, "-m", "kt_toolkit", "tune", config, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True)


def _wait_for(predicate, process, what):
    started = time.monotonic()
    while not predicate():
        assert process.poll() is None, f"the run ended before {what}:\n{process.stdout.read()}"
        assert time.monotonic() - started < TIMEOUT, f"no {what} within {TIMEOUT} s"
        time.sleep(0.1)


def _rows(run_dir):
    return {row["trial_id"]: row for row in read_csv(os.path.join(run_dir, "trials.csv"))}


def _files(run_dir, trial_id):
    """Every file a finished trial has (records, checkpoint, TensorBoard), with its bytes."""
    found = {}
    for pattern in (f"trials/{trial_id}/*", f"tensorboard/{trial_id}/*",
                    f"tuner/trial_{trial_id}/*"):
        for path in glob.glob(os.path.join(run_dir, pattern)):
            with open(path, "rb") as handle:
                found[os.path.relpath(path, run_dir)] = (handle.read(),
                                                         os.stat(path).st_mtime_ns)
    return found


def _scalar_steps(logdir, tag):
    """The steps of `tag` in every event file of a TensorBoard run, in file order."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    steps = []
    for path in sorted(glob.glob(os.path.join(logdir, "events.out.tfevents.*"))):
        for event in EventFileLoader(path).Load():
            steps += [event.step for value in event.summary.value if value.tag == tag]
    return steps


def test_kill_9_mid_trial_of_one_process_then_the_same_command_resumes(tmp_path):
    """The default search (no --workers): while it runs, a second `tune` is refused
    with the busy error; killed -9 in trial 1's third epoch, it leaves its lock file;
    the same command takes the lock over, keeps trial 0's files byte for byte, reruns
    trial 1 from scratch (history and TensorBoard scalars without the killed
    attempt's epochs) and finishes the budget with trial 2."""
    config, run_dir = _config(tmp_path, max_trials=3, epochs=6)
    process = _tune(config, _env(tmp_path, KT_TEST_GATE=f"1:3:{tmp_path}"))
    try:
        _wait_for(lambda: os.path.exists(tmp_path / "reached"), process, "trial 1's epoch 3")
        busy = subprocess.run([sys.executable, "-m", "kt_toolkit", "tune", config],
                              capture_output=True, text=True, timeout=TIMEOUT,
                              env=_env(tmp_path))
        assert busy.returncode == 2, busy.stderr
        assert f"is being searched by kt-toolkit (pid {process.pid})" in busy.stderr
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    lock = os.path.join(tmp_path, "runs", ".resume.lock")
    assert os.path.exists(lock)  # kill -9: no cleanup ran, the file stays (unlocked)
    assert not os.path.exists(os.path.join(run_dir, "trials", "1", "meta.json"))
    assert [r["epoch"] for r in read_csv(os.path.join(run_dir, "trials", "1",
                                                       "history.csv"))] == ["1", "2", "3"]
    # (The gate holds epoch 3 between its history row and its scalars.)
    assert _scalar_steps(os.path.join(run_dir, "tensorboard", "1"), "loss/train") == [1, 2]
    finished = _files(run_dir, "0")
    assert "trials/0/meta.json" in finished and "tuner/trial_0/checkpoint.weights.h5" in finished

    rerun = _tune(config, _env(tmp_path))
    output, _ = rerun.communicate(timeout=TIMEOUT)
    assert rerun.returncode == 0, output
    rows = _rows(run_dir)
    assert sorted(rows) == ["0", "1", "2"], output  # the budget, not one trial more
    assert {row["status"] for row in rows.values()} == {"COMPLETED"}
    assert _files(run_dir, "0") == finished  # a finished trial is left alone
    for trial_id in ("1", "2"):
        history = read_csv(os.path.join(run_dir, "trials", trial_id, "history.csv"))
        assert [(r["execution"], r["epoch"]) for r in history] == [
            ("0", str(epoch)) for epoch in range(1, 7)]
        steps = _scalar_steps(os.path.join(run_dir, "tensorboard", trial_id), "loss/train")
        assert steps == [1, 2, 3, 4, 5, 6]  # the killed attempt's scalars are gone
    assert not os.path.exists(lock)  # the rerun took the lock and released it
    import keras

    assert keras.saving.load_model(os.path.join(run_dir, "best", "model.keras")) is not None


def test_a_kill_right_after_a_trial_ended_does_not_rerun_it(tmp_path):
    """One process, killed after KerasTuner's `end_trial` saved `oracle.json` with the
    finished trial still listed as ongoing (its reload queues such trials for a retry)."""
    config, run_dir = _config(tmp_path, max_trials=2, epochs=2)
    marker = tmp_path / "killed"
    process = _tune(config, _env(tmp_path, KT_TEST_KILL_AFTER_END=f"0:{marker}"))
    output, _ = process.communicate(timeout=TIMEOUT)
    assert process.returncode == -signal.SIGKILL and marker.exists(), output
    with open(os.path.join(run_dir, "tuner", "oracle.json")) as handle:
        ongoing = json.load(handle)["ongoing_trials"]
    assert list(ongoing.values()) == ["0"]  # the exact window
    finished = _files(run_dir, "0")

    rerun = _tune(config, _env(tmp_path))
    output, _ = rerun.communicate(timeout=TIMEOUT)
    assert rerun.returncode == 0, output
    rows = _rows(run_dir)
    assert sorted(rows) == ["0", "1"] and {r["status"] for r in rows.values()} == {"COMPLETED"}
    after = _files(run_dir, "0")
    assert {name: after[name] for name in finished} == finished, output  # trained once
    # What the kill left out is added: trial 0's HParams session.
    assert [name for name in after if name not in finished] == [
        name for name in after if name.endswith(".session")] != []


def _ports(output):
    return [int(port) for port in re.findall(r"Chief serving the oracle on 127\.0\.0\.1:(\d+)",
                                             output)]


def test_a_chief_killed_right_after_a_trial_ended_is_restarted_on_its_port(tmp_path):
    """`--workers 1`: the chief dies in the same window; the launcher restarts it on
    the port it had (remote workers find it again), the finished trial is not
    rerun, and the budget is finished."""
    config, run_dir = _config(tmp_path, max_trials=2, epochs=2)
    marker = tmp_path / "killed"
    process = _tune(config, _env(tmp_path, KT_TEST_KILL_AFTER_END=f"0:{marker}"),
                    "--workers", "1")
    output, _ = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, output
    assert marker.exists() and "The chief died" in output, output
    first, *again = _ports(output)
    assert again == [first], output  # one restart, on the same port
    rows = _rows(run_dir)
    assert sorted(rows) == ["0", "1"] and {r["status"] for r in rows.values()} == {"COMPLETED"}
    # Trial 0 trained once: its one attempt's log line, and epochs 1-2 once.
    worker_log = open(os.path.join(run_dir, "logs", "worker0.log")).read()
    assert len(re.findall(r"trial 0 COMPLETED", worker_log)) == 1, worker_log
    history = read_csv(os.path.join(run_dir, "trials", "0", "history.csv"))
    assert [r["epoch"] for r in history] == ["1", "2"]


def _gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _interrupt(config, run_dir, tmp_path, signum):
    """Starts the parallel search, sends `signum` to the launcher once a worker trains
    and the other has started, and checks that it ended every process it started."""
    from kt_toolkit.tuners.launcher import run_processes

    process = _tune(config, _env(tmp_path), "--workers", "2")
    try:
        _wait_for(lambda: (glob.glob(os.path.join(run_dir, "trials", "*", "history.csv"))
                           and len(run_processes(run_dir)) == 3),
                  process, "a worker training and the other one started")
        children = run_processes(run_dir)
        assert set(children) == {"chief", "worker0", "worker1"}
        process.send_signal(signum)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 128 + signum, output
    assert "rerun the same command to resume" in output
    # Ended and reaped by the launcher before it exited: no orphan, not even a dying one.
    assert [name for name, pid in children.items() if not _gone(pid)] == []
    assert run_processes(run_dir) == {}
    assert not os.path.exists(os.path.join(tmp_path, "runs", ".resume.lock"))
    return output


def test_ctrl_c_then_sigterm_of_the_resumed_run_end_every_process(tmp_path):
    """Ctrl-C reaches the launcher only (its children run in their own sessions, as a
    terminal's foreground group would not include them): it must end them itself. The
    same command then resumes the run, and a SIGTERM (what `kill` and schedulers send)
    ends that one as cleanly."""
    config, run_dir = _config(tmp_path, max_trials=6, epochs=200)
    _interrupt(config, run_dir, tmp_path, signal.SIGINT)
    assert "Resuming the search" in _interrupt(config, run_dir, tmp_path, signal.SIGTERM)
