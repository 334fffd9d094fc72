"""Parallel coordinates: one vertical axis per knob plus the objective, a line per trial.

Private: import `plot_parallel_coordinates` from `kt_toolkit.analysis.plots`.
"""

import math
import random

from kt_toolkit.analysis._plot_common import (
    _compact, _figure, _index, _is_finite, _message, _short)

_NA = -0.12  # parallel coordinates: where inactive values (and failed scores) sit
MAX_PARALLEL_AXES = 8


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
