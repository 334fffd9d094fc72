"""Figures of a run directory: curves (B1), knobs, search history, importance.

Each function writes one PNG and returns its path. Matplotlib is imported inside
the functions, so `import kt_toolkit.analysis` stays light, and figures are drawn
on an Agg canvas without `pyplot`: nothing is registered with pyplot's figure
manager and every figure is cleared once saved, so a search that plots after
each trial keeps no figure alive. Files are written atomically (a report being
refreshed never reads half a PNG).
"""

import contextlib
import math
import os
import random
import re
import textwrap

__all__ = ["KNOB_ALIASES", "curve_filename", "plot_importance", "plot_objective_vs_knobs",
           "plot_optimization_history", "plot_parallel_coordinates", "plot_trial_curves"]

KNOB_ALIASES = {
    "learning_rate": "lr", "dropout": "drop", "num_layers": "layers",
    "kernel_initializer": "init", "activation": "act", "optimizer": "opt",
    "batch_size": "bs", "weight_decay": "wd", "lr_schedule": "sched", "batch_norm": "bn",
    "embedding_dim": "emb", "regularizer": "reg", "momentum": "mom", "nesterov": "nest",
    "decay_rate": "decay", "decay_factor": "dfactor", "warmup_epochs": "warmup",
    "clipnorm": "clip", "epsilon": "eps", "beta_1": "b1", "beta_2": "b2",
    "class_balance": "balance", "num_blocks": "blocks", "filters": "filt",
    "kernel_size": "ksize", "convs_per_block": "convs", "dense_units": "dense",
    "recurrent_dropout": "rdrop", "recurrent_initializer": "rinit",
    "embedding_initializer": "einit", "bidirectional": "bidir", "layer_norm": "ln",
    "augment_crop": "crop", "augment_flip": "flip", "augment_translation": "shift",
}
# C2's order of influence: names keep these first and drop from the end.
_PRIORITY = ("learning_rate", "units", "num_layers", "dropout", "filters", "num_blocks",
             "embedding_dim", "cell", "optimizer", "batch_size", "momentum", "nesterov",
             "weight_decay", "regularizer", "l2", "l1", "lr_schedule", "decay_rate",
             "decay_factor", "warmup_epochs", "dense_units", "kernel_size", "activation",
             "batch_norm")
_ROW_FIELDS = ("trial_id", "status", "objective", "best_epoch", "epochs_run", "seconds",
               "reason")
_MAX_NAME = 180
_DPI = 100
_TRAIN = {"color": "#1f77b4", "linestyle": "-"}
_VALIDATION = {"color": "#ff7f0e", "linestyle": "--"}
_LR_COLOR = "#2ca02c"
_FAILED_COLOR = "#d62728"
_BEST = {"marker": "*", "s": 190, "color": "#ffd92f", "edgecolor": "black", "zorder": 5}
_NO_EPOCH = {"FAILED": "No epoch was recorded: the trial failed before its first epoch ended.",
             "RUNNING": "No epoch recorded yet: the trial is running."}
_NA = -0.12  # parallel coordinates: where inactive values (and failed scores) sit


def curve_filename(study, row):
    """A trial's file name from its settings and score (A4).

    The trial id (zero-padded), each tuned and active knob under a short alias
    (`KNOB_ALIASES`) with a compact value, then `<objective>=<score>` or the
    status (`FAILED`). Only `[A-Za-z0-9._=+-]`, at most 180 characters: the least
    influential knobs (C2) are dropped first; the id and the score never are.

    Example:

    ```python
    study = load_study("runs/digits_mlp-1a2b3c4d")
    curve_filename(study, study.trial("7"))
    # '0007_lr=3e-3_units=128_layers=2_drop=0.5_val_accuracy=0.973.png'
    ```

    Args:
        study: A `Study` (`kt_toolkit.analysis.study.load_study`).
        row: Dict, one of `study.rows` (or a dict with the same keys).

    Returns:
        String, a file name ending in `.png`.
    """
    trial_id = str(row["trial_id"])
    head = f"{int(trial_id):04d}" if trial_id.isdigit() else _safe(trial_id)
    if row.get("status") == "COMPLETED" and _is_finite(row.get("objective")):
        tail = _safe(f"{study.objective}={row['objective']:.3f}")
    else:
        tail = "no-score" if row.get("status") == "COMPLETED" else _safe(
            str(row.get("status") or "unknown").upper())
    parts = [_safe(f"{KNOB_ALIASES.get(name, name)}={_compact(row[name])[:24]}")
             for name in _settings(study, row)]
    while parts and len("_".join([head, *parts, tail])) + 4 > _MAX_NAME:
        parts.pop()
    return "_".join([head, *parts, tail]) + ".png"


