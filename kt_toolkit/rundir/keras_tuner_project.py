"""A project folder written by plain KerasTuner, read as a kt_toolkit run directory.

`kt-toolkit report path/to/project/` works on a folder that KerasTuner wrote on
its own (`oracle.json`, `trial_*/trial.json`, checkpoints): `import_keras_tuner_project`
writes kt_toolkit's view of it into a separate folder (`<project>/kt_toolkit_report/`,
or `./<project name>_kt_toolkit_report/` when the project cannot be written to)
and never touches KerasTuner's own files. The view is an ordinary run directory:

| view file | from |
|---|---|
| `config.yaml` | `oracle.json`'s hyperparameters (Int, Float → ranges; Choice, Boolean → choices; Fixed → fixed) and the algorithm its state names |
| `run.json` | the objective and direction (the metric whose best-step value is each trial's score; KerasTuner does not save the objective) |
| `tuner/trial_<id>/trial.json` | copies of KerasTuner's, read by the trials table |
| `trials/<id>/meta.json` | a Hyperband round's epoch count (`tuner/epochs` − `tuner/initial_epoch`) |
| `trials.csv` | the trials table of those copies |

KerasTuner 1.4.8 keeps only each metric's value at the trial's best epoch
(`metrics.<name>.observations` holds one step), so the view has no
`history.csv`: `run.json` says `"per_epoch_history": false` and the analysis
says the curves cannot be judged instead of drawing any. Imports no Keras.
"""

import hashlib
import json
import logging
import os
import shutil

import yaml

from kt_toolkit._io import atomic_write_text, read_json
from kt_toolkit.errors import ConfigError, RunDirectoryError
from kt_toolkit.rundir.layout import (CONFIG_FILE, META_FILE, ORACLE_FILE, PROJECT_NAME,
                                      RUN_RECORD, trial_dir, trial_json_path)
from kt_toolkit.rundir.table import write_trials_table

__all__ = ["KERAS_TUNER_SOURCE", "VIEW_NAME", "import_keras_tuner_project",
           "is_keras_tuner_project"]

logger = logging.getLogger(__name__)

VIEW_NAME = "kt_toolkit_report"  # inside the project: KerasTuner reads only trial_<id>/
KERAS_TUNER_SOURCE = "keras_tuner"  # run.json's `source` for an imported project
_TRIAL_PREFIX = "trial_"


def is_keras_tuner_project(path: str | os.PathLike[str]) -> bool:
    """Whether `path` is a project folder of plain KerasTuner (`oracle.json`, no `config.yaml`)."""
    path = os.fspath(path)
    return (os.path.isfile(os.path.join(path, ORACLE_FILE))
            and not os.path.isfile(os.path.join(path, CONFIG_FILE)))


def import_keras_tuner_project(project: str | os.PathLike[str]) -> tuple[str, bool]:
    """Writes kt_toolkit's view of a plain KerasTuner project; returns where.

    Reads `oracle.json` and every `trial_*/trial.json`, writes nothing into the
    project's own files, and refreshes the view on every call (new trials in,
    trials gone out).

    Example:

    >>> view, inside = import_keras_tuner_project("my_dir/my_project")
    >>> load_study(view).best(1)

    Args:
        project: String or path-like, the folder KerasTuner wrote
            (`directory/project_name`).

    Returns:
        `(view, inside)`: the view's path, and whether it is the project's own
        `kt_toolkit_report/` (`False`: the project could not be written to and
        the view is `./<project name>_kt_toolkit_report/` instead).

    Raises:
        ConfigError: when `project` is not a KerasTuner project or its files
            cannot be read.
        RunDirectoryError: when neither place can be written to.
    """
    project = os.path.abspath(os.fspath(project))
    oracle, trials = _read_project(project)
    config, record, metas = _view_records(project, oracle, trials)
    candidates = [(os.path.join(project, VIEW_NAME), True),
                  (os.path.abspath(f"{os.path.basename(project)}_{VIEW_NAME}"), False)]
    failures = []
    for view, inside in candidates:
        try:
            _write_view(view, config, record, trials, metas)
            return view, inside
        except OSError as error:
            failures.append(f"{view} ({error.strerror or error})")
    raise RunDirectoryError(
        f"`project` must have a writable place for kt_toolkit's view. Received: "
        f"project={project!r}; could not write {' nor '.join(failures)}. Run the command "
        "from a writable folder, or copy the project somewhere writable.")


def _read_project(project):
    if not is_keras_tuner_project(project):
        raise ConfigError(f"`project` must be a KerasTuner project folder (with oracle.json). "
                          f"Received: project={project!r}. Give KerasTuner's "
                          "`directory/project_name` folder.")
    oracle = read_json(os.path.join(project, ORACLE_FILE))
    if not isinstance(oracle, dict) or "hyperparameters" not in oracle:
        raise ConfigError(f"`oracle.json` must be KerasTuner's oracle state. Received: "
                          f"project={project!r}, whose oracle.json cannot be read. Let the "
                          "search save it (it does after every trial) and try again.")
    trials = {}
    for name in sorted(os.listdir(project)):
        path = os.path.join(project, name, "trial.json")
        if name.startswith(_TRIAL_PREFIX) and os.path.isfile(path):
            trial = read_json(path)
            if isinstance(trial, dict) and "trial_id" in trial:
                trials[str(trial["trial_id"])] = trial
    return oracle, trials


