"""The report of a real run: report.md, a self-contained report.html, A4 curves."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from kt_toolkit.analysis.next_steps import next_steps
from kt_toolkit.analysis.search import BoundaryWarning
from kt_toolkit.analysis.verdicts import Verdict

# lr=1e4 with SGD diverges on TensorFlow: one FAILED trial among three.
SPACE = {"num_layers": 1, "units": [16, 32], "optimizer": "sgd", "momentum": 0.9,
         "nesterov": False, "learning_rate": [3.0e-2, 1.0e4],
         "batch_norm": False, "regularizer": "none", "dropout": 0.0, "activation": "relu",
         "kernel_initializer": "glorot_uniform", "lr_schedule": "constant"}


@pytest.fixture(scope="module")
def reported_run(tmp_path_factory, config_in):
    from kt_toolkit.experiment import run_experiment

    folder = tmp_path_factory.mktemp("report")
    config = config_in(folder, model={"space": SPACE},
                       tuner={"algorithm": "grid", "max_trials": 3},
                       training={"epochs": 3}, output={"report": True})
    return run_experiment(config)


def test_tune_writes_the_report_at_the_end(reported_run):
    report = reported_run.report
    assert report is not None and report.best_trial_id == reported_run.best_trial_id
    statuses = sorted(row["status"] for row in reported_run.trials)
    import keras

    if keras.backend.backend() == "tensorflow":  # JAX and torch saturate instead of NaN
        assert statuses == ["COMPLETED", "COMPLETED", "FAILED"]
    markdown = open(report.markdown, encoding="utf-8").read()
    headings = re.findall(r"^## (.+)$", markdown, flags=re.M)
    # It opens with the best trial, its verdict and the next steps.
    assert headings[:2] == ["Best trial", "Next steps"]
    best = markdown.split("## Best trial", 1)[1].split("## Next steps", 1)[0]
    assert f"Trial {reported_run.best_trial_id}: val_accuracy = " in best
    assert "Verdict: **" in best
    steps = re.findall(r"^\d\. (.+)$", markdown.split("## Next steps", 1)[1], flags=re.M)
    assert 1 <= len(steps) <= 3 and steps == [s.strip() for s in report.next_steps]
    for section in ("Best trials", "Verdicts per trial (B3–B5)", "Boundary check (C3)",
                    "Optimization history", "Hyperparameter importance",
                    "Objective against each hyperparameter", "Parallel coordinates",
                    "Learning curves (B1)"):
        assert section in headings
    for row in reported_run.trials:  # every trial in the verdict table
        assert re.search(rf"^\| {row['trial_id']} \| {row['status']} \|", markdown, flags=re.M)


def test_markdown_links_existing_images_and_html_embeds_them(reported_run):
    run_dir = reported_run.run_dir
    markdown = open(os.path.join(run_dir, "report.md"), encoding="utf-8").read()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert len(links) >= 4 + 3  # four study figures, one curve per trial
    for link in links:
        assert os.path.isfile(os.path.join(run_dir, link.replace("%20", " ")))
    html = open(os.path.join(run_dir, "report.html"), encoding="utf-8").read()
    sources = re.findall(r'src="([^"]*)"', html)
    assert sources and all(src.startswith("data:image/png;base64,") for src in sources)
    assert "href=" not in html and "<link" not in html  # nothing outside the file
    assert len(sources) == len(set(links)) + 1  # + the best trial's curves at the top


def test_one_curve_png_per_trial_named_after_settings_and_score(reported_run):
    names = sorted(os.listdir(os.path.join(reported_run.run_dir, "curves")))
    assert len(names) == len(reported_run.trials)
    for row in reported_run.trials:
        (name,) = [n for n in names if n.split("_", 1)[0].lstrip("0") == row["trial_id"].lstrip("0")
                   or n.split("_", 1)[0] == row["trial_id"].zfill(4)]
        units = row["units"]
        assert f"units={units}" in name
        if row["status"] == "COMPLETED":
            assert name.endswith(f"val_accuracy={float(row['objective']):.3f}.png")
        else:
            assert "FAILED" in name


def test_report_command_works_without_tensorflow_and_on_a_killed_run(reported_run, tmp_path):
    run_dir = str(tmp_path / "killed")
    shutil.copytree(reported_run.run_dir, run_dir)
    for name in ("report.md", "report.html"):
        os.remove(os.path.join(run_dir, name))
    shutil.rmtree(os.path.join(run_dir, "curves"))
    # A run killed mid-trial: that trial is RUNNING on disk, with no meta.json.
    best = reported_run.best_trial_id
    trial_json = os.path.join(run_dir, "tuner", f"trial_{best}", "trial.json")
    record = json.load(open(trial_json))
    record.update(status="RUNNING", score=None)
    json.dump(record, open(trial_json, "w"))
    os.remove(os.path.join(run_dir, "trials", best, "meta.json"))
    code = ("import sys; from kt_toolkit.cli import main; rc = main(['report', %r]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'keras', 'keras_tuner'))); sys.exit(rc)" % run_dir)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert "Next steps:" in done.stdout
    markdown = open(os.path.join(run_dir, "report.md"), encoding="utf-8").read()
    assert "1 running" in markdown
    assert re.search(rf"^\| {best} \| RUNNING \|", markdown, flags=re.M)


def test_report_command_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    from kt_toolkit.cli import main

    assert main(["report", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "not a run directory" in error and str(tmp_path) in error



def _hand_made_run(folder):
    """A run directory of two finished trials, written by hand: no training."""
    space = [{"class_name": "Float", "config": {"name": "learning_rate", "conditions": []}}]
    with open(os.path.join(folder, "config.yaml"), "w") as handle:
        json.dump({"tuner": {"algorithm": "random", "objective": "val_accuracy",
                             "direction": "max"}}, handle)  # JSON is YAML
    for trial_id, score in (("0", 0.8), ("1", 0.9)):
        trial = os.path.join(folder, "tuner", f"trial_{trial_id}")
        os.makedirs(trial)
        with open(os.path.join(trial, "trial.json"), "w") as handle:
            json.dump({"trial_id": trial_id, "status": "COMPLETED", "score": score,
                       "best_step": 5, "hyperparameters": {"space": space, "values": {
                           "learning_rate": 0.01 * (int(trial_id) + 1)}}}, handle)
        os.makedirs(os.path.join(folder, "trials", trial_id))
        with open(os.path.join(folder, "trials", trial_id, "history.csv"), "w") as handle:
            handle.write("execution,epoch,loss,val_loss,accuracy,val_accuracy\n")
            for epoch in range(1, 7):  # train well ahead of validation: advice with IDs
                handle.write(f"0,{epoch},{1 / epoch},{0.9 + epoch / 10},"
                             f"{min(1.0, 0.5 + epoch / 10)},{score * epoch / 6}\n")
    return str(folder)


def test_the_report_and_the_report_command_say_where_practice_ids_are_explained(
        tmp_path, capsys):
    from kt_toolkit.cli import main
    from kt_toolkit.config.practices import PRACTICES_LEGEND

    run_dir = _hand_made_run(tmp_path)
    assert main(["report", run_dir]) == 0
    out = capsys.readouterr().out
    assert out.count(PRACTICES_LEGEND) == 1  # one line per command, not per step
    assert out.index("Next steps:") < out.index(PRACTICES_LEGEND) < out.index("Report:")
    markdown = open(os.path.join(run_dir, "report.md"), encoding="utf-8").read()
    html = open(os.path.join(run_dir, "report.html"), encoding="utf-8").read()
    assert re.search(r"\([A-F][0-9]{1,2}\b", markdown)  # the report does cite IDs
    for text in (markdown, html):
        assert text.count("docs/practices.md") == 1
        assert text.index("docs/practices.md") < text.index("Next steps")


# next_steps on hand-made inputs ------------------------------------------------------

def _study(rows, **domains):
    from kt_toolkit.rundir.study import Domain, Study

    space = {"learning_rate": Domain("learning_rate", "float", min=1e-4, max=1e-1,
                                     sampling="log"), **domains}
    return Study(run_dir="/nowhere", objective="val_accuracy", direction="max",
                 task="multiclass", config={"training": {"epochs": 20}}, domains=space,
                 rows=rows)


def _row(trial_id, objective, status="COMPLETED", reason=None):
    return {"trial_id": trial_id, "status": status, "objective": objective,
            "learning_rate": 0.01, "reason": reason}


def _verdict(kind, summary="numbers", advice="Advice (B3)."):
    return Verdict(kind=kind, summary=summary, advice=advice, practices=("B3",), evidence={})


def test_next_steps_put_the_best_trials_verdict_then_the_boundary_first():
    study = _study([_row("0", 0.9), _row("1", 0.5)])
    warning = BoundaryWarning(knob="learning_rate", edge="upper", domain_min=1e-4,
                              domain_max=0.1, sampling="log", best_values=(0.09,),
                              suggested_min=1e-4, suggested_max=1.0,
                              message="learning_rate: 3 of the top 3 trials are at the upper "
                                      "edge of [0.0001, 0.1]: widen to [0.0001, 1].")
    steps = next_steps(study, {"0": [_verdict("overfitting", "gap 0.2")],
                               "1": [_verdict("underfitting")]}, [warning])
    assert len(steps) == 3
    assert steps[0].startswith("The best trial (0) is **overfitting**: gap 0.2")
    assert "widen to [0.0001, 1]" in steps[1] and "(C3)" in steps[1]
    assert steps[2].startswith("Coarse to fine")


def test_next_steps_without_a_completed_trial_name_the_failure():
    study = _study([_row(str(i), None, "FAILED", "loss became nan/inf at epoch 1")
                    for i in range(3)])
    steps = next_steps(study, {str(i): [_verdict("diverged")] for i in range(3)}, [])
    assert steps[0].startswith("No trial completed (3 failed)")
    assert "loss became nan/inf at epoch 1" in steps[0] and "(C4, C6)" in steps[0]
    assert "3 of 3 trials diverged" in steps[1] and "0.0001 to 0.1" in steps[1]
    assert not any("best trial" in step for step in steps)  # there is none
    running = _study([_row("0", None, "RUNNING")])
    assert next_steps(running, {}, []) == [
        "No trial has finished yet (1 running): rerun `kt-toolkit report` when some have, "
        "or resume the search with the same `kt-toolkit tune` command."]


def test_next_steps_do_not_repeat_what_the_best_trial_already_says():
    study = _study([_row(str(i), 0.9 - i / 10) for i in range(4)])
    improving = {str(i): [_verdict("not_converged")] for i in range(4)}
    steps = next_steps(study, improving, [])
    assert sum("still improving" in s or "not converged" in s for s in steps) == 1
    other = {**improving, "0": [_verdict("good_fit")]}
    steps = next_steps(study, other, [])
    assert "3 of 4 completed trials were still improving" in steps[0]
    assert "`training.epochs` (now 20)" in steps[0]


def test_next_steps_drop_a_choice_every_trial_of_which_failed_to_learn():
    from kt_toolkit.rundir.study import Domain

    init = Domain("kernel_initializer", "choice", values=("glorot_uniform", "zeros"))
    rows = [dict(_row(str(i), 0.9 - i / 100), kernel_initializer="glorot_uniform",
                 learning_rate=10.0 ** -i) for i in range(3)]
    rows += [dict(_row(str(i), 0.1), kernel_initializer="zeros", learning_rate=10.0 ** -i)
             for i in range(3, 6)]
    verdicts = {str(i): [_verdict("good_fit")] for i in range(3)}
    verdicts.update({str(i): [_verdict("underfitting")] for i in range(3, 6)})
    steps = next_steps(_study(rows, kernel_initializer=init), verdicts, [], count=5)
    assert any("`kernel_initializer: zeros` (3 configurations)" in s for s in steps)
    # A Hyperband continuation of the same configuration is not a second witness.
    repeated = rows[:5] + [dict(rows[4], trial_id="5")]
    steps = next_steps(_study(repeated, kernel_initializer=init), verdicts, [], count=5)
    assert not any("zeros" in s for s in steps)
    verdicts["5"] = [_verdict("good_fit")]  # one good trial with zeros: keep the choice
    steps = next_steps(_study(rows, kernel_initializer=init), verdicts, [], count=5)
    assert not any("zeros" in s for s in steps)


def test_next_steps_say_when_the_top_trials_are_within_noise():
    study = _study([_row("0", 0.9722), _row("1", 0.9694), _row("2", 0.9694)])
    study.record = {"validation_samples": 360}
    steps = next_steps(study, {}, [], count=5)
    assert any("within 0.0028 val_accuracy (≤ 2 of 360 validation samples)" in s
               for s in steps)
    study.record = {"validation_samples": 100}
    assert any("within" in s for s in next_steps(study, {}, [], count=5))
    study.rows[0]["objective"] = 0.99
    assert not any("ranking among them is noise" in s
                   for s in next_steps(study, {}, [], count=5))


def test_report_command_explains_an_unreadable_config_and_a_read_only_run(reported_run,
                                                                         tmp_path, capsys):
    from kt_toolkit.cli import main

    broken = tmp_path / "broken"
    shutil.copytree(reported_run.run_dir, broken)
    (broken / "config.yaml").write_text("tuner: [unclosed\n")
    assert main(["report", str(broken)]) == 2
    error = capsys.readouterr().err
    assert "cannot be read as a kt_toolkit run config" in error and "Traceback" not in error

    # A folder the report cannot write into (a file where `curves/` should be;
    # chmod would not stop root).
    blocked = tmp_path / "blocked"
    shutil.copytree(reported_run.run_dir, blocked)
    shutil.rmtree(blocked / "curves")
    (blocked / "curves").write_text("not a folder")
    assert main(["report", str(blocked)]) == 2
    error = capsys.readouterr().err
    assert "cannot write the report" in error and "Traceback" not in error


def test_report_adds_the_hparams_records_a_killed_run_missed(reported_run, tmp_path):
    import glob

    run_dir = tmp_path / "killed"
    shutil.copytree(reported_run.run_dir, run_dir)
    sessions = glob.glob(str(run_dir / "tensorboard" / "*" / "*.session"))
    os.remove(sessions[0])
    from kt_toolkit.experiment import write_run_report  # `kt-toolkit report`'s function

    write_run_report(str(run_dir))
    assert len(glob.glob(str(run_dir / "tensorboard" / "*" / "*.session"))) == len(sessions)


# Figures drawn once ------------------------------------------------------------------

def _stamps(folder):
    """Each file's (inode, mtime): a figure drawn again is a new file."""
    return {name: (os.stat(os.path.join(folder, name)).st_ino,
                   os.stat(os.path.join(folder, name)).st_mtime_ns)
            for name in os.listdir(folder)}


