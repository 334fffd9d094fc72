"""Which knobs moved the objective: permutation importance from a random forest.

A `RandomForestRegressor` learns the objective from the completed trials' knob
values; a knob matters as much as the forest's held-out predictions get worse when
that knob's values are replaced by random ones (Breiman's permutation importance,
computed on cross-validation folds, so a forest that memorises noise earns no
importance). Impurity-based importances are not used: they favour knobs with many
distinct values (continuous ranges over booleans). No Keras; scikit-learn is
imported when the function runs.

Below a cross-validated R² of `MIN_R2` (0.3) the ranking is not acted on: the
report says "importance not reliable (R² = 0.13 < 0.3)" instead of drawing it,
and no next step narrows or fixes knobs by it (`ImportanceResult.is_reliable`).
"""

import dataclasses
import math
from typing import TYPE_CHECKING

import numpy as np

from kt_toolkit.analysis.search import distinct_configurations

if TYPE_CHECKING:
    from kt_toolkit.rundir.study import Study

__all__ = ["ImportanceResult", "MIN_R2", "MIN_TRIALS", "hyperparameter_importance"]

MIN_R2 = 0.3
"""The least cross-validated R² at which the ranking is shown and acted on. Below it
the forest explains under 30% of the objective's variation on held-out trials, and
the knobs' shares of that little are mostly noise."""

MIN_TRIALS = 8
"""Fewer distinct completed configurations than this give no importances."""

N_TREES = 100
"""Trees per forest."""

N_FOLDS = 5
"""Cross-validation folds (fewer when there are fewer trials)."""

N_REPEATS = 5
"""Random replacements of each knob's held-out values per fold."""

BUDGET_KEY = "tuner/epochs"  # Hyperband's epoch budget of a trial


@dataclasses.dataclass
class ImportanceResult:
    """The outcome of `hyperparameter_importance`.

    Attributes:
        method: String, one sentence that says how the numbers were made.
        importances: List of `(knob, share)` tuples, largest first, shares summing
            to 1 (every tuned knob, zeros included); empty when `note` says why.
        r2: Float, the forest's cross-validated R² on held-out trials: how much of
            the objective the knobs explain at all (≤ 0: no better than the mean,
            the ranking is noise). `None` when nothing was fitted.
        trials_used: Integer, distinct completed configurations used.
        note: String, a caveat or why `importances` is empty; `""` if none.
    """

    method: str
    importances: list[tuple[str, float]]
    r2: float | None = None
    trials_used: int = 0
    note: str = ""

    @property
    def is_reliable(self) -> bool:
        """Whether the ranking may be shown and acted on: some importances, and a
        cross-validated R² of at least `MIN_R2`."""
        return bool(self.importances) and self.r2 is not None and self.r2 >= MIN_R2

    @property
    def unreliable_reason(self) -> str:
        """`"importance not reliable (R² = 0.13 < 0.3)"`, or `""` when the R² reaches
        `MIN_R2` or nothing was fitted (no R² to quote)."""
        if self.r2 is None or self.r2 >= MIN_R2:
            return ""
        return f"importance not reliable (R² = {_r2(self.r2)} < {MIN_R2:g})"


def hyperparameter_importance(study: "Study", *, seed: int = 0) -> ImportanceResult:
    """Ranks the tuned knobs by how much of the objective's variation they explain.

    Knob values are encoded as numbers: ranges as they are (log10 for `log`
    sampling), choices by their position in the domain's list; where a conditional
    knob is inactive (`momentum` without SGD) it gets random values drawn from the
    trials where it is active, so its importance is its own effect, not its
    parent's (a marker value would let "inactive" stand in for "not SGD"). A
    `RandomForestRegressor`
    is fitted to the objective in each of 5 cross-validation folds; in the held-out
    trials each knob's values are replaced by values drawn at random from all
    trials (5 times), and the knob's importance is the mean loss of held-out R²
    that causes (negative values count as 0). Shares are normalised to sum 1.
    Hyperband trains one configuration in several trials with growing budgets;
    each configuration counts once, with its most-trained result.

    Example:

    ```python
    result = hyperparameter_importance(load_study("runs/digits_mlp-6379dab0"))
    print(result.method, result.r2)
    for knob, share in result.importances:
        print(f"{knob:>16} {share:.2f}")
    ```

    Args:
        study: A `Study`.
        seed: Integer, the seed of the folds, forests and replacements; the same
            seed gives the same result. Defaults to `0`.

    Returns:
        An `ImportanceResult`; with fewer than `MIN_TRIALS` (8) distinct completed
        configurations, or a constant objective, its `importances` is empty and
        `note` says why. Below `MIN_R2` its `note` says the ranking is not reliable
        (see `ImportanceResult.is_reliable`).
    """
    knobs = study.tuned_knobs
    rows = _rows(study)
    method = _method(len(rows), hyperband=_is_hyperband(study))
    if not knobs:
        return ImportanceResult(method, [], note="The study tunes no knob.")
    if len(rows) < MIN_TRIALS:
        return ImportanceResult(method, [], trials_used=len(rows), note=(
            f"Only {len(rows)} distinct completed trials; importance needs at least "
            f"{MIN_TRIALS} to say anything."))
    rng = np.random.default_rng(seed)
    x = _encode(study, knobs, rows, rng=rng)
    y = np.array([row["objective"] for row in rows], dtype=float)
    if np.ptp(y) == 0:
        return ImportanceResult(method, [], trials_used=len(rows),
                                note="Every trial scored the same; no knob made a difference.")
    r2, drops = _cross_validated_drops(x, y, rng=rng)
    shares = np.clip(drops, 0.0, None)
    if shares.sum() <= 0:
        return ImportanceResult(method, [], r2=r2, trials_used=len(rows), note=(
            f"No knob predicts the objective on held-out trials better than chance "
            f"(cross-validated R² {r2:.2f})."))
    shares = shares / shares.sum()
    order = sorted(range(len(knobs)), key=lambda i: (-shares[i], i))
    importances = [(knobs[i], float(round(shares[i], 6))) for i in order]
    note = ""
    if r2 < MIN_R2:
        how = ("no better than their mean" if r2 <= 0
               else "too poorly to rank the knobs")
        note = (f"Importance not reliable (R² = {_r2(r2)} < {MIN_R2:g}): the forest predicts "
                f"held-out trials {how}; treat the ranking as noise and run more trials.")
    return ImportanceResult(method, importances, r2=r2, trials_used=len(rows), note=note)


