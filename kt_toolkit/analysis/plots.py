"""Figures of a run directory: curves (B1), knobs, search history, importance.

Each function writes one PNG and returns its path. Matplotlib is imported inside
the functions, so `import kt_toolkit.analysis` stays light, and figures are drawn
on an Agg canvas without `pyplot`: nothing is registered with pyplot's figure
manager and every figure is cleared once saved, so a search that plots after
each trial keeps no figure alive. Files are written atomically (a report being
refreshed never reads half a PNG).

The code lives in private modules, one concept each: `_curves` (a trial's
learning curves and their file names), `_search_plots` (objective against the
knobs, search history, importance), `_parallel` (parallel coordinates) and
`_plot_common` (the canvas, log axes, how values are written).
"""

from kt_toolkit.analysis._curves import curve_filename, plot_trial_curves
from kt_toolkit.analysis._parallel import MAX_PARALLEL_AXES, plot_parallel_coordinates
from kt_toolkit.analysis._plot_common import KNOB_ALIASES
from kt_toolkit.analysis._search_plots import (
    plot_importance, plot_objective_vs_knobs, plot_optimization_history)

__all__ = ["KNOB_ALIASES", "MAX_PARALLEL_AXES", "curve_filename", "plot_importance",
           "plot_objective_vs_knobs", "plot_optimization_history",
           "plot_parallel_coordinates", "plot_trial_curves"]
