"""`load_study`: a run directory read back as one object. No Keras, no TensorFlow.

Everything the analysis needs comes from files: `config.yaml` (every knob's
domain), `run.json` (objective, direction, task), the trials table and each
trial's `history.csv` and `meta.json`. It works on a finished run, a running one
and one that was killed.
"""

import dataclasses
import functools
import html
import json
import math
import os
from collections.abc import Mapping
from typing import Any

import yaml

from kt_toolkit._io import as_float, read_csv
from kt_toolkit.config.tasks import is_bounded_score, objective_direction
from kt_toolkit.pruning.divergence import Divergence
from kt_toolkit.rundir.layout import CONFIG_FILE, HISTORY_FILE, META_FILE, RUN_RECORD, trial_dir
from kt_toolkit.rundir.ranking import TrialJudge, chained_history, judged_rows
from kt_toolkit.rundir.table import trial_rows

__all__ = ["Domain", "Study", "load_study"]


@dataclasses.dataclass(frozen=True)
class Domain:
    """One knob's search domain, as `config.yaml` writes it.

    Attributes:
        name: String, the knob.
        kind: String, `"float"`, `"int"`, `"choice"` or `"fixed"`.
        min, max: Numbers for `float`/`int`, else `None`.
        sampling: String, `"linear"` or `"log"` (ranges only).
        step: Number or `None`.
        values: Tuple of the choices (`choice`), or `(value,)` for `fixed`.
    """

    name: str
    kind: str
    min: float | None = None
    max: float | None = None
    sampling: str = "linear"
    step: float | None = None
    values: tuple = ()

    @property
    def is_tuned(self) -> bool:
        """Whether the search varies this knob."""
        if self.kind == "choice":
            return len(self.values) > 1
        return self.kind in ("float", "int") and self.min != self.max

    @property
    def is_numeric(self) -> bool:
        return self.kind in ("float", "int")

    @classmethod
    def from_spec(cls, name: str, spec: Mapping[str, Any]) -> "Domain":
        if "fixed" in spec:
            return cls(name, "fixed", values=(spec["fixed"],))
        if "values" in spec:
            return cls(name, "choice", values=tuple(spec["values"]))
        kind = "int" if all(isinstance(spec.get(k), int) and not isinstance(spec.get(k), bool)
                            for k in ("min", "max")) else "float"
        return cls(name, kind, min=spec["min"], max=spec["max"],
                   sampling=spec.get("sampling") or "linear", step=spec.get("step"))


