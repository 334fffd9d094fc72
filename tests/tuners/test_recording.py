"""What RecordingMixin adds around KerasTuner's trials: listeners, the best epoch written
once, the heap frozen during the search, history.csv across a killed run's resume."""

import gc
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import yaml

from kt_toolkit._io import read_csv

TIMEOUT = 300


def test_listeners_hear_each_trial_once_its_records_and_checkpoint_are_written(make_config):
    from kt_toolkit.tuners import build_tuner
    from kt_toolkit.tuners.session import prepare_search

    config = make_config(tuner={"algorithm": "random", "max_trials": 2})
    setup = prepare_search(config)
    tuner = build_tuner(config, setup.hypermodel, setup.run_dir, task="multiclass")
    heard = []

    def listener(trial_id):
        rows = {row["trial_id"]: row for row in read_csv(tuner.run.file("trials.csv"))}
        checkpoint = os.path.join(tuner.get_trial_dir(trial_id), "checkpoint.weights.h5")
        heard.append((trial_id, rows[trial_id]["status"], os.path.exists(checkpoint),
                      gc.get_freeze_count() > 0))

    tuner.trial_listeners.append(listener)
    data = setup.data
    tuner.search(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                 epochs=2, verbose=0)
    # During the search the heap of before it is frozen (kt_toolkit.compat.collection).
    assert heard == [("0", "COMPLETED", True, True), ("1", "COMPLETED", True, True)]
    assert gc.get_freeze_count() == 0
    best = tuner.get_best_models(1)[0]
    score = best.evaluate(data.x_val, data.y_val, verbose=0, return_dict=True)
    assert np.isclose(score["accuracy"], tuner.best_trials(1)[0].score, atol=1e-6)


def _config(tmp_path):
    raw = {
        "experiment": {"name": "killed", "seed": 1},
        "data": {"dataset": "digits", "subsample": 200},
        "model": {"space": {"num_layers": 1, "units": {"values": [16, 32]},
                            "optimizer": "adam", "batch_norm": False,
                            "learning_rate": {"min": 1e-3, "max": 1e-2, "sampling": "log"}}},
        "tuner": {"algorithm": "random", "max_trials": 2},
        "training": {"epochs": 60, "batch_size": 64, "callbacks": {
            "early_stopping": {"enabled": False}, "chance_pruning": {"enabled": False},
            "reduce_lr_on_plateau": {"enabled": False}}},
        "output": {"directory": str(tmp_path / "runs"), "run_name": "killed",
                   "report": False},
    }
    path = tmp_path / "killed.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path), str(tmp_path / "runs" / "killed")


def _tune(config):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen([sys.executable, "-m", "kt_toolkit", "tune", config],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True)


def test_a_trial_killed_mid_fit_is_rerun_with_a_whole_history_and_its_checkpoint(tmp_path):
    config, run_dir = _config(tmp_path)
    history = os.path.join(run_dir, "trials", "1", "history.csv")
    process = _tune(config)
    started = time.monotonic()
    while len(read_csv(history)) < 3:  # trial 1 is training: some epochs appended
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() - started < TIMEOUT
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not os.path.exists(os.path.join(run_dir, "trials", "1", "meta.json"))
    done = open(os.path.join(run_dir, "trials", "0", "history.csv")).read()
    checkpoint = os.path.join(run_dir, "tuner", "trial_0", "checkpoint.weights.h5")
    stamp = os.stat(checkpoint).st_mtime_ns

    rerun = _tune(config)
    output, _ = rerun.communicate(timeout=TIMEOUT)
    assert rerun.returncode == 0, output
    rows = {row["trial_id"]: row for row in read_csv(os.path.join(run_dir, "trials.csv"))}
    assert [rows[t]["status"] for t in ("0", "1")] == ["COMPLETED", "COMPLETED"]
    assert open(os.path.join(run_dir, "trials", "0", "history.csv")).read() == done
    assert os.stat(checkpoint).st_mtime_ns == stamp  # a finished trial is left alone
    rerun_rows = read_csv(history)
    assert [(r["execution"], r["epoch"]) for r in rerun_rows] == [
        ("0", str(epoch)) for epoch in range(1, 61)]  # the killed attempt's rows replaced
    assert all(r["loss"] and r["val_accuracy"] for r in rerun_rows)
    model = keras.saving.load_model(os.path.join(run_dir, "best", "model.keras"))
    assert model is not None
