"""`ablate`: a controlled comparison of one knob, with seeds, intervals and p-values.

Every other knob is held: at the best trial of a run directory, or at the
space's first values of an experiment file. Each value is trained with N seeds
(`kt_toolkit.ablation.jobs`), and the result is a table of mean ± 95 % interval
per value with each value's difference to the best, Welch's p-value and a plain
verdict (`kt_toolkit.analysis.ablation`), a figure, and a section in the run's
report. Everything goes to `<run>/ablations/<knob>/` (`kt_toolkit.rundir.ablations`);
a rerun trains only the value × seed pairs missing from its `results.csv`.

Example:

```python
import kt_toolkit

ablation = kt_toolkit.ablate("experiments/digits_mlp.yaml", knob="kernel_initializer",
                             values=["glorot_uniform", "zeros"], seeds=2,
                             overrides=["data.subsample=300", "training.epochs=2"])
print(ablation.format())   # in a notebook, `ablation` shows the table and figure
```
"""

import dataclasses
import logging
import os
from collections.abc import Iterable, Sequence

from kt_toolkit.ablation.jobs import Job, Plan, dataset, run_jobs
from kt_toolkit.ablation.source import load_source
from kt_toolkit.ablation.values import (check_seeds, default_values, find_knob, parse_sweep,
                                        parse_values)
from kt_toolkit.analysis import write_report
from kt_toolkit.analysis.ablation import AblationTable, ablation_table, draw_ablation
from kt_toolkit.analysis.document import Document
from kt_toolkit.config.tasks import resolve_objective
from kt_toolkit.errors import ConfigError, invalid
from kt_toolkit.rundir import run_lock
from kt_toolkit.rundir.ablations import AblationStore, value_text