@dataclasses.dataclass
class Study:
    """A run directory's trials, domains and objective.

    Attributes:
        run_dir: String.
        objective: String, e.g. `"val_accuracy"`; `direction` is `"max"` or `"min"`.
        task: String (`multiclass`, `binary`, `regression`) or `None` if unknown.
        config: Dict, the run's `config.yaml`.
        domains: Dict of knob name → `Domain` (every knob of the builder's space).
        rows: List of trial dicts (see `kt_toolkit.rundir.trial_rows`), with
            inactive knobs as `None` and `objective` a float or `None`.
        record: Dict, the run's `run.json` (task, num_classes, data sizes), `{}`
            for runs made before it existed.
    """

    run_dir: str
    objective: str
    direction: str
    task: str | None
    config: dict[str, Any]
    domains: dict[str, Domain]
    rows: list[dict[str, Any]]
    record: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def metric(self) -> str:
        """The objective's training-side name: `val_accuracy` → `accuracy`."""
        return self.objective[4:] if self.objective.startswith("val_") else self.objective

    @property
    def is_bounded_metric(self) -> bool:
        """Whether the objective lives in [0, 1] with 1 best (accuracy, AUC, F1, …)."""
        return is_bounded_score(self.metric)

    @property
    def tuned_knobs(self) -> list[str]:
        """Names of the knobs the search varies, in the space's order."""
        return [name for name, domain in self.domains.items() if domain.is_tuned]

    @property
    def completed(self) -> list[dict[str, Any]]:
        """COMPLETED trials with a finite objective, in trial order.

        PRUNED trials (stopped early by a pruning callback, B2) are not among
        them: their objective is that of a cut-short run, so they are never the
        best, nor count in importance or boundary checks (see `pruned`).
        """
        return [row for row in self.rows if row["status"] == "COMPLETED"
                and row["objective"] is not None and math.isfinite(row["objective"])]

    @property
    def pruned(self) -> list[dict[str, Any]]:
        """PRUNED trials with a finite objective (the best they reached), in trial order."""
        return [row for row in self.rows if row["status"] == "PRUNED"
                and row["objective"] is not None and math.isfinite(row["objective"])]

    def _repr_html_(self) -> str:
        """In a notebook: the run's objective, trial counts and its 10 best trials."""
        knobs = self.tuned_knobs
        counts = {}
        for row in self.rows:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        head = ["rank", "trial", self.objective] + knobs + ["best epoch", "seconds"]
        rows = [[rank, row["trial_id"], row["objective"]]
                + [row.get(knob) for knob in knobs] + [row.get("best_epoch"),
                                                     row.get("seconds")]
                for rank, row in enumerate(self.best(10), start=1)]
        cell = lambda value: html.escape(_shown(value))  # noqa: E731
        table = ("<table><tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
                 + "</tr>" + "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row)
                                     + "</tr>" for row in rows) + "</table>")
        summary = ", ".join(f"{n} {status.lower()}" for status, n in sorted(counts.items()))
        return (f"<p><b>{html.escape(self.run_dir)}</b>: {len(self.rows)} trials "
                f"({html.escape(summary or 'none yet')}); objective "
                f"<code>{html.escape(self.objective)}</code> ({self.direction}).</p>"
                + table)

    def best(self, count: int = 1) -> list[dict[str, Any]]:
        """The `count` best completed trials, best first, as the exported model is chosen.

        Trials that diverged (see `divergence`) come after every other completed
        trial; objectives that tie are ordered by the validation data loss, then
        by fewer epochs (`kt_toolkit.rundir.ranking`).
        """
        return self.judge.rank(self.completed)[:count]

    @property
    def cv_folds(self) -> int | None:
        """`data.cv_folds` of the run (each execution of a trial is a fold), else `None`."""
        folds = ((self.config or {}).get("data") or {}).get("cv_folds") or (
            self.record or {}).get("cv_folds")
        return int(folds) if folds else None

    def judged_history(self, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The curve a trial is judged on (`kt_toolkit.rundir.ranking.judged_rows`): the
        fold mean of a `data.cv_folds` run, else the execution with the best objective."""
        return judged_rows(history, self.objective, self.direction,
                           folds=self.cv_folds is not None)

    @functools.cached_property
    def judge(self) -> TrialJudge:
        """Judges each trial's history once (`kt_toolkit.rundir.ranking.TrialJudge`)."""
        return TrialJudge(self.rows, objective=self.objective, direction=self.direction,
                          record={**self.record, "cv_folds": self.cv_folds},
                          load=lambda trial_id: self._own_history(trial_id, None))

    def divergence(self, trial_id: str | int) -> Divergence | None:
        """How a trial diverged (NaN, an exploding or saturated loss), or `None`.

        The rule of `kt_toolkit.pruning.find_divergence` on the trial's whole
        curve, as the analysis's `diverged` verdict reads it.
        """
        return self.judge.divergence(str(trial_id))

    @staticmethod
    def last_epoch(row: Mapping[str, Any]) -> int | None:
        """The number of a trial's last epoch: a Hyperband round continues from
        `tuner/initial_epoch`, so epochs 8–15 are 8 epochs run, the last being 15."""
        runs = int(row.get("epochs_run") or 0)
        return int(row.get("tuner/initial_epoch") or 0) + runs if runs else None

    def is_better(self, a: float, b: float) -> bool:
        """Whether score `a` beats score `b` in this study's direction."""
        return a > b if self.direction == "max" else a < b

    def trial(self, trial_id: str | int) -> dict[str, Any]:
        return next(row for row in self.rows if row["trial_id"] == str(trial_id))

    def trial_dir(self, trial_id: str | int) -> str:
        return trial_dir(self.run_dir, trial_id)

    def history(self, trial_id: str | int, execution: int | None = None, *,
                with_parents: bool = False) -> list[dict[str, float]]:
        """A trial's epochs as dicts of floats (`execution`, `epoch`, every log).

        Args:
            trial_id: String.
            execution: Optional integer; all executions when `None`.
            with_parents: Boolean. A Hyperband round continues the weights of an
                earlier trial (`tuner/trial_id`) from `tuner/initial_epoch`; with
                `True` the epochs before it are taken from that trial (and its
                own parent), marked `inherited` = 1.0, so the curve is whole.
                Defaults to `False`.
        """
        def load(trial):
            return self._own_history(trial, execution)

        if not with_parents:
            return load(str(trial_id))
        return chained_history(str(trial_id), load, self._parent)

    def _own_history(self, trial_id, execution):
        rows = []
        for raw in read_csv(os.path.join(self.trial_dir(trial_id), HISTORY_FILE)):
            row = {name: as_float(value) for name, value in raw.items()}
            row["execution"], row["epoch"] = int(row["execution"]), int(row["epoch"])
            if execution is None or row["execution"] == execution:
                rows.append(row)
        return rows

    def _parent(self, trial_id):
        """The trial a Hyperband round continued, or `None`."""
        row = next((r for r in self.rows if r["trial_id"] == str(trial_id)), None)
        parent = row.get("tuner/trial_id") if row else None
        return str(parent) if parent not in (None, "") else None

    def meta(self, trial_id: str | int) -> dict[str, Any]:
        """A trial's `meta.json` (seconds, started_at, finished_at), `{}` if missing."""
        path = os.path.join(self.trial_dir(trial_id), META_FILE)
        try:
            with open(path, encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, json.JSONDecodeError):
            return {}


def load_study(run_dir: str | os.PathLike[str],
               rows: list[dict[str, Any]] | None = None, *,
               config: dict[str, Any] | None = None) -> Study:
    """Reads a run directory.

    Args:
        run_dir: String, a directory `kt-toolkit tune` made.
        rows: Optional list, the trial rows just read with `trial_rows` (or
            written with `write_trials_table`), so they are not read twice.
        config: Optional dict, the run's `config.yaml` as the caller has it
            parsed already (`RunDirectory.study` keeps it between trials).

    Returns:
        A `Study`.

    Raises:
        FileNotFoundError: when `run_dir` holds no `config.yaml`.
    """
    run_dir = os.fspath(run_dir)
    config_path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.exists(config_path):
        raise FileNotFoundError(f"{run_dir!r} is not a kt_toolkit run directory: it has "
                                "no config.yaml.")
    if config is None:
        with open(config_path, encoding="utf-8") as handle:
            config = yaml.safe_load(handle)
    record = {}
    if os.path.exists(os.path.join(run_dir, RUN_RECORD)):
        with open(os.path.join(run_dir, RUN_RECORD), encoding="utf-8") as handle:
            record = json.load(handle)
    objective = record.get("objective") or config["tuner"]["objective"]
    direction = record.get("direction") or config["tuner"]["direction"]
    if direction == "auto":
        direction = objective_direction(objective)
    space = (config.get("model") or {}).get("space") or {}
    domains = {name: Domain.from_spec(name, spec) for name, spec in space.items()}
    tidy = []
    for row in trial_rows(run_dir) if rows is None else rows:
        row = {key: (None if value == "" else value) for key, value in row.items()}
        row["objective"] = as_float(row["objective"]) if row["objective"] is not None else None
        tidy.append(row)
    return Study(run_dir=run_dir, objective=objective, direction=direction,
                 task=record.get("task"), config=config, domains=domains, rows=tidy,
                 record=record)


def _shown(value: Any) -> str:
    """A table cell: floats to 4 significant digits, `None` as empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
