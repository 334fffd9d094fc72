"""The figure of one knob's ablation (`kt_toolkit.analysis.ablation`).

Every value's mean validation curve (the objective per epoch, averaged over the
seeds that reached that epoch) with its 95 % band; for a numeric knob, a first
panel of the score against the value with its band, each value where a run
failed or diverged marked with a red cross. Matplotlib is imported lazily.
"""

import math

from kt_toolkit.analysis._plot_common import _FAILED_COLOR, _figure, _message

__all__ = ["plot_ablation"]


def plot_ablation(path, table, curves, *, numbers=None, scale=None):
    """Writes the ablation's PNG and returns `path`.

    Args:
        path: String, the PNG.
        table: The `AblationTable`.
        curves: Dict value → `(epochs, means, half widths)` of its validation
            curve (`kt_toolkit.analysis.ablation.mean_curve`).
        numbers: Optional dict value → float: a numeric knob, drawn as score
            against value in a first panel.
        scale: Optional string, `"log"` for a log x axis there.
    """
    numeric = bool(numbers)
    with _figure(path, 12 if numeric else 7.5, 4.6) as figure:
        axes = figure.subplots(1, 2 if numeric else 1, squeeze=False)[0]
        if numeric:
            _score_vs_value(axes[0], table, numbers, scale)
        _curves(axes[-1], table, curves)
    return path


def _band(ax, xs, means, halves, **style):
    line, = ax.plot(xs, means, **style)
    low = [m - h if math.isfinite(h) else m for m, h in zip(means, halves)]
    high = [m + h if math.isfinite(h) else m for m, h in zip(means, halves)]
    ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    return line


def _curves(ax, table, curves):
    drawn = False
    for summary in table.summaries:
        epochs, means, halves = curves.get(summary.value, ([], [], []))
        if not epochs:
            continue
        label = f"{summary.value} ({summary.verdict})"
        if summary.failures:
            label += f", {summary.failures} failed"
        _band(ax, epochs, means, halves, marker="o", markersize=3, label=label)
        drawn = True
    if not drawn:
        _message(ax, "No epoch recorded yet.")
        return
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{table.objective} (mean over seeds, 95 % band)")
    ax.set_title(f"{table.knob}: validation curves")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def _score_vs_value(ax, table, numbers, scale):
    points = [(numbers[s.value], s) for s in table.summaries if s.value in numbers]
    scored = sorted((x, s) for x, s in points if s.scores)
    if scored:
        _band(ax, [x for x, _ in scored], [s.mean for _, s in scored],
              [s.half_width for _, s in scored], marker="o", color="#1f77b4",
              label="mean ± 95 %")
    failed = [(x, s) for x, s in points if s.failures]
    if failed:
        ys = [s.mean if s.scores else (min((t.mean for _, t in scored), default=0.0))
              for _, s in failed]
        ax.scatter([x for x, _ in failed], ys, marker="x", s=90, color=_FAILED_COLOR,
                   zorder=5, label="failed or diverged runs")
        for (x, s), y in zip(failed, ys):
            ax.annotate(f"{s.failures}/{s.runs}", (x, y), textcoords="offset points",
                        xytext=(4, 6), fontsize=8, color=_FAILED_COLOR)
    if scale == "log":
        ax.set_xscale("log")
    ax.set_xlabel(f"{table.knob}" + (" (log scale)" if scale == "log" else ""))
    ax.set_ylabel(f"{table.objective} at the best epoch")
    ax.set_title(f"{table.knob}: score against value")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
