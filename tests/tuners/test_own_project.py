"""Issue 14's first "Done when": a user's own HyperModel module and loader function,
in a folder of their own (not in the repository, not on `sys.path`), run through
`python -m kt_toolkit tune exp.yaml --workers 2`, are killed (SIGKILL to the whole
process group) once the first trial is recorded, and the same command then finishes
the budget without retraining a finished trial, with the report and TensorBoard
HParams sessions of every trial.
"""

import glob
import os
import signal
import subprocess
import sys
import time

import yaml

from kt_toolkit._io import read_csv

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMEOUT = 300

MODEL = '''
import keras
import keras_tuner


class SmallMLP(keras_tuner.HyperModel):
    """Its own fit: the batch size is tuned there."""

    def __init__(self, input_shape, num_classes):
        super().__init__()
        self.input_shape, self.num_classes = tuple(input_shape), num_classes

    def build(self, hp):
        model = keras.Sequential([
            keras.Input(self.input_shape), keras.layers.Rescaling(1 / 16),
            keras.layers.Dense(hp.Int("units", 16, 48, step=16), activation="relu"),
            keras.layers.Dense(self.num_classes, activation="softmax")])
        model.compile(optimizer=keras.optimizers.Adam(hp.Float("learning_rate", 1e-3, 1e-2,
                                                               sampling="log")),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    def fit(self, hp, model, *args, **kwargs):
        kwargs["batch_size"] = hp.Choice("batch_size", [32, 64])
        return model.fit(*args, **kwargs)
'''

LOADER = '''
from sklearn.datasets import load_digits


def load(seed=0):
    x, y = load_digits(return_X_y=True)
    return {"train": (x[:200], y[:200]), "validation": (x[200:300], y[200:300]),
            "test": (x[300:400], y[300:400])}
'''


def _files(run_dir, trial_id):
    """The bytes of a finished trial's records (its history, meta and trial.json)."""
    paths = [os.path.join(run_dir, "trials", trial_id, name)
             for name in ("history.csv", "meta.json")]
    paths += glob.glob(os.path.join(run_dir, "tuner", f"trial_{trial_id}", "trial.json"))
    return {path: open(path, "rb").read() for path in paths}


def test_your_own_model_and_loader_resume_after_kill_with_two_workers(tmp_path, hparams_names):
    project = tmp_path / "my_project"
    project.mkdir()
    (project / "my_model.py").write_text(MODEL)
    (project / "my_data.py").write_text(LOADER)
    run_dir = str(tmp_path / "runs" / "own")
    experiment = project / "exp.yaml"
    experiment.write_text(yaml.safe_dump({
        "experiment": {"name": "own", "seed": 2},
        "data": {"loader": "my_data:load"},
        "model": {"builder": "my_model:SmallMLP"},
        "tuner": {"algorithm": "random", "max_trials": 3},
        "training": {"epochs": 1, "batch_size": 64},
        "output": {"directory": str(tmp_path / "runs"), "run_name": "own"}}))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
    command = [sys.executable, "-m", "kt_toolkit", "tune", str(experiment), "--workers", "2"]
    trials_csv = os.path.join(run_dir, "trials.csv")

    def completed():
        if not os.path.exists(trials_csv):
            return []
        return [row["trial_id"] for row in read_csv(trials_csv) if row["status"] == "COMPLETED"]

    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, env=env, cwd=str(tmp_path), start_new_session=True)
    try:
        started = time.monotonic()
        while not completed():
            assert first.poll() is None, f"the run ended before a trial:\n{first.stdout.read()}"
            assert time.monotonic() - started < TIMEOUT, "no trial recorded in time"
            time.sleep(0.1)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the chief and both workers at once
        first.wait(timeout=60)
        first.stdout.close()
    finished = {trial_id: _files(run_dir, trial_id) for trial_id in completed()}
    assert finished and len(finished) < 3, finished

    done = subprocess.run(command, capture_output=True, text=True, env=env,
                          cwd=str(tmp_path), timeout=TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Resuming the search" in done.stderr  # the same run, not a new one
    rows = read_csv(trials_csv)
    assert [row["status"] for row in rows] == ["COMPLETED"] * 3, rows  # the budget met
    for trial_id, files in finished.items():  # trained once, before the kill
        assert _files(run_dir, trial_id) == files
    assert os.path.getsize(os.path.join(run_dir, "report.html")) > 0
    for row in rows:  # each trial's HParams session, beside its curves
        assert glob.glob(os.path.join(run_dir, "tensorboard", row["trial_id"], "*.session")), row
    # The HParams experiment lists what the model declared, in build and in its own fit
    # (batch_size, unknown to the space found at the start), once: the older one replaced.
    names = hparams_names(run_dir)
    assert {"units", "learning_rate", "batch_size"} <= set(names)
    assert len(names) == len(set(names)), names
    workers = {yaml.safe_load(open(path))["tuner_id"]
               for path in glob.glob(os.path.join(run_dir, "trials", "*", "meta.json"))}
    assert workers and workers <= {"worker0", "worker1"}
    with open(os.path.join(run_dir, "final", "evaluation.yaml"), encoding="utf-8") as handle:
        final = yaml.safe_load(handle)
    assert final["samples"] == 100 and "accuracy" in final["best"]["metrics"]
