"""Study-level tables: the best trials, the optimization history, boundary warnings.

Pure functions of a `Study` (see `kt_toolkit.rundir.load_study`); no Keras.
`boundary_warnings` turns PRACTICES C3 (coarse to fine) into a check: when the best
trials crowd one end of a knob's range, the optimum may lie outside it, so the next
search should widen that end before it narrows around the best region.
"""

import dataclasses
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from kt_toolkit.rundir import tidy_value

if TYPE_CHECKING:
    from kt_toolkit.rundir.study import Study

__all__ = ["BoundaryWarning", "EDGE_FRACTION", "EDGE_SHARE", "KNOB_LIMITS", "MAX_CHANCE",
           "best_trials_table", "boundary_warnings", "distinct_configurations",
           "optimization_history"]

EDGE_FRACTION = 0.1
"""A value is at an edge when it lies in the outer 10% of its range, measured where
the tuner samples uniformly (log space for `log` sampling)."""

EDGE_SHARE = 2 / 3
"""Share of the top trials (those where the knob is active) that must sit at one edge."""

MIN_AT_EDGE = 2
"""At least this many top trials must sit at the edge."""

MAX_CHANCE = 0.05
"""Warn only when random sampling would crowd the edge this much with probability
below 5% (a binomial tail). It keeps coarse knobs quiet: with `num_layers` in 1-3,
2 of 3 trials at 3 happen by chance 26% of the time, 3 of 3 only 4%."""

MIN_TRIALS = 3
"""Fewer completed trials than this give no warnings."""

TOP_SHARE = 0.1
"""`top_k` defaults to the best 10% of distinct completed configurations, at least 3."""

KNOB_LIMITS = {
    # knob: (lowest, highest) value a widened range may reach; None = no limit.
    # Validity bounds (dropout < 1) tightened to what is worth searching (≤ 0.9).
    "dropout": (0.0, 0.9), "recurrent_dropout": (0.0, 0.9),
    "momentum": (0.0, 0.999), "beta_1": (0.0, 0.999), "beta_2": (0.0, 0.99999),
    "decay_rate": (0.01, 0.999), "decay_factor": (0.01, 0.9),
    "learning_rate": (None, 10.0),  # E2: rarely above 10
    "augment_translation": (0.0, 0.5), "augment_crop": (0.0, 0.5),
    "clipnorm": (0.0, None), "dense_units": (0, None),
    "num_layers": (1, None), "num_blocks": (1, None), "convs_per_block": (1, None),
    "units": (1, None), "filters": (1, None), "embedding_dim": (1, None),
    "kernel_size": (1, None), "warmup_epochs": (1, None), "batch_size": (1, None),
}
"""Limits for the builders' knobs. Other knobs: log-scaled ones stay positive (a decade
below a positive number is positive); a linear range starting at ≥ 0 stays ≥ 0, and an
integer one starting at ≥ 1 stays ≥ 1 (a count)."""


@dataclasses.dataclass(frozen=True)
class BoundaryWarning:
    """The best trials crowd one edge of a knob's domain.

    Attributes:
        knob: String.
        edge: String, `"lower"` or `"upper"`.
        domain_min, domain_max: Numbers, the searched range (smallest and largest
            choice for ordered choices).
        sampling: String, `"linear"`, `"log"`, `"reverse_log"` or `"choice"`.
        best_values: Tuple, the knob's values in the top trials where it is active,
            best first.
        suggested_min, suggested_max: Numbers, the widened range (for choices, the
            new smallest or largest choice to add).
        message: String, one sentence for a report.
    """

    knob: str
    edge: str
    domain_min: float
    domain_max: float
    sampling: str
    best_values: tuple
    suggested_min: float
    suggested_max: float
    message: str