def test_a_second_report_draws_nothing_again_and_a_changed_trial_only_its_curves(
        reported_run, tmp_path):
    from kt_toolkit._io import read_csv, write_csv
    from kt_toolkit.analysis import write_report

    run_dir = tmp_path / "run"
    shutil.copytree(reported_run.run_dir, run_dir)
    curves, figures = _stamps(run_dir / "curves"), _stamps(run_dir / "report")
    markdown = (run_dir / "report.md").read_text()
    write_report(str(run_dir))
    assert _stamps(run_dir / "curves") == curves
    assert {k: v for k, v in _stamps(run_dir / "report").items() if k.endswith(".png")} == \
        {k: v for k, v in figures.items() if k.endswith(".png")}
    lines = (run_dir / "report.md").read_text().splitlines()[1:]  # after the run's name
    assert [re.sub(r"written [0-9: -]+", "", line) for line in lines] == [
        re.sub(r"written [0-9: -]+", "", line).replace(reported_run.run_dir, str(run_dir))
        for line in markdown.splitlines()[1:]]

    # One trial's history changes (a rerun): its figure alone is drawn again.
    trial = next(r["trial_id"] for r in reported_run.trials if r["status"] == "COMPLETED")
    path = run_dir / "trials" / trial / "history.csv"
    rows = read_csv(path)
    rows[0]["learning_rate"] = "0.5"
    write_csv(path, rows, list(rows[0]))
    write_report(str(run_dir))
    after = _stamps(run_dir / "curves")
    redrawn = sorted(name for name in after if after[name] != curves.get(name))
    assert [name.split("_", 1)[0] for name in redrawn] == [trial.zfill(4)]


def test_the_background_drawer_draws_the_curves_the_report_then_reuses(reported_run,
                                                                      tmp_path):
    from kt_toolkit.analysis import write_report
    from kt_toolkit.analysis.curve_drawer import CurveDrawer

    run_dir = tmp_path / "run"
    shutil.copytree(reported_run.run_dir, run_dir)
    shutil.rmtree(run_dir / "curves")
    shutil.rmtree(run_dir / "report")
    with CurveDrawer(run_dir, timeout=120) as drawer:
        for row in reported_run.trials:  # as the search tells it, once per ended trial
            drawer.notify(row["trial_id"])
    assert drawer.process is None  # closed: it drew, then ended
    curves = _stamps(run_dir / "curves")
    assert len(curves) == len(reported_run.trials)
    report = write_report(str(run_dir))
    assert _stamps(run_dir / "curves") == curves
    assert sorted(os.path.basename(p) for p in report.curves.values()) == sorted(curves)