def _r2(value):
    """R² to two decimals, three where two would round it up to `MIN_R2` (0.299)."""
    text = f"{value:.2f}"
    return f"{value:.3f}" if float(text) >= MIN_R2 else text


def _rows(study):
    """Completed trials, one per configuration (the most trained), in trial order."""
    rows = sorted(study.completed, reverse=True,
                  key=lambda row: (_budget(row), int(row["trial_id"])))
    return sorted(distinct_configurations(study, rows), key=lambda row: int(row["trial_id"]))


def _budget(row):
    value = row.get(BUDGET_KEY)
    if value is None:
        value = row.get("epochs_run")
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _is_hyperband(study):
    return any(row.get(BUDGET_KEY) is not None for row in study.rows)


def _method(count, *, hyperband):
    folds = min(N_FOLDS, count)
    text = (f"Permutation importance of a scikit-learn RandomForestRegressor "
            f"({N_TREES} trees) fitted to {count} completed trials (log10 for log-scaled "
            f"knobs, list positions for choices, random active values where a "
            f"conditional knob is inactive): the mean loss of held-out R² over {folds}-fold "
            f"cross-validation when a knob's values are replaced by random ones "
            f"({N_REPEATS} times), normalised to sum 1.")
    if hyperband:
        text += " Hyperband configurations count once, with their most-trained result."
    return text


def _encode(study, knobs, rows, *, rng):
    """The trials as a float matrix, one column per knob (see the docstring above)."""
    x = np.full((len(rows), len(knobs)), np.nan)
    for j, knob in enumerate(knobs):
        domain = study.domains[knob]
        log = domain.sampling == "log"
        codes = {repr(value): code for code, value in enumerate(domain.values)}
        for i, row in enumerate(rows):
            value = row.get(knob)
            if value is None:
                continue  # inactive
            if not domain.is_numeric:
                x[i, j] = codes.setdefault(repr(value), len(codes))
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                x[i, j] = math.log10(value) if log and value > 0 else float(value)
        inactive = np.isnan(x[:, j])
        active = x[~inactive, j]
        # Random active values, not a marker: a marker would copy the parent knob's
        # information (momentum's "inactive" is "not SGD") and steal its importance.
        x[inactive, j] = rng.choice(active, size=inactive.sum()) if active.size else 0.0
    return x


def _cross_validated_drops(x, y, *, rng):
    """Cross-validated R² and, per column, the mean R² lost when it is scrambled."""
    from sklearn.ensemble import RandomForestRegressor

    count, width = x.shape
    folds = np.array_split(rng.permutation(count), min(N_FOLDS, count))
    total = float(((y - y.mean()) ** 2).sum())
    base_error, extra_error = 0.0, np.zeros(width)
    for held in folds:
        train = np.setdiff1d(np.arange(count), held)
        forest = RandomForestRegressor(n_estimators=N_TREES, min_samples_leaf=1,
                                       random_state=int(rng.integers(2**31)), n_jobs=1)
        forest.fit(x[train], y[train])
        # Every scrambled copy of the held-out trials in one matrix: one predict call.
        batch = np.repeat(x[held][None], width * N_REPEATS + 1, axis=0)
        for j in range(width):
            for r in range(N_REPEATS):
                batch[1 + j * N_REPEATS + r, :, j] = rng.choice(x[:, j], size=len(held))
        predicted = forest.predict(batch.reshape(-1, width)).reshape(len(batch), len(held))
        errors = ((predicted - y[held]) ** 2).sum(axis=1)
        base_error += errors[0]
        extra_error += errors[1:].reshape(width, N_REPEATS).mean(axis=1) - errors[0]
    return float(1.0 - base_error / total), extra_error / total
