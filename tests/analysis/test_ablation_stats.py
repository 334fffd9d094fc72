"""The ablation table's numbers on a hand-made results.csv, checked against sums done here."""

import json
import math
import os

import pytest
from scipy import stats

from kt_toolkit.analysis.ablation import ablation_table, format_p, welch_test
from kt_toolkit.rundir.ablations import RESULT_COLUMNS, AblationStore

SEEDS = [1, 2, 3]


def _store(tmp_path, rows, *, values, objective="val_accuracy", direction="max"):
    store = AblationStore(str(tmp_path), "kernel_initializer")
    os.makedirs(store.path)
    store.write_record({"knob": "kernel_initializer", "values": values, "seeds": SEEDS,
                        "objective": objective, "direction": direction})
    for value, seed, score, status in rows:
        store.append_result({"value": value, "seed": seed, "score": score, "best_epoch": 2,
                             "epochs": 2, "seconds": 1.5, "status": status, "reason": ""})
    return store


def _mean_sd(xs):
    mean = sum(xs) / len(xs)
    return mean, math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1))


def _welch_by_hand(a, b):
    """Welch's t, its Satterthwaite df and two-sided p, from the textbook formulas."""
    (ma, sa), (mb, sb) = _mean_sd(a), _mean_sd(b)
    ua, ub = sa ** 2 / len(a), sb ** 2 / len(b)
    t = (ma - mb) / math.sqrt(ua + ub)
    df = (ua + ub) ** 2 / (ua ** 2 / (len(a) - 1) + ub ** 2 / (len(b) - 1))
    return ma - mb, math.sqrt(ua + ub), df, 2 * stats.t.sf(abs(t), df)


def test_means_intervals_p_values_and_verdicts(tmp_path):
    glorot, uniform, zeros = [0.95, 0.97, 0.96], [0.93, 0.96, 0.94], [0.10, 0.12, 0.11]
    rows = [(v, s, x, "completed") for v, xs in (("glorot_uniform", glorot),
                                                ("random_uniform", uniform), ("zeros", zeros))
            for s, x in zip(SEEDS, xs)]
    rows.append(("zeros", 99, 0.9, "completed"))  # a seed not asked for: left out
    store = _store(tmp_path, rows, values=["glorot_uniform", "random_uniform", "zeros"])
    table = ablation_table(store)
    by_value = {s.value: s for s in table.summaries}
    mean, sd = _mean_sd(glorot)
    best = by_value["glorot_uniform"]
    assert best.verdict == "best" and best.mean == pytest.approx(0.96)
    assert best.half_width == pytest.approx(stats.t.ppf(0.975, 2) * sd / math.sqrt(3))
    for value, scores, verdict in (("zeros", zeros, "worse"),
                                   ("random_uniform", uniform, "no clear difference")):
        diff, se, df, p_value = _welch_by_hand(scores, glorot)
        row = by_value[value]
        assert row.runs == 3 and row.failures == 0
        assert row.difference == pytest.approx(diff)
        assert row.p_value == pytest.approx(p_value, rel=1e-9)
        assert row.difference_half_width == pytest.approx(stats.t.ppf(0.975, df) * se)
        assert row.verdict == verdict
    assert by_value["zeros"].p_value < 0.001
    assert 0.05 < by_value["random_uniform"].p_value < 0.5  # a p-value that decides nothing
    lines = table.verdicts()
    assert lines[1].startswith("zeros: −0.850 ± ") and lines[1].endswith(
        "vs glorot_uniform, p < 0.001: worse")
    assert "random_uniform: −0.017" in lines[0] and lines[0].endswith(": no clear difference")
    text = table.text()
    assert "0.960 ± " in text and "zeros" in text and "p < 0.001" in text
    markdown = table.markdown()
    assert "| zeros | 3 | 0 | 0.110 ± " in markdown and "| < 0.001 | worse |" in markdown


