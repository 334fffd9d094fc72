"""`run_experiment`: config → data → hypermodel → tuner → run directory.

The run directory holds:

| path | what |
|---|---|
| `config.yaml` | the resolved config (every knob's range written out) |
| `run.json` | objective, direction, task, builder and data sizes, for the analysis |
| `tuner/` | KerasTuner's own project: `oracle.json`, `trial_<id>/trial.json`, checkpoints |
| `trials/<id>/history.csv`, `meta.json` | every epoch of every trial; its seconds |
| `trials.csv` | one row per trial (see `kt_toolkit.analysis.trials`) |
| `tensorboard/` | per-epoch scalars and the HParams experiment (`tensorboard --logdir <run>`) |
| `best/model.keras` | the best trial's model, re-loadable with `keras.saving.load_model` |
| `best/hyperparameters.yaml`, `best/evaluation.yaml` | its settings; its validation scores |
| `report.md`, `report.html`, `report/`, `curves/` | the report, its figures, each trial's learning curves |
"""

import contextlib
import dataclasses
import json
import logging
import os
import shutil
import warnings

import yaml

from kt_toolkit._io import atomic_write_text
from kt_toolkit.analysis.trials import tidy_value
from kt_toolkit.config import config_from_dict, dump_config, fingerprint, search_settings
from kt_toolkit.errors import ConfigError

