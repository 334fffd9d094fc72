"""Workers on GPUs (issue 16): which worker sees which GPU, with what share of its memory.

The assignment is pure (`kt_toolkit.tuners.devices`): every test here gives it a
fake list of GPUs. One test starts real child processes through the launcher and
checks that their device environment is there before any backend is imported.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from kt_toolkit.compat import devices as compat_devices
from kt_toolkit.errors import ConfigError
from kt_toolkit.tuners.devices import (WorkerDevice, auto_workers, chief_environment,
                                       find_gpus, plan_devices)
from kt_toolkit.tuners.progress import progress_line


def _placement(devices):
    return [(d.worker_id, d.gpu, d.memory_share) for d in devices]


def test_find_gpus_honours_cuda_visible_devices_then_the_driver_then_nvidia_smi(tmp_path):
    assert find_gpus({"CUDA_VISIBLE_DEVICES": "2,3"}) == ["2", "3"]
    assert find_gpus({"CUDA_VISIBLE_DEVICES": "GPU-a1b2,GPU-c3d4"}) == ["GPU-a1b2", "GPU-c3d4"]
    assert find_gpus({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert find_gpus({"CUDA_VISIBLE_DEVICES": "-1"}) == []
    assert find_gpus({"CUDA_VISIBLE_DEVICES": "1,-1,0"}) == ["1"]  # CUDA stops at -1
    proc = tmp_path / "gpus"
    for bus in ("0000:17:00.0", "0000:65:00.0"):
        (proc / bus).mkdir(parents=True)
    assert find_gpus({}, proc_dir=str(proc), nvidia_smi=lambda: "") == ["0", "1"]
    listing = ("GPU 0: NVIDIA H200 (UUID: GPU-1)\nGPU 1: NVIDIA H200 (UUID: GPU-2)\n"
               "GPU 2: NVIDIA H200 (UUID: GPU-3)\n")
    assert find_gpus({}, proc_dir=str(tmp_path / "none"), nvidia_smi=lambda: listing) == [
        "0", "1", "2"]
    assert find_gpus({}, proc_dir=str(tmp_path / "none"), nvidia_smi=lambda: "") == []


def test_workers_go_round_robin_over_the_gpus_and_divide_a_shared_gpu():
    devices = plan_devices(4, available=["0", "1"])
    assert _placement(devices) == [("worker0", "0", 0.475), ("worker1", "1", 0.475),
                                   ("worker2", "0", 0.475), ("worker3", "1", 0.475)]
    env = devices[2].environment()
    assert env == {"CUDA_VISIBLE_DEVICES": "0", "TF_FORCE_GPU_ALLOW_GROWTH": "true",
                   "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
                   "XLA_PYTHON_CLIENT_MEM_FRACTION": "0.475",
                   "KT_TOOLKIT_GPU_MEMORY_FRACTION": "0.475", "KT_TOOLKIT_DEVICE": "GPU 0"}
    # Three workers on two GPUs: GPU 0 has two (each half of 95 %), GPU 1 one (all of it).
    assert _placement(plan_devices(3, available=["0", "1"])) == [
        ("worker0", "0", 0.475), ("worker1", "1", None), ("worker2", "0", 0.475)]


def test_a_worker_alone_on_its_gpu_keeps_jax_and_torch_defaults():
    devices = plan_devices(2, gpus="all", available=["0", "1"])
    assert [d.environment() for d in devices] == [
        {"CUDA_VISIBLE_DEVICES": gpu, "TF_FORCE_GPU_ALLOW_GROWTH": "true",
         "KT_TOOLKIT_DEVICE": f"GPU {gpu}"} for gpu in ("0", "1")]


def test_workers_per_gpu_sets_each_workers_memory_share_and_auto_counts_them():
    devices = plan_devices("auto", workers_per_gpu=4, available=["0"])
    assert _placement(devices) == [(f"worker{i}", "0", 0.237) for i in range(4)]
    assert devices[3].environment()["XLA_PYTHON_CLIENT_MEM_FRACTION"] == "0.237"
    # The share follows --workers-per-gpu even when fewer workers run.
    assert _placement(plan_devices(2, workers_per_gpu="4", available=["0", "1"])) == [
        ("worker0", "0", 0.237), ("worker1", "1", 0.237)]
    assert len(plan_devices("auto", workers_per_gpu=2, available=["0", "1", "2"])) == 6


def test_gpus_are_indices_into_the_visible_ones():
    """With CUDA_VISIBLE_DEVICES=5,7 set, `--gpus 1` is the second visible GPU, 7: the
    worker's CUDA_VISIBLE_DEVICES names it as the launcher's environment does."""
    available = find_gpus({"CUDA_VISIBLE_DEVICES": "5,7"})
    devices = plan_devices(2, gpus="1", available=available)
    assert [d.environment()["CUDA_VISIBLE_DEVICES"] for d in devices] == ["7", "7"]
    assert [d.label for d in devices] == ["GPU 7", "GPU 7"]


def test_the_chief_sees_no_gpu_and_cpu_workers_see_none_either():
    assert chief_environment() == {"CUDA_VISIBLE_DEVICES": "", "JAX_PLATFORMS": "cpu",
                                   "KT_TOOLKIT_DEVICE": "CPU"}
    for devices in (plan_devices(2, available=[]), plan_devices(2, gpus="none",
                                                                available=["0"])):
        assert _placement(devices) == [("worker0", None, None), ("worker1", None, None)]
        assert devices[0].environment() == {"CUDA_VISIBLE_DEVICES": "",
                                            "KT_TOOLKIT_DEVICE": "CPU"}
    assert auto_workers([], cpus=16) == 8 and auto_workers([], cpus=2) == 2
    assert len(plan_devices("auto", available=[])) == auto_workers([])


@pytest.mark.parametrize("workers, options, available, flag, words", [
    (2, {"gpus": "0"}, [], "--gpus", "--gpus 0: this machine has no GPU"),
    (2, {"gpus": "all"}, [], "--gpus", "--gpus all: this machine has no GPU"),
    (2, {"gpus": "2"}, ["0", "1"], "--gpus", "indices 0 to 1. Received: --gpus 2."),
    (2, {"gpus": "0,0"}, ["0", "1"], "--gpus", "distinct GPU indices"),
    (2, {"gpus": "first"}, ["0"], "--gpus", "Received: --gpus 'first'"),
    (2, {"workers_per_gpu": "0"}, ["0"], "--workers-per-gpu", "a whole number >= 1"),
    (2, {"workers_per_gpu": "two"}, ["0"], "--workers-per-gpu", "a whole number >= 1"),
    (2, {"workers_per_gpu": 2}, [], "--workers-per-gpu", "needs a GPU"),
    (8, {"workers_per_gpu": 2}, ["0", "1"], "--workers", "more than --workers-per-gpu 2"),
    ("many", {}, ["0"], "--workers", "a whole number >= 1 or auto"),
])
def test_impossible_requests_name_the_flag(workers, options, available, flag, words):
    with pytest.raises(ConfigError) as caught:
        plan_devices(workers, available=available, **options)
    assert caught.value.key == flag
    assert words in str(caught.value)


@pytest.mark.parametrize("argv, flag", [
    (["--workers", "2", "--gpus", "0"], "--gpus"),
    (["--workers", "2", "--gpus"], "--gpus"),
    (["--workers", "2", "--gpus", "0;1"], "--gpus"),
    (["--workers", "2", "--workers-per-gpu", "0"], "--workers-per-gpu"),
    (["--workers", "2", "--workers-per-gpu", "2"], "--workers-per-gpu"),
    (["--workers", "two"], "--workers"),
    (["--gpus", "0"], "--gpus"),
])
def test_the_cli_refuses_bad_gpu_flags_in_one_line_with_exit_2(tmp_path, monkeypatch, capsys,
                                                                argv, flag):
    from kt_toolkit.cli import main

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # this machine: no GPU
    config = tmp_path / "x.yaml"
    config.write_text(f"experiment: {{name: x}}\noutput: {{directory: {tmp_path}/runs}}\n")
    assert main(["tune", str(config), *argv]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and flag in lines[0]
    assert not (tmp_path / "runs").exists()


def test_the_progress_line_names_the_gpu_of_each_running_trial():
    class Run:  # a run directory's three answers progress_line reads
        def rows(self):
            return [{"trial_id": "0", "status": "COMPLETED", "objective": "0.9"},
                    {"trial_id": "1", "status": "RUNNING", "objective": ""},
                    {"trial_id": "2", "status": "RUNNING", "objective": ""}]

        def rank(self, rows, objective, direction):
            return [rows[0]]

        def running_trials(self, rows):
            return {"worker0": "1", "worker1": "2"}

    line, _ = progress_line(Run(), 4, "val_accuracy", "max",
                            devices={"worker0": "GPU 0", "worker1": "GPU 1"})
    assert line.endswith("running: 1 on worker0 (GPU 0), 2 on worker1 (GPU 1)")
    line, _ = progress_line(Run(), 4, "val_accuracy", "max")  # on the CPU: no device
    assert line.endswith("running: 1 on worker0, 2 on worker1")


def test_the_trial_device_is_the_launchers_word_else_the_backends(monkeypatch):
    assert compat_devices.training_device({"KT_TOOLKIT_DEVICE": "GPU 3"}) == "GPU 3"
    import keras  # noqa: F401 - the backend is loaded when a trial ends

    assert compat_devices.training_device({}) == "CPU"  # no GPU here


def test_single_process_tensorflow_grows_into_gpu_memory_unless_told_otherwise():
    environ = {}
    assert compat_devices.single_process_environment(environ) == {
        "TF_FORCE_GPU_ALLOW_GROWTH": "true"}
    assert environ == {"TF_FORCE_GPU_ALLOW_GROWTH": "true"}
    environ = {"TF_FORCE_GPU_ALLOW_GROWTH": "false"}
    assert compat_devices.single_process_environment(environ) == {}
    assert environ == {"TF_FORCE_GPU_ALLOW_GROWTH": "false"}


def test_torch_is_held_to_its_share_only_when_the_launcher_set_one(monkeypatch):
    """PyTorch is not installed here: a stand-in module with torch 2.x's two calls."""
    calls = []

    class Cuda:
        @staticmethod
        def is_available():
            return True

        @staticmethod
        def set_per_process_memory_fraction(fraction):
            calls.append(fraction)

    monkeypatch.setitem(sys.modules, "torch", type(sys)("torch"))
    sys.modules["torch"].cuda = Cuda
    assert compat_devices.apply_memory_share({}) is None and calls == []
    env = WorkerDevice("worker1", "0", 0.237).environment()
    assert compat_devices.apply_memory_share(env) == 0.237 and calls == [0.237]