def best_trials_table(study: "Study", count: int = 5) -> list[dict[str, Any]]:
    """The best completed trials, best first, as table rows.

    Example:

    ```python
    study = load_study("runs/digits_mlp-6379dab0")
    for row in best_trials_table(study, count=3):
        print(row["rank"], row["trial_id"], row["objective"], row["learning_rate"])
    ```

    Args:
        study: A `Study`.
        count: Integer, how many trials. Defaults to `5`.

    Returns:
        List of at most `count` dicts: `rank` (1 = best), `trial_id`, `objective`,
        one key per tuned knob (its value, `None` when inactive), `best_epoch`,
        `epochs_run`, `seconds`. Ranked as `Study.best` ranks (as `best/` is
        chosen): trials that diverged last, ties by the validation loss, then
        fewer epochs. Hyperband trials that continue an earlier one are separate
        rows.
    """
    knobs = study.tuned_knobs
    table = []
    for rank, row in enumerate(study.best(count), start=1):
        entry = {"rank": rank, "trial_id": row["trial_id"], "objective": row["objective"]}
        entry.update({knob: row.get(knob) for knob in knobs})
        entry.update({key: row.get(key) for key in ("best_epoch", "epochs_run", "seconds")})
        table.append(entry)
    return table


def optimization_history(study: "Study") -> list[dict[str, Any]]:
    """The finished trials in the order they finished, with the best score so far.

    Elapsed time is wall-clock time since the first trial started, from each
    trial's `meta.json` (`started_at`, `finished_at`); so parallel workers are not
    double-counted. Runs recorded before those fields existed fall back to the
    cumulative `seconds` of the trials in id order.

    Example:

    ```python
    for row in optimization_history(load_study("runs/digits_mlp-6379dab0")):
        print(row["trial_id"], row["objective"], row["best_so_far"], row["is_best"])
    ```

    Args:
        study: A `Study`.

    Returns:
        List of dicts, one per COMPLETED, PRUNED or FAILED trial: `trial_id`,
        `status`, `objective` (`None` unless completed or pruned with a finite
        score; a pruned trial's is the best it reached before it was stopped),
        `best_so_far` (the best COMPLETED objective up to and including this
        trial, `None` before the first: a pruned trial never sets it), `is_best`
        (whether this trial set a new best) and `elapsed_seconds`.
    """
    finished = [row for row in study.rows
                if row["status"] in ("COMPLETED", "PRUNED", "FAILED")]
    metas = {row["trial_id"]: study.meta(row["trial_id"]) for row in finished}
    clock = all(_number(metas[row["trial_id"]].get(key)) is not None
                for row in finished for key in ("started_at", "finished_at"))
    if clock and finished:
        start = min(metas[row["trial_id"]]["started_at"] for row in finished)
        finished.sort(key=lambda row: (metas[row["trial_id"]]["finished_at"],
                                       int(row["trial_id"])))
        elapsed = [metas[row["trial_id"]]["finished_at"] - start for row in finished]
    else:
        elapsed, total = [], 0.0
        for row in finished:
            total += _number(row.get("seconds")) or 0.0
            elapsed.append(total)
    history, best = [], None
    for row, seconds in zip(finished, elapsed):
        objective = (_number(row["objective"]) if row["status"] in ("COMPLETED", "PRUNED")
                     else None)
        is_best = (row["status"] == "COMPLETED" and objective is not None
                   and (best is None or study.is_better(objective, best)))
        best = objective if is_best else best
        history.append({"trial_id": row["trial_id"], "status": row["status"],
                        "objective": objective, "best_so_far": best, "is_best": is_best,
                        "elapsed_seconds": round(seconds, 3)})
    return history


