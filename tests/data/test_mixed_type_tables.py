"""Tables with categorical and text columns (issue 14, item 2): a `.csv` this test
writes, tuned end to end with a held-out test part and a refit; the saved best and
final models take raw rows."""

import csv
import os

import numpy as np
import yaml

from kt_toolkit._io import read_csv
from kt_toolkit.cli import main

WORDS = ["good", "bad", "fine", "great", "poor", "ok", "nice", "awful"]


def _write_table(path, rows=240, missing=()):
    """`color` (categorical), `note` (text), `size` (numeric), `label` (the target:
    yes when red or large). Rows in `missing` have no size."""
    rng = np.random.default_rng(0)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["color", "note", "size", "label"])
        for row in range(rows):
            color = ["red", "green", "blue"][row % 3]
            size = float(np.round(rng.normal(10, 3), 2))
            note = " ".join(rng.choice(WORDS, 5))
            label = "yes" if color == "red" or size > 12 else "no"
            writer.writerow([color, note, "" if row in missing else size, label])
    return str(path)


def _experiment(tmp_path, name, data, **sections):
    raw = {"experiment": {"name": name, "seed": 1}, "data": data, **sections,
           "model": {"builder": "mlp"}, "tuner": {"algorithm": "random", "max_trials": 2},
           "training": {"epochs": 1, "batch_size": 32},
           "output": {"directory": str(tmp_path / "runs"), "run_name": name,
                      "report": False}}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path), str(tmp_path / "runs" / name)


def test_a_csv_with_categorical_and_text_columns_tunes_and_takes_raw_rows(
        tmp_path, capsys, checks_pass_on_a_sample, rerun_trains_nothing):
    table = _write_table(tmp_path / "shop.csv", missing=(3, 7))
    path, run_dir = _experiment(tmp_path, "table", {"dataset": table, "missing": "impute",
                                                    "test_split": 0.2},
                                final={"refit": True})
    assert main(["validate", path]) == 0
    out = capsys.readouterr().out
    assert "# columns: color categorical, note text, size numeric" in out, out
    # The model checks feed the FeatureSpace model raw rows of a sample (the data
    # checks read the same rows encoded), and say that it is a sample.
    checks_pass_on_a_sample(path, "5 batches (144 train / 48 val")
    assert main(["tune", path, "-q"]) == 0
    rows = read_csv(os.path.join(run_dir, "trials.csv"))
    assert [row["status"] for row in rows] == ["COMPLETED", "COMPLETED"]
    import keras
    import tensorflow as tf

    with open(os.path.join(run_dir, "final", "evaluation.yaml"), encoding="utf-8") as handle:
        final = yaml.safe_load(handle)
    assert final["samples"] == 48, final  # the test part, held out from the search
    assert "accuracy" in final["best"]["metrics"] and "accuracy" in final["refit"]["metrics"]
    raw = {"color": tf.constant(["red", "purple"]), "note": tf.constant(["good ok", ""]),
           "size": tf.constant([9.5, 14.0])}  # "purple": a value never seen
    for saved in ("best/model.keras", "final/model.keras"):  # the refit model too
        model = keras.models.load_model(os.path.join(run_dir, saved))
        probabilities = model.predict(raw, verbose=0)
        assert probabilities.shape == (2, 1)
        assert np.all((probabilities >= 0) & (probabilities <= 1))
    rerun_trains_nothing(path, run_dir)


def test_missing_values_and_unknown_columns_exit_2_with_one_line(tmp_path, capsys):
    table = _write_table(tmp_path / "gaps.csv", rows=30, missing=(2, 5, 6))
    path, _ = _experiment(tmp_path, "gaps", {"dataset": table,
                                             "columns": {"color": "categorical"}})
    assert main(["tune", path, "-q"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1, error
    assert "data.missing" in error and "`size` has 3 missing value(s)" in error, error
    path, _ = _experiment(tmp_path, "typo", {"dataset": table, "missing": "impute",
                                             "columns": {"colour": "categorical"}})
    assert main(["tune", path, "-q"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1, error
    assert "data.columns.colour" in error and "Columns: color, note, size, label" in error


def test_string_columns_on_another_backend_exit_2_with_one_line(tmp_path):
    import subprocess
    import sys

    table = _write_table(tmp_path / "shop.csv", rows=30)
    path, _ = _experiment(tmp_path, "jax", {"dataset": table, "target": "label"})
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    done = subprocess.run([sys.executable, "-m", "kt_toolkit", "tune", str(path)], env=env,
                          capture_output=True, text=True, timeout=120)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 2, done.stderr[-2000:]
    assert len(errors) == 1 and "data.dataset" in errors[0]
    assert "color categorical, note text on KERAS_BACKEND=jax" in errors[0]
