"""experiments/claims: every claim experiment loads, two run at tiny scale, and
RESULTS.md's tables are the ones its results files render (issue 15).

The full numbers are a benchmark (`experiments/claims/render.py`), not a test:
here every claim's YAML and its header's `kt-toolkit ablate` command are checked
without training, and two of them (the imbalanced binary task, E17, and the
recurrent one, E16) are ablated for real with 1 epoch, 2 seeds, 2 values.
"""

import glob
import math
import os
import shlex
import sys

import pytest

from kt_toolkit.ablation import ablate, parse_sweep, parse_values
from kt_toolkit.ablation.values import find_knob
from kt_toolkit.experiment import load_experiment

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLAIMS_DIR = os.path.join(REPO, "experiments", "claims")
sys.path.insert(0, CLAIMS_DIR)

import render  # noqa: E402

YAMLS = sorted(glob.glob(os.path.join(CLAIMS_DIR, "*.yaml")))


def _ablate_lines(path):
    with open(path, encoding="utf-8") as handle:
        return [line.lstrip("#").strip() for line in handle
                if line.startswith("#") and "kt-toolkit ablate" in line]


def _arguments(line):
    words = shlex.split(line)
    words = words[words.index("ablate") + 1:]
    flags = dict(zip(words[1::2], words[2::2]))
    return words[0], flags


@pytest.mark.parametrize("path", YAMLS, ids=os.path.basename)
def test_every_claim_experiment_and_its_ablate_command_are_valid(path):
    config = load_experiment(path)
    lines = _ablate_lines(path)
    assert lines, f"{path} names no `kt-toolkit ablate` command in its header"
    for line in lines:
        source, flags = _arguments(line)
        assert os.path.join(REPO, source) == path
        knob = find_knob(config.model.builder, flags["--knob"])
        if "--sweep" in flags:
            values, _ = parse_sweep(knob, flags["--sweep"])
        else:
            values = parse_values(knob, flags["--values"])
        assert len(values) >= 2 and int(flags["--seeds"]) >= 3
        assert config.model.space[knob.name].get("fixed") is not None  # the base is fixed


def test_every_claim_has_its_command_and_a_section_in_results_md():
    files = {os.path.basename(path) for path in YAMLS}
    assert {entry[0] for entry in render.CLAIMS.values()} == files
    with open(render.RESULTS_MD, encoding="utf-8") as handle:
        sections = render.sections_in(handle.read())
    assert set(sections) == set(render.CLAIMS) | {"d1_proxy"}
    for name in render.CLAIMS:
        assert f"--knob {render.CLAIMS[name][1]} " in render.command(name)


def test_results_md_tables_are_the_ones_the_results_files_render():
    with open(render.RESULTS_MD, encoding="utf-8") as handle:
        text = handle.read()
    stale = render.stale_sections(text)
    assert not stale, (f"RESULTS.md tables differ from experiments/claims/results: {stale}; "
                       "rerun `python experiments/claims/render.py`")
    for name in os.listdir(render.RESULTS_DIR):
        if name.endswith(".json"):
            assert name[:-5] in render.sections_in(text), f"results/{name} has no section"


def test_a_changed_number_in_results_md_is_drift():
    with open(render.RESULTS_MD, encoding="utf-8") as handle:
        text = handle.read()
    rendered = [n for n in render.sections_in(text) if os.path.isfile(render.results_path(n))]
    assert rendered, "no claim has a results file yet"
    body = render.sections_in(text)[rendered[0]]
    at = body.index("| 3 |")  # the first table row's run count
    changed = text.replace(body, body[:at] + "| 4 |" + body[at + 5:])
    assert rendered[0] in render.stale_sections(changed)


def test_epochs_to_is_the_first_epoch_at_the_threshold():
    assert render.epochs_to([0.5, 0.89, 0.9, 0.95], 0.9) == 3
    assert render.epochs_to([0.5, math.nan, 0.8], 0.9) is None
    assert render.epochs_to([0.9, 0.3], 0.5, direction="min") == 2


def _tiny(name, tmp_path, values, extra=()):
    yaml_file, knob = render.CLAIMS[name][:2]
    overrides = ["training.epochs=1", f"output.directory={tmp_path}", *extra]
    result = ablate(os.path.join(CLAIMS_DIR, yaml_file), knob=knob, values=values, seeds=2,
                    overrides=overrides, report=False)
    assert result.trained == 4
    return result, overrides


def test_the_imbalance_claim_runs_at_tiny_scale_and_renders(tmp_path, monkeypatch):
    result, overrides = _tiny("e17_class_balance", tmp_path, ["none", "oversample"])
    assert {row["status"] for row in result.rows} == {"completed"}
    monkeypatch.setattr(render, "RESULTS_DIR", str(tmp_path / "results"))
    render.collect("e17_class_balance", overrides=overrides)
    assert os.path.isfile(tmp_path / "results" / "e17_class_balance.png")
    text = render.render("e17_class_balance")
    assert "| val_pr_auc mean ± 95 % |" in text and "| val_recall at best |" in text
    rows = [line for line in text.splitlines() if line.startswith(("| none ", "| oversample "))]
    assert len(rows) == 2 and all("n/a" not in row for row in rows)
    data = render.load("e17_class_balance")["data"]
    assert all(0.0 <= v <= 1.0 for row in data["rows"] for v in row["curves"]["val_recall"])


def test_the_recurrent_claim_runs_at_tiny_scale(tmp_path):
    result, _ = _tiny("e16_cell", tmp_path, ["simple_rnn", "gru"], ["data.subsample=150"])
    assert {row["status"] for row in result.rows} == {"completed"}
    assert result.table.best is not None