def boundary_warnings(study: "Study", *, top_k: int | None = None,
                      edge_fraction: float = EDGE_FRACTION, edge_share: float = EDGE_SHARE,
                      max_chance: float = MAX_CHANCE) -> list[BoundaryWarning]:
    """Warns when the best trials sit at an edge of a tuned numeric knob's range.

    For each tuned `float`/`int` knob, and each choice knob whose choices are
    numbers (at least 3, e.g. `units` in [32, 64, 128, 256]), it looks at the
    `top_k` best distinct configurations where the knob is active. It warns when
    at least `edge_share` of them (and at least 2) sit at the same edge — the outer
    `edge_fraction` of the range, in log space for `log` sampling, or the extreme
    choice — and random sampling would put that many there with probability below
    `max_chance`. The suggestion widens that end only: log ranges by one decade
    (×10 or ÷10), linear ones by half the range's width, ordered choices by one more
    value (×ratio for geometric lists like powers of two, else + the last gap),
    clamped to `KNOB_LIMITS`. An edge already at its limit (dropout at 0) gives no
    warning: there is nothing to widen.

    Example:

    ```python
    for warning in boundary_warnings(load_study("runs/digits_mlp-6379dab0")):
        print(warning.message)
    # learning_rate: 3 of the top 3 trials are at the upper edge of [0.0001, 0.1]
    # (best 0.087): widen to [0.0001, 1].
    ```

    Args:
        study: A `Study`.
        top_k: Optional integer, how many of the best distinct configurations to
            look at. Defaults to the best 10% of the distinct completed
            configurations, at least 3. Hyperband's continuations of one
            configuration count once.
        edge_fraction: Float, the share of the range at each end that counts as
            its edge. Defaults to `EDGE_FRACTION` (0.1).
        edge_share: Float, the share of the top trials that must sit at one edge.
            Defaults to `EDGE_SHARE` (2/3).
        max_chance: Float, the largest probability that random sampling crowds the
            edge as much. Defaults to `MAX_CHANCE` (0.05); `1.0` turns it off.

    Returns:
        List of `BoundaryWarning`, in the space's knob order; empty with fewer
        than 3 completed trials.
    """
    configs = distinct_configurations(study, study.best(len(study.completed)))
    if len(configs) < MIN_TRIALS:
        return []
    if top_k is None:
        top_k = max(MIN_TRIALS, math.ceil(TOP_SHARE * len(configs)))
    top = configs[:top_k]
    warnings = []
    for knob in study.tuned_knobs:
        domain = study.domains[knob]
        values = [row[knob] for row in top if _number(row.get(knob)) is not None]
        if domain.is_numeric:
            warning = _range_warning(domain, values, len(top), edge_fraction=edge_fraction,
                                     edge_share=edge_share, max_chance=max_chance)
        else:
            warning = _choice_warning(domain, values, len(top), edge_share=edge_share,
                                      max_chance=max_chance)
        if warning is not None:
            warnings.append(warning)
    return warnings