def plot_trial_curves(study, trial_id, path, *, verdicts=None):
    """Train and validation curves of one trial on one chart (B1).

    Panels: the loss, the objective's metric (train solid, validation dashed,
    the same colours everywhere) and the learning rate; the best epoch is
    marked. Executions are drawn light with their mean bold; non-finite values
    (a diverged trial) are left out and flagged; a trial with no recorded epoch
    gets a figure that says so, with the failure's reason.

    Example:

    ```python
    study = load_study("runs/digits_mlp-1a2b3c4d")
    for row in study.rows:
        plot_trial_curves(study, row["trial_id"], f"curves/{curve_filename(study, row)}")
    ```

    Args:
        study: A `Study`.
        trial_id: String, the trial (as in `study.rows`).
        path: String, the PNG to write (folders are created).
        verdicts: Optional list of objects with `kind` and `summary` strings
            (B3-B5 diagnoses), printed under the title.

    Returns:
        `path`.
    """
    row = study.trial(trial_id)
    history = study.history(row["trial_id"])
    metric = _second_metric(study, history)
    widths = [1, 1, 0.6] if metric else [1, 0.6]
    width = 5.2 * len(widths) - 0.5
    header = _curve_header(study, row, verdicts or (), width)
    header_height = sum(len(lines) * size * 1.45 / 72 for lines, size, _ in header) + 0.2
    body_height = 3.8 if history else 1.2
    with _figure(path, width, body_height + header_height) as figure:
        grid = figure.add_gridspec(2, len(widths), width_ratios=widths,
                                   height_ratios=[header_height, body_height])
        _draw_header(figure.add_subplot(grid[0, :]), header)
        if not history:
            _message(figure.add_subplot(grid[1, :]), _NO_EPOCH.get(
                row["status"], f"No epoch was recorded (status {row['status']})."))
            return path
        best_epoch = row.get("best_epoch") if row["status"] == "COMPLETED" else None
        keys = ["loss"] + ([metric] if metric else [])
        for column, key in enumerate(keys):
            _curve_panel(figure.add_subplot(grid[1, column]), history, key,
                         best_epoch=best_epoch, objective=study.objective)
        _lr_panel(figure.add_subplot(grid[1, len(keys)]), history, best_epoch)
        handles = _curve_legend(history, best_epoch)
        figure.legend(handles=handles, loc="outside lower center", ncol=len(handles),
                      frameon=False)
    return path


def plot_objective_vs_knobs(study, path):
    """The objective against each tuned knob, one small panel per knob.

    Completed trials are dots (log x for log-sampled knobs; categories with a
    little jitter), failed trials red crosses along the bottom edge, the best
    trial a star; inactive values are left out. Panels share the y axis.

    Example:

    ```python
    plot_objective_vs_knobs(load_study("runs/digits_mlp-1a2b3c4d"), "knobs.png")
    ```

    Args:
        study: A `Study`.
        path: String, the PNG to write.

    Returns:
        `path`.
    """
    knobs, completed = study.tuned_knobs, study.completed
    failed = [row for row in study.rows if row["status"] == "FAILED"]
    columns = min(4, max(1, len(knobs)))
    rows = max(1, math.ceil(len(knobs) / columns))
    better = "higher" if study.direction == "max" else "lower"
    with _figure(path, max(8.0, 3.3 * columns + 0.5), 2.6 * rows + 0.8) as figure:
        figure.suptitle(f"{study.objective} against each tuned knob ({better} is better) — "
                        f"{len(completed)} completed, {len(failed)} failed "
                        "(★ best, × failed)", fontsize=12)
        if not knobs or not (completed or failed):
            _message(figure.subplots(), "No tuned knobs: the space fixes every value."
                     if not knobs else "No finished trial yet.")
            return path
        axes = figure.subplots(rows, columns, squeeze=False, sharey=True)
        best = study.best(1)
        for index, (ax, name) in enumerate(zip(axes.flat, knobs)):
            _knob_panel(ax, study.domains[name], completed, failed, best)
            if index % columns == 0:
                ax.set_ylabel(study.objective)
        for ax in axes.flat[len(knobs):]:
            ax.set_visible(False)
        _maybe_log_y(axes.flat[0], [row["objective"] for row in completed])
        if failed:  # the crosses' strip along the bottom, below every dot
            _failure_strip(axes.flat[:len(knobs)])
    return path