__all__ = ["RunResult", "SearchSetup", "build_hypermodel", "check_run_dir", "finish_search",
           "prepare_run_dir", "prepare_search", "run_directory", "run_experiment", "run_lock",
           "search"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class RunResult:
    """What a finished `run_experiment` produced.

    Attributes:
        run_dir: String, the run directory.
        objective: String, the metric optimised; `direction` is `"max"`/`"min"`.
        best_trial_id: String or `None` when no trial completed.
        best_score: Float or `None`.
        best_hyperparameters: Dict of the best trial's active values.
        best_model_path: String or `None`.
        evaluation: Dict of the best model's validation metrics.
        trials: List of trial rows (as in `trials.csv`).
        stopped_reason: String or `None`: why the search stopped before its budget.
        report: A `kt_toolkit.analysis.Report`, or `None` when `output.report` is
            off or the report could not be written (the search's results stand).
    """

    run_dir: str
    objective: str
    direction: str
    best_trial_id: str = None
    best_score: float = None
    best_hyperparameters: dict = dataclasses.field(default_factory=dict)
    best_model_path: str = None
    evaluation: dict = dataclasses.field(default_factory=dict)
    trials: list = dataclasses.field(default_factory=list)
    stopped_reason: str = None
    report: object = None

    def count(self, status):
        return sum(1 for row in self.trials if row["status"] == status)


def run_directory(config):
    """`<output.directory>/<output.run_name>`, or `<name>-<fingerprint>` without a name."""
    name = config.output.run_name or f"{config.experiment.name}-{fingerprint(config)}"
    return os.path.join(config.output.directory, name)


def _differences(old, new, prefix=""):
    if isinstance(old, dict) and isinstance(new, dict) and old.keys() == new.keys():
        found = []
        for key in old:
            found += _differences(old.get(key), new.get(key), f"{prefix}{key}.")
        return found
    return [] if old == new else [(prefix.rstrip("."), old, new)]


def prepare_run_dir(config, *, overwrite=False):
    """Creates (or checks, to resume) the run directory; writes `config.yaml`.

    Raises:
        ConfigError: when the directory holds a run of other search settings, or
            files that are not a kt_toolkit run. Nothing in it is changed then.
    """
    run_dir = run_directory(config)
    config_path = os.path.join(run_dir, "config.yaml")
    if overwrite and os.path.isdir(run_dir):
        if os.listdir(run_dir) and not os.path.exists(config_path):
            raise ConfigError(f"--overwrite refuses to delete {run_dir!r}: it is not a "
                              "kt_toolkit run directory (no config.yaml).",
                              key="output.run_name")
        shutil.rmtree(run_dir)
    elif os.path.exists(config_path):
        stored = _stored_config(config_path)
        changed = _differences(search_settings(stored), search_settings(config))
        if changed:
            key, old, new = changed[0]
            raise ConfigError(
                f"The run directory {run_dir!r} holds a search with other settings "
                f"({len(changed)} differ; first: {key} was {old!r}, now {new!r}). "
                "Resuming would mix two searches. Use --overwrite to start it afresh, "
                "or another output.run_name.", key=key)
        logger.info("Resuming the search in %s", run_dir)
    elif os.path.isdir(run_dir) and os.listdir(run_dir):
        raise ConfigError(f"{run_dir!r} exists and is not a kt_toolkit run directory "
                          "(no config.yaml): choose another output.run_name.",
                          key="output.run_name")
    try:
        os.makedirs(run_dir, exist_ok=True)
        atomic_write_text(config_path, dump_config(config))
    except OSError as error:
        raise ConfigError(f"Cannot write the run directory {run_dir!r}: {error.strerror}. "
                          "Choose a writable output.directory.", key="output.directory") from None
    return run_dir


def check_run_dir(config):
    """The existing run directory of `config`; a `ConfigError` if absent or of other settings.

    For processes that join a run (`kt-toolkit worker`): they never create one.
    """
    run_dir = run_directory(config)
    config_path = os.path.join(run_dir, "config.yaml")
    if not os.path.exists(config_path):
        raise ConfigError(f"There is no run in {run_dir!r} (no config.yaml) to join. Start "
                          "the chief first (`kt-toolkit tune --workers N "
                          "--oracle-address 0.0.0.0`), and give this worker the same config "
                          "and --set options, with output.directory on a file system both "
                          "hosts share.", key="output.directory")
    changed = _differences(search_settings(_stored_config(config_path)),
                           search_settings(config))
    if changed:
        key, old, new = changed[0]
        raise ConfigError(f"The run in {run_dir!r} searches other settings ({key} is "
                          f"{old!r} there, {new!r} here): give the worker the chief's config "
                          "and --set options.", key=key)
    return run_dir


def _stored_config(path):
    """The config a run directory was made with; a `ConfigError` if unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            return config_from_dict(yaml.safe_load(handle))
    except (ConfigError, yaml.YAMLError, OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"The run directory's config cannot be read as a kt_toolkit config ({error}). "
            "Use --overwrite to start that run afresh, or another output.run_name.",
            file=path) from None


def build_hypermodel(config, data):
    """The experiment's builder for `data` (a `ConfigError` if they do not fit)."""
    from kt_toolkit.hypermodels import get_builder

    name = config.model.builder
    needs = {"cnn": ("image",), "sequence": ("tokens",)}.get(name)
    if needs and data.input_kind not in needs:
        raise ConfigError(
            f"`builder` {name!r} needs {needs[0]} data, and {config.data.dataset!r} gives "
            f"{data.input_kind}. Received: builder={name!r}. Use the mlp builder, or a "
            f"dataset of {needs[0]} (e.g. " + ("digits_images" if name == "cnn" else
                                                 "synthetic_sentiment") + ").",
            key="model.builder")
    return get_builder(name).from_data(data, space=config.model.space,
                                       discrete=config.tuner.algorithm == "grid",
                                       seed=config.experiment.seed)


def run_experiment(config, *, overwrite=False, workers=None, oracle_address="127.0.0.1",
                   trials_per_process=None):
    """Runs (or resumes) the search an experiment describes.

    Args:
        config: A validated `kt_toolkit.config.ExperimentConfig`. With `stages`,
            each stage runs in turn (`kt_toolkit.stages.run_stages`) and the
            last stage's result is returned.
        overwrite: Boolean, delete the run directory first and start afresh.
            Without it, a run directory of the same settings resumes: finished
            trials are kept and only the rest of the budget runs.
        workers: Integer or `None`. `None` trains every trial in this process.
            A number N starts a chief (the oracle, over KerasTuner's gRPC) and N
            worker processes on this machine (A3); see `kt_toolkit.tuners.launcher`.
        oracle_address: String, the interface the chief binds with `workers`:
            loopback by default; `0.0.0.0` lets `kt-toolkit worker` join from
            other hosts.
        trials_per_process: Integer or `None`: with `workers`, a worker process
            is replaced by a fresh one after this many trials (memory that the
            backend keeps per model goes with it). `None` picks a default.

    Returns:
        A `RunResult`.

    Raises:
        ConfigError: bad settings, data that cannot be loaded, or an objective
            the task's model does not log. Raised before anything is written.
    """
    if config.stages:  # coarse to fine (C3): the last stage's result
        from kt_toolkit.stages import run_stages

        return run_stages(config, overwrite=overwrite, workers=workers,
                          oracle_address=oracle_address,
                          trials_per_process=trials_per_process)[-1].result
    if workers is not None:
        from kt_toolkit.tuners.launcher import run_parallel

        return run_parallel(config, workers=workers, overwrite=overwrite,
                            oracle_address=oracle_address,
                            trials_per_process=trials_per_process)
    from kt_toolkit.tuners import build_tuner

    with run_lock(run_directory(config)):
        setup = prepare_search(config, overwrite=overwrite)
        import keras

        keras.utils.set_random_seed(config.experiment.seed)
        tuner = build_tuner(config, setup.hypermodel, setup.run_dir, task=setup.data.task)
        tuner.sync_tensorboard()  # the HParams experiment; sessions a killed run missed
        stopped_reason = search(tuner, config, setup)
        return finish_search(tuner, config, setup, stopped_reason)


@dataclasses.dataclass
class SearchSetup:
    """What every process of a run loads the same way: data, builder, objective."""

    data: object
    hypermodel: object
    objective: str
    direction: str
    run_dir: str


def prepare_search(config, *, overwrite=False, run_dir=None):
    """Loads the data and builder; creates (or checks) the run directory.

    With `run_dir` (a worker or chief process of a run), the directory must
    already hold this run and nothing is written to it.
    """
    from kt_toolkit.data import load_dataset
    from kt_toolkit.tuners import resolve_objective

    data = load_dataset(config.data, seed=config.experiment.seed)
    logger.info("Data: %s", data.summary())
    objective, direction = resolve_objective(config.tuner, data.task)
    hypermodel = build_hypermodel(config, data)
    if run_dir is None:
        run_dir = prepare_run_dir(config, overwrite=overwrite)
        _write_run_record(run_dir, config, data, objective, direction)
    return SearchSetup(data, hypermodel, objective, direction, run_dir)


def finish_search(tuner, config, setup, stopped_reason=None):
    """`trials.csv`, the best model under `best/`, the report: a `RunResult`."""
    rows = tuner.write_trials_table()
    tuner.sync_tensorboard(rows)
    result = RunResult(run_dir=setup.run_dir, objective=setup.objective,
                       direction=setup.direction, trials=rows, stopped_reason=stopped_reason)
    _export_best(tuner, setup.data, result)
    if config.output.report:
        result.report = _write_report(setup.run_dir)
    return result


@contextlib.contextmanager
def run_lock(run_dir):
    """Holds `<output.directory>/.<run name>.lock`: a second process on the run gets a
    `ConfigError`, before it changes anything.

    Two searches in one directory would write the same trials (KerasTuner's
    checkpoints even fail with "unable to lock file"). The lock goes with the
    process, `kill -9` included.
    """
    import fcntl

    # Beside the run directory, not in it: `--overwrite` deletes the directory, and
    # a refused command must not have written anything into a live run.
    run_dir = os.path.normpath(run_dir)
    parent = os.path.dirname(run_dir) or "."
    try:
        os.makedirs(parent, exist_ok=True)
        handle = open(os.path.join(parent, f".{os.path.basename(run_dir)}.lock"), "a+",
                      encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"Cannot write into {parent!r}: {error.strerror}. Choose a "
                          "writable output.directory.", key="output.directory") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise ConfigError(f"{run_dir!r} is being searched by {holder} right now. Wait for "
                          "it to end (or stop it), or choose another output.run_name.",
                          key="output.run_name") from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"kt-toolkit (pid {os.getpid()})")
        handle.flush()
        yield
    finally:
        handle.close()