def test_failed_runs_count_as_the_worst_score_not_as_missing(tmp_path):
    rows = [("glorot_uniform", s, 0.9 + s / 100, "completed") for s in SEEDS]
    rows += [("zeros", 1, 0.5, "completed"), ("zeros", 2, 0.52, "diverged"),
             ("zeros", 3, "", "failed")]
    table = ablation_table(_store(tmp_path, rows, values=["glorot_uniform", "zeros"]))
    zeros = table.summaries[1]
    assert zeros.runs == 3 and zeros.failures == 2
    assert zeros.scores == [0.5, 0.0, 0.0]  # accuracy's worst is 0
    assert zeros.mean == pytest.approx(0.5 / 3)
    assert "(2 of 3 runs failed)" in table.verdicts()[0]


def test_a_loss_objective_ranks_failures_apart(tmp_path):
    """val_loss has no worst number: failures stay out of the mean, and rank the value last."""
    rows = [("a", s, 0.5 + s / 100, "completed") for s in SEEDS]
    rows += [("b", 1, 0.1, "completed"), ("b", 2, 0.12, "completed"), ("b", 3, "", "failed")]
    table = ablation_table(_store(tmp_path, rows, values=["a", "b"], objective="val_loss",
                                  direction="min"))
    a, b = table.summaries
    assert a.verdict == "best"  # b has the lower mean, but one of its runs failed
    assert b.scores == [0.1, 0.12] and b.failures == 1
    assert b.mean == pytest.approx(0.11)
    assert b.verdict == "better" and b.p_value < 0.05  # and it says so


def test_welch_without_spread_and_p_formatting():
    assert welch_test([0.1, 0.1], [0.1, 0.1])[2] == 1.0
    assert welch_test([0.1, 0.1], [0.9, 0.9])[2] == 0.0
    assert math.isnan(welch_test([0.1], [0.2, 0.3])[2])
    assert format_p(0.0004) == "p < 0.001" and format_p(0.0345) == "p = 0.035"
    assert format_p(0.52) == "p = 0.52"


def test_the_report_lists_the_ablation(tmp_path):
    from kt_toolkit.analysis.ablation import add_ablation_sections, draw_ablation
    from kt_toolkit.analysis.document import Document

    rows = [(v, s, x + s / 100, "completed") for v, x in (("relu", 0.9), ("tanh", 0.8))
            for s in SEEDS]
    store = _store(tmp_path, rows, values=["relu", "tanh"])
    record = store.record()
    store.write_record(dict(record, source="the space's first values"))
    for value, seed, *_ in rows:  # a two-epoch history per run, for the curves
        path = store.history_path(value, seed)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write("execution,epoch,val_accuracy\n0,1,0.5\n0,2,0.7\n")
    assert os.path.getsize(draw_ablation(store)) > 1000
    doc = Document(str(tmp_path))
    add_ablation_sections(doc, str(tmp_path))
    markdown = doc.markdown()
    assert "## Ablations" in markdown and "### `kernel_initializer`" in markdown
    assert "| tanh | 3 | 0 | 0.820 ± " in markdown and "p < 0.001: worse" in markdown
    assert "figure.png" in markdown
    empty = Document(str(tmp_path / "none"))
    add_ablation_sections(empty, str(tmp_path / "none"))
    assert empty.markdown().strip() == ""
    assert json.load(open(os.path.join(store.path, "ablation.json")))["knob"] == (
        "kernel_initializer")
    assert RESULT_COLUMNS[:6] == ("value", "seed", "score", "best_epoch", "epochs", "seconds")


def test_a_numeric_knob_is_drawn_as_score_against_value_with_failures_marked(tmp_path):
    from matplotlib.image import imread

    from kt_toolkit.analysis.ablation import draw_ablation

    rows = [(v, s, x + s / 100, "completed") for v, x in (("0.001", 0.9), ("0.01", 0.85))
            for s in SEEDS] + [("10", s, "", "diverged") for s in SEEDS]
    store = _store(tmp_path, rows, values=["0.001", "0.01", "10"])
    categorical = imread(draw_ablation(store)).shape
    store.write_record(dict(store.record(), numeric=True, scale="log"))
    numeric = imread(draw_ablation(store)).shape
    assert numeric[1] > categorical[1]  # a second panel: score against value
    table = ablation_table(store)
    assert [s.failures for s in table.summaries] == [0, 0, 3]
    assert table.summaries[2].scores == [0.0, 0.0, 0.0]
