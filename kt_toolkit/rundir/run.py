"""`RunDirectory`: one object through which every reader and writer of a run goes.

It knows the layout (`rundir.layout`), reads and writes the records kt_toolkit
adds to KerasTuner's (`run.json`, each trial's `meta.json`, `best/`), keeps the
trials table between refreshes (`TrialTable`) and writes the TensorBoard HParams
records. Imports no Keras.
"""

import copy
import json
import os
import shutil
from typing import Optional

import yaml

from kt_toolkit._events import EventWriter
from kt_toolkit._io import as_float, atomic_write_text, read_csv, read_json
from kt_toolkit.rundir import layout
from kt_toolkit.rundir.ranking import TrialJudge
from kt_toolkit.rundir.study import Study, load_study
from kt_toolkit.rundir.table import TrialTable
from kt_toolkit.rundir.tensorboard import sync_tensorboard

__all__ = ["RunDirectory"]


class RunDirectory:
    """A run directory: its paths, records and trials table.

    Example:

    >>> run = RunDirectory("runs/digits_mlp-4c806d68")
    >>> rows = run.write_trials_table()      # trials.csv, reading only what changed
    >>> run.read_meta(rows[0]["trial_id"])["seconds"]

    Args:
        path: String or path-like, the run directory (it need not exist yet).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.project_dir = layout.project_dir(self.path)
        self.table = TrialTable(self.path, self.project_dir)
        self._judge = None

    def __repr__(self) -> str:
        return f"RunDirectory({self.path!r})"

    # Paths -----------------------------------------------------------------------
    def file(self, *parts: str) -> str:
        """A path inside the run: `run.file(layout.TRIALS_TABLE)`."""
        return os.path.join(self.path, *parts)

    def trial_dir(self, trial_id: str) -> str:
        return layout.trial_dir(self.path, trial_id)

    def history_path(self, trial_id: str) -> str:
        return os.path.join(self.trial_dir(trial_id), layout.HISTORY_FILE)

    def meta_path(self, trial_id: str) -> str:
        return os.path.join(self.trial_dir(trial_id), layout.META_FILE)

    def trial_logdir(self, trial_id: str) -> str:
        return layout.trial_logdir(self.path, trial_id)

    def clear_trial_logdir(self, trial_id: str, *, keep_executions=()) -> None:
        """Removes a trial's TensorBoard folder, but its `execution<k>` folders of
        `keep_executions` (the folds a resumed trial keeps, `data.cv_folds`)."""
        logdir, kept = self.trial_logdir(trial_id), {f"execution{k}" for k in keep_executions}
        if not kept or not os.path.isdir(logdir):
            shutil.rmtree(logdir, ignore_errors=True)
            return
        for name in os.listdir(logdir):
            path = os.path.join(logdir, name)
            if name in kept:
                continue
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                _remove(path)

    def folds_path(self, trial_id: str) -> str:
        return os.path.join(self.trial_dir(trial_id), layout.FOLDS_FILE)

    @property
    def config_path(self) -> str:
        return self.file(layout.CONFIG_FILE)

    @property
    def best_dir(self) -> str:
        return self.file(layout.BEST_DIR)

    @property
    def logs_dir(self) -> str:
        return self.file(layout.LOGS_DIR)

    def exists(self) -> bool:
        """Whether this is a run directory (it holds a `config.yaml`)."""
        return os.path.isfile(self.config_path)

    # Records ---------------------------------------------------------------------
    def write_record(self, record: dict) -> None:
        """`run.json`: what the analysis needs and cannot read from `config.yaml` alone."""
        atomic_write_text(self.file(layout.RUN_RECORD), json.dumps(record, indent=2))

    def read_record(self) -> dict:
        """`run.json` (objective, task, num_classes...), `{}` when missing or being written."""
        return read_json(self.file(layout.RUN_RECORD)) or {}

    def read_meta(self, trial_id: str) -> dict:
        """A trial's `meta.json`, `{}` when it has none (yet); read again only when it changed."""
        return self.table.meta(trial_id)

    def write_meta(self, trial_id: str, meta: dict) -> None:
        atomic_write_text(self.meta_path(trial_id), json.dumps(meta, indent=2))

    def read_folds(self, trial_id: str) -> dict:
        """A trial's `folds.json` (`data.cv_folds`: its finished folds), `{}` when it has none."""
        return read_json(self.folds_path(trial_id)) or {}

    def write_folds(self, trial_id: str, record: dict) -> None:
        """`folds.json`, atomically: a run killed mid-write keeps the folds finished before."""
        atomic_write_text(self.folds_path(trial_id), json.dumps(record, indent=1))

    def is_pruned(self, trial_id: str) -> bool:
        """Whether a pruning callback stopped the trial (`meta.json` says so)."""
        return bool(self.read_meta(trial_id).get("pruned"))

    def history(self, trial_id: str) -> list:
        """A trial's `history.csv` rows, as dicts of strings."""
        return read_csv(self.history_path(trial_id))

    def trial_record(self, trial_id: str) -> dict:
        """KerasTuner's `trial.json` of a trial (hyperparameters, metrics, status).

        Raises:
            FileNotFoundError: when the trial has none.
        """
        with open(layout.trial_json_path(self.project_dir, trial_id),
                  encoding="utf-8") as handle:
            return json.load(handle)

    def oracle_state(self) -> dict:
        """KerasTuner's `oracle.json` (the chief's), `{}` when missing or being written."""
        return read_json(os.path.join(self.project_dir, layout.ORACLE_FILE)) or {}

    def read_chief(self) -> Optional[dict]:
        """The chief's `{"address", "port", "pid"}` record, or `None` before it serves."""
        return read_json(os.path.join(self.project_dir, layout.CHIEF_FILE))

    def write_chief(self, record: dict) -> None:
        atomic_write_text(os.path.join(self.project_dir, layout.CHIEF_FILE), json.dumps(record))

    def remove_chief(self) -> None:
        _remove(os.path.join(self.project_dir, layout.CHIEF_FILE))

    def stopped_reason(self) -> Optional[str]:
        """Why the chief stopped the search early (consecutive failures), or `None`."""
        return (read_json(os.path.join(self.project_dir, layout.STOPPED_FILE)) or {}).get(
            "reason")

    def write_stopped(self, reason: Optional[str]) -> None:
        """Records why the chief stopped early; `None` removes an old record."""
        path = os.path.join(self.project_dir, layout.STOPPED_FILE)
        if reason is None:
            _remove(path)
        else:
            atomic_write_text(path, json.dumps({"reason": reason}))

    def write_best(self, *, trial_id: str, objective: dict, hyperparameters: dict,
                   evaluation: dict, samples: int, split: str = "validation") -> None:
        """`best/hyperparameters.yaml` and `best/evaluation.yaml` (the model is saved
        by the tuner to `best_model_path`)."""
        record = {"trial_id": trial_id, "objective": objective,
                  "hyperparameters": hyperparameters}
        atomic_write_text(os.path.join(self.best_dir, "hyperparameters.yaml"),
                          yaml.safe_dump(record, sort_keys=False))
        atomic_write_text(os.path.join(self.best_dir, "evaluation.yaml"), yaml.safe_dump(
            {"split": split, "samples": int(samples), "metrics": evaluation},
            sort_keys=False))

    @property
    def best_model_path(self) -> str:
        return os.path.join(self.best_dir, "model.keras")

    @property
    def final_dir(self) -> str:
        return self.file(layout.FINAL_DIR)

    @property
    def final_model_path(self) -> str:
        """`final/model.keras`: the best settings retrained on training + validation."""
        return os.path.join(self.final_dir, "model.keras")

    def write_final(self, record: dict) -> None:
        """`final/evaluation.yaml`: the test part's scores (see `kt_toolkit.tuners.final`)."""
        os.makedirs(self.final_dir, exist_ok=True)
        atomic_write_text(os.path.join(self.final_dir, "evaluation.yaml"),
                          yaml.safe_dump(record, sort_keys=False))

    def read_final(self) -> dict:
        """`final/evaluation.yaml`, `{}` when the run has none (no test part, not ended)."""
        path = os.path.join(self.final_dir, "evaluation.yaml")
        if not os.path.isfile(path):
            return {}
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle) or {}

    def write_test_scalars(self, trial_id: str, scalars: dict, *, step: int) -> None:
        """The test scores as scalars in trial `trial_id`'s TensorBoard run
        (`accuracy/test` beside `accuracy/validation`), replacing any earlier ones
        (of this or another trial: the best trial may have changed)."""
        root = self.file(layout.TENSORBOARD_DIR)
        for folder, _, names in os.walk(root):
            for name in names:
                if name.endswith(layout.FINAL_SCALARS_SUFFIX):
                    _remove(os.path.join(folder, name))
        with EventWriter(self.trial_logdir(trial_id), suffix=layout.FINAL_SCALARS_SUFFIX,
                         atomic=True) as writer:
            writer.scalars(step, scalars)

    # The trials table and what is derived from it --------------------------------
    def rows(self) -> list:
        """The trials table's rows (see `kt_toolkit.rundir.trial_rows`), read incrementally."""
        return self.table.rows()

    def write_trials_table(self) -> list:
        """Refreshes the table and writes `trials.csv`; returns the rows."""
        return self.table.write()

    def judge(self, objective: str, direction: str, rows: Optional[list] = None) -> TrialJudge:
        """The run's `TrialJudge`, kept between calls: each completed trial is judged once.

        Args:
            objective: String; `direction` is `"max"` or `"min"`.
            rows: Optional list, the trial rows just read (default: `rows()`).
        """
        judge = self._judge
        if judge is None or (judge.objective, judge.direction) != (objective, direction):
            judge = self._judge = TrialJudge((), objective=objective, direction=direction,
                                             record=self.read_record(), load=self._history)
        judge.update(self.rows() if rows is None else rows)
        return judge

    def rank(self, rows: Optional[list] = None, *, objective: str, direction: str) -> list:
        """The COMPLETED rows, best first, as the best trial is chosen.

        Trials that diverged after every other; ties on the objective by the
        validation data loss, then fewer epochs (`kt_toolkit.rundir.ranking`).

        Args:
            rows: Optional list, the trial rows (default: `rows()`); a caller may
                pass copies with the objective at full precision.
            objective: String; `direction` is `"max"` or `"min"`.
        """
        rows = self.rows() if rows is None else rows
        return self.judge(objective, direction, rows).rank(rows)

    def _history(self, trial_id: str) -> list:
        """A trial's `history.csv` as dicts of floats (what `TrialJudge` reads)."""
        return [{name: as_float(value) for name, value in row.items()}
                for row in self.history(trial_id)]

    def study(self, rows: Optional[list] = None) -> Study:
        """The run as a `Study` (with `rows` when the caller just read them).

        `config.yaml` is parsed again only when it changed (YAML parsing took
        ~0.04 s, after every trial).
        """
        config = self.table.cache.get(self.config_path, _parse_yaml)
        return load_study(self.path, self.rows() if rows is None else rows,
                          config=copy.deepcopy(config) if config is not None else None)

    def sync_tensorboard(self, rows: Optional[list] = None) -> list:
        """Writes the HParams records a finished trial (or a killed run) left out.

        Returns:
            The ids of the trials whose sessions were written now.
        """
        return sync_tensorboard(self.study(rows))

    def running_trials(self, rows: Optional[list] = None) -> dict:
        """`{tuner_id: trial_id}` of the trials running now, from the chief's `oracle.json`.

        `oracle.json` can be saved before an ended trial leaves `ongoing_trials`:
        only RUNNING trials count.
        """
        rows = self.rows() if rows is None else rows
        still = {r["trial_id"] for r in rows if r["status"] == "RUNNING"}
        ongoing = self.oracle_state().get("ongoing_trials") or {}
        return {w: t for w, t in ongoing.items() if t in still}


def _parse_yaml(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
