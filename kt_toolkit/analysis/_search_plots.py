"""Study-level figures: the objective against each knob, the search history, importance.

Private: import these from `kt_toolkit.analysis.plots`.
"""

import math
import random
import textwrap
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from kt_toolkit.analysis._plot_common import (
    _BEST, _FAILED_COLOR, _TRAIN, _figure, _index, _is_finite, _maybe_log_y, _message,
    _short)

if TYPE_CHECKING:
    from kt_toolkit.rundir.study import Study


def plot_objective_vs_knobs(study: "Study", path: str) -> str:
    """The objective against each tuned knob, one small panel per knob.

    Completed trials are dots (log x for log-sampled knobs; categories with a
    little jitter), pruned trials hollow grey circles at the best they reached
    before they were stopped (B2), failed trials red crosses along the bottom
    edge, the best trial a star; inactive values are left out. Panels share the
    y axis.

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
    knobs, completed, pruned = study.tuned_knobs, study.completed, study.pruned
    failed = [row for row in study.rows if row["status"] == "FAILED"]
    columns = min(4, max(1, len(knobs)))
    rows = max(1, math.ceil(len(knobs) / columns))
    better = "higher" if study.direction == "max" else "lower"
    with _figure(path, max(8.0, 3.3 * columns + 0.5), 2.6 * rows + 0.8) as figure:
        figure.suptitle(f"{study.objective} against each tuned knob ({better} is better) — "
                        f"{len(completed)} completed, {len(failed)} failed"
                        + (f", {len(pruned)} pruned" if pruned else "")
                        + " (★ best, × failed" + (", ○ pruned)" if pruned else ")"),
                        fontsize=12)
        if not knobs or not (completed or failed or pruned):
            _message(figure.subplots(), "No tuned knobs: the space fixes every value."
                     if not knobs else "No finished trial yet.")
            return path
        axes = figure.subplots(rows, columns, squeeze=False, sharey=True)
        best = study.best(1)
        for index, (ax, name) in enumerate(zip(axes.flat, knobs)):
            _knob_panel(ax, study.domains[name], completed, failed, best, pruned=pruned)
            if index % columns == 0:
                ax.set_ylabel(study.objective)
        for ax in axes.flat[len(knobs):]:
            ax.set_visible(False)
        _maybe_log_y(axes.flat[0], [row["objective"] for row in completed + pruned])
        if failed:  # the crosses' strip along the bottom, below every dot
            _failure_strip(axes.flat[:len(knobs)])
    return path


def plot_optimization_history(history_rows: Iterable[Mapping[str, Any]], path: str, *,
                              objective: str, direction: str) -> str:
    """The objective of each trial and the best so far, by trial and by wall time.

    Left: one dot per trial in finish order (pruned trials as hollow grey
    circles, which never set the best so far; failed trials as red crosses in a
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
              if _is_finite(r.get("objective")) and r.get("status") != "PRUNED"]
    pruned = [(i + 1, r["objective"]) for i, r in enumerate(rows)
              if _is_finite(r.get("objective")) and r.get("status") == "PRUNED"]
    failed = [i + 1 for i, r in enumerate(rows) if not _is_finite(r.get("objective"))]
    steps = [(i + 1, {**r, "elapsed_seconds": r.get("elapsed_seconds") or 0.0})
             for i, r in enumerate(rows) if _is_finite(r.get("best_so_far"))]
    unit, scale = _time_unit([r.get("elapsed_seconds") for r in rows])
    better = "higher" if direction == "max" else "lower"
    with _figure(path, 12, 4.4) as figure:
        figure.suptitle(f"Search history: {objective} ({better} is better) — "
                        f"{len(scored)} scored, {len(failed)} failed"
                        + (f", {len(pruned)} pruned" if pruned else ""), fontsize=12)
        if not rows:
            _message(figure.subplots(), "No finished trial yet.")
            return path
        left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
        if scored:
            left.scatter(*zip(*scored), s=26, color=_TRAIN["color"], alpha=0.75,
                         label="trial", zorder=3)
        if pruned:
            _pruned_marks(left, pruned, s=26, label="pruned (B2)")
        _crosses(left, failed, label="failed")
        for ax, xs in ((left, [i for i, _ in steps]),
                       (right, [r["elapsed_seconds"] / scale for _, r in steps])):
            _best_so_far(ax, xs, [r for _, r in steps], [y for _, y in scored + pruned])
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


def plot_importance(importances: Iterable[tuple[str, float]], path: str, *,
                    method: str = "") -> str:
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


def _knob_panel(ax, domain, completed, failed, best, *, pruned=()):
    jitter = random.Random(domain.name)
    x_of = {row["trial_id"]: _knob_x(domain, row.get(domain.name), jitter)
            for row in [*completed, *failed, *pruned]}
    points = [(x_of[r["trial_id"]], r["objective"]) for r in completed
              if x_of[r["trial_id"]] is not None]
    crosses = [x_of[r["trial_id"]] for r in failed if x_of[r["trial_id"]] is not None]
    stopped = [(x_of[r["trial_id"]], r["objective"]) for r in pruned
               if x_of[r["trial_id"]] is not None]
    if stopped:
        _pruned_marks(ax, stopped, s=22)
    if points:
        ax.scatter(*zip(*points), s=22, alpha=0.7, color=_TRAIN["color"], edgecolors="none")
    if best and x_of.get(best[0]["trial_id"]) is not None:
        ax.scatter([x_of[best[0]["trial_id"]]], [best[0]["objective"]], **_BEST)
    _crosses(ax, crosses)
    if not points and not crosses and not stopped:
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


def _pruned_marks(ax, points, **kwargs):
    """Pruned trials (B2): hollow grey circles at the best they reached."""
    ax.scatter(*zip(*points), facecolors="none", edgecolors="0.45", linewidths=1.1,
               zorder=2, **kwargs)


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
