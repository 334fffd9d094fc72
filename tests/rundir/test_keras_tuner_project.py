"""`kt-toolkit report` on a project folder written by plain KerasTuner (issue 14.5).

The projects are written here by KerasTuner alone (a `build(hp)` function, 300
digits samples, 2 epochs); kt_toolkit only reads them afterwards.
"""

import glob
import hashlib
import os
import re
import shutil

import pytest
import yaml

from kt_toolkit._io import read_csv, read_json

HPS = ("units", "extra", "dropout", "lr", "extra_units")


def _build(hp):
    import keras

    model = keras.Sequential([keras.Input((64,)),
                              keras.layers.Dense(hp.Int("units", 8, 32, step=8),
                                                 activation="relu")])
    if hp.Boolean("extra"):
        with hp.conditional_scope("extra", [True]):
            model.add(keras.layers.Dense(hp.Choice("extra_units", [8, 16]), activation="relu"))
    model.add(keras.layers.Dropout(hp.Fixed("dropout", 0.1)))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _digits():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return (x[:300] / 16.0).astype("float32"), y[:300]


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """`{"random": path, "hyperband": path}`, each written by KerasTuner alone."""
    import keras_tuner

    folder = tmp_path_factory.mktemp("keras_tuner")
    x, y = _digits()
    random = keras_tuner.RandomSearch(_build, objective="val_accuracy", max_trials=2, seed=1,
                                      directory=str(folder), project_name="random")
    random.search(x, y, epochs=2, validation_split=0.3, verbose=0)
    hyperband = keras_tuner.Hyperband(_build, objective="val_loss", max_epochs=2, factor=3,
                                      seed=1, directory=str(folder), project_name="hyperband")
    hyperband.search(x, y, validation_split=0.3, verbose=0)
    return {"random": str(folder / "random"), "hyperband": str(folder / "hyperband")}


def _copy(projects, kind, tmp_path):
    return shutil.copytree(projects[kind], tmp_path / kind)


def _hashes(folder):
    """sha256 of every file under `folder`, kt_toolkit's view left out."""
    found = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d != "kt_toolkit_report"]
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, folder)] = hashlib.sha256(handle.read()).hexdigest()
    return found


def _trial_jsons(project):
    return {trial["trial_id"]: trial for trial in
            (read_json(path) for path in glob.glob(os.path.join(project, "trial_*",
                                                                "trial.json")))}


def test_report_on_a_random_search_project(projects, tmp_path, capsys):
    from kt_toolkit.cli import main
    from kt_toolkit.rundir import load_study

    project = _copy(projects, "random", tmp_path)
    before = _hashes(project)
    assert main(["report", str(project)]) == 0
    out = capsys.readouterr().out
    view = os.path.join(project, "kt_toolkit_report")
    assert f"kt_toolkit's view and report are in {view}" in out
    assert f"Report: {os.path.join(view, 'report.html')}" in out
    assert _hashes(project) == before  # KerasTuner's files byte for byte, none added

    study = load_study(view)
    assert (study.objective, study.direction) == ("val_accuracy", "max")
    domains = study.domains
    assert (domains["units"].kind, domains["units"].min, domains["units"].max,
            domains["units"].step) == ("int", 8, 32, 8)
    assert (domains["lr"].kind, domains["lr"].sampling) == ("float", "log")
    assert domains["extra"].values == (False, True) and domains["extra_units"].values == (8, 16)
    assert (domains["dropout"].kind, domains["dropout"].values) == ("fixed", (0.1,))
    trials = _trial_jsons(project)
    rows = {row["trial_id"]: row for row in read_csv(os.path.join(view, "trials.csv"))}
    assert sorted(rows) == sorted(trials) and len(rows) == 2
    for trial_id, trial in trials.items():
        assert float(rows[trial_id]["objective"]) == pytest.approx(trial["score"], rel=1e-5)
        assert int(rows[trial_id]["best_epoch"]) == trial["best_step"] + 1
        assert int(rows[trial_id]["units"]) == trial["hyperparameters"]["values"]["units"]

    with open(os.path.join(view, "report.html"), encoding="utf-8") as handle:
        page = handle.read()
    assert "Report: random" in page and "no per-epoch curves" in page
    for trial_id in trials:  # its row in the verdict table
        assert re.search(rf"<td[^>]*>{trial_id}</td><td>COMPLETED</td>[^\n]*no curves", page)
    assert not os.listdir(os.path.join(view, "curves"))  # no curve invented

    (knobs, metrics), sessions = _hparams(view)
    assert set(knobs) == {"units", "extra", "lr", "extra_units"}  # tuned; dropout is fixed
    assert metrics[0] == "hparams/val_accuracy"
    assert sorted(sessions) == sorted(trials)
    for trial_id, trial in trials.items():
        hparams, scores = sessions[trial_id]
        assert scores["hparams/val_accuracy"] == pytest.approx(trial["score"], rel=1e-5)
        assert hparams["lr"] == pytest.approx(trial["hyperparameters"]["values"]["lr"], rel=1e-5)
        assert hparams["units"] == trial["hyperparameters"]["values"]["units"]