def plot_optimization_history(history_rows, path, *, objective, direction):
    """The objective of each trial and the best so far, by trial and by wall time.

    Left: one dot per trial in finish order (failed trials as red crosses in a
    strip along the bottom) under the best-so-far step line. Right: the best so
    far against elapsed time, in seconds, minutes or hours as fits.

    Example:

    ```python
    rows = optimization_history(study)  # kt_toolkit.analysis.search
    plot_optimization_history(rows, "history.png", objective=study.objective,
                              direction=study.direction)
    ```

    Args:
        history_rows: List of dicts in finish order with `trial_id`, `status`,
            `objective` (float or `None`), `best_so_far` (float or `None`),
            `elapsed_seconds` and `is_best`.
        path: String, the PNG to write.
        objective: String, the objective's name (titles and axis labels).
        direction: String, `"max"` or `"min"`.

    Returns:
        `path`.
    """
    rows = list(history_rows)
    scored = [(i + 1, r["objective"]) for i, r in enumerate(rows)
              if _is_finite(r.get("objective"))]
    failed = [i + 1 for i, r in enumerate(rows) if not _is_finite(r.get("objective"))]
    steps = [(i + 1, {**r, "elapsed_seconds": r.get("elapsed_seconds") or 0.0})
             for i, r in enumerate(rows) if _is_finite(r.get("best_so_far"))]
    unit, scale = _time_unit([r.get("elapsed_seconds") for r in rows])
    better = "higher" if direction == "max" else "lower"
    with _figure(path, 12, 4.4) as figure:
        figure.suptitle(f"Search history: {objective} ({better} is better) — "
                        f"{len(scored)} scored, {len(failed)} failed", fontsize=12)
        if not rows:
            _message(figure.subplots(), "No finished trial yet.")
            return path
        left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
        if scored:
            left.scatter(*zip(*scored), s=26, color=_TRAIN["color"], alpha=0.75,
                         label="trial", zorder=3)
        _crosses(left, failed, label="failed")
        for ax, xs in ((left, [i for i, _ in steps]),
                       (right, [r["elapsed_seconds"] / scale for _, r in steps])):
            _best_so_far(ax, xs, [r for _, r in steps], [y for _, y in scored])
        left.set(title="Objective per trial", xlabel="trial (finish order)", ylabel=objective)
        left.xaxis.get_major_locator().set_params(integer=True)
        left.legend(loc="best", fontsize=9)
        if failed:
            _failure_strip([left])
        right.set_xlim(left=0)
        right.set(title="Best so far over wall time", xlabel=f"elapsed wall time ({unit})",
                  ylabel=f"best {objective}")
        if steps:
            best = steps[-1][1]["best_so_far"]
            found = next(r["elapsed_seconds"] for _, r in steps if r["best_so_far"] == best)
            right.set_title(f"Best so far over wall time: {best:.4g} after "
                            f"{found / scale:.3g} {unit}")
    return path


def plot_importance(importances, path, *, method=""):
    """Horizontal bars of knob importance, most important at the top.

    Example:

    ```python
    plot_importance([("learning_rate", 0.62), ("units", 0.25), ("dropout", 0.13)],
                    "importance.png", method="fANOVA")
    ```

    Args:
        importances: List of `(knob, value)` tuples, values summing to 1.
        path: String, the PNG to write.
        method: String, how the values were computed (shown as a caption).

    Returns:
        `path`.
    """
    from matplotlib.ticker import PercentFormatter

    items = sorted(((str(name), value if _is_finite(value) and value > 0 else 0.0)
                    for name, value in importances), key=lambda item: -item[1])
    with _figure(path, 7.5, 1.6 + 0.34 * max(len(items), 2)) as figure:
        ax = figure.subplots()
        if method:
            figure.supxlabel("\n".join(textwrap.wrap(f"Method: {method}", 110)),
                             fontsize=9, color="0.35")
        if not items:
            _message(ax, "No importance to show (too few completed trials).")
            return path
        names, values = [name for name, _ in items][::-1], [v for _, v in items][::-1]
        bars = ax.barh(names, values, color=_TRAIN["color"], height=0.65)
        ax.bar_label(bars, labels=[f"{v:.0%}" if v >= 0.005 or not v else "<1%"
                                   for v in values], padding=3, fontsize=9)
        ax.set_ylim(-0.6, len(values) - 0.4)
        ax.set_xlim(0, (max(values) or 1.0) * 1.18)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set(title="Knob importance", xlabel="share of importance")
        ax.spines[["top", "right"]].set_visible(False)
    return path


