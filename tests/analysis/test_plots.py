"""The figures of `kt_toolkit.analysis.plots` on a hand-made run (no training).

Each test checks the written PNG and, through `drawn`, what the figure showed
when it was saved: lines, scales, labels and texts.
"""

import gc
import math
import os
import re
import struct
import types

import pytest

from kt_toolkit.analysis import plots
from kt_toolkit.rundir.study import Domain, Study
from kt_toolkit.errors import ConfigError

DOMAINS = {
    "num_layers": Domain("num_layers", "int", min=1, max=3),
    "units": Domain("units", "choice", values=(32, 64, 128)),
    "dropout": Domain("dropout", "float", min=0.0, max=0.6, step=0.1),
    "kernel_initializer": Domain("kernel_initializer", "choice",
                                 values=("glorot_uniform", "he_normal", "random_uniform")),
    "optimizer": Domain("optimizer", "choice", values=("adam", "sgd")),
    "learning_rate": Domain("learning_rate", "float", min=1e-4, max=1e-1, sampling="log"),
    "momentum": Domain("momentum", "float", min=0.0, max=0.99),  # only with sgd
    "batch_norm": Domain("batch_norm", "choice", values=(False, True)),
    "batch_size": Domain("batch_size", "fixed", values=(64,)),
}
COLUMNS = ("execution", "epoch", "loss", "val_loss", "accuracy", "val_accuracy",
           "learning_rate")


def _row(trial_id, objective=0.9, *, status="COMPLETED", best_epoch=3, epochs=3, **knobs):
    row = {"trial_id": trial_id, "status": status, "num_layers": 2, "units": 64,
           "dropout": 0.5, "kernel_initializer": "he_normal", "optimizer": "adam",
           "learning_rate": 0.003, "momentum": None, "batch_norm": False, "batch_size": 64,
           "tuner/epochs": 3}
    row.update(knobs)
    failed = status != "COMPLETED"
    row.update({"objective": None if failed else objective,
                "best_epoch": None if failed else best_epoch, "epochs_run": epochs,
                "seconds": 2.0, "reason": "loss became nan at epoch 1" if failed else None})
    return row


def _curve(epochs, *, execution=0, shift=0.0):
    return [{"execution": execution, "epoch": e, "loss": 2.0 / e + shift,
             "val_loss": 2.2 / e + 0.05 * e + shift, "accuracy": 1 - 0.5 / e,
             "val_accuracy": 0.95 - 0.5 / e - shift, "learning_rate": 1e-3 * 0.1 ** (e // 3)}
            for e in range(1, epochs + 1)]


def _study(run_dir, rows, histories=None, *, domains=None, objective="val_accuracy",
           direction="max"):
    for trial_id, history in (histories or {}).items():
        folder = os.path.join(run_dir, "trials", trial_id)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "history.csv"), "w", encoding="utf-8") as handle:
            handle.write(",".join(COLUMNS) + "\n")
            for entry in history:
                handle.write(",".join(str(entry.get(c, "")) for c in COLUMNS) + "\n")
    return Study(run_dir=str(run_dir), objective=objective, direction=direction,
                 task="multiclass", config={}, domains=DOMAINS if domains is None else domains,
                 rows=rows)


@pytest.fixture
def study(tmp_path):
    rows = [_row("00", 0.91), _row("01", 0.97, learning_rate=0.0456, units=128),
            _row("02", 0.42, optimizer="sgd", momentum=0.9, learning_rate=0.08),
            _row("03", status="FAILED", optimizer="sgd", momentum=0.5, learning_rate=0.1),
            _row("04", 0.95, num_layers=1, dropout=0.0, batch_norm=True)]
    histories = {"00": _curve(3), "01": _curve(3) + _curve(3, execution=1, shift=0.02),
                 "02": _curve(1), "04": _curve(8)}
    return _study(tmp_path / "run", rows, histories)


