"""Parallel coordinates: one vertical axis per knob plus the objective, a line per trial.

Private: import `plot_parallel_coordinates` from `kt_toolkit.analysis.plots`.
"""

import math
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kt_toolkit.analysis._plot_common import (
    _by_influence, _compact, _figure, _index, _is_finite, _message, _short)
from kt_toolkit.errors import invalid, suggest

if TYPE_CHECKING:
    from kt_toolkit.rundir.study import Study

MAX_PARALLEL_AXES = 8  # knobs drawn when `knobs` is not given
_NA = -0.12  # where inactive values (and failed scores) sit


def plot_parallel_coordinates(study: "Study", path: str, *,
                              knobs: Sequence[str] | None = None) -> str:
    """One vertical axis per knob plus the objective; one line per trial.

    Completed trials are coloured by objective (the better, the brighter), the
    best (up to 3) are drawn on top and thicker, pruned trials (B2) thin grey
    dashed lines to the best they reached, failed trials thin grey lines.
    Numeric axes run from the knob's minimum to its maximum (log-aware),
    categorical axes list the choices, inactive values sit in the "n/a" band.

    Past a handful of axes the lines cross too often to follow, so by default
    at most `MAX_PARALLEL_AXES` (8) tuned knobs get one: the most influential
    first in C2's order (learning rate, units or filters, layers or blocks,
    dropout, optimizer, batch size, …), conditional knobs (inactive in some
    finished trial, like momentum without SGD: lines in the n/a band) after the
    knobs every trial sets. The title says how many tuned knobs were left out;
    every knob has its panel in `plot_objective_vs_knobs`. Only the n/a band
    that some line needs is drawn.

    Example:

    ```python
    study = load_study("runs/digits_mlp-1a2b3c4d")
    plot_parallel_coordinates(study, "parallel.png")
    plot_parallel_coordinates(study, "top3.png", knobs=["learning_rate", "units", "dropout"])
    ```

    Args:
        study: A `Study`.
        path: String, the PNG to write.
        knobs: Optional list of tuned knob names: the axes to draw, in this order
            (e.g. the most important first). Defaults to `None`, the pick above.

    Returns:
        `path`.

    Raises:
        ConfigError: when `knobs` names a knob the search does not tune.
    """
    completed, pruned = study.completed, study.pruned
    failed = [row for row in study.rows if row["status"] == "FAILED"]
    knobs = _axis_knobs(study, knobs, completed + failed + pruned)
    best = study.best(min(3, max(1, len(completed) // 4)))
    width = min(max(7.0, 0.9 * (len(knobs) + 1) + 2.0), 24.0)
    with _figure(path, width, 6.8) as figure:
        figure.suptitle(f"Parallel coordinates — {len(completed)} completed (thick: best "
                        f"{len(best)}), {len(failed)} failed (grey)"
                        + (f", {len(pruned)} pruned (dashed)" if pruned else ""), fontsize=12)
        ax = figure.subplots()
        if not knobs or not (completed or failed or pruned):
            _message(ax, "No tuned knobs: the space fixes every value."
                     if not study.tuned_knobs else "No knob to draw: `knobs` is empty."
                     if not knobs else "No finished trial yet.")
            return path
        left_out = len(study.tuned_knobs) - len(knobs)
        if left_out > 0:
            ax.set_title(f"{len(knobs)} of {len(study.tuned_knobs)} tuned knobs; the rest "
                         "in objective_vs_knobs.png", fontsize=10, color="0.3")
        scales = [_knob_scale(study.domains[name]) for name in knobs]
        to_y, ticks, norm, cmap = _objective_scale(study, completed)
        band = _draw_trials(ax, study, knobs, scales, (to_y, norm, cmap), failed=failed,
                            best=best)
        _parallel_axes(ax, knobs + [study.objective], [marks for _, marks in scales]
                       + [ticks + ([(_NA, "failed")] if failed else [])], band=band)
        _colour_bar(figure, ax, study, norm, cmap)
    return path


def _axis_knobs(study, knobs, finished):
    """The knobs that get an axis: `knobs` once checked, else the default pick."""
    tuned = study.tuned_knobs
    if knobs is None:
        def is_conditional(name):  # inactive in some trial: mostly n/a lines
            return any(row.get(name) is None for row in finished)

        return sorted(_by_influence(tuned), key=is_conditional)[:MAX_PARALLEL_AXES]
    expected = "a list of the study's tuned knobs"
    if isinstance(knobs, str):
        raise invalid("knobs", expected, knobs, f"Pass a list: knobs=[{knobs!r}].")
    unknown = [name for name in knobs if name not in tuned]
    if unknown:
        raise invalid("knobs", expected, knobs, f"`{unknown[0]}` is not one."
                      f"{suggest(unknown[0], tuned)} Tuned: {', '.join(tuned) or 'none'}.")
    return list(dict.fromkeys(knobs))


def _draw_trials(ax, study, knobs, scales, objective, *, failed, best):
    """One line per trial: failed ones first, then worst to best, the best on top.

    Returns whether a line reaches the n/a band (an inactive value or a failure).
    """
    import matplotlib

    to_y, norm, cmap = objective
    colour = matplotlib.colormaps[cmap]
    completed, pruned = study.completed, study.pruned
    pruned_ids = {row["trial_id"] for row in pruned}
    best_ids = {row["trial_id"] for row in best}
    scores = {row["trial_id"]: row["objective"] for row in completed + pruned}
    ordered = sorted(completed, key=lambda row: to_y(row["objective"], None))
    lines = failed + pruned + [row for row in ordered if row["trial_id"] not in best_ids]
    jitter, lowest = random.Random(0), 0.0
    for row in lines + best[::-1]:
        ys = [to(row.get(name), jitter) for (to, _), name in zip(scales, knobs)]
        score = scores.get(row["trial_id"])
        ys.append(to_y(score, None))
        lowest = min(lowest, *ys)
        ax.plot(range(len(ys)), ys, **_trial_style(
            None if score is None else colour(norm(score)),
            best=row["trial_id"] in best_ids, crowded=len(completed) > 60,
            pruned=row["trial_id"] in pruned_ids))
    return lowest < _NA / 2


def _colour_bar(figure, ax, study, norm, cmap):
    import matplotlib

    bar = figure.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax,
                          fraction=0.03, pad=0.015)
    bar.set_label(f"{study.objective} (brighter is better)", fontsize=10)
    bar.ax.tick_params(labelsize=9)
    if study.direction == "min":
        bar.ax.invert_yaxis()


def _trial_style(colour, *, best, crowded, pruned=False):
    """A parallel-coordinates line: grey for a failed trial, grey dashed for a pruned
    one, thick for the best."""
    from matplotlib import patheffects

    if pruned:
        return {"color": "0.55", "linewidth": 0.9, "linestyle": "--", "alpha": 0.7,
                "zorder": 1}
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
             for mark in marks]
    return to_y, ticks, norm, "viridis_r" if flip else "viridis"


def _parallel_axes(ax, names, ticks_per_axis, *, band):
    """The vertical axes, their value labels and names; the n/a band when `band`."""
    renderer = ax.figure.canvas.get_renderer()
    room = ax.figure.bbox.width * 0.85 / len(names) - 12  # pixels to the next axis, about
    for index, ticks in enumerate(ticks_per_axis):
        ax.axvline(index, color="0.25", linewidth=1.0, zorder=4)
        for y, label in ticks:
            text = ax.annotate(label, (index, y), xytext=(4, 0), textcoords="offset points",
                               ha="left", va="center", fontsize=8.5, zorder=6,
                               bbox={"boxstyle": "square,pad=0.1", "facecolor": "white",
                                     "alpha": 0.8, "linewidth": 0})
            width = text.get_window_extent(renderer).width
            if index < len(names) - 1 and width > room:  # it would run into the next axis
                text.set_text(label[:max(1, int(len(label) * room / width) - 1)] + "…")
    if band:
        ax.axhspan(_NA - 0.05, _NA + 0.05, color="0.92", zorder=0)
    ax.set_yticks([_NA] if band else [], labels=["n/a"] if band else [], fontsize=10)
    ax.tick_params(axis="y", length=0)
    _name_axes(ax, names)
    ax.set_xlim(-0.45, len(names) - 0.35)
    ax.set_ylim(_NA - 0.08 if band else -0.05, 1.05)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _name_axes(ax, names, size=10):
    """The names under the axes, level; every other one a line lower when
    neighbours would touch (a tilted name runs into the next axis' labels)."""
    ax.set_xticks(range(len(names)), labels=names, fontsize=size)
    renderer = ax.figure.canvas.get_renderer()
    widths = [label.get_window_extent(renderer).width for label in ax.get_xticklabels()]
    spacing = ax.figure.bbox.width * 0.85 / len(names)  # pixels between axes, about
    if any(left + right > 2 * spacing - 16 for left, right in zip(widths, widths[1:])):
        for tick in ax.xaxis.get_major_ticks()[1::2]:
            tick.set_pad(3.5 + 1.4 * size)