def plot_parallel_coordinates(study, path):
    """One vertical axis per tuned knob plus the objective; one line per trial.

    Completed trials are coloured by objective (the better, the brighter), the
    best (up to 3) are drawn on top and thicker, failed trials are thin grey
    lines. Numeric axes run from the knob's minimum to its maximum (log-aware),
    categorical axes list the choices, inactive values sit in the "n/a" band.

    Example:

    ```python
    plot_parallel_coordinates(load_study("runs/digits_mlp-1a2b3c4d"), "parallel.png")
    ```

    Args:
        study: A `Study`.
        path: String, the PNG to write.

    Returns:
        `path`.
    """
    import matplotlib

    knobs, completed = study.tuned_knobs, study.completed
    failed = [row for row in study.rows if row["status"] == "FAILED"]
    best = study.best(min(3, max(1, len(completed) // 4)))
    width = min(max(7.0, 1.05 * (len(knobs) + 1) + 2.5), 24.0)
    with _figure(path, width, 6.8) as figure:
        figure.suptitle(f"Parallel coordinates — {len(completed)} completed (thick: best "
                        f"{len(best)}), {len(failed)} failed (grey)", fontsize=12)
        ax = figure.subplots()
        if not knobs or not (completed or failed):
            _message(ax, "No tuned knobs: the space fixes every value." if not knobs
                     else "No finished trial yet.")
            return path
        scales = [_knob_scale(study.domains[name]) for name in knobs]
        to_y, ticks, norm, cmap = _objective_scale(study, completed)
        colour = matplotlib.colormaps[cmap]
        best_ids = {row["trial_id"] for row in best}
        scores = {row["trial_id"]: row["objective"] for row in completed}
        ordered = sorted(completed, key=lambda row: to_y(row["objective"], None))
        lines = failed + [row for row in ordered if row["trial_id"] not in best_ids]
        jitter = random.Random(0)
        for row in lines + best[::-1]:
            ys = [to(row.get(name), jitter) for (to, _), name in zip(scales, knobs)]
            score = scores.get(row["trial_id"])
            ys.append(to_y(score, None))
            ax.plot(range(len(ys)), ys, **_trial_style(
                None if score is None else colour(norm(score)),
                best=row["trial_id"] in best_ids, crowded=len(completed) > 60))
        _parallel_axes(ax, knobs + [study.objective], [marks for _, marks in scales] + [ticks])
        bar = figure.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax,
                              fraction=0.025, pad=0.01)
        bar.set_label(f"{study.objective} (brighter is better)")
        if study.direction == "min":
            bar.ax.invert_yaxis()
    return path


# --- figures -----------------------------------------------------------------


@contextlib.contextmanager
def _figure(path, width, height):
    """A constrained-layout figure on an Agg canvas, saved atomically and cleared."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    try:
        yield figure
        path = os.fspath(path)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        tmp = f"{path}.tmp{os.getpid()}"
        try:
            figure.savefig(tmp, format="png", dpi=_DPI)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    finally:
        figure.clear()


def _message(ax, text):
    ax.axis("off")
    wrapped = "\n".join(textwrap.fill(line, 90) for line in text.splitlines())
    ax.text(0.5, 0.5, wrapped, ha="center", va="center", fontsize=12, color="0.3",
            transform=ax.transAxes)


def _maybe_log_y(ax, values, ratio=100):
    """Log y when positive values span more than `ratio` (a diverged loss)."""
    values = [v for v in values if _is_finite(v)]
    if values and min(values) > 0 and max(values) / min(values) > ratio:
        _log_y(ax, values)


def _log_y(ax, values):
    """Log y with plain labels: 1, 2, 5 × 10^k over a short span, decades beyond."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    short = max(values) / min(values) < 100
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if short else (1.0,)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: _compact(float(value))))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _crosses(ax, xs, **kwargs):
    """Failed trials: red crosses at `xs`, in the strip along the bottom of `ax`."""
    from matplotlib import transforms

    if xs:
        bottom = transforms.blended_transform_factory(ax.transData, ax.transAxes)
        ax.plot(xs, [0.045] * len(xs), "x", color=_FAILED_COLOR, ms=7.5, mew=1.9,
                transform=bottom, clip_on=False, zorder=4, **kwargs)