def _hparams(view):
    """`(experiment, sessions)` read back from the view's event files, as TensorBoard
    loads them: the experiment's knob names and metric tags, and trial_id → (knob
    values, scores) of each HParams session."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.plugins.hparams import plugin_data_pb2

    def events(pattern):
        for path in glob.glob(os.path.join(view, "tensorboard", pattern)):
            for event in EventFileLoader(path).Load():
                for value in event.summary.value:
                    yield path, value

    (path, value), = events("*.experiment")
    data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
    experiment = ([info.name for info in data.experiment.hparam_infos],
                  [info.name.tag for info in data.experiment.metric_infos])
    sessions = {}
    for path, value in events(os.path.join("*", "*.session")):
        hparams, scores = sessions.setdefault(os.path.basename(os.path.dirname(path)), ({}, {}))
        if value.metadata.plugin_data.plugin_name == "hparams":
            data = plugin_data_pb2.HParamsPluginData.FromString(
                value.metadata.plugin_data.content)
            for name, hp in data.session_start_info.hparams.items():
                hparams[name] = (hp.number_value if hp.HasField("number_value")
                                 else hp.bool_value)
        else:
            scores[value.tag] = value.tensor.float_val[0]
    return experiment, sessions


def test_report_on_a_hyperband_project(projects, tmp_path, capsys):
    from kt_toolkit.cli import main

    project = _copy(projects, "hyperband", tmp_path)
    before = _hashes(project)
    assert main(["report", str(project)]) == 0
    assert _hashes(project) == before
    view = os.path.join(project, "kt_toolkit_report")
    with open(os.path.join(view, "config.yaml"), encoding="utf-8") as handle:
        tuner = yaml.safe_load(handle)["tuner"]
    assert tuner == {"algorithm": "hyperband", "objective": "val_loss", "direction": "min",
                     "max_epochs": 2}
    trials = _trial_jsons(project)
    rows = {row["trial_id"]: row for row in read_csv(os.path.join(view, "trials.csv"))}
    assert sorted(rows) == sorted(trials) and len(trials) == 2
    for trial_id, trial in trials.items():
        values = trial["hyperparameters"]["values"]
        # The epochs a round ran, from its budget (there is no per-epoch history).
        assert int(rows[trial_id]["epochs_run"]) == (values["tuner/epochs"]
                                                     - values["tuner/initial_epoch"])
        assert int(rows[trial_id]["best_epoch"]) == (trial["best_step"] + 1
                                                     + values["tuner/initial_epoch"])
    (knobs, metrics), sessions = _hparams(view)
    assert "tuner/epochs" in knobs and metrics[0] == "hparams/val_loss"
    assert sorted(sessions) == sorted(trials)
    for trial_id, trial in trials.items():
        hparams, scores = sessions[trial_id]
        assert hparams["tuner/epochs"] == trial["hyperparameters"]["values"]["tuner/epochs"]
        assert scores["hparams/val_loss"] == pytest.approx(trial["score"], rel=1e-5)
    report = open(os.path.join(view, "report.md"), encoding="utf-8").read()
    assert "hyperband search" in report and "no curves" in report


def test_a_project_that_cannot_be_written_gets_its_report_elsewhere(projects, tmp_path,
                                                                     monkeypatch, capsys):
    from kt_toolkit.cli import main

    project = _copy(projects, "random", tmp_path)
    # chmod would not stop root: a file where the view's folder would go does.
    (project / "kt_toolkit_report").write_text("not a folder")
    before = _hashes(project)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["report", str(project)]) == 0
    out = capsys.readouterr().out
    view = elsewhere / "random_kt_toolkit_report"
    assert f"cannot be written to: kt_toolkit's view and report are in {view}" in out
    assert (view / "report.html").is_file()
    assert _hashes(project) == before
    assert (project / "kt_toolkit_report").read_text() == "not a folder"


def test_a_folder_of_neither_kind_and_a_broken_oracle_exit_2(tmp_path, capsys):
    from kt_toolkit.cli import main

    assert main(["report", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "nor a KerasTuner project (no oracle.json)" in error and str(tmp_path) in error
    (tmp_path / "oracle.json").write_text("{not json")
    assert main(["report", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: `oracle.json` must be KerasTuner's oracle state.")
    assert "Traceback" not in error and not (tmp_path / "kt_toolkit_report").exists()


def test_a_score_that_is_no_recorded_metric_exits_2(projects, tmp_path, capsys):
    """A multi-objective (or custom) score matches no metric: said, not guessed."""
    import json

    from kt_toolkit.cli import main

    project = _copy(projects, "random", tmp_path)
    for path in glob.glob(str(project / "trial_*" / "trial.json")):
        trial = read_json(path)
        trial["score"] = sum(m["observations"][0]["value"][0]
                             for m in trial["metrics"]["metrics"].values())
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(trial, handle)
    assert main(["report", str(project)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: `score` of the project's trials must be one of their "
                            "metrics.") and "multi-objective" in error
    assert not (project / "kt_toolkit_report").exists()
