"""Learning curves of one trial (B1) and the file names they are saved under (A4).

Private: import these from `kt_toolkit.analysis.plots`.
"""

import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kt_toolkit.analysis._plot_common import (
    _BEST, _FAILED_COLOR, _TRAIN, KNOB_ALIASES, _by_influence, _compact, _figure,
    _is_finite, _log_y, _maybe_log_y, _message)

if TYPE_CHECKING:
    from kt_toolkit.rundir.study import Study

_ROW_FIELDS = ("trial_id", "status", "objective", "best_epoch", "epochs_run", "seconds",
               "reason")
_MAX_NAME = 180
_VALIDATION = {"color": "#ff7f0e", "linestyle": "--"}
_LR_COLOR = "#2ca02c"
_NO_EPOCH = {"FAILED": "No epoch was recorded: the trial failed before its first epoch ended.",
             "RUNNING": "No epoch recorded yet: the trial is running."}


def curve_filename(study: "Study", row: Mapping[str, Any]) -> str:
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
        study: A `Study` (`kt_toolkit.rundir.load_study`).
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


def plot_trial_curves(study: "Study", trial_id: str | int, path: str, *,
                      verdicts: Sequence[Any] | None = None) -> str:
    """Train and validation curves of one trial on one chart (B1).

    Panels: the loss, the objective's metric (train solid, validation dashed,
    the same colours everywhere) and the learning rate; the best epoch is
    marked. Executions are drawn light with their mean bold (the folds of a
    `data.cv_folds` run, their mean up to the last epoch every fold reached:
    the curve the verdicts read); non-finite values
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
    history = study.history(row["trial_id"], with_parents=True)
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
        panels = []
        for column, key in enumerate(keys):
            panels.append(figure.add_subplot(grid[1, column]))
            _curve_panel(panels[-1], history, key, best_epoch=best_epoch,
                         objective=study.objective, folds=bool(study.cv_folds))
        panels.append(figure.add_subplot(grid[1, len(keys)]))
        _lr_panel(panels[-1], history, best_epoch)
        _shade_inherited(panels, history, row)
        handles = _curve_legend(history, best_epoch, folds=bool(study.cv_folds))
        figure.legend(handles=handles, loc="outside lower center", ncol=len(handles),
                      frameon=False)
    return path


def _shade_inherited(panels, history, row):
    """Greys the epochs a Hyperband round inherited from an earlier trial."""
    inherited = [r["epoch"] for r in history if r.get("inherited")]
    if not inherited:
        return
    start, end = min(inherited) - 0.5, max(inherited) + 0.5
    for ax in panels:
        ax.axvspan(start, end, color="0.9", zorder=0, lw=0)
    panels[0].annotate(f"epochs {min(inherited)}-{max(inherited)}: earlier Hyperband rounds "
                       f"(continued from trial {row.get('tuner/trial_id')})",
                       (start, 1), xycoords=("data", "axes fraction"), xytext=(3, -3),
                       textcoords="offset points", va="top", fontsize=8, color="0.35")


def _settings(study, row):
    """The tuned, active knobs of `row`, most influential first (C2)."""
    if study.domains:
        names = study.tuned_knobs
    else:
        names = [name for name in row if name not in _ROW_FIELDS and ":" not in name]
    names = [name for name in names if not name.startswith("tuner/")
             and row.get(name) is not None]
    return _by_influence(names)


def _curve_header(study, row, verdicts, width):
    """The header's text blocks: (lines, font size, colour); the first is bold."""
    trial_id, status = row["trial_id"], row["status"]
    if status == "COMPLETED" and _is_finite(row.get("objective")):
        at = f" at epoch {row['best_epoch']}" if row.get("best_epoch") else ""
        last = study.last_epoch(row)
        of = f" of {last}" if at and last else ""
        title = f"Trial {trial_id} — {study.objective} {_score(row['objective'])}{at}{of}"
    elif status == "PRUNED" and _is_finite(row.get("objective")):
        title = (f"Trial {trial_id} — PRUNED at epoch {study.last_epoch(row)}: best "
                 f"{study.objective} {_score(row['objective'])}")
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
        if status == "FAILED" and str(summary)[:40] in (row.get("reason") or ""):
            continue  # the verdict only repeats the failure reason above
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


def _mean(series, *, common=False):
    """The per-epoch mean over executions, of the finite values (`common`: only at
    the epochs every execution reached, NaN where one is, as `fold_mean`)."""
    by_epoch = {}
    for epochs, values in series.values():
        for epoch, value in zip(epochs, values):
            by_epoch.setdefault(epoch, []).append(value)
    epochs = sorted(e for e in by_epoch if not common or len(by_epoch[e]) == len(series))
    finite = [[v for v in by_epoch[e] if common or not math.isnan(v)] for e in epochs]
    return epochs, [sum(v) / len(v) if v else math.nan for v in finite]


def _line(ax, epochs, values, style, *, light=False):
    marker = "o" if len(epochs) <= 25 else None
    ax.plot(epochs, values, **style, marker=marker, markersize=3 if light else 4,
            linewidth=1.0 if light else 2.0, alpha=0.35 if light else 1.0)


def _curve_panel(ax, history, key, *, best_epoch, objective, folds=False):
    flags, shown = [], []
    for prefix, style, label in (("", _TRAIN, "train"), ("val_", _VALIDATION, "validation")):
        series = _series(history, prefix + key)
        for epochs, values in series.values():
            _line(ax, epochs, values, style, light=len(series) > 1)
        epochs, values = _mean(series, common=folds)
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


def _curve_legend(history, best_epoch, *, folds=False):
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], linewidth=2, label="train", **_TRAIN),
               Line2D([], [], linewidth=2, label="validation", **_VALIDATION)]
    if best_epoch:
        handles.append(Line2D([], [], color="0.45", linestyle=":", label="best epoch"))
    executions = len({entry["execution"] for entry in history})
    if executions > 1:
        handles.append(Line2D([], [], color="0.5", alpha=0.35,
                              label=f"each of {executions} {'folds' if folds else 'executions'}"
                                    " (bold: mean)"))
    return handles


def _score(value):
    return f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"


def _safe(text):
    return re.sub(r"[^A-Za-z0-9._=+-]+", "-", text)


def _attribute(item, name):
    return getattr(item, name, None) or (item.get(name, "") if isinstance(item, dict) else "")
