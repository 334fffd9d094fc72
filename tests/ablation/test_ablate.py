"""`kt-toolkit ablate` end to end: real training on 300 digits, 1 epoch, 16 units."""

import json
import os

import pytest
import yaml

from kt_toolkit._io import read_csv
from kt_toolkit.cli import main
from kt_toolkit.rundir import RunDirectory
from kt_toolkit.rundir.ablations import value_text

ABLATION = ("ablations", "kernel_initializer")


def _experiment(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({
        "experiment": {"name": "tiny", "seed": 1},
        "data": {"dataset": "digits", "subsample": 300},
        "model": {"space": {"num_layers": 1, "units": 16}},
        "tuner": {"algorithm": "random", "max_trials": 2},
        "training": {"epochs": 1, "batch_size": 64},
        "output": {"directory": str(tmp_path / "runs")}}))
    return str(path)


def _ablate(source, *flags):
    return main(["ablate", source, "--knob", "kernel_initializer", "-q", *flags])


def test_ablate_an_experiment_file_then_resume(tmp_path, capsys):
    experiment = _experiment(tmp_path)
    flags = ["--values", "glorot_uniform,zeros", "--seeds", "2"]
    assert _ablate(experiment, *flags) == 0
    out = capsys.readouterr().out
    (run_dir,) = [str(p) for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    folder = os.path.join(run_dir, *ABLATION)
    rows = read_csv(os.path.join(folder, "results.csv"))
    assert [(r["value"], r["seed"]) for r in rows] == [
        ("glorot_uniform", "1"), ("glorot_uniform", "2"), ("zeros", "1"), ("zeros", "2")]
    assert {r["status"] for r in rows} == {"completed"}
    assert all(0.0 < float(r["score"]) <= 1.0 and r["best_epoch"] == "1" for r in rows)
    histories = [read_csv(os.path.join(folder, "histories", f"glorot_uniform-seed{s}.csv"))
                 for s in (1, 2)]
    assert histories[0][0]["loss"] != histories[1][0]["loss"]  # the seed changes the weights
    record = json.load(open(os.path.join(folder, "ablation.json")))
    assert "kernel_initializer" not in record["base"]
    assert record["base"]["units"] == "16" and record["base"]["learning_rate"] == "0.001"
    assert "Trained 4 new runs." in out and "mean ± 95 %" in out
    verdict = [line for line in out.splitlines() if " vs " in line and ", p " in line]
    assert len(verdict) == 1 and verdict[0].split(":")[0] in ("zeros", "glorot_uniform")
    assert os.path.getsize(os.path.join(folder, "figure.png")) > 1000
    assert "| zeros | 2 | 0 |" in open(os.path.join(folder, "table.md")).read()
    report = open(os.path.join(run_dir, "report.md")).read()
    assert "## Ablations" in report and "### `kernel_initializer`" in report
    assert RunDirectory(run_dir).exists()  # a run directory `tune` resumes

    before = open(os.path.join(folder, "results.csv")).read()
    stamp = os.stat(os.path.join(folder, "histories", "zeros-seed2.csv")).st_mtime_ns
    assert _ablate(experiment, *flags) == 0  # the same command again: nothing to train
    out = capsys.readouterr().out
    assert "Nothing new was trained" in out
    assert open(os.path.join(folder, "results.csv")).read() == before
    assert os.stat(os.path.join(folder, "histories", "zeros-seed2.csv")).st_mtime_ns == stamp

    assert _ablate(experiment, "--values", "glorot_uniform,zeros", "--seeds", "3") == 0
    assert "Trained 2 new runs." in capsys.readouterr().out  # only seed 3 of each value
    after = open(os.path.join(folder, "results.csv")).read()
    assert after.startswith(before) and len(read_csv(os.path.join(folder, "results.csv"))) == 6


def test_ablate_a_run_directory_at_its_best_trial_with_workers(tmp_path, capsys):
    experiment = _experiment(tmp_path)
    # Trial 0 is the space's first values (lr 1e-5: near chance after 1 epoch), trial 1
    # the other choice: the best trial differs from the first values.
    space = "--set=model.space.learning_rate={values: [0.00001, 0.01]}"
    assert main(["tune", experiment, space, "--set", "output.report=false", "-q"]) == 0
    run_dir = [line.split(": ", 1)[1] for line in capsys.readouterr().out.splitlines()
               if line.startswith("Run directory: ")][0]
    best = yaml.safe_load(open(os.path.join(run_dir, "best", "hyperparameters.yaml")))
    assert _ablate(run_dir, "--values", "he_normal,random_uniform", "--seeds", "2",
                   "--workers", "2") == 0
    out = capsys.readouterr().out
    assert f"other knobs at trial {best['trial_id']}, the best of" in out
    record = json.load(open(os.path.join(run_dir, *ABLATION, "ablation.json")))
    assert best["hyperparameters"]["learning_rate"] == 0.01
    for name, value in best["hyperparameters"].items():  # every knob at the best trial's
        if name != "kernel_initializer":  # best/ rounds floats to 5 digits
            held = record["base"][name]
            assert (float(held) == pytest.approx(value, rel=1e-4) if isinstance(value, float)
                    else held == value_text(value)), name
    rows = read_csv(os.path.join(run_dir, *ABLATION, "results.csv"))
    assert sorted((r["value"], r["seed"]) for r in rows) == [
        ("he_normal", "1"), ("he_normal", "2"), ("random_uniform", "1"),
        ("random_uniform", "2")]
    assert {r["status"] for r in rows} == {"completed"}
    assert "## Ablations" in open(os.path.join(run_dir, "report.md")).read()