def _write_report(run_dir):
    from kt_toolkit.analysis.report import write_report

    try:
        return write_report(run_dir)
    except Exception as error:  # noqa: BLE001 - a report must never cost a finished search
        logger.warning("The report could not be written (%s: %s); the search's results "
                       "are in %s. Retry with `kt-toolkit report %s`.",
                       type(error).__name__, error, run_dir, run_dir, exc_info=True)
        return None


def _write_run_record(run_dir, config, data, objective, direction):
    """`run.json`: what the analysis needs and cannot read from `config.yaml` alone."""
    record = {"objective": objective, "direction": direction, "task": data.task,
              "builder": config.model.builder, "dataset": data.name,
              "train_samples": int(len(data.y_train)), "validation_samples": int(len(data.y_val)),
              "num_classes": data.num_classes, "data_summary": data.summary()}
    atomic_write_text(os.path.join(run_dir, "run.json"), json.dumps(record, indent=2))


def search(tuner, config, setup):
    """`tuner.search` with the experiment's callbacks; why it stopped early, or `None`."""
    from kt_toolkit.callbacks import default_callbacks
    from kt_toolkit.callbacks.pruning import chance_level

    data, objective, direction = setup.data, setup.objective, setup.direction
    targets = data.y_val if objective.startswith("val_") else data.y_train
    callbacks = default_callbacks(config.training.callbacks, objective=objective,
                                  direction=direction,
                                  chance=chance_level(objective, data.task, targets))
    try:
        tuner.search(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                     epochs=config.training.epochs, batch_size=config.training.batch_size,
                     callbacks=callbacks, verbose=config.training.verbose)
    except RuntimeError as error:
        if "consecutive failures" not in str(error):
            raise
        reasons = [row["reason"] for row in tuner.write_trials_table()
                   if row["status"] == "FAILED"][-config.tuner.max_consecutive_failed_trials:]
        reason = (f"{config.tuner.max_consecutive_failed_trials} consecutive trials failed "
                  f"(tuner.max_consecutive_failed_trials); last reasons: "
                  + " | ".join(dict.fromkeys(reasons)))
        logger.error("Search stopped: %s", reason)
        return reason
    return None


