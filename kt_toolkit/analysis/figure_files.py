"""A run's figures drawn once: each is drawn again only when what it shows changed.

Drawing is most of a report's time (~0.3 s a figure on 2 cores, one per trial).
`FigureIndex` keeps, in `<run>/report/figures.json`, a fingerprint of what each
figure was drawn from, and of the code that draws it (every module of
`kt_toolkit.analysis`, the matplotlib and scikit-learn versions); a figure whose
fingerprint is unchanged and whose file is there is not drawn again. The same
index keeps the hyperparameter importance, whose forests cost a second or two.

A trial's learning curves (`write_curves`) show its history, its row (settings,
score, status) and its verdicts; verdicts are read against the study's best
trial, so a later and better trial can change them, and the figure is then
redrawn. A search in one process draws each trial's figure as it ends, in a
background process (`kt_toolkit.analysis.curve_drawer`): the report at its end,
and any later `kt-toolkit report` of the run, find them drawn.

Example:

>>> from kt_toolkit.analysis.figure_files import write_curves
>>> paths = write_curves("runs/digits_mlp-6379dab0")   # {trial_id: PNG path}
"""

import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kt_toolkit._io import atomic_write_text, read_json
from kt_toolkit.analysis import plots
from kt_toolkit.analysis.verdicts import study_verdicts
from kt_toolkit.rundir import load_study
from kt_toolkit.rundir.layout import CURVES_DIR, FIGURES_INDEX, REPORT_DIR

if TYPE_CHECKING:
    from kt_toolkit.rundir import Study

__all__ = ["FigureIndex", "fingerprint", "study_inputs", "write_curves"]

_DRAWN = ("COMPLETED", "FAILED", "PRUNED")  # trials whose figure is final


def fingerprint(inputs: Any) -> str:
    """A hash of JSON-able `inputs` and of the analysis code that draws from them."""
    text = json.dumps([_code_version(), inputs], sort_keys=True, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def study_inputs(study: "Study") -> list:
    """Everything of a `Study` a study-wide figure or result can be drawn from."""
    return [study.objective, study.direction, study.task, study.config, study.record,
            {name: dataclasses.asdict(domain) for name, domain in study.domains.items()},
            study.rows]


class FigureIndex:
    """The fingerprints of a run's figures (and cached results), `report/figures.json`.

    Args:
        run_dir: String, the run directory.
    """

    def __init__(self, run_dir: str) -> None:
        self.path = os.path.join(run_dir, REPORT_DIR, FIGURES_INDEX)
        entries = read_json(self.path, {})
        self.entries = entries if isinstance(entries, dict) else {}
        self.changed = False

    def figure(self, key: str, path: str, inputs: Any, draw: Callable[[], Any]) -> str:
        """`path`, after `draw()` unless it was drawn from the same `inputs` and is there."""
        entry = {"file": os.path.basename(path), "fingerprint": fingerprint(inputs)}
        if self.entries.get(key) != entry or not os.path.exists(path):
            draw()
            self.entries[key] = entry
            self.changed = True
        return path

    def value(self, key: str, inputs: Any, compute: Callable[[], Any], *,
              dump: Callable[[Any], Any], load: Callable[[Any], Any]) -> Any:
        """`compute()`, or the value kept from the same `inputs` (JSON through `dump`/`load`)."""
        stamp = fingerprint(inputs)
        entry = self.entries.get(key)
        if isinstance(entry, dict) and entry.get("fingerprint") == stamp:
            try:
                return load(entry["value"])
            except (KeyError, TypeError, ValueError):
                pass  # an entry of another shape: computed again
        value = compute()
        self.entries[key] = {"fingerprint": stamp, "value": dump(value)}
        self.changed = True
        return value

    def save(self) -> None:
        """Writes the index (atomically) when an entry changed."""
        if self.changed:
            atomic_write_text(self.path, json.dumps(self.entries, indent=1, sort_keys=True))
            self.changed = False


def write_curves(study: "Study | str | os.PathLike[str]", verdicts: dict | None = None, *,
                 index: FigureIndex | None = None) -> dict[str, str]:
    """Draws the curves of every finished trial whose figure is missing or out of date.

    Args:
        study: A `Study`, or a run directory to read one from.
        verdicts: Optional dict trial_id → verdicts (`study_verdicts(study)`),
            when the caller has them already.
        index: Optional `FigureIndex` of the run, which the caller then saves.
            Defaults to the run's, read and saved here.

    Returns:
        Dict trial_id → path of its PNG (drawn now or before).
    """
    if not hasattr(study, "rows"):
        study = load_study(study)
    verdicts = study_verdicts(study) if verdicts is None else verdicts
    folder = os.path.join(study.run_dir, CURVES_DIR)
    os.makedirs(folder, exist_ok=True)
    own = index is None
    index = FigureIndex(study.run_dir) if own else index
    existing = set(os.listdir(folder))
    head = [study.objective, study.direction, study.tuned_knobs, sorted(study.domains)]
    paths = {}
    for row in study.rows:
        if row["status"] not in _DRAWN or not study.record.get("per_epoch_history", True):
            continue  # (a plain KerasTuner project's trials: no curves to draw)
        trial_id = row["trial_id"]
        name = plots.curve_filename(study, row)
        found = verdicts.get(trial_id) or ()
        inputs = head + [study.last_epoch(row), row,
                         study.history(trial_id, with_parents=True),
                         [[_field(v, "kind"), _field(v, "summary")] for v in found]]
        prefix = name.split("_", 1)[0] + "_"
        stale = [old for old in existing if old.startswith(prefix) and old != name]

        def draw(trial_id=trial_id, stale=stale, path=os.path.join(folder, name), found=found):
            for old in stale:  # a rerun trial or renamed knobs: one file per trial
                _remove(os.path.join(folder, old))
            plots.plot_trial_curves(study, trial_id, path, verdicts=found)

        paths[trial_id] = index.figure(f"curves/{trial_id}", os.path.join(folder, name),
                                       inputs, draw)
    if own:
        index.save()
    return paths


@functools.lru_cache(maxsize=1)
def _code_version():
    """Every module of kt_toolkit.analysis and the drawing libraries' versions."""
    digest = hashlib.sha1()
    for package in ("matplotlib", "scikit-learn"):
        try:
            digest.update(importlib.metadata.version(package).encode("utf-8"))
        except importlib.metadata.PackageNotFoundError:
            pass
    folder = os.path.dirname(os.path.abspath(__file__))
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), "rb") as handle:
                digest.update(handle.read())
    return digest.hexdigest()


def _field(verdict, name):
    return verdict.get(name) if isinstance(verdict, dict) else getattr(verdict, name, None)


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