def _view_records(project, oracle, trials):
    """`(config, run record, {trial_id: meta})` of the view."""
    objective, direction = _objective(trials)
    algorithm = _algorithm(oracle)
    tuner = {"algorithm": algorithm, "objective": objective, "direction": direction}
    if algorithm == "hyperband":
        tuner["max_epochs"] = oracle.get("max_epochs")
    name = os.path.basename(project)
    config = {"experiment": {"name": name},
              "data": {"dataset": f"KerasTuner project {name}"},
              "model": {"space": space_spec(oracle["hyperparameters"].get("space") or [])},
              "tuner": tuner, "training": {}}
    record = {"source": KERAS_TUNER_SOURCE, "project": project, "objective": objective,
              "direction": direction, "per_epoch_history": False}
    metas = {}
    for trial_id, trial in trials.items():
        values = (trial.get("hyperparameters") or {}).get("values") or {}
        if "tuner/epochs" in values:  # a Hyperband round ran these epochs
            metas[trial_id] = {"epochs_run": int(values["tuner/epochs"])
                               - int(values.get("tuner/initial_epoch") or 0)}
    return config, record, metas


def _objective(trials):
    """The objective: the metric whose best-step value is the score, `val_` first.

    KerasTuner does not save its objective; each trial's `score` is that
    metric's value at its `best_step`, and `metrics.<name>.direction` its
    direction.
    """
    votes = {}
    for trial in trials.values():
        score = trial.get("score")
        if score is None:
            continue
        for name, metric in ((trial.get("metrics") or {}).get("metrics") or {}).items():
            observed = [o.get("value") or [None] for o in metric.get("observations") or []
                        if o.get("step") == trial.get("best_step")]
            if observed and observed[-1][0] == score:
                votes[name] = (votes.get(name, (0, None))[0] + 1, metric.get("direction"))
    if not votes:
        raise ConfigError("`score` of the project's trials must be one of their metrics. "
                          "Received: no completed trial whose score matches a recorded metric "
                          "(a multi-objective or custom score). Only single-metric KerasTuner "
                          "objectives can be reported.")
    name = max(votes, key=lambda n: (votes[n][0], n.startswith("val_"), n))
    direction = votes[name][1] if votes[name][1] in ("max", "min") else "max"
    return name, direction


def _algorithm(oracle):
    """kt_toolkit's name for the oracle that wrote `oracle.json`, from its state's keys."""
    if "hyperband_iterations" in oracle:
        return "hyperband"
    if "num_initial_points" in oracle and "alpha" in oracle:
        return "bayesian"
    return "random"  # RandomSearch and GridSearch save the same keys


def space_spec(entries):
    """`model.space` from KerasTuner's hyperparameter configs (`config.yaml`'s spelling)."""
    space = {}
    for entry in entries:
        kind, config = entry.get("class_name"), entry.get("config") or {}
        name = config.get("name")
        if kind in ("Int", "Float"):
            number = int if kind == "Int" else float
            spec = {"min": number(config["min_value"]), "max": number(config["max_value"]),
                    # Domain knows linear and log; reverse_log crowds the same range's top.
                    "sampling": "log" if config.get("sampling") == "log" else "linear"}
            if config.get("step") is not None:
                spec["step"] = config["step"]
            space[name] = spec
        elif kind == "Choice":
            space[name] = {"values": list(config.get("values") or [])}
        elif kind == "Boolean":
            space[name] = {"values": [False, True]}
        elif kind == "Fixed":
            space[name] = {"fixed": config.get("value")}
        else:
            logger.warning("Hyperparameter %r is a %s: not shown as a domain.", name, kind)
    return space


def _write_view(view, config, record, trials, metas):
    """Writes (or refreshes) the view; raises OSError when `view` cannot be written."""
    if os.path.exists(view) and not os.path.isdir(view):
        raise NotADirectoryError(20, "not a folder", view)
    os.makedirs(view, exist_ok=True)
    atomic_write_text(os.path.join(view, CONFIG_FILE), yaml.safe_dump(config, sort_keys=False))
    atomic_write_text(os.path.join(view, RUN_RECORD), json.dumps(record, indent=2))
    copies = os.path.join(view, PROJECT_NAME)
    os.makedirs(copies, exist_ok=True)
    wanted = {f"{_TRIAL_PREFIX}{trial_id}" for trial_id in trials}
    for name in os.listdir(copies):  # trials gone from the project (an overwritten search)
        if name not in wanted:
            shutil.rmtree(os.path.join(copies, name), ignore_errors=True)
    for trial_id, trial in trials.items():
        text = json.dumps(trial)
        path = trial_json_path(copies, trial_id)
        if _digest(path) != hashlib.sha256(text.encode()).hexdigest():  # unchanged: kept
            atomic_write_text(path, text)  # (so the trials table reads it once)
        if trial_id in metas:
            atomic_write_text(os.path.join(trial_dir(view, trial_id), META_FILE),
                              json.dumps(metas[trial_id]))
    write_trials_table(view)


def _digest(path):
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None