__all__ = ["Ablation", "ablate"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Ablation:
    """One knob's ablation: what `ablate` returns; a notebook shows its table and figure.

    Attributes:
        knob: String; `values` the values compared (as text), `seeds` the seeds.
        run_dir: String, the run; `path` its `ablations/<knob>/` folder.
        table: The `kt_toolkit.analysis.ablation.AblationTable` (`summaries`:
            mean, interval, difference, p-value and verdict per value).
        rows: List of dicts, the `results.csv` rows of these values and seeds.
        figure: String, the PNG; `report` the run's `report.html`, or `None`.
        base: Dict, the other knobs' values; `source` where they come from.
        scale: String or `None`: `"log"` or `"linear"` for a sweep.
        trained: Integer, the runs this call trained (0: everything was there).
    """

    knob: str
    values: list
    seeds: list
    run_dir: str
    path: str
    table: AblationTable
    rows: list
    figure: str
    base: dict
    source: str
    scale: "str | None" = None
    trained: int = 0
    report: "str | None" = None

    @property
    def verdicts(self) -> list[str]:
        """One line per value but the best ("zeros: −0.790 ± 0.020 vs glorot_uniform, ...")."""
        return self.table.verdicts()

    def format(self) -> str:
        """The table and verdicts as text, as `kt-toolkit ablate` prints them."""
        scale = f", {self.scale} sweep" if self.scale else ""
        lines = [f"Ablation of {self.knob} ({len(self.values)} values{scale} × "
                 f"{len(self.seeds)} seeds; other knobs at {self.source})",
                 self.table.caption().replace("`", ""), "", self.table.text(), ""]
        if self.trained == 0:
            lines.append("Nothing new was trained: every value × seed was in results.csv.")
        else:
            lines.append(f"Trained {self.trained} new run{'s' if self.trained != 1 else ''}.")
        lines += [f"Results: {os.path.join(self.path, 'results.csv')}",
                  f"Table:   {os.path.join(self.path, 'table.md')}",
                  f"Figure:  {self.figure}"]
        if self.report:
            lines.append(f"Report:  {self.report}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        doc = Document(self.path)
        doc.heading(3, f"Ablation of `{self.knob}`")
        doc.paragraph(f"Other knobs at {self.source}. {self.table.caption()}")
        doc.table(self.table.headers(), self.table.rows())
        doc.items(self.verdicts)
        doc.image(self.figure, f"ablation of {self.knob}")
        return doc.html_fragment()


def _typed_values(knob, values, sweep, config):
    """`(values, scale)` from `values` (a list, or "a,b,c"), `sweep`, or the space."""
    if values is not None and sweep is not None:
        raise ConfigError("Give --values or --sweep, not both. Received: "
                          f"values={values!r}, sweep={sweep!r}.", key="--sweep")
    if sweep is not None:
        return parse_sweep(knob, sweep)
    if isinstance(values, str):
        return parse_values(knob, values), None
    if values is not None:
        if isinstance(values, (bytes, dict)) or not isinstance(values, Iterable):
            raise invalid("--values", "a list of values", values)
        return parse_values(knob, ",".join(value_text(v) for v in values)), None
    return default_values(knob, config.model.space[knob.name])


def _check_active(knob, base):
    if knob.parent is None:
        return
    parent, allowed = knob.parent
    if base.get(parent) not in allowed:
        raise ConfigError(
            f"`{knob.name}` applies only when `{parent}` is {' or '.join(allowed)}, and the "
            f"other knobs have {parent}={base.get(parent)!r}: every value would train the "
            f"same model. Add --set model.space.{parent}={allowed[0]}.", key="--knob")


def _settings(source, plan, data):
    """What a rerun must share with the runs in `results.csv` to add to them."""
    config = plan.config
    training = dataclasses.asdict(config.training)
    training.pop("verbose", None)
    data_settings = dataclasses.asdict(config.data)
    if data_settings.get("imbalance") is None:  # added later: older ablations lack it
        data_settings.pop("imbalance", None)
    return {"builder": config.model.builder, "data": data_settings,
            "split_seed": config.experiment.seed, "epochs": plan.epochs,
            "training": training, "objective": plan.objective,
            "base": {k: value_text(v) for k, v in plan.base.items()},
            "validation_samples": int(len(data.y_val))}


def _check_settings(store, settings):
    stored = store.record().get("settings")
    if stored is None or stored == settings:
        return
    changed = [key for key in settings if stored.get(key) != settings[key]]
    key = changed[0] if changed else "settings"
    raise ConfigError(
        f"{store.path!r} holds an ablation of {store.knob} with other settings ({key} was "
        f"{stored.get(key)!r}, now {settings.get(key)!r}). Adding runs would mix two "
        "comparisons. Use --overwrite to start it afresh.", key=f"--knob {store.knob}")


def ablate(source: str, *, knob: str, values: "Sequence | str | None" = None,
           sweep: "str | None" = None, seeds: int = 5, workers: "int | None" = None,
           overrides: Iterable[str] = (), overwrite: bool = False,
           report: bool = True) -> Ablation:
    """Trains each value of `knob` with `seeds` seeds, every other knob held; compares.

    Args:
        source: String, an experiment YAML file (other knobs at the space's first
            values; the run directory is the one `tune` would use) or a run
            directory (other knobs at its best trial).
        knob: String, a knob of the experiment's builder.
        values: The values: a list, or text `"a,b,c"`. Defaults to the
            experiment's choices or range for the knob.
        sweep: Text `"start:stop:count"` (log when both ends are > 0 and span two
            decades; `lin:`/`log:` in front force the scale), for numeric knobs.
        seeds: Integer >= 2, runs per value. Defaults to `5`.
        workers: Integer or `None`: train that many runs at once in processes.
        overrides: `--set` texts (`"training.epochs=3"`), as for `tune`.
        overwrite: Boolean, delete this knob's earlier ablation of the run first.
        report: Boolean, rewrite the run's `report.md`/`report.html` with its
            "Ablations" section. Defaults to `True`.

    Returns:
        An `Ablation`.

    Raises:
        ConfigError: an unknown knob (the builder's knobs are listed), a value the
            knob does not allow, a bad sweep, seeds < 2, a source that is neither
            an experiment file nor a run, or earlier runs with other settings.
        RunDirectoryError: another command holds the run.
        LaunchError: a worker process died (finished runs are kept).
    """
    seeds = check_seeds(seeds)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise invalid("--workers", "an integer >= 1", workers)
    origin = load_source(source, overrides)
    config = origin.config
    found = find_knob(config.model.builder, knob)
    typed, scale = _typed_values(found, values, sweep, config)
    base = {name: value for name, value in origin.base.items() if name != knob}
    _check_active(found, base)
    data = dataset(config)
    objective, direction = resolve_objective(config.tuner.objective, config.tuner.direction,
                                             data.task)
    epochs = config.training.epochs
    if config.tuner.algorithm == "hyperband":  # a trial's longest budget
        epochs = config.tuner.max_epochs or epochs
    plan = Plan(config=config, knob=knob, base=base, epochs=epochs, objective=objective,
                direction=direction)
    seed_list = [config.experiment.seed + index for index in range(seeds)]
    with run_lock(origin.run_dir):
        origin.prepare(data, objective, direction)
        store = AblationStore(origin.run_dir, knob)
        if overwrite:
            store.clear()
        settings = _settings(origin, plan, data)
        _check_settings(store, settings)
        texts = [value_text(v) for v in typed]
        store.write_record({"knob": knob, "values": texts, "seeds": seed_list,
                            "objective": objective, "direction": direction,
                            "numeric": found.kind in ("int", "float"), "scale": scale,
                            "source": origin.description, "base": settings["base"],
                            "settings": settings})
        trained = _train_missing(store, plan, typed, seed_list, workers)
        return _finish(store, origin, plan, texts, seed_list, scale, trained, report)


def _train_missing(store, plan, typed, seed_list, workers):
    done = {(row["value"], row["seed"]) for row in store.results()}
    jobs = [Job(value=value, key=value_text(value), seed=seed,
                history_path=store.history_path(value_text(value), seed))
            for value in typed for seed in seed_list
            if (value_text(value), seed) not in done]
    if not jobs:
        logger.info("Every value × seed of %s is in %s: nothing to train.", store.knob,
                    store.results_path)
        return 0
    logger.info("Ablation of %s: %d runs to train (%d values × %d seeds, %d done)%s",
                store.knob, len(jobs), len(typed), len(seed_list),
                len(typed) * len(seed_list) - len(jobs),
                f" on {workers} workers" if workers and workers > 1 else "")
    ended = []

    def on_done(job, row):
        store.append_result(row)
        ended.append(job)
        logger.info("  [%d/%d] %s=%s seed %d: %s %s (%s, %s epochs, %.1f s)", len(ended),
                    len(jobs), store.knob, job.key, job.seed, plan.objective,
                    "n/a" if row["score"] != row["score"] else f"{row['score']:.4f}",
                    row["status"], row["epochs"], row["seconds"])

    run_jobs(plan, jobs, on_done, workers=workers)
    return len(ended)


def _finish(store, origin, plan, texts, seed_list, scale, trained, report):
    table = ablation_table(store)
    store.write_table(table.markdown())
    figure = draw_ablation(store, table)
    wanted = set(seed_list)
    rows = [row for row in store.results() if row["value"] in texts and row["seed"] in wanted]
    written = None
    if report:
        try:
            written = write_report(origin.run_dir).html
        except Exception as error:  # noqa: BLE001 - the ablation's own files stand
            logger.warning("The run's report could not be rewritten (%s: %s); the ablation "
                           "is in %s.", type(error).__name__, error, store.path)
    return Ablation(knob=store.knob, values=texts, seeds=seed_list, run_dir=origin.run_dir,
                    path=store.path, table=table, rows=rows, figure=figure, base=plan.base,
                    source=origin.description, scale=scale, trained=trained, report=written)
