"""An honest score (issue 14, item 3): the held-out test part, the final step, refit, folds.

One `kt-toolkit tune` on digits with `data.test_split` and `final.refit` is shared
by the checks of its summary, `final/` files, report, `show` and TensorBoard; in it
the test part's arrays are sealed: any use of them before the final step raises
(and is recorded), so the run proves nothing reads them early. A rerun of the
finished run must keep `final/` without opening the test part again.
"""

import contextlib
import glob
import io
import json
import os

import numpy as np
import pytest
import yaml

from kt_toolkit._io import read_csv
from kt_toolkit.cli import main
from kt_toolkit.config import DataConfig, config_from_dict
from kt_toolkit.data import HeldOut, load_parts, split
from kt_toolkit.errors import ConfigError, DataError

SETTINGS = {
    "experiment": {"name": "honest", "seed": 3},
    "data": {"dataset": "digits", "subsample": 200, "test_split": 0.2},
    "model": {"space": {"num_layers": 1, "units": {"values": [16, 32]}, "optimizer": "adam",
                        "learning_rate": {"min": 3e-3, "max": 1e-2, "sampling": "log"},
                        "batch_norm": False}},
    "tuner": {"algorithm": "random", "max_trials": 2},
    "training": {"epochs": 2, "batch_size": 64},
    "final": {"refit": True},
}


class Sealed:
    """Stands in for a test-part array: reading it raises, and is recorded."""

    def __init__(self, array, reads):
        self._array, self._reads = array, reads

    def __len__(self):  # its size is no secret (run.json and the summary say it)
        return len(self._array)

    def _read(self, what):
        self._reads.append(what)
        raise AssertionError(f"the test part was read before the final step ({what})")

    def __getattr__(self, name):
        return self._read(f".{name}")

    def __array__(self, *args, **kwargs):
        return self._read("__array__")

    def __getitem__(self, index):
        return self._read("[]")

    def __iter__(self):
        return self._read("iter")


