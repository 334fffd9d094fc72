"""`data.cv_folds` resumes at fold granularity (issue 14, item 3): a trial killed
after its first fold keeps that fold and trains only the others, on the real
command (`python -m kt_toolkit tune`) in subprocesses.

A `sitecustomize` (HOOK) on the children's PYTHONPATH:
- `KT_TEST_FOLD_GATE="<trial>:<fold>:<epoch>:<folder>"`: once that epoch of that
  fold is in the trial's `history.csv`, writes `<folder>/reached` and waits for
  the test's SIGKILL.
- `KT_TEST_TRAINED=<file>`: appends `<trial>:<fold>` to the file each time a fit
  of a fold begins.
"""

import glob
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import time

import yaml

from kt_toolkit._io import read_csv

TIMEOUT = 300
HOOK = '''\
import os, time

from kt_toolkit.callbacks.history import EpochLogger

_begin, _end = EpochLogger.on_train_begin, EpochLogger.on_epoch_end


def _trial(logger):
    return os.path.basename(os.path.dirname(logger.path))


def on_train_begin(self, logs=None):
    _begin(self, logs)
    if os.environ.get("KT_TEST_TRAINED"):
        with open(os.environ["KT_TEST_TRAINED"], "a") as handle:
            handle.write(f"{_trial(self)}:{self.execution}\\n")


def on_epoch_end(self, index, logs=None):
    _end(self, index, logs)
    if os.environ.get("KT_TEST_FOLD_GATE"):
        trial, fold, epoch, folder = os.environ["KT_TEST_FOLD_GATE"].split(":", 3)
        if (_trial(self), self.execution, index + 1) == (trial, int(fold), int(epoch)):
            open(os.path.join(folder, "reached"), "w").close()
            while True:
                time.sleep(1)


EpochLogger.on_train_begin, EpochLogger.on_epoch_end = on_train_begin, on_epoch_end
'''


def _config(tmp_path):
    raw = {
        "experiment": {"name": "folds", "seed": 1},
        "data": {"dataset": "digits", "subsample": 200, "cv_folds": 3},
        "model": {"space": {"num_layers": 1, "units": 16, "optimizer": "adam",
                            "batch_norm": False, "learning_rate": 0.01}},
        "tuner": {"algorithm": "random", "max_trials": 1},
        "training": {"epochs": 2, "batch_size": 64, "callbacks": {
            "early_stopping": {"enabled": False}, "chance_pruning": {"enabled": False},
            "reduce_lr_on_plateau": {"enabled": False}}},
        "output": {"directory": str(tmp_path / "runs"), "run_name": "folds",
                   "report": False},
    }
    path = tmp_path / "folds.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path), str(tmp_path / "runs" / "folds")


def _tune(config, tmp_path, **hooks):
    folder = tmp_path / "hook"
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(HOOK)
    path = os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KT_TEST_")}
    env = dict(env, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=path, **hooks)
    return subprocess.Popen([sys.executable, "-m", "kt_toolkit", "tune", config],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True)


def _lines(path, fold):
    """The raw lines of `history.csv` that belong to `fold` (its first column)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return [line for line in handle.readlines()[1:] if line.split(",", 1)[0] == str(fold)]


def _tree(folder):
    """Every file under `folder`, with its bytes."""
    found = {}
    for path in glob.glob(os.path.join(folder, "**", "*"), recursive=True):
        if os.path.isfile(path):
            with open(path, "rb") as handle:
                found[os.path.relpath(path, folder)] = handle.read()
    return found


def test_a_cv_trial_killed_after_its_first_fold_trains_only_the_other_folds(tmp_path):
    """Killed -9 in fold 1's first epoch (fold 0 of 3 finished), the same command
    keeps fold 0 (its history rows byte for byte, its TensorBoard scalars, its
    `folds.json` record), trains folds 1 and 2 only (fold 1's half-epoch rows of
    the killed attempt replaced), and scores the trial with the mean of the three
    folds' best `val_accuracy`."""
    config, run_dir = _config(tmp_path)
    history = os.path.join(run_dir, "trials", "0", "history.csv")
    process = _tune(config, tmp_path, KT_TEST_FOLD_GATE=f"0:1:1:{tmp_path}")
    started = time.monotonic()
    try:
        while not os.path.exists(tmp_path / "reached"):
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() - started < TIMEOUT, "fold 1 never reached its epoch 1"
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    kept = _lines(history, 0)
    assert len(kept) == 2 and len(_lines(history, 1)) == 1
    before = json.load(open(os.path.join(run_dir, "trials", "0", "folds.json")))
    assert sorted(before["done"]) == ["0"]
    scalars = _tree(os.path.join(run_dir, "tensorboard", "0", "execution0"))
    assert scalars

    trained = tmp_path / "trained.txt"
    rerun = _tune(config, tmp_path, KT_TEST_TRAINED=str(trained))
    output, _ = rerun.communicate(timeout=TIMEOUT)
    assert rerun.returncode == 0, output
    assert trained.read_text().split() == ["0:1", "0:2"]  # fold 0 was not trained again
    assert _lines(history, 0) == kept  # byte for byte
    rows = read_csv(history)
    assert [(r["execution"], r["epoch"]) for r in rows] == [
        (str(fold), str(epoch)) for fold in range(3) for epoch in (1, 2)]
    after = json.load(open(os.path.join(run_dir, "trials", "0", "folds.json")))
    assert after["done"]["0"] == before["done"]["0"] and sorted(after["done"]) == ["0", "1", "2"]
    assert _tree(os.path.join(run_dir, "tensorboard", "0", "execution0")) == scalars

    best = [max(float(r["val_accuracy"]) for r in rows if r["execution"] == str(fold))
            for fold in range(3)]
    score = json.load(open(os.path.join(run_dir, "tuner", "trial_0", "trial.json")))["score"]
    assert math.isclose(score, statistics.fmean(best), rel_tol=1e-9)
    meta = json.load(open(os.path.join(run_dir, "trials", "0", "meta.json")))
    assert meta["cv"]["resumed_folds"] == [0]
    assert [round(s, 6) for s in best] == meta["cv"]["scores"]
    assert meta["seconds"] >= before["done"]["0"]["seconds"]
    assert read_csv(os.path.join(run_dir, "trials.csv"))[0]["status"] == "COMPLETED"
    assert os.path.exists(os.path.join(run_dir, "tuner", "trial_0", "checkpoint.weights.h5"))
    assert os.path.exists(os.path.join(run_dir, "best", "model.keras"))
