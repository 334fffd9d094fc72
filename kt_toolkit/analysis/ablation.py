"""One knob's ablation read back: each value's mean ± 95 % interval, and verdicts.

A pure reader of `<run>/ablations/<knob>/` (`kt_toolkit.rundir.ablations`):

- each value's scores over its seeds: mean and the 95 % t-interval
  (mean ± t(0.975, n − 1) · s / √n);
- the best value (the best mean) is the reference; every other value's
  difference to it, the 95 % Welch interval of that difference, and the
  p-value of Welch's t-test (`scipy.stats.ttest_ind(equal_var=False)`);
- a plain verdict per value: `worse` or `better` when p < `ALPHA`, else
  `no clear difference` ("zeros: −0.790 ± 0.020 vs glorot_uniform, p < 0.001: worse").

A run that failed or diverged is a failure, never missing data: it counts with
the objective's worst score (0 for accuracy, AUC, precision, recall) in the
mean; an unbounded objective (a loss) has no worst number, so the `failed`
column carries it and the value with fewer failures ranks first.

Example:

>>> table = ablation_table(AblationStore(run_dir, "kernel_initializer"))
>>> print(table.text())
"""

import dataclasses
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence

from kt_toolkit.pruning.divergence import BOUNDED_SCORES
from kt_toolkit.rundir.ablations import AblationStore, value_text

__all__ = ["ALPHA", "AblationTable", "ValueSummary", "ablation_curves", "ablation_table",
           "add_ablation_sections", "draw_ablation", "format_p", "mean_curve", "summarize", "t_interval",
           "welch_test", "worst_score"]

ALPHA = 0.05
"""A difference with a Welch p-value below this is called; above, `no clear difference`."""

_HEADERS = ("value", "runs", "failed", "mean ± 95 %", "vs best", "p", "verdict",
            "best epoch", "seconds")


@dataclasses.dataclass
class ValueSummary:
    """One value's runs.

    Attributes:
        value: String, the value as `results.csv` writes it.
        runs: Integer, the runs recorded; `failures` of them failed or diverged.
        scores: List of floats, the scores the statistics use (failures as the
            objective's worst, when it has one).
        mean: Float (NaN without scores); `half_width` of its 95 % interval
            (NaN with fewer than 2 scores).
        best_epoch: Float, the mean best epoch of the completed runs (NaN if none).
        seconds: Float, the mean seconds per run (NaN if none).
        difference: Float, mean minus the best value's mean (0 for the best);
            `difference_half_width` its 95 % Welch interval; `p_value` Welch's.
        verdict: String: `best`, `worse`, `better`, `no clear difference`, or
            `too few runs`.
    """

    value: str
    runs: int
    failures: int
    scores: list
    mean: float
    half_width: float
    best_epoch: float = math.nan
    seconds: float = math.nan
    difference: float = math.nan
    difference_half_width: float = math.nan
    p_value: float = math.nan
    verdict: str = ""


def worst_score(objective: str, direction: str) -> "float | None":
    """The score a failed run counts with: 0 for a maximized score in [0, 1], else `None`."""
    metric = objective[4:] if objective.startswith("val_") else objective
    return 0.0 if direction == "max" and metric.endswith(BOUNDED_SCORES) else None


def t_interval(scores: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """`(mean, half width)` of the t-interval of the mean; half width NaN for n < 2."""
    from scipy import stats

    n = len(scores)
    if n == 0:
        return math.nan, math.nan
    mean = math.fsum(scores) / n
    if n < 2:
        return mean, math.nan
    sd = math.sqrt(math.fsum((s - mean) ** 2 for s in scores) / (n - 1))
    return mean, float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)


def welch_test(a: Sequence[float], b: Sequence[float],
               confidence: float = 0.95) -> tuple[float, float, float]:
    """`(mean(a) − mean(b), half width of its Welch interval, Welch's two-sided p)`.

    Two samples without spread: p is 1 when their means are equal, 0 otherwise
    (scipy answers NaN there).
    """
    from scipy import stats

    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return math.nan, math.nan, math.nan
    ma, mb = math.fsum(a) / na, math.fsum(b) / nb
    va = math.fsum((x - ma) ** 2 for x in a) / (na - 1)
    vb = math.fsum((x - mb) ** 2 for x in b) / (nb - 1)
    se2 = va / na + vb / nb
    if se2 == 0:
        return ma - mb, 0.0, 1.0 if ma == mb else 0.0
    df = se2 ** 2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * math.sqrt(se2)
    with warnings.catch_warnings():  # one constant sample: scipy warns of precision loss
        warnings.simplefilter("ignore", RuntimeWarning)
        p_value = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    return ma - mb, half, p_value


def format_p(p_value: float) -> str:
    """`p < 0.001`, `p = 0.034`, `p = 0.52`; `p = n/a` for NaN."""
    if not math.isfinite(p_value):
        return "p = n/a"
    if p_value < 0.001:
        return "p < 0.001"
    return f"p = {p_value:.3f}" if p_value < 0.1 else f"p = {p_value:.2f}"