@pytest.fixture(scope="module")
def honest(tmp_path_factory):
    """The run: `(run_dir, stdout, reads, opens, experiment path)`."""
    folder = tmp_path_factory.mktemp("honest")
    path = str(folder / "honest.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump({**SETTINGS, "output": {"directory": str(folder / "runs")}}, handle)
    reads, opens = [], []
    cut, open_ = split.hold_out, HeldOut.open

    def sealed_cut(*args, **kwargs):
        x, x_test, y, y_test = cut(*args, **kwargs)
        return x, Sealed(x_test, reads), y, Sealed(y_test, reads)

    def unsealing_open(self):
        rows = read_csv(glob.glob(str(folder / "runs" / "*" / "trials.csv"))[0])
        opens.append([row["status"] for row in rows])  # what had ended when it opened
        self._x, self._y = self._x._array, self._y._array
        return open_(self)

    with pytest.MonkeyPatch.context() as patch:  # undone before the tests read the run
        patch.setattr(split, "hold_out", sealed_cut)
        patch.setattr(HeldOut, "open", unsealing_open)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            assert main(["tune", path]) == 0
    run_dir = glob.glob(str(folder / "runs" / "*"))[0]
    return run_dir, printed.getvalue(), reads, opens, path


def test_the_test_part_is_read_once_after_the_search(honest):
    run_dir, _, reads, opens, _ = honest
    assert reads == []  # nothing touched the sealed arrays before the final step
    assert opens == [["COMPLETED", "COMPLETED"]]  # opened once, when both trials had ended
    record = json.load(open(os.path.join(run_dir, "run.json"), encoding="utf-8"))
    assert record["train_samples"] == 200 and record["validation_samples"] == 360
    assert "360 test (held out)" in record["data_summary"]


def test_final_files_score_the_models_they_name(honest):
    run_dir, printed, *_ = honest
    import keras

    final = yaml.safe_load(open(os.path.join(run_dir, "final", "evaluation.yaml"),
                                encoding="utf-8"))
    assert (final["split"], final["source"], final["samples"]) == ("test", "test_split", 360)
    best, refit = final["best"], final["refit"]
    rows = {row["trial_id"]: row for row in read_csv(os.path.join(run_dir, "trials.csv"))}
    assert best["epochs"] == int(rows[best["trial_id"]]["best_epoch"]) == refit["epochs"]
    assert refit["train_samples"] == 200 + 360 and best["train_samples"] == 200
    # The recorded scores are those models' on the same held-out samples.
    _, held_out = load_parts(DataConfig(dataset="digits", subsample=200, test_split=0.2),
                             seed=3)
    x_test, y_test = held_out.open()
    for entry in (best, refit):
        model = keras.saving.load_model(os.path.join(run_dir, entry["model"]))
        accuracy = np.mean(np.argmax(model.predict(x_test, verbose=0), axis=1) == y_test)
        assert accuracy == pytest.approx(entry["metrics"]["accuracy"], abs=1e-4)
    assert f"test accuracy {best['metrics']['accuracy']:.4f} (best model" in printed
    assert f"test accuracy {refit['metrics']['accuracy']:.4f} (refit on training" in printed
    # TensorBoard: the scores beside the best trial's curves, tagged "test".
    tagged = glob.glob(os.path.join(run_dir, "tensorboard", best["trial_id"], "*.test"))
    assert len(tagged) == 1 and b"accuracy/test_refit" in open(tagged[0], "rb").read()


def test_report_and_show_have_the_test_scores(honest, capsys):
    run_dir, *_ = honest
    final = yaml.safe_load(open(os.path.join(run_dir, "final", "evaluation.yaml"),
                                encoding="utf-8"))
    score = f"{final['best']['metrics']['accuracy']:.4f}"
    report = open(os.path.join(run_dir, "report.md"), encoding="utf-8").read()
    assert "## Test part" in report and f"test accuracy {score} (best model" in report
    assert "Test part" in open(os.path.join(run_dir, "report.html"), encoding="utf-8").read()
    assert main(["show", run_dir]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if line.startswith("rank"))
    assert "test accuracy" in header
    best_row = next(line for line in lines if line.split()[:2] == ["1", final["best"]["trial_id"]])
    assert score in best_row.split()


def test_rerun_keeps_final_without_reading_the_test_part(honest):
    run_dir, _, _, _, path = honest
    files = [os.path.join(run_dir, "final", name) for name in ("evaluation.yaml", "model.keras")]
    before = [os.stat(name).st_mtime_ns for name in files]
    opens = []
    with pytest.MonkeyPatch.context() as patch:  # the rerun must not open the test part
        patch.setattr(HeldOut, "open", lambda self: opens.append(self) or 1 / 0)
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            assert main(["tune", path, "--set", "output.report=false"]) == 0
    assert [os.stat(name).st_mtime_ns for name in files] == before and opens == []
    assert "test accuracy" in printed.getvalue()  # still in the summary, read from final/


def test_cv_folds_score_each_trial_by_the_fold_mean(make_config):
    from kt_toolkit.experiment import run_experiment

    config = make_config(data={"dataset": "iris", "subsample": None, "cv_folds": 3,
                               "test_split": 0.2},
                         tuner={"max_trials": 1}, training={"epochs": 2, "batch_size": 32})
    result = run_experiment(config)
    row = result.trials[0]
    folds = json.load(open(os.path.join(result.run_dir, "trials", row["trial_id"],
                                        "meta.json"), encoding="utf-8"))["cv"]
    assert folds["folds"] == 3 and len(folds["scores"]) == 3
    assert row["objective"] == pytest.approx(np.mean(folds["scores"]), abs=1e-5)
    assert row["metric:cv_std"] == pytest.approx(np.std(folds["scores"]), abs=1e-5)
    history = read_csv(os.path.join(result.run_dir, "trials", row["trial_id"], "history.csv"))
    assert sorted({entry["execution"] for entry in history}) == ["0", "1", "2"]
    # The best model is one fold's: scored on that fold's validation part, not on the
    # validation split the other folds trained on.
    best = yaml.safe_load(open(os.path.join(result.run_dir, "best", "evaluation.yaml"),
                               encoding="utf-8"))
    fold = int(best["split"].rsplit(" ", 1)[1])
    assert best["split"] == f"validation part of fold {fold}" and best["samples"] == 40
    assert result.final["best"]["train_samples"] == 80  # 2 of the 3 folds of the 120 not held out
    assert best["metrics"]["accuracy"] == pytest.approx(folds["scores"][fold], abs=1e-4)
    assert result.evaluation_split == best["split"]


@pytest.mark.parametrize("sections, key", [
    ({"data": {"test_split": 0.3, "validation_split": 0.7}}, "data.test_split"),
    ({"data": {"test_split": 1.0}}, "data.test_split"),
    ({"data": {"cv_folds": 1}}, "data.cv_folds"),
    ({"data": {"cv_folds": 3}, "tuner": {"algorithm": "hyperband"}}, "data.cv_folds"),
    ({"final": {"refit": "yes"}}, "final.refit"),
])
def test_bad_settings_name_their_key(sections, key):
    with pytest.raises(ConfigError) as error:
        config_from_dict(sections)
    assert error.value.key == key and "Received:" in str(error.value)
    assert str(error.value).endswith(".")  # the hint is a sentence too


def test_bad_data_for_the_test_part_and_folds(tmp_path, capsys):
    with pytest.raises(DataError, match=r"`cv_folds` must be at most .* \(50\)"):
        load_parts(DataConfig(dataset="iris", cv_folds=51), seed=0)
    x = np.random.default_rng(0).normal(size=(60, 3)).astype("float32")
    path = str(tmp_path / "parts.npz")
    np.savez(path, x_train=x[:40], y_train=np.arange(40) % 2, x_test=x[40:],
             y_test=np.arange(20) % 2)
    data, held_out = load_parts(DataConfig(dataset=path), seed=0)
    assert (held_out.source, held_out.samples, len(data.y_train) + len(data.y_val)) == (
        "dataset", 20, 40)
    with pytest.raises(DataError, match="`test_split` must be null for a dataset with its own"):
        load_parts(DataConfig(dataset=path, test_split=0.2), seed=0)
    experiment = tmp_path / "bad.yaml"
    experiment.write_text("data: {dataset: digits, test_split: 0.5, validation_split: 0.5}\n")
    assert main(["tune", str(experiment)]) == 2
    err = capsys.readouterr().err
    assert "test_split" in err and "validation_split" in err and len(err.strip().splitlines()) == 1
