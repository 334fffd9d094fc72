"""TensorBoard logs read back by a real `tensorboard` server, on TensorFlow, JAX and
PyTorch (skipped when torch is not installed)."""

import contextlib
import csv
import glob
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from kt_toolkit.rundir.study import load_study
from kt_toolkit._events import EventWriter
from kt_toolkit.rundir import sync_tensorboard

STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]
# A grid of 4 trials on a slice of digits; lr=1e4 with SGD diverges (a FAILED trial).
SPACE = {"num_layers": 1, "units": [16, 32], "optimizer": "sgd", "momentum": 0.9,
         "nesterov": False, "learning_rate": [1.0e4, 1.0e-2], "batch_norm": False,
         "regularizer": "none", "dropout": 0.0, "activation": "relu",
         "kernel_initializer": "glorot_uniform", "lr_schedule": "constant"}


def _raw_config(folder):
    return {"experiment": {"name": "tb", "seed": 3},
            "data": {"dataset": "digits", "subsample": 200},
            "model": {"space": SPACE},
            "tuner": {"algorithm": "grid", "max_trials": None},
            "training": {"epochs": 2, "batch_size": 64},
            "output": {"directory": str(folder)}}


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def tensorboard_server(logdir):
    """A real `tensorboard` process on 127.0.0.1; yields a `post(path, body)`/`get`."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir),
         "--port", str(port), "--host", "127.0.0.1", "--reload_interval", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"

    def request(path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(base + path, data=data,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as response:
            return json.loads(response.read())

    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                request("/data/plugins_listing")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("tensorboard did not start: "
                                       + process.stderr.read().decode()[-2000:])
                time.sleep(0.5)
        request.base = base  # for a browser
        yield request
    finally:
        process.terminate()
        process.wait(timeout=30)


def _session_groups(request, expected):
    """Polls until TensorBoard has loaded `expected` sessions (it reloads in the background)."""
    body = {"experimentName": "", "allowedStatuses": STATUSES, "colParams": [],
            "startIndex": 0, "sliceSize": 1000}
    deadline = time.monotonic() + 60
    while True:
        groups = request("/data/plugin/hparams/session_groups", body).get("sessionGroups", [])
        if len(groups) >= expected or time.monotonic() > deadline:
            return groups
        time.sleep(1)


def _trials_csv(run_dir):
    with open(os.path.join(run_dir, "trials.csv"), newline="") as handle:
        return list(csv.DictReader(handle))


def assert_tensorboard_shows_every_trial(run_dir, logdir=None, runs=1):
    """The HParams plugin lists every trial with its values, status and scores."""
    rows = _trials_csv(run_dir)
    assert len(rows) == 4 and "COMPLETED" in {r["status"] for r in rows}
    with tensorboard_server(logdir or run_dir) as request:
        experiment = request("/data/plugin/hparams/experiment", {"experimentName": ""})
        infos = {info["name"]: info for info in experiment["hparamInfos"]}
        assert infos["units"]["domainDiscrete"] == [16, 32]
        assert infos["learning_rate"]["domainDiscrete"] == [1.0e4, 1.0e-2]
        # Only the tuned knobs, the most influential first: a fixed one is the same
        # in every row and pushed the tuned ones off the table's ticked columns.
        assert [info["name"] for info in experiment["hparamInfos"]] == ["learning_rate",
                                                                         "units"]
        metrics = [m["name"]["tag"] for m in experiment["metricInfos"]]
        assert metrics[0] == "hparams/val_accuracy"
        assert {"hparams/loss", "hparams/val_loss", "hparams/accuracy"} <= set(metrics)

        prefix = "" if logdir is None else os.path.relpath(run_dir, logdir) + "/"
        groups = {g["name"]: g for g in _session_groups(request, runs * len(rows))}
        assert len(groups) == runs * len(rows)  # one group per trial of every run
        groups = {name[len(prefix):].split("/")[-1]: g for name, g in groups.items()
                  if name.startswith(prefix)}
        assert sorted(groups) == sorted(r["trial_id"] for r in rows)
        for row in rows:
            group = groups[row["trial_id"]]
            assert group["hparams"]["units"] == float(row["units"])
            assert group["hparams"]["learning_rate"] == pytest.approx(float(row["learning_rate"]))
            (session,) = group["sessions"]
            scores = {m["name"]["tag"]: m["value"] for m in group["metricValues"]}
            if row["status"] == "COMPLETED":
                assert session["status"] == "STATUS_SUCCESS"
                assert scores["hparams/val_accuracy"] == pytest.approx(float(row["objective"]),
                                                                         abs=1e-6)
                assert scores["hparams/loss"] == pytest.approx(float(row["metric:loss"]),
                                                               rel=1e-6)
                assert scores["hparams/epochs_run"] == float(row["epochs_run"])
            else:
                assert session["status"] == "STATUS_FAILURE"
                assert "hparams/val_accuracy" not in scores

        # One TensorBoard run per trial (curves and session), plus the experiment's.
        mine = [r for r in request("/data/runs") if r.startswith(prefix)]
        assert len(mine) == len(rows) + 1
        tags = request("/data/plugin/scalars/tags")
        for row in rows:
            scalars = set(tags[f"{prefix}tensorboard/{row['trial_id']}"])
            assert {"loss/train", "accuracy/train", "learning_rate"} <= scalars
            if row["status"] == "COMPLETED":
                assert {"loss/validation", "accuracy/validation",
                        "crossentropy/validation"} <= scalars
        done = next(r for r in rows if r["status"] == "COMPLETED")
        query = urllib.parse.urlencode({"run": f"{prefix}tensorboard/{done['trial_id']}",
                                        "tag": "accuracy/validation"})
        points = request(f"/data/plugin/scalars/scalars?{query}")
        assert [p[1] for p in points] == [1, 2]  # 1-based epochs, as in history.csv


@pytest.fixture(scope="module")
def tf_run(tmp_path_factory):
    from kt_toolkit.config import config_from_dict
    from kt_toolkit.experiment import run_experiment

    folder = tmp_path_factory.mktemp("tb")
    return run_experiment(config_from_dict(_raw_config(folder / "runs"))).run_dir


def test_tensorboard_server_lists_every_trial(tf_run):
    # On TensorFlow lr=1e4 gives NaN: a FAILED trial's session is checked too.
    # (On JAX the loss saturates at ~15 instead, and the trial completes.)
    assert "FAILED" in {row["status"] for row in _trials_csv(tf_run)}
    assert_tensorboard_shows_every_trial(tf_run)


def test_runs_side_by_side_under_one_logdir_keep_their_own_trials(tf_run, tmp_path):
    import shutil

    # `tensorboard --logdir runs/`: trial 0 of one run must not merge with another's.
    for name in ("first", "second"):
        shutil.copytree(tf_run, tmp_path / "runs" / name)
    assert_tensorboard_shows_every_trial(str(tmp_path / "runs" / "second"),
                                         logdir=str(tmp_path / "runs"), runs=2)


# The child Python of a non-TensorFlow search: a finder first on `sys.meta_path`
# refuses `tensorflow` (and its submodules) before anything is imported, then the CLI
# runs as `python -m kt_toolkit` does (issue 16: a GPU image without TensorFlow).
NO_TENSORFLOW = """
import importlib.abc, runpy, sys


class NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError(f"No module named {name!r} (blocked by the test)")
        return None


sys.meta_path.insert(0, NoTensorFlow())
sys.argv = ["kt_toolkit", *sys.argv[1:]]
try:
    runpy.run_module("kt_toolkit", run_name="__main__")
finally:
    print("TENSORFLOW_LOADED", any(m == "tensorflow" or m.startswith("tensorflow.")
                                   for m in sys.modules), file=sys.stderr)
"""


def _search_on(backend, tmp_path):
    """The same grid searched by `kt-toolkit tune` under KERAS_BACKEND=`backend`, with
    TensorFlow blocked from import; its run directory.

    The report is off: this checks what the search writes for TensorBoard, and the
    report's figures would only add time.
    """
    raw = _raw_config(tmp_path / "runs")
    raw["output"]["report"] = False
    config = tmp_path / "tb.yaml"
    config.write_text(yaml.safe_dump(raw))
    child = tmp_path / "child.py"
    child.write_text(NO_TENSORFLOW)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=repo)
    done = subprocess.run([sys.executable, str(child), "tune", str(config), "-q"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "TENSORFLOW_LOADED False" in done.stderr
    (run_dir,) = glob.glob(str(tmp_path / "runs" / "tb-*"))
    for row in _trials_csv(run_dir):
        with open(os.path.join(run_dir, "trials", row["trial_id"], "meta.json")) as handle:
            assert json.load(handle)["device"] == "CPU"
    assert os.path.exists(os.path.join(run_dir, "best", "model.keras"))
    return run_dir


# jax[cpu] is in the dev extra (setup.cfg), so CI runs this one.
@pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                    reason="jax is not installed: pip install -e .[dev] (jax[cpu]) to run "
                           "the JAX-backend TensorBoard check")
def test_tensorboard_server_lists_every_trial_on_jax(tmp_path):
    assert_tensorboard_shows_every_trial(_search_on("jax", tmp_path))


# PyTorch is not in the dev extra: its wheels are GBs (CUDA) and it would more than
# double the suite's install. With torch installed (pip install torch, the CPU wheel
# from https://download.pytorch.org/whl/cpu) this runs too.
@pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                    reason="torch is not installed (not in the dev extra: GB-sized "
                           "wheels): pip install torch to run the PyTorch-backend "
                           "TensorBoard check")
def test_tensorboard_server_lists_every_trial_on_torch(tmp_path):
    assert_tensorboard_shows_every_trial(_search_on("torch", tmp_path))


def test_sync_rewrites_only_what_is_missing_without_tensorflow(tf_run, tmp_path):
    import shutil

    run_dir = str(tmp_path / "copy")
    shutil.copytree(tf_run, run_dir)
    assert sync_tensorboard(load_study(run_dir)) == []  # nothing missing
    sessions = glob.glob(os.path.join(run_dir, "tensorboard", "*", "*.session"))
    assert len(sessions) == 4
    os.remove(sessions[0])  # e.g. a run killed between a trial's end and its record
    for path in glob.glob(os.path.join(run_dir, "tensorboard", "*.experiment")):
        os.remove(path)
    # In a fresh interpreter: the analysis and the writer import no TensorFlow or Keras.
    code = ("import sys; from kt_toolkit.rundir.study import load_study; "
            "from kt_toolkit.rundir import sync_tensorboard; "
            f"print(sync_tensorboard(load_study({run_dir!r}))); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'keras', 'keras_tuner')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    rewritten, imported = done.stdout.strip().splitlines()
    assert imported == "[]"
    assert rewritten == repr([os.path.basename(os.path.dirname(sessions[0]))])
    assert len(glob.glob(os.path.join(run_dir, "tensorboard", "*.experiment"))) == 1
    assert len(glob.glob(os.path.join(run_dir, "tensorboard", "*", "*.session"))) == 4


def test_event_writer_records_read_back_by_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    with EventWriter(str(tmp_path), suffix=".x", atomic=True) as writer:
        writer.scalars(3, {"epoch_loss": 0.25, "epoch_accuracy": float("nan")})
        (pending,) = os.listdir(tmp_path)  # TensorBoard must not read it yet
        assert "tfevents" not in pending
    (path,) = glob.glob(str(tmp_path / "events.out.tfevents.*.x"))
    events = list(EventFileLoader(path).Load())
    assert events[0].file_version == "brain.Event:2"
    values = {v.tag: v for v in events[1].summary.value}
    assert events[1].step == 3
    # The loader turns simple values into tensors, as TensorBoard reads them.
    assert values["epoch_loss"].tensor.float_val == [0.25]