def _best_so_far(ax, xs, rows, scores):
    """The best-so-far step line; a star where a trial set a new best."""
    ys = [row["best_so_far"] for row in rows]
    ax.step(xs, ys, where="post", color="0.15", linewidth=1.6, label="best so far")
    news = [(x, row["best_so_far"]) for x, row in zip(xs, rows) if row.get("is_best")]
    if news:
        ax.scatter(*zip(*news), **{**_BEST, "s": 110}, label="new best")
    _maybe_log_y(ax, scores + ys)
    ax.grid(alpha=0.3)


def _failure_strip(axes, share=0.14):
    """Lowers the (shared) y limit so the bottom `share` of each axes, shaded, holds
    only the failed trials' crosses."""
    from matplotlib.patches import Rectangle

    low, high = axes[0].get_ylim()
    log = axes[0].get_yscale() == "log"
    low, high = (math.log10(low), math.log10(high)) if log else (low, high)
    low -= (high - low) * share / (1 - share)
    axes[0].set_ylim(bottom=10 ** low if log else low)
    for ax in axes:
        ax.add_patch(Rectangle((0, 0), 1, 0.09, transform=ax.transAxes, color="0.94",
                               zorder=0))


def _time_unit(seconds):
    """`(unit, seconds per unit)` that keeps the elapsed-time axis readable."""
    top = max([s for s in seconds if _is_finite(s)] or [0])
    return (("s", 1), ("min", 60), ("h", 3600))[(top > 180) + (top > 3 * 3600)]


# --- trial curves --------------------------------------------------------------


def _curve_header(study, row, verdicts, width):
    """The header's text blocks: (lines, font size, colour); the first is bold."""
    trial_id, status = row["trial_id"], row["status"]
    if status == "COMPLETED" and _is_finite(row.get("objective")):
        at = f" at epoch {row['best_epoch']}" if row.get("best_epoch") else ""
        of = f" of {row['epochs_run']}" if at and row.get("epochs_run") else ""
        title = f"Trial {trial_id} — {study.objective} {_score(row['objective'])}{at}{of}"
    else:
        title = f"Trial {trial_id} — {status}"
    chars = int(width * 12)
    settings = "   ".join(f"{KNOB_ALIASES.get(name, name)}={_compact(row[name])}"
                           for name in _settings(study, row)) or "no tuned knob"
    blocks = [([title], 12.5, "black"), (textwrap.wrap(settings, chars), 9.5, "0.25")]
    if status == "FAILED" and row.get("reason"):
        blocks.append((textwrap.wrap(f"Failed: {row['reason']}", chars), 10, _FAILED_COLOR))
    for verdict in verdicts:
        kind, summary = (_attribute(verdict, name) for name in ("kind", "summary"))
        blocks.append((textwrap.wrap(f"• {kind}: {summary}", chars), 10, "#8c2d04"))
    return blocks


def _draw_header(ax, blocks):
    ax.axis("off")
    offset = 0.0
    for index, (lines, size, color) in enumerate(blocks):
        ax.annotate("\n".join(lines), (0, 1), xycoords="axes fraction", xytext=(4, -offset),
                    textcoords="offset points", ha="left", va="top", fontsize=size,
                    color=color, weight="bold" if index == 0 else "normal", linespacing=1.2)
        offset += len(lines) * size * 1.45


def _second_metric(study, history):
    """The metric panel's key: the objective's metric, else another validated one."""
    columns = set().union(*history) if history else set()
    if study.metric != "loss" and (study.metric in columns or not history):
        return study.metric
    return next((name for name in sorted(columns) if name not in ("loss", "learning_rate")
                 and f"val_{name}" in columns), None)


def _series(history, key):
    """`{execution: (epochs, values)}`, non-finite values as NaN."""
    series = {}
    for entry in history:
        epochs, values = series.setdefault(entry["execution"], ([], []))
        value = entry.get(key, math.nan)
        epochs.append(entry["epoch"])
        values.append(value if _is_finite(value) else math.nan)
    return series


def _mean(series):
    """The per-epoch mean over executions, of the finite values."""
    by_epoch = {}
    for epochs, values in series.values():
        for epoch, value in zip(epochs, values):
            by_epoch.setdefault(epoch, []).append(value)
    epochs = sorted(by_epoch)
    finite = [[v for v in by_epoch[e] if not math.isnan(v)] for e in epochs]
    return epochs, [sum(v) / len(v) if v else math.nan for v in finite]


def _line(ax, epochs, values, style, *, light=False):
    marker = "o" if len(epochs) <= 25 else None
    ax.plot(epochs, values, **style, marker=marker, markersize=3 if light else 4,
            linewidth=1.0 if light else 2.0, alpha=0.35 if light else 1.0)


