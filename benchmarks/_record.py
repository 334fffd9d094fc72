"""Results files: what a benchmark measured, with where, when and how (issue 18).

Every benchmark the README quotes writes one JSON file into `benchmarks/results/`
when given `--save`:

    {"name": ..., "command": "python benchmarks/x.py --seeds 3",
     "commit": "0171657", "date": "2026-12-02", "machine": {...}, "seeds": [...],
     "conditions": "2 shared CPU cores; other work ran at the same time",
     "data": {...}}

`benchmarks/readme_numbers.py` renders the README's number-bearing sections from
these files. Imports nothing heavy (no Keras, no TensorFlow): the drift test reads
the files through it.
"""

import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
from importlib import metadata

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
PACKAGES = ("tensorflow", "keras", "keras-tuner", "jax", "torch", "optuna")


def machine():
    """Cores, platform, Python and the versions of the stack that trained."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return {"cpus": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "packages": versions,
            "backend": os.environ.get("KERAS_BACKEND", "tensorflow")}


def commit():
    """The checkout's short commit, with `+dirty` when tracked files differ from it."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              check=False).stdout.strip()
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain", "--untracked-files=no",
                                   "--", "kt_toolkit", "benchmarks", "experiments")
                   else "")


def path_of(name):
    """`benchmarks/results/<name>.json`."""
    return os.path.join(RESULTS, f"{name}.json")


def save(name, data, *, seeds, conditions, command=None, recorded=None):
    """Writes `benchmarks/results/<name>.json`; returns its path.

    Args:
        name: String, the file's name without `.json`.
        data: the measurements, JSON-serializable.
        seeds: the seeds the runs used (a list, or a dict naming them).
        conditions: String, what else could have changed the numbers (load, n).
        command: String, the command line. Defaults to this process's own.
        recorded: a dict of fields (`commit`, `date`, `machine`, `note`) for a result
            measured before its script could save it, instead of this checkout's.
    """
    record = {"name": name,
              "command": command or "python " + shlex.join(
                  [os.path.relpath(os.path.abspath(sys.argv[0]), REPO), *sys.argv[1:]]),
              "commit": commit(), "date": datetime.date.today().isoformat(),
              "machine": machine(), "seeds": seeds, "conditions": conditions,
              "data": data}
    record.update(recorded or {})
    os.makedirs(RESULTS, exist_ok=True)
    path = path_of(name)
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=1, sort_keys=False)
        handle.write("\n")
    os.replace(path + ".tmp", path)
    return path


def load(name):
    """The record of `benchmarks/results/<name>.json` (FileNotFoundError when absent)."""
    with open(path_of(name), encoding="utf-8") as handle:
        return json.load(handle)
