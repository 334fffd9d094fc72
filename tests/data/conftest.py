"""Shared fixtures for the data tests: small files written to `tmp_path`."""

import csv
import os
import pathlib
import sys

import numpy as np
import pytest

# The package is not installed in every environment the tests run in: make the
# repository root importable, as `python -m pytest` from the root would.
ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def write_csv(tmp_path):
    """Returns `write(header, rows, name="data.csv") -> path` writing a .csv file."""

    def write(header, rows, name="data.csv"):
        path = tmp_path / name
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        return str(path)

    return write


@pytest.fixture
def write_npz(tmp_path):
    """Returns `write(name="data.npz", **arrays) -> path` writing an .npz file."""

    def write(name="data.npz", **arrays):
        path = tmp_path / name
        np.savez(path, **arrays)
        return str(path)

    return write


@pytest.fixture
def labelled_npz(write_npz):
    """An .npz of 200 samples whose first feature is the original label (0..4).

    Each sample's label can be read back from its features, to check remapping.
    """
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(5), 40)
    x = np.column_stack([y, rng.normal(size=(200, 2))]).astype(np.float32)
    return write_npz(x=x, y=y)


def _histories(run_dir):
    trials = os.path.join(run_dir, "trials")
    return {name: open(os.path.join(trials, name, "history.csv"), "rb").read()
            for name in sorted(os.listdir(trials))}


@pytest.fixture
def rerun_trains_nothing():
    """`rerun(path, run_dir)`: the same `kt-toolkit tune` command again resumes the
    finished run: no trial history and no refit model is written again."""
    from kt_toolkit.cli import main

    def rerun(path, run_dir):
        before = _histories(run_dir)
        kept = os.stat(os.path.join(run_dir, "final", "model.keras")).st_mtime_ns
        assert main(["tune", path, "-q"]) == 0
        assert _histories(run_dir) == before
        assert os.stat(os.path.join(run_dir, "final", "model.keras")).st_mtime_ns == kept

    return rerun


@pytest.fixture
def checks_pass_on_a_sample(capsys):
    """`checks(path, sample)`: `kt-toolkit check` exits 0, says its checks read a
    sample (`sample`: the words that describe it), and no model check fails."""
    from kt_toolkit.cli import main

    def checks(path, sample):
        assert main(["check", path, "--max-epochs", "30"]) == 0
        out = capsys.readouterr().out
        assert f"checks read from a sample of the first {sample}" in out, out
        for name in ("outputs", "initial_loss", "overfit", "labels_vs_inputs"):
            assert f"  {name}: " in out and f"FAIL  {name}" not in out, out

    return checks