def _p_cell(p_value: float) -> str:
    """The table's p column: `< 0.001`, `0.034`, `n/a`."""
    text = format_p(p_value)
    return text[len("p = "):] if text.startswith("p = ") else text[len("p "):]


def _num(value: float, *, signed: bool = False) -> str:
    if not math.isfinite(value):
        return "n/a" if math.isnan(value) else str(value)
    text = (f"{value:+.3f}" if signed else f"{value:.3f}") if value == 0 or 1e-3 <= abs(
        value) < 1e4 else (f"{value:+.2e}" if signed else f"{value:.2e}")
    return text.replace("-", "−")


def summarize(rows: Iterable[Mapping], values: Sequence[str], *, seeds: Sequence[int],
              objective: str, direction: str) -> list[ValueSummary]:
    """Each value's `ValueSummary` (in `values` order) from `results.csv` rows, compared.

    Args:
        rows: Dicts with `value`, `seed`, `score`, `status`, `best_epoch`, `seconds`.
        values: Strings, the values asked for; `seeds` the seeds: other rows are
            left out of the table (they stay in `results.csv`).
        objective: String; `direction` `"max"` or `"min"`.

    Returns:
        List of `ValueSummary`, the statistics, differences and verdicts filled.
    """
    wanted = {str(seed) for seed in seeds}
    worst = worst_score(objective, direction)
    summaries = []
    for value in values:
        own = [row for row in rows if row["value"] == value and str(row["seed"]) in wanted]
        done = [row for row in own if row["status"] == "completed"]
        scores = [float(row["score"]) if row["status"] == "completed" else worst
                  for row in own if row["status"] == "completed" or worst is not None]
        scores = [score for score in scores if math.isfinite(score)]
        mean, half = t_interval(scores)
        summaries.append(ValueSummary(
            value=value, runs=len(own), failures=len(own) - len(done), scores=scores,
            mean=mean, half_width=half,
            best_epoch=_mean(row["best_epoch"] for row in done),
            seconds=_mean(row["seconds"] for row in own)))
    _compare(summaries, direction)
    return summaries


def _mean(numbers):
    numbers = [float(n) for n in numbers if n is not None and math.isfinite(float(n))]
    return math.fsum(numbers) / len(numbers) if numbers else math.nan


def _rank_key(summary, direction):
    """Fewer runs left out of the scores (failures without a worst score) first, then
    the better mean."""
    unscored = (summary.runs - len(summary.scores)) / summary.runs if summary.runs else 1.0
    return unscored, -summary.mean if direction == "max" else summary.mean


def _compare(summaries, direction):
    ranked = [s for s in summaries if s.scores]
    if not ranked:
        for summary in summaries:
            summary.verdict = "too few runs"
        return
    best = min(ranked, key=lambda s: _rank_key(s, direction))
    sign = 1.0 if direction == "max" else -1.0
    for summary in summaries:
        if summary is best:
            summary.difference, summary.difference_half_width = 0.0, 0.0
            summary.verdict = "best"
            continue
        diff, half, p_value = welch_test(summary.scores, best.scores)
        summary.difference, summary.difference_half_width, summary.p_value = diff, half, p_value
        if not math.isfinite(p_value):
            summary.verdict = "too few runs"
        elif p_value >= ALPHA:
            summary.verdict = "no clear difference"
        else:
            summary.verdict = "better" if sign * diff > 0 else "worse"