PROBE = textwrap.dedent("""
    import json, os, sys
    # First thing in the child, before anything else is imported.
    seen = {"env": {k: os.environ.get(k) for k in (
                "CUDA_VISIBLE_DEVICES", "TF_FORCE_GPU_ALLOW_GROWTH", "JAX_PLATFORMS",
                "XLA_PYTHON_CLIENT_PREALLOCATE", "XLA_PYTHON_CLIENT_MEM_FRACTION",
                "KT_TOOLKIT_GPU_MEMORY_FRACTION", "KT_TOOLKIT_DEVICE")},
            "loaded": sorted(m for m in ("tensorflow", "jax", "torch", "keras")
                             if m in sys.modules),
            "argv": sys.argv[1:]}
    name = "chief" if "chief" in sys.argv else sys.argv[sys.argv.index("--id") + 1]
    with open(os.path.join(os.environ["PROBE_OUT"], name + ".json"), "w") as handle:
        json.dump(seen, handle)
""")


def test_each_child_has_its_device_environment_before_any_backend_loads(tmp_path,
                                                                          monkeypatch):
    """The launcher's own `_spawn` starts a probe in place of `kt_toolkit._child`: it
    records its environment and the backends in `sys.modules` as its first act."""
    from kt_toolkit.rundir import RunDirectory
    from kt_toolkit.tuners import launcher

    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    python = tmp_path / "python"
    python.write_text(f"#!/bin/sh\nshift 2\nexec {sys.executable} {probe} \"$@\"\n")
    python.chmod(0o755)
    monkeypatch.setattr(launcher.sys, "executable", str(python))
    monkeypatch.setenv("PROBE_OUT", str(tmp_path))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")  # the launcher's own: honoured
    run = RunDirectory(str(tmp_path / "run"))
    devices = plan_devices(3, available=find_gpus())
    group = launcher._Group(run, devices, "127.0.0.1", 5, budget=1, objective="x",
                            direction="max")
    group.oracle = "127.0.0.1:1"
    children = [group._spawn("chief", ["chief", run.path], chief_environment())]
    for worker in ("worker0", "worker1", "worker2"):
        group._start_worker(worker)
        children.append(group.children[worker])
    assert [child.wait(timeout=60) for child in children] == [0, 0, 0, 0]

    seen = {name: json.loads((tmp_path / f"{name}.json").read_text())
            for name in ("chief", "worker0", "worker1", "worker2")}
    assert all(record["loaded"] == [] for record in seen.values())
    assert seen["chief"]["env"]["CUDA_VISIBLE_DEVICES"] == ""
    assert seen["chief"]["env"]["JAX_PLATFORMS"] == "cpu"
    assert [seen[w]["env"]["CUDA_VISIBLE_DEVICES"] for w in ("worker0", "worker1", "worker2")
            ] == ["4", "6", "4"]
    assert seen["worker0"]["env"]["XLA_PYTHON_CLIENT_MEM_FRACTION"] == "0.475"
    assert seen["worker1"]["env"]["XLA_PYTHON_CLIENT_MEM_FRACTION"] is None  # GPU 6 alone
    assert seen["worker2"]["env"]["KT_TOOLKIT_GPU_MEMORY_FRACTION"] == "0.475"
    assert {seen[w]["env"]["TF_FORCE_GPU_ALLOW_GROWTH"] for w in ("worker0", "worker1")
            } == {"true"}
    assert seen["worker1"]["env"]["KT_TOOLKIT_DEVICE"] == "GPU 6"
    assert seen["worker1"]["argv"][:1] == ["worker"]


def test_a_worker_applies_the_environment_when_its_backend_loads(tmp_path):
    """JAX in a child given the chief's environment reads it at import: CPU only."""
    pytest.importorskip("jax")
    code = "import jax; print(jax.config.jax_platforms, jax.default_backend())"
    env = {**os.environ, **chief_environment(), "KERAS_BACKEND": "jax"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout.split() == ["cpu", "cpu"]