@pytest.fixture
def drawn(monkeypatch):
    """What each figure showed at `savefig`, before `plots` clears it."""
    from matplotlib.figure import Figure

    records, savefig = [], Figure.savefig

    def recording_savefig(figure, *args, **kwargs):
        records.append(_describe(figure))
        return savefig(figure, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", recording_savefig)
    return records


def _describe(figure):
    from matplotlib.text import Text

    texts = [t.get_text() for t in figure.findobj(Text) if t.get_visible() and t.get_text()]
    axes = [types.SimpleNamespace(
        title=ax.get_title(), xscale=ax.get_xscale(), yscale=ax.get_yscale(),
        xlabel=ax.get_xlabel(), ylabel=ax.get_ylabel(),
        xticklabels=[t.get_text() for t in ax.get_xticklabels()],
        yticklabels=[t.get_text() for t in ax.get_yticklabels()],
        lines=[types.SimpleNamespace(x=list(line.get_xdata()), y=list(line.get_ydata()),
                                     marker=line.get_marker(), color=line.get_color(),
                                     alpha=line.get_alpha(), width=line.get_linewidth())
               for line in ax.get_lines()],
        containers=list(ax.containers)) for ax in figure.axes if ax.get_visible()]
    return types.SimpleNamespace(texts="\n".join(texts), axes=axes)


def _assert_png(path, *, min_kb=8):
    with open(path, "rb") as handle:
        data = handle.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > min_kb * 1024
    width, height = struct.unpack(">II", data[16:24])
    assert 400 <= width <= 2600 and 100 <= height <= 2600, (width, height)
    assert not [name for name in os.listdir(os.path.dirname(path)) if ".tmp" in name]


def _panel(record, title):
    return next(ax for ax in record.axes if ax.title.startswith(title))


# --- curve_filename ------------------------------------------------------------


def test_filename_lists_tuned_active_knobs_by_influence(study):
    row = _row("7", 0.97314, learning_rate=0.003, units=128, optimizer="adam")
    name = plots.curve_filename(study, row)
    # momentum inactive, batch_size fixed, tuner/* bookkeeping: all left out.
    assert name == ("0007_lr=3e-3_units=128_layers=2_drop=0.5_opt=adam_bn=off_"
                    "init=he_normal_val_accuracy=0.973.png")


@pytest.mark.parametrize("value, text", [(0.00307942, "3.08e-3"), (1e-4, "1e-4"),
                                         (0.0861122, "0.0861"), (0.1, "0.1"),
                                         (2.0, "2"), (123456.0, "1.23e5")])
def test_filename_writes_compact_numbers(study, value, text):
    assert f"_lr={text}_" in plots.curve_filename(study, _row("1", learning_rate=value))


def test_filename_of_failed_and_sgd_trials(study):
    name = plots.curve_filename(study, study.trial("03"))
    assert name.startswith("0003_lr=0.1_") and name.endswith("_FAILED.png")
    assert "_mom=0.5_" in name and "val_accuracy" not in name
    assert "_bn=on_" in plots.curve_filename(study, study.trial("04"))


def test_filename_is_safe_and_capped_keeping_id_score_and_lr(study):
    long_value = "a/b c:d*" + "x" * 60
    domains = {**DOMAINS, **{f"knob_{i}": Domain(f"knob_{i}", "choice", values=("p", "q"))
                             for i in range(12)}}
    row = _row("12", 0.5, kernel_initializer=long_value,
               **{f"knob_{i}": "q" * 20 for i in range(12)})
    name = plots.curve_filename(_study(study.run_dir, [row], domains=domains), row)
    assert re.fullmatch(r"[A-Za-z0-9._=+-]+", name)
    assert len(name) <= 180
    assert name.startswith("0012_lr=3e-3_units=64_") and name.endswith("_val_accuracy=0.500.png")
    assert "knob_11" not in name  # the least influential go first


def test_filename_without_domains_skips_bookkeeping(tmp_path):
    row = _row("3", 0.8)
    row["metric:val_loss"] = 0.3
    name = plots.curve_filename(_study(tmp_path, [row], domains={}), row)
    assert "tuner" not in name and "metric" not in name and "epochs_run" not in name
    assert name.startswith("0003_lr=3e-3_") and name.endswith("_val_accuracy=0.800.png")


# --- plot_trial_curves ---------------------------------------------------------


def test_curves_show_train_and_validation_best_epoch_and_verdicts(study, tmp_path, drawn):
    verdict = types.SimpleNamespace(kind="overfitting", summary="validation loss rises")
    path = plots.plot_trial_curves(study, "04", str(tmp_path / "out" / "c.png"),
                                   verdicts=[verdict])
    _assert_png(path)
    record = drawn[-1]
    assert "Trial 04 — val_accuracy 0.9500 at epoch 3 of 3" in record.texts
    assert "overfitting: validation loss rises" in record.texts
    assert "lr=3e-3" in record.texts
    metric = _panel(record, "accuracy (objective: val_accuracy)")
    solid, dashed = (line for line in metric.lines if line.x == list(range(1, 9)))
    assert solid.color != dashed.color
    assert any(line.x == [3, 3] for line in metric.lines)  # the best epoch
    assert _panel(record, "learning rate").yscale == "log"
    assert _panel(record, "loss").xlabel == "epoch"


def test_curves_of_a_one_epoch_trial_use_markers(study, tmp_path, drawn):
    _assert_png(plots.plot_trial_curves(study, "02", str(tmp_path / "c.png")))
    data = [line for ax in drawn[-1].axes for line in ax.lines if line.x == [1]]
    assert len(data) >= 5 and all(line.marker == "o" for line in data)


def test_curves_of_several_executions_draw_each_lighter_and_the_mean(study, tmp_path, drawn):
    plots.plot_trial_curves(study, "01", str(tmp_path / "c.png"))
    loss = _panel(drawn[-1], "loss")
    curves = [line for line in loss.lines if len(line.x) == 3]
    assert len(curves) == 6  # (2 executions + mean) × (train, validation)
    assert sorted(line.alpha for line in curves) == [0.35] * 4 + [1.0] * 2
    assert "each of 2 executions" in drawn[-1].texts


def test_curves_of_a_cv_run_draw_the_folds_and_their_mean_where_all_reached(study, tmp_path,
                                                                             drawn):
    history = {"01": _curve(3) + _curve(2, execution=1, shift=0.02)}
    run = _study(tmp_path / "cv", study.rows, history)
    run.config = {"data": {"cv_folds": 2}}
    plots.plot_trial_curves(run, "01", str(tmp_path / "c.png"))
    loss = _panel(drawn[-1], "loss")
    bold = [line for line in loss.lines if line.alpha == 1.0 and len(line.x) > 1]
    assert [line.x for line in bold] == [[1, 2], [1, 2]]  # train, validation: the fold mean
    assert bold[0].y == pytest.approx([2.01, 1.01])
    assert "each of 2 folds (bold: mean)" in drawn[-1].texts


def test_curves_of_a_diverged_trial_plot_what_is_finite(study, tmp_path, drawn):
    history = _curve(5)
    for entry in history[2:]:
        entry["loss"] = entry["val_loss"] = math.nan
    history[1]["loss"] = 1e9  # the blow-up before the NaN: a log scale
    run = _study(tmp_path / "nan", [_row("0", status="FAILED", epochs=5)], {"0": history})
    _assert_png(plots.plot_trial_curves(run, "0", str(tmp_path / "c.png")))
    record = drawn[-1]
    assert "train loss: NaN/inf from epoch 3" in record.texts
    assert "validation val_loss: NaN/inf from epoch 3" in record.texts
    assert "Failed: loss became nan at epoch 1" in record.texts
    assert _panel(record, "loss").yscale == "log"


def test_curves_of_a_failed_trial_without_history_say_so(study, tmp_path, drawn):
    _assert_png(plots.plot_trial_curves(study, "03", str(tmp_path / "c.png")), min_kb=4)
    assert "Trial 03 — FAILED" in drawn[-1].texts
    assert "Failed: loss became nan at epoch 1" in drawn[-1].texts
    assert "No epoch was recorded" in drawn[-1].texts


def test_curves_of_a_regression_pick_another_metric(tmp_path, drawn):
    history = [{**entry, "mae": entry["loss"], "val_mae": entry["val_loss"]}
               for entry in _curve(4)]
    run = _study(tmp_path, [_row("0", 0.3)], objective="val_loss", direction="min")
    os.makedirs(os.path.join(run.trial_dir("0")))
    with open(os.path.join(run.trial_dir("0"), "history.csv"), "w") as handle:
        handle.write("execution,epoch,loss,val_loss,mae,val_mae\n")
        handle.writelines(f"0,{e['epoch']},{e['loss']},{e['val_loss']},{e['mae']},"
                          f"{e['val_mae']}\n" for e in history)
    plots.plot_trial_curves(run, "0", str(tmp_path / "c.png"))
    titles = [ax.title for ax in drawn[-1].axes]
    assert "loss (objective: val_loss)" in titles and "mae" in titles
    assert "not recorded" in drawn[-1].texts  # no learning_rate column


def test_figures_are_released(study, tmp_path, monkeypatch):
    import weakref

    import matplotlib.pyplot as pyplot
    from matplotlib.figure import Figure

    saved, savefig = [], Figure.savefig

    def remember(figure, *args, **kwargs):
        saved.append(weakref.ref(figure))
        return savefig(figure, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", remember)
    plots.plot_trial_curves(study, "01", str(tmp_path / "c.png"))
    plots.plot_trial_curves(study, "03", str(tmp_path / "f.png"))
    plots.plot_objective_vs_knobs(study, str(tmp_path / "k.png"))
    plots.plot_parallel_coordinates(study, str(tmp_path / "p.png"))
    gc.collect()
    assert len(saved) == 4 and all(ref() is None for ref in saved)
    assert pyplot.get_fignums() == []


# --- plot_objective_vs_knobs ---------------------------------------------------


def test_objective_vs_knobs_has_a_panel_per_tuned_knob(study, tmp_path, drawn):
    _assert_png(plots.plot_objective_vs_knobs(study, str(tmp_path / "k.png")))
    record = drawn[-1]
    assert len(record.axes) == len(study.tuned_knobs) == 8
    assert _panel(record, "learning_rate").xscale == "log"
    assert _panel(record, "dropout").xscale == "linear"
    assert _panel(record, "kernel_initializer").xticklabels == [
        "glorot_uniform", "he_normal", "random_uniform"]
    assert _panel(record, "batch_norm").xticklabels == ["off", "on"]
    momentum = _panel(record, "momentum (in 1 of 4)")
    crosses = [line for line in momentum.lines if line.marker == "x"]
    assert [line.x for line in crosses] == [[0.5]]  # the failed sgd trial


def test_objective_vs_knobs_placeholders(study, tmp_path, drawn):
    fixed = _study(tmp_path / "f", [_row("0")], domains={"units": Domain("units", "fixed",
                                                                         values=(64,))})
    _assert_png(plots.plot_objective_vs_knobs(fixed, str(tmp_path / "k.png")), min_kb=4)
    assert "No tuned knobs" in drawn[-1].texts
    single = _study(tmp_path / "s", [_row("0", 0.5)])
    _assert_png(plots.plot_objective_vs_knobs(single, str(tmp_path / "s.png")))
    assert "1 completed, 0 failed" in drawn[-1].texts


# --- plot_optimization_history -------------------------------------------------


def _history_rows():
    rows, best = [], None
    scores = [0.5, None, 0.7, 0.6, 0.9, None, 0.85]
    for index, score in enumerate(scores):
        is_best = score is not None and (best is None or score > best)
        best = score if is_best else best
        rows.append({"trial_id": str(index), "status": "FAILED" if score is None else
                     "COMPLETED", "objective": score, "best_so_far": best,
                     "elapsed_seconds": 90.0 * (index + 1), "is_best": is_best})
    return rows


def test_optimization_history(tmp_path, drawn):
    path = plots.plot_optimization_history(_history_rows(), str(tmp_path / "h.png"),
                                           objective="val_accuracy", direction="max")
    _assert_png(path)
    left, right = drawn[-1].axes
    assert right.xlabel == "elapsed wall time (min)"
    step = next(line for line in right.lines if line.marker in ("None", None, ""))
    assert step.x[0] == pytest.approx(1.5) and step.y[-1] == 0.9
    failed = next(line for line in left.lines if line.marker == "x")
    assert failed.x == [2, 6]
    assert "5 scored, 2 failed" in drawn[-1].texts


def test_optimization_history_edge_cases(tmp_path, drawn):
    plots.plot_optimization_history([], str(tmp_path / "e.png"), objective="val_loss",
                                    direction="min")
    assert "No finished trial yet." in drawn[-1].texts
    rows = [{"trial_id": "0", "status": "COMPLETED", "objective": 3000.0,
             "best_so_far": 3000.0, "elapsed_seconds": 12.0, "is_best": True},
            {"trial_id": "1", "status": "COMPLETED", "objective": 2.5,
             "best_so_far": 2.5, "elapsed_seconds": 20.0, "is_best": True}]
    _assert_png(plots.plot_optimization_history(rows, str(tmp_path / "m.png"),
                                                objective="val_loss", direction="min"))
    left, right = drawn[-1].axes
    assert left.yscale == "log" and right.xlabel == "elapsed wall time (s)"


# --- plot_importance -----------------------------------------------------------


def test_importance_bars_most_important_on_top(tmp_path, drawn):
    values = [("units", 0.2), ("learning_rate", 0.6), ("dropout", 0.197), ("momentum", 0.003)]
    path = plots.plot_importance(values, str(tmp_path / "i.png"), method="fANOVA")
    _assert_png(path)
    (ax,) = drawn[-1].axes
    assert ax.yticklabels == ["momentum", "dropout", "units", "learning_rate"]  # bottom up
    assert "Method: fANOVA" in drawn[-1].texts and "<1%" in drawn[-1].texts
    assert "60%" in drawn[-1].texts
    plots.plot_importance([], str(tmp_path / "e.png"))
    assert "No importance to show" in drawn[-1].texts


# --- plot_parallel_coordinates -------------------------------------------------


def test_parallel_coordinates(study, tmp_path, drawn):
    _assert_png(plots.plot_parallel_coordinates(study, str(tmp_path / "p.png")))
    ax = drawn[-1].axes[0]
    # Most influential first (C2); momentum, inactive without sgd, after the rest.
    assert ax.xticklabels == ["learning_rate", "units", "num_layers", "dropout", "optimizer",
                              "batch_norm", "kernel_initializer", "momentum", "val_accuracy"]
    trials = [line for line in ax.lines if len(line.x) == 9]
    assert len(trials) == 5
    grey = [line for line in trials if line.color == "0.6"]
    assert len(grey) == 1 and grey[0].y[-1] == pytest.approx(-0.12)  # failed: n/a score
    thickest = max(trials, key=lambda line: line.width)
    assert thickest.y[-1] == pytest.approx(1.0)  # the best trial, its score on top
    assert ax.yticklabels == ["n/a"]
    for label in ("he_normal", "glorot_unif", "1e-4", "0.1", "n/a", "failed"):
        assert label in drawn[-1].texts
    assert "tuned knobs" not in drawn[-1].texts  # all 8 drawn: nothing left out


def test_parallel_coordinates_draws_the_most_influential_knobs(study, tmp_path, drawn):
    extra = {f"knob_{i}": Domain(f"knob_{i}", "choice", values=("p", "q")) for i in range(4)}
    run = _study(tmp_path / "many", [{**row, **{name: "p" for name in extra}}
                                     for row in study.rows], domains={**DOMAINS, **extra})
    assert len(run.tuned_knobs) == 12 > plots.MAX_PARALLEL_AXES == 8
    _assert_png(plots.plot_parallel_coordinates(run, str(tmp_path / "p.png")))
    ax = drawn[-1].axes[0]
    assert ax.xticklabels == ["learning_rate", "units", "num_layers", "dropout", "optimizer",
                              "batch_norm", "kernel_initializer", "knob_0", "val_accuracy"]
    assert len([line for line in ax.lines if len(line.x) == 9]) == 5
    assert "8 of 12 tuned knobs; the rest in objective_vs_knobs.png" in drawn[-1].texts


def test_parallel_coordinates_draws_the_knobs_asked_for(study, tmp_path, drawn):
    completed = [row for row in study.rows if row["status"] == "COMPLETED"]
    run = _study(tmp_path / "ok", completed)
    plots.plot_parallel_coordinates(run, str(tmp_path / "p.png"),
                                    knobs=["dropout", "learning_rate", "dropout"])
    ax = drawn[-1].axes[0]
    assert ax.xticklabels == ["dropout", "learning_rate", "val_accuracy"]
    assert len([line for line in ax.lines if len(line.x) == 3]) == 4
    assert "2 of 8 tuned knobs" in drawn[-1].texts
    # Nothing inactive, nothing failed: no n/a band.
    assert ax.yticklabels == [] and "n/a" not in drawn[-1].texts.split("\n")
    assert "failed" not in drawn[-1].texts.split("\n")
    plots.plot_parallel_coordinates(run, str(tmp_path / "p.png"), knobs=run.tuned_knobs)
    assert drawn[-1].axes[0].xticklabels == run.tuned_knobs + ["val_accuracy"]
    assert "tuned knobs" not in drawn[-1].texts
    with pytest.raises(ConfigError, match="Did you mean `learning_rate`"):
        plots.plot_parallel_coordinates(run, str(tmp_path / "e.png"), knobs=["learning_rat"])
    with pytest.raises(ConfigError, match="batch_size"):  # fixed, not tuned
        plots.plot_parallel_coordinates(run, str(tmp_path / "e.png"), knobs=["batch_size"])
    with pytest.raises(ConfigError, match=r"Pass a list: knobs=\['units'\]"):
        plots.plot_parallel_coordinates(run, str(tmp_path / "e.png"), knobs="units")


def test_parallel_coordinates_labels_are_legible(study, tmp_path, monkeypatch):
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    seen, savefig = [], Figure.savefig

    def laid_out(figure, *args, **kwargs):
        figure.draw_without_rendering()
        renderer = figure.canvas.get_renderer()
        texts = [t for t in figure.findobj(Text) if t.get_visible() and t.get_text()]
        names = [t.get_window_extent(renderer) for t in figure.axes[0].get_xticklabels()]
        seen.append(([t.get_fontsize() for t in texts], names))
        return savefig(figure, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", laid_out)
    knobs = ["kernel_initializer", "batch_norm", "learning_rate", "optimizer", "momentum",
             "num_layers", "units", "dropout"]
    plots.plot_parallel_coordinates(study, str(tmp_path / "p.png"), knobs=knobs)
    sizes, names = seen[-1]
    assert min(sizes) >= 8
    for left, right in zip(names, names[1:]):  # long names: staggered, not overlapping
        assert not left.overlaps(right)


def test_parallel_coordinates_edge_cases(tmp_path, drawn):
    fixed = _study(tmp_path / "f", [_row("0")], domains={})
    plots.plot_parallel_coordinates(fixed, str(tmp_path / "f.png"))
    assert "No tuned knobs" in drawn[-1].texts
    plots.plot_parallel_coordinates(_study(tmp_path / "k", [_row("0")]),
                                    str(tmp_path / "k.png"), knobs=[])
    assert "No knob to draw" in drawn[-1].texts
    single = _study(tmp_path / "s", [_row("0", 0.5)], objective="val_loss", direction="min")
    _assert_png(plots.plot_parallel_coordinates(single, str(tmp_path / "s.png")))


def test_import_stays_light():
    import subprocess
    import sys

    code = "import sys, kt_toolkit.analysis.plots; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