def _curve_panel(ax, history, key, *, best_epoch, objective):
    flags, shown = [], []
    for prefix, style, label in (("", _TRAIN, "train"), ("val_", _VALIDATION, "validation")):
        series = _series(history, prefix + key)
        for epochs, values in series.values():
            _line(ax, epochs, values, style, light=len(series) > 1)
        epochs, values = _mean(series)
        if len(series) > 1:
            _line(ax, epochs, values, style)
        shown += [v for v in values if not math.isnan(v)]
        if any(prefix + key in entry for entry in history):
            flags += _nonfinite(series, f"{label} {prefix + key}")
        if objective == prefix + key and best_epoch in epochs:  # the objective's own curve
            star = values[epochs.index(best_epoch)]
            if not math.isnan(star):
                ax.scatter([best_epoch], [star], **_BEST)
    if best_epoch:
        ax.axvline(best_epoch, color="0.45", linestyle=":", linewidth=1.3, zorder=1)
    _epoch_axis(ax, history)
    if flags:
        _flag(ax, min(epoch for epoch, _ in flags), "\n".join(text for _, text in flags))
    _maybe_log_y(ax, shown, ratio=30)
    ax.set(title=f"{key} (objective: {objective})" if objective in (key, f"val_{key}")
           else key, ylabel=key)


def _nonfinite(series, name):
    """`[(epoch, text)]` when an execution's values turn NaN/inf, else `[]`."""
    firsts = [next(e for e, v in zip(epochs, values) if math.isnan(v))
              for epochs, values in series.values() if any(map(math.isnan, values))]
    if not firsts:
        return []
    if all(math.isnan(v) for _, values in series.values() for v in values):
        return [(min(firsts), f"{name}: no finite value")]
    return [(min(firsts), f"{name}: NaN/inf from epoch {min(firsts)}")]


def _flag(ax, epoch, text):
    """A red line where values stop being finite, its note beside it (the empty side)."""
    ax.axvline(epoch, color=_FAILED_COLOR, linestyle=":", linewidth=1.3)
    low, high = ax.get_xlim()
    right = (epoch - low) / (high - low) < 0.6
    ax.annotate(text, (epoch, 0.5), xycoords=("data", "axes fraction"),
                xytext=(5 if right else -5, 0), textcoords="offset points",
                ha="left" if right else "right", va="center", fontsize=8.5,
                color=_FAILED_COLOR, bbox={"facecolor": "white", "alpha": 0.85, "lw": 0})


def _lr_panel(ax, history, best_epoch):
    series = _series(history, "learning_rate")
    values = [v for _, vs in series.values() for v in vs if not math.isnan(v)]
    ax.set_title("learning rate")
    if not values:
        ax.text(0.5, 0.5, "not recorded", ha="center", va="center", color="0.4",
                transform=ax.transAxes)
        ax.set(xticks=[], yticks=[])
        return
    distinct = {tuple(zip(*pair)) for pair in series.values()}  # executions often agree
    for points in distinct:
        _line(ax, *zip(*points), {"color": _LR_COLOR}, light=len(distinct) > 1)
    if best_epoch:
        ax.axvline(best_epoch, color="0.45", linestyle=":", linewidth=1.3, zorder=1)
    _rate_axis(ax, values)
    _epoch_axis(ax, history)


def _rate_axis(ax, values):
    """Learning rates written as `3e-3`, on a log scale past a factor 5."""
    from matplotlib.ticker import FuncFormatter

    if min(values) > 0 and max(values) / min(values) >= 5:
        _log_y(ax, values)
    elif min(values) > 0 and max(values) / min(values) < 1.5:  # constant: one clear label
        _log_y(ax, values)
        ax.set_ylim(min(values) / 3, max(values) * 3)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: _compact(float(value))))


def _epoch_axis(ax, history):
    from matplotlib.ticker import MaxNLocator

    ax.set_xlim(0.5, max(entry["epoch"] for entry in history) + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)


def _curve_legend(history, best_epoch):
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], linewidth=2, label="train", **_TRAIN),
               Line2D([], [], linewidth=2, label="validation", **_VALIDATION)]
    if best_epoch:
        handles.append(Line2D([], [], color="0.45", linestyle=":", label="best epoch"))
    executions = len({entry["execution"] for entry in history})
    if executions > 1:
        handles.append(Line2D([], [], color="0.5", alpha=0.35,
                              label=f"each of {executions} executions (bold: mean)"))
    return handles