@dataclasses.dataclass
class AblationTable:
    """One knob's ablation, summarized.

    Attributes:
        knob: String; `objective` and `direction` what the scores are.
        summaries: List of `ValueSummary`, in the order the values were asked.
        seeds: List of ints.
    """

    knob: str
    objective: str
    direction: str
    summaries: list
    seeds: list

    @property
    def best(self) -> "ValueSummary | None":
        return next((s for s in self.summaries if s.verdict == "best"), None)

    def verdicts(self) -> list[str]:
        """One line per value but the best: "zeros: −0.790 ± 0.020 vs glorot_uniform,
        p < 0.001: worse"."""
        best = self.best
        lines = []
        for summary in self.summaries:
            if best is None or summary is best:
                continue
            failed = (f" ({summary.failures} of {summary.runs} runs failed)"
                      if summary.failures else "")
            lines.append(f"{summary.value}: {_num(summary.difference, signed=True)} ± "
                         f"{_num(summary.difference_half_width)} vs {best.value}, "
                         f"{format_p(summary.p_value)}: {summary.verdict}{failed}")
        return lines

    def rows(self) -> list[list[str]]:
        """The table's cells as text, one row per value (`headers()` names them)."""
        cells = []
        for s in self.summaries:
            interval = "n/a" if not s.scores else (
                _num(s.mean) + ("" if math.isnan(s.half_width) else f" ± {_num(s.half_width)}"))
            versus = "" if s.verdict == "best" else (
                f"{_num(s.difference, signed=True)} ± {_num(s.difference_half_width)}")
            cells.append([s.value, str(s.runs), str(s.failures), interval, versus,
                          "" if s.verdict == "best" else _p_cell(s.p_value),
                          s.verdict, "" if math.isnan(s.best_epoch) else f"{s.best_epoch:.1f}",
                          "" if math.isnan(s.seconds) else f"{s.seconds:.1f}"])
        return cells

    @staticmethod
    def headers() -> list[str]:
        return list(_HEADERS)

    def text(self) -> str:
        """The table in fixed-width columns, then the verdict lines."""
        table = [self.headers()] + self.rows()
        widths = [max(len(row[i]) for row in table) for i in range(len(_HEADERS))]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                 for row in table]
        lines.insert(1, "  ".join("-" * width for width in widths))
        return "\n".join(lines + [""] + self.verdicts())

    def caption(self) -> str:
        worst = worst_score(self.objective, self.direction)
        failures = ("a failed or diverged run counts as a score of 0" if worst == 0.0 else
                    "failed or diverged runs are counted in `failed`, not in the mean")
        return (f"`{self.objective}` at each run's best epoch "
                f"({'higher' if self.direction == 'max' else 'lower'} is better), "
                f"{len(self.seeds)} seeds per value; mean ± 95 % t-interval; each value vs "
                f"the best by Welch's t-test (p < {ALPHA:g}: a difference); {failures}.")

    def markdown(self) -> str:
        lines = ["| " + " | ".join(self.headers()) + " |",
                 "|" + "|".join("---" for _ in _HEADERS) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows()]
        return "\n".join([f"# Ablation of `{self.knob}`", "", self.caption(), "", *lines, "",
                          *(f"- {line}" for line in self.verdicts()), ""])


def ablation_table(store: AblationStore) -> AblationTable:
    """The `AblationTable` of what `ablation.json` asked for, from `results.csv`.

    Raises:
        FileNotFoundError: when the store has no `ablation.json`.
    """
    record = store.record()
    if not record:
        raise FileNotFoundError(f"{store.path!r} holds no ablation (no ablation.json).")
    values = [value_text(v) for v in record["values"]]
    summaries = summarize(store.results(), values, seeds=record["seeds"],
                          objective=record["objective"], direction=record["direction"])
    return AblationTable(knob=record["knob"], objective=record["objective"],
                         direction=record["direction"], summaries=summaries,
                         seeds=list(record["seeds"]))


def mean_curve(histories, column):
    """`(epochs, means, half widths)` of `column` over runs, epoch by epoch.

    Args:
        histories: List of runs, each a list of dicts of floats with `epoch`.
        column: String, e.g. `"val_accuracy"`.

    Returns:
        Three lists; a half width is NaN where fewer than 2 runs reached the epoch.
    """
    by_epoch = {}
    for history in histories:
        for row in history:
            value, epoch = row.get(column, math.nan), row.get("epoch", math.nan)
            if math.isfinite(value) and math.isfinite(epoch):
                by_epoch.setdefault(int(epoch), []).append(value)
    epochs = sorted(by_epoch)
    stats = [t_interval(by_epoch[epoch]) for epoch in epochs]
    return epochs, [m for m, _ in stats], [h for _, h in stats]


def ablation_curves(store: AblationStore, table: AblationTable) -> dict:
    """Value → its mean validation curve over the table's seeds (see `mean_curve`)."""
    return {s.value: mean_curve([store.history(s.value, seed) for seed in table.seeds],
                                table.objective) for s in table.summaries}


def draw_ablation(store: AblationStore, table: "AblationTable | None" = None) -> str:
    """Draws `figure.png` (see `_ablation_plots.plot_ablation`) and returns its path."""
    from kt_toolkit.analysis._ablation_plots import plot_ablation

    table = table or ablation_table(store)
    record = store.record()
    numbers = None
    if record.get("numeric"):
        numbers = {s.value: float(s.value) for s in table.summaries}
    return plot_ablation(store.figure_path, table, ablation_curves(store, table),
                         numbers=numbers, scale=record.get("scale"))


def add_ablation_sections(doc, run_dir: str) -> None:
    """The report's "Ablations" section: each knob's table, verdicts and figure.

    Writes nothing when the run has no ablation (`kt-toolkit ablate`).
    """
    from kt_toolkit.rundir.ablations import ablation_knobs

    knobs = ablation_knobs(run_dir)
    if not knobs:
        return
    doc.heading(2, "Ablations")
    doc.paragraph("One knob at a time, every other knob held, each value trained with "
                  "several seeds (`kt-toolkit ablate`).")
    for knob in knobs:
        store = AblationStore(run_dir, knob)
        table = ablation_table(store)
        record = store.record()
        doc.heading(3, f"`{knob}`")
        doc.paragraph(f"Other knobs at {record.get('source', 'their base values')}. "
                      + table.caption())
        doc.table(table.headers(), table.rows())
        doc.items(table.verdicts())
        doc.image(store.figure_path, f"ablation of {knob}")