def _export_best(tuner, data, result):
    """Saves the best trial's model, settings and validation scores under `best/`."""
    best = tuner.best_trials(1)
    if not best:
        logger.warning("No trial completed: there is no best model.")
        return
    trial = best[0]
    with warnings.catch_warnings():
        # The checkpoint holds the optimizer's slots; the rebuilt model has none yet.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model = tuner.load_model(trial)
    evaluation = model.evaluate(data.x_val, data.y_val, verbose=0, return_dict=True)
    evaluation = {name: float(value) for name, value in evaluation.items()}
    best_dir = os.path.join(result.run_dir, "best")
    os.makedirs(best_dir, exist_ok=True)
    path = os.path.join(best_dir, "model.keras")
    tmp = os.path.join(best_dir, f".model-{os.getpid()}.keras")
    model.save(tmp)
    os.replace(tmp, path)
    hp = trial.hyperparameters
    declared = {entry.name for entry in hp.space}
    values = {name: tidy_value(value) for name, value in hp.values.items()
              if name not in declared or hp.is_active(name)}
    record = {"trial_id": trial.trial_id,
              "objective": {"name": result.objective, "direction": result.direction,
                            "value": float(trial.score)},
              "hyperparameters": values}
    atomic_write_text(os.path.join(best_dir, "hyperparameters.yaml"),
                      yaml.safe_dump(record, sort_keys=False))
    atomic_write_text(os.path.join(best_dir, "evaluation.yaml"), yaml.safe_dump(
        {"split": "validation", "samples": int(len(data.y_val)), "metrics": evaluation},
        sort_keys=False))
    result.best_trial_id = trial.trial_id
    result.best_score = float(trial.score)
    result.best_hyperparameters = values
    result.best_model_path = path
    result.evaluation = evaluation