# --- knobs ---------------------------------------------------------------------


def _knob_panel(ax, domain, completed, failed, best):
    jitter = random.Random(domain.name)
    x_of = {row["trial_id"]: _knob_x(domain, row.get(domain.name), jitter)
            for row in completed + failed}
    points = [(x_of[r["trial_id"]], r["objective"]) for r in completed
              if x_of[r["trial_id"]] is not None]
    crosses = [x_of[r["trial_id"]] for r in failed if x_of[r["trial_id"]] is not None]
    if points:
        ax.scatter(*zip(*points), s=22, alpha=0.7, color=_TRAIN["color"], edgecolors="none")
    if best and x_of.get(best[0]["trial_id"]) is not None:
        ax.scatter([x_of[best[0]["trial_id"]]], [best[0]["objective"]], **_BEST)
    _crosses(ax, crosses)
    if not points and not crosses:
        ax.text(0.5, 0.5, "inactive in every\nfinished trial", ha="center", va="center",
                color="0.4", transform=ax.transAxes)
    _knob_x_axis(ax, domain)
    active = f" (in {len(points)} of {len(completed)})" if len(points) < len(completed) else ""
    ax.set_title(domain.name + active, fontsize=10)
    ax.grid(alpha=0.3)


def _knob_x(domain, value, jitter):
    """A knob value's x position: category index or number, with a little jitter."""
    if value is None:
        return None
    if domain.kind == "choice":
        index = _index(domain.values, value)
        return None if index is None else index + jitter.uniform(-0.15, 0.15)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if domain.kind == "int" and domain.sampling != "log" and domain.max - domain.min <= 12:
        number += jitter.uniform(-0.12, 0.12) * (domain.step or 1)
    return number


def _knob_x_axis(ax, domain):
    if domain.kind == "choice":
        labels = [_short(value) for value in domain.values]
        tilt = sum(map(len, labels)) > 24
        ax.set_xticks(range(len(labels)), labels=labels, rotation=35 if tilt else 0,
                      ha="right" if tilt else "center", rotation_mode="anchor", fontsize=8.5)
        ax.set_xlim(-0.5, len(labels) - 0.5)
    elif domain.sampling == "log" and domain.min > 0:
        ax.set_xscale("log")
        ax.set_xlim(domain.min / 1.6, domain.max * 1.6)
    elif domain.is_numeric:
        pad = max((domain.max - domain.min) * 0.06,  # and room for the int jitter
                  0.35 * (domain.step or 1) if domain.kind == "int" else 0) or 0.5
        ax.set_xlim(domain.min - pad, domain.max + pad)
        if domain.kind == "int":
            ax.xaxis.get_major_locator().set_params(integer=True)


# --- parallel coordinates ------------------------------------------------------


def _trial_style(colour, *, best, crowded):
    """A parallel-coordinates line: grey for a failed trial, thick for the best."""
    from matplotlib import patheffects

    if colour is None:
        return {"color": "0.6", "linewidth": 0.8, "alpha": 0.7, "zorder": 1}
    if best:
        return {"color": colour, "linewidth": 3.2, "zorder": 3, "path_effects": [
            patheffects.withStroke(linewidth=4.8, foreground="black")]}
    return {"color": colour, "linewidth": 1.3, "alpha": 0.5 if crowded else 0.85, "zorder": 2}


def _knob_scale(domain):
    """`(to_y, ticks)`: a value → [0, 1] (`_NA` when inactive) and the axis labels."""
    if domain.kind == "choice":
        count = len(domain.values)
        spots = [i / (count - 1) if count > 1 else 0.5 for i in range(count)]
        ticks = [(spot, _short(value)) for spot, value in zip(spots, domain.values)]

        def to_y(value, jitter):
            index = None if value is None else _index(domain.values, value)
            return (_NA if index is None else spots[index]) + jitter.uniform(-0.02, 0.02)

        return to_y, ticks
    log = domain.sampling == "log" and domain.min > 0
    low, high = (math.log10(domain.min), math.log10(domain.max)) if log else (
        domain.min, domain.max)

    def to_unit(value):
        number = math.log10(value) if log else value
        return min(1.0, max(0.0, (number - low) / (high - low))) if high > low else 0.5

    def to_y(value, jitter):
        try:
            return to_unit(float(value)) + jitter.uniform(-0.012, 0.012)
        except (TypeError, ValueError):
            return _NA + jitter.uniform(-0.02, 0.02)

    if domain.kind == "int" and not log and domain.max - domain.min <= 6:
        marks = range(int(domain.min), int(domain.max) + 1)
    elif log:  # the decades in between, at most 5 of them
        decades = range(math.ceil(low), math.floor(high) + 1)
        step = max(1, math.ceil(len(decades) / 5))
        marks = sorted({domain.min, domain.max, *(10.0 ** d for d in decades[::step])})
    else:
        marks = (domain.min, (low + high) / 2, domain.max)
    return to_y, [(to_unit(mark), _compact(mark)) for mark in marks]


