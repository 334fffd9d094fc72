"""`kt-toolkit show`: a run's trials as a text table (hand-made studies, then a real run)."""

import pytest

from kt_toolkit.analysis.trials_text import trials_text
from kt_toolkit.errors import ConfigError
from kt_toolkit.rundir.study import Domain, Study

DOMAINS = {"units": Domain("units", "choice", values=(32, 64)),
           "learning_rate": Domain("learning_rate", "float", min=1e-4, max=0.1,
                                   sampling="log"),
           "batch_size": Domain("batch_size", "fixed", values=(64,))}


def _study(trials, direction="max"):
    rows = []
    for number, (status, objective, units, lr, seconds, reason) in enumerate(trials):
        rows.append({"trial_id": f"{number:02d}", "status": status, "objective": objective,
                     "units": units, "learning_rate": lr, "batch_size": 64,
                     "best_epoch": 2, "epochs_run": 3, "seconds": seconds, "reason": reason})
    return Study(run_dir="runs/demo", objective="val_accuracy" if direction == "max"
                 else "val_mse", direction=direction, task=None, config={},
                 domains=DOMAINS, rows=rows)


TRIALS = [("COMPLETED", 0.80, 32, 1e-3, 4.0, None),
          ("COMPLETED", 0.95, 64, 3e-3, 9.0, None),
          ("FAILED", None, 64, 0.1, 1.0, "NaN loss at epoch 2"),
          ("PRUNED", 0.30, 32, 1e-4, 2.0, "pruned at epoch 1: at chance"),
          ("COMPLETED", 0.90, 32, 1e-2, 5.0, None)]


def _trial_column(text):
    """The trial ids of the table's rows, top to bottom (ids are 2 digits, ranks 1)."""
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("----")) + 1
    rows = []
    for line in lines[first:]:
        if not line.strip():
            break
        tokens = line.split()
        rows.append(tokens[0] if len(tokens[0]) == 2 else tokens[1])
    return rows


def test_best_first_with_only_the_knobs_that_differ():
    text = trials_text(_study(TRIALS))
    header = next(line for line in text.splitlines() if line.startswith("rank"))
    assert header.split()[:4] == ["rank", "trial", "status", "val_accuracy"]
    assert "units" in header and "learning_rate" in header
    assert "batch_size" not in header  # fixed: not a tuned knob at all
    assert _trial_column(text) == ["01", "04", "00"]  # 0.95, 0.90, 0.80
    assert "2 pruned, failed or running trials not shown (--all lists them)." in text
    assert "5 trials (3 completed, 1 failed, 1 pruned)" in text


def test_minimizing_objective_ranks_lowest_first():
    trials = [("COMPLETED", 0.5, 32, 1e-3, 1.0, None), ("COMPLETED", 0.2, 64, 1e-3, 1.0, None)]
    assert _trial_column(trials_text(_study(trials, "min"))) == ["01", "00"]


def test_top_and_the_knobs_equal_in_every_row_shown():
    text = trials_text(_study(TRIALS), top=1)
    assert _trial_column(text) == ["01"]
    header = next(line for line in text.splitlines() if line.startswith("rank"))
    assert "units" not in header  # one row: nothing differs
    assert "Same in every row shown: units=64, learning_rate=0.0030" in text
    assert "2 more not shown (--top 3 shows them)." in text


def test_all_lists_the_others_after_the_completed_with_their_reasons():
    text = trials_text(_study(TRIALS), every_status=True)
    assert _trial_column(text) == ["01", "04", "00", "03", "02"]  # pruned before failed
    assert "trial 02: NaN loss at epoch 2" in text
    assert "trial 03: pruned at epoch 1: at chance" in text


@pytest.mark.parametrize("sort,expected", [("trial", ["00", "01", "04"]),
                                           ("seconds", ["00", "04", "01"]),
                                           ("learning_rate", ["00", "01", "04"]),
                                           ("objective", ["01", "04", "00"])])
def test_sort(sort, expected):
    assert _trial_column(trials_text(_study(TRIALS), sort=sort)) == expected


@pytest.mark.parametrize("kwargs,key,fragment", [
    ({"sort": "learning_rat"}, "--sort", "Did you mean `learning_rate`?"),
    ({"sort": "batch_size"}, "--sort", "one of rank, trial"),
    ({"top": 0}, "--top", "an integer >= 1")])
def test_bad_arguments_name_the_flag(kwargs, key, fragment):
    with pytest.raises(ConfigError) as info:
        trials_text(_study(TRIALS), **kwargs)
    assert key in str(info.value) and fragment in str(info.value)
