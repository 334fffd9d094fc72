"""Shared parts of the figures: the Agg canvas, log axes, and how values are written.

Private: `kt_toolkit.analysis.plots` is the public module. Matplotlib is imported
inside the functions, so importing this module stays light.
"""

import contextlib
import math
import os
import textwrap

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
_DPI = 100
_TRAIN = {"color": "#1f77b4", "linestyle": "-"}
_FAILED_COLOR = "#d62728"
_BEST = {"marker": "*", "s": 190, "color": "#ffd92f", "edgecolor": "black", "zorder": 5}


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


# --- names and values ----------------------------------------------------------


def _by_influence(names):
    """`names` sorted most influential first (C2); the unranked keep their order."""
    rank = {name: index for index, name in enumerate(_PRIORITY)}
    return sorted(names, key=lambda name: rank.get(name, len(rank)))


def _compact(value, digits=3):
    """`3e-3`, `0.5`, `128`, `on`/`off`; strings as they are; `digits` significant."""
    if isinstance(value, bool) or value in ("True", "False"):
        return "on" if value in (True, "True") else "off"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        if value == int(value) and abs(value) < 1e5:
            return str(int(value))
        if abs(value) < 0.01 or abs(value) >= 1e5:
            mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
            return f"{float(mantissa):g}e{int(exponent)}"
        return f"{value:.{digits}g}"
    return str(value)


def _short(value, size=15):
    text = _compact(value)
    return text if len(text) <= size else text[:size - 1] + "…"


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