def distinct_configurations(study: "Study",
                            rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows` without repeats of a configuration (same tuned knob values), first kept.

    Hyperband trains one configuration in several trials (rounds); this keeps the
    first of them in the order given.
    """
    seen, kept = set(), []
    for row in rows:
        key = tuple(repr(row.get(knob)) for knob in study.tuned_knobs)
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept


def _range_warning(domain, values, top_count, *, edge_fraction, edge_share, max_chance):
    positions = [_position(domain, value) for value in values]
    for edge in ("lower", "upper"):
        at_edge = sum(1 for p in positions if _at_edge(p, edge, edge_fraction))
        chance = _edge_chance(domain, edge, edge_fraction)
        if not _crowded(at_edge, len(values), chance, edge_share, max_chance):
            continue
        low, high = _widen(domain, edge)
        if (low, high) == (domain.min, domain.max):
            return None  # the edge is already the knob's limit
        where = f"[{_fmt(domain.min)}, {_fmt(domain.max)}]"
        message = (f"{domain.name}: {_count(at_edge, values, top_count)} at the {edge} "
                   f"edge of {where} (best {_fmt(values[0])}): widen to "
                   f"[{_fmt(low)}, {_fmt(high)}].")
        return BoundaryWarning(domain.name, edge, domain.min, domain.max, domain.sampling,
                               tuple(values), low, high, message)
    return None


def _choice_warning(domain, values, top_count, *, edge_share, max_chance):
    choices = sorted(v for v in domain.values if _number(v) is not None)
    if len(choices) < 3 or len(choices) != len(domain.values):
        return None  # not an ordered numeric list (or too short to have a middle)
    for edge, extreme in (("lower", choices[0]), ("upper", choices[-1])):
        at_edge = sum(1 for value in values if value == extreme)
        if not _crowded(at_edge, len(values), 1 / len(choices), edge_share, max_chance):
            continue
        added = _clamp(domain.name, _next_choice(choices, edge), choices[0], choices[-1],
                       integer=all(isinstance(v, int) for v in choices))
        if added == extreme:
            return None
        low, high = (added, choices[-1]) if edge == "lower" else (choices[0], added)
        which = "smallest" if edge == "lower" else "largest"
        message = (f"{domain.name}: {_count(at_edge, values, top_count)} at the {which} "
                   f"choice {_fmt(extreme)} of [{', '.join(map(_fmt, choices))}]: "
                   f"add {_fmt(added)}.")
        return BoundaryWarning(domain.name, edge, choices[0], choices[-1], "choice",
                               tuple(values), low, high, message)
    return None


def _crowded(at_edge, active, chance, edge_share, max_chance):
    if at_edge < MIN_AT_EDGE or at_edge < edge_share * active:
        return False
    tail = sum(math.comb(active, k) * chance ** k * (1 - chance) ** (active - k)
               for k in range(at_edge, active + 1))
    return tail < max_chance


def _count(at_edge, values, top_count):
    text = f"{at_edge} of the top {top_count} trials"
    if len(values) < top_count:
        text += f" ({len(values)} use the knob)"
    return text + (" is" if at_edge == 1 else " are")


def _position(domain, value):
    """Where `value` lies in [0, 1] of the range, as KerasTuner samples it (NaN if
    the value cannot be placed, e.g. 0 on a log scale: it then counts at no edge)."""
    low, high = domain.min, domain.max
    try:
        if domain.sampling == "log":
            return math.log(value / low) / math.log(high / low)
        if domain.sampling == "reverse_log":
            return 1 - math.log((high + low - value) / low) / math.log(high / low)
    except (ValueError, ZeroDivisionError):
        return math.nan
    return (value - low) / (high - low)


def _edge_chance(domain, edge, edge_fraction):
    """The probability that one uniformly sampled value lands at `edge`."""
    grid = _grid(domain)
    if grid is None:
        return edge_fraction
    inside = sum(1 for value in grid if _at_edge(_position(domain, value), edge, edge_fraction))
    return max(inside, 1) / len(grid)


def _at_edge(position, edge, edge_fraction):
    if edge == "lower":
        return position <= edge_fraction + 1e-9
    return position >= 1 - edge_fraction - 1e-9


def _grid(domain, most=10_000):
    """The values a stepped or integer range can take (`None` when continuous)."""
    step = domain.step or (1 if domain.kind == "int" else None)
    if step is None or (domain.sampling != "linear" and not domain.step):
        return None
    if domain.sampling == "linear":
        count = int(math.floor((domain.max - domain.min) / step + 1e-9)) + 1
        return [domain.min + i * step for i in range(count)] if count <= most else None
    values, value = [], domain.min
    while value <= domain.max * (1 + 1e-9) and len(values) < most:
        values.append(value)
        value *= step
    return values


def _widen(domain, edge):
    low, high = domain.min, domain.max
    if domain.sampling == "log":
        low, high = (low / 10, high) if edge == "lower" else (low, high * 10)
    else:
        extra = (high - low) / 2
        if domain.step and domain.sampling == "linear":
            extra = math.ceil(extra / domain.step - 1e-9) * domain.step
        low, high = (low - extra, high) if edge == "lower" else (low, high + extra)
    integer = domain.kind == "int"
    if integer:
        low, high = math.floor(low), math.ceil(high)
        if domain.sampling == "log":
            low = max(low, 1)  # a log scale needs a positive end
    bound = _clamp(domain.name, low if edge == "lower" else high, domain.min, domain.max,
                   integer=integer, log=domain.sampling == "log")
    low, high = (bound, domain.max) if edge == "lower" else (domain.min, bound)
    return tidy_value(low), tidy_value(high)


def _clamp(name, value, domain_min, domain_max, *, integer=False, log=False):
    """`value` kept within the knob's limits (see `KNOB_LIMITS`)."""
    low, high = KNOB_LIMITS.get(name, (None, None))
    if name not in KNOB_LIMITS and not log and domain_min >= 0:
        low = 1 if integer and domain_min >= 1 else 0
    if low is not None:
        value = max(value, min(low, domain_min))
    if high is not None:
        value = min(value, max(high, domain_max))
    return tidy_value(value)


def _next_choice(choices, edge):
    """One more choice beyond `edge`, continuing the list's step at that end."""
    a, b, c = (choices[:3] if edge == "lower" else choices[:-4:-1])
    if a > 0 and b > 0 and c > 0 and math.isclose(b / a, c / b, rel_tol=1e-6):
        value = a * a / b  # geometric: ×ratio beyond the end (÷ at the lower end)
    else:
        value = a - (b - a)
    if all(isinstance(v, int) for v in choices):
        value = round(value)
    return value


def _number(value):
    """`value` as a finite float, or `None` (booleans, strings, NaN, `None`)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _fmt(value):
    return f"{value:g}" if isinstance(value, float) else str(value)