def _objective_scale(study, completed):
    """`(to_y, ticks, norm, cmap name)`: the objective with the better end at the top."""
    from matplotlib.colors import LogNorm, Normalize

    scores = [row["objective"] for row in completed] or [0.0, 1.0]
    low, high = min(scores), max(scores)
    log = low > 0 and high / low > 100
    norm = (LogNorm if log else Normalize)(vmin=low, vmax=high if high > low else low + 1)
    flip = study.direction == "min"

    def to_y(value, jitter):
        if not _is_finite(value):
            return _NA + (jitter.uniform(-0.02, 0.02) if jitter else 0.0)
        unit = min(1.0, max(0.0, float(norm(value))))
        return 1 - unit if flip else unit

    middle = math.sqrt(low * high) if log else (low + high) / 2
    marks = sorted({low, middle, high}) if high > low else [low]
    ticks = [(to_y(mark, None), f"{mark:.4g}" if abs(mark) < 1e4 else f"{mark:.0f}")
             for mark in marks] + [(_NA, "failed")]
    return to_y, ticks, norm, "viridis_r" if flip else "viridis"


def _parallel_axes(ax, names, ticks_per_axis):
    for index, ticks in enumerate(ticks_per_axis):
        ax.axvline(index, color="0.25", linewidth=1.0, zorder=4)
        for y, label in ticks:
            ax.annotate(label, (index, y), xytext=(4, 0), textcoords="offset points",
                        ha="left", va="center", fontsize=8, zorder=6,
                        bbox={"boxstyle": "square,pad=0.1", "facecolor": "white",
                              "alpha": 0.8, "linewidth": 0})
    ax.axhspan(_NA - 0.05, _NA + 0.05, color="0.92", zorder=0)
    ax.set_yticks([_NA], labels=["n/a"])
    ax.tick_params(axis="y", length=0)
    tilt = len(names) > 5 or any(len(name) > 14 for name in names)
    ax.set_xticks(range(len(names)), labels=names, rotation=30 if tilt else 0,
                  ha="right" if tilt else "center", rotation_mode="anchor")
    ax.set_xlim(-0.35, len(names) - 0.35)
    ax.set_ylim(_NA - 0.08, 1.05)
    for spine in ax.spines.values():
        spine.set_visible(False)


# --- names and values ----------------------------------------------------------


def _settings(study, row):
    """The tuned, active knobs of `row`, most influential first (C2)."""
    if study.domains:
        names = study.tuned_knobs
    else:
        names = [name for name in row if name not in _ROW_FIELDS and ":" not in name]
    names = [name for name in names if not name.startswith("tuner/")
             and row.get(name) is not None]
    rank = {name: index for index, name in enumerate(_PRIORITY)}
    return sorted(names, key=lambda name: rank.get(name, len(rank)))


def _compact(value):
    """`3e-3`, `0.5`, `128`, `on`/`off`; strings as they are."""
    if isinstance(value, bool) or value in ("True", "False"):
        return "on" if value in (True, "True") else "off"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        if value == int(value) and abs(value) < 1e5:
            return str(int(value))
        if abs(value) < 0.01 or abs(value) >= 1e5:
            mantissa, exponent = f"{value:.2e}".split("e")
            return f"{float(mantissa):g}e{int(exponent)}"
        return f"{value:.3g}"
    return str(value)


def _score(value):
    return f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"


def _short(value, size=15):
    text = _compact(value)
    return text if len(text) <= size else text[:size - 1] + "…"


def _safe(text):
    return re.sub(r"[^A-Za-z0-9._=+-]+", "-", text)


def _index(values, value):
    for candidates, probe in ((list(values), value), ([str(v) for v in values], str(value))):
        if probe in candidates:
            return candidates.index(probe)
    return None


def _is_finite(value):
    if value is None or isinstance(value, (str, bytes)):
        return False
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _attribute(item, name):
    return getattr(item, name, None) or (item.get(name, "") if isinstance(item, dict) else "")
