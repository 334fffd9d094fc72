"""Training one value × seed of an ablation, here or in a pool of worker processes.

A run is one model built with every knob fixed (`Plan.base`, the ablated knob at
the job's value), trained as a trial of the experiment is: its epochs, batch
size, EarlyStopping (best weights), ReduceLROnPlateau and the NaN guard (B5).
Pruning is left out: it judges a run against other trials, and a controlled
comparison trains every value for the same epochs. The seed (`keras.utils.
set_random_seed`) changes the initial weights and the order of the batches; the
split is the experiment's (`experiment.seed`) for every run.

`--workers N` runs the jobs in a `ProcessPoolExecutor` of N spawned processes.
Not the tuners' chief and workers (`tuners.launcher`): those serve a KerasTuner
oracle over gRPC that chooses trials, and an ablation has no oracle, only a
fixed list of value × seed jobs whose results are keyed by value and seed; a
process pool runs that list with no chief and no 20-second polling.
"""

import copy
import dataclasses
import gc
import math
import os
import time
from typing import Any

from kt_toolkit._io import as_float, read_csv
from kt_toolkit.config.knobs import builder_knobs
from kt_toolkit.data import load_dataset
from kt_toolkit.rundir.ranking import trial_divergence

__all__ = ["Job", "Plan", "active_space", "run_job", "run_jobs"]

_DATA: dict = {}  # one dataset per process: (data settings, seed) → Dataset


@dataclasses.dataclass(frozen=True)
class Plan:
    """What every run of an ablation shares (sent to each worker process).

    Attributes:
        config: The `ExperimentConfig` (data, training, callbacks, builder).
        knob: String, the knob ablated.
        base: Dict, every other knob's value.
        epochs: Integer, epochs per run.
        objective: String; `direction` `"max"` or `"min"`.
    """

    config: Any
    knob: str
    base: dict
    epochs: int
    objective: str
    direction: str


@dataclasses.dataclass(frozen=True)
class Job:
    """One run: the knob's `value` (typed), its text `key`, the `seed`, the history file."""

    value: Any
    key: str
    seed: int
    history_path: str


def active_space(builder: str, values: dict) -> dict:
    """`values` without the conditional knobs their parent switches off (never built)."""
    space = {}
    for knob in builder_knobs(builder):
        if knob.name not in values:
            continue
        if knob.parent is not None and values.get(knob.parent[0]) not in knob.parent[1]:
            continue
        space[knob.name] = values[knob.name]
    return space


def dataset(config):
    """The experiment's `Dataset`, loaded once per process (the split never changes)."""
    key = (repr(dataclasses.asdict(config.data)), config.experiment.seed)
    if key not in _DATA:
        _DATA.clear()
        _DATA[key] = load_dataset(config.data, seed=config.experiment.seed)
    return _DATA[key]


def _callbacks(plan, data, history_path):
    from kt_toolkit.callbacks import EpochLogger, default_callbacks

    callbacks = copy.deepcopy(plan.config.training.callbacks)
    callbacks.median_pruning.enabled = False  # see the module: no pruning here
    callbacks.chance_pruning.enabled = False
    # The logger first: the epoch the NaN guard stops on is recorded too.
    return [EpochLogger(history_path)] + default_callbacks(
        callbacks, objective=plan.objective, direction=plan.direction, task=data.task)


def _train(plan, job, data):
    """Builds and fits; `(status, reason)`."""
    import keras
    import keras_tuner
    from keras_tuner.errors import FailedTrialError

    from kt_toolkit.hypermodels import build_hypermodel

    config = copy.deepcopy(plan.config)
    config.model.space = active_space(config.model.builder, {**plan.base, plan.knob: job.value})
    keras.utils.set_random_seed(job.seed)
    try:
        hypermodel = build_hypermodel(config, data)
        hp = keras_tuner.HyperParameters()
        model = hypermodel.build(hp)
        hypermodel.fit(hp, model, data.x_train, data.y_train,
                       validation_data=(data.x_val, data.y_val), epochs=plan.epochs,
                       batch_size=config.training.batch_size,
                       callbacks=_callbacks(plan, data, job.history_path), verbose=0)
    except FailedTrialError as error:  # the NaN guard (B5)
        return "diverged", str(error)
    except Exception as error:  # noqa: BLE001 - a failed run is a row, not a crash
        return "failed", f"{type(error).__name__}: {error}"
    finally:
        keras.backend.clear_session()
        gc.collect()
    return "completed", ""


def run_job(plan: Plan, job: Job) -> dict:
    """Trains one value × seed; returns its `results.csv` row.

    Returns:
        Dict: `value`, `seed`, `score` (the objective at the best epoch, NaN if
        none), `best_epoch`, `epochs`, `seconds`, `status` (`completed`,
        `diverged`: NaN/inf or `kt_toolkit.pruning.find_divergence`, `failed`: an
        exception) and `reason`.
    """
    data = dataset(plan.config)
    if os.path.exists(job.history_path):  # an interrupted earlier attempt
        os.remove(job.history_path)
    os.makedirs(os.path.dirname(job.history_path), exist_ok=True)
    start = time.monotonic()
    status, reason = _train(plan, job, data)
    seconds = time.monotonic() - start
    history = [{name: as_float(cell) for name, cell in row.items()}
               for row in read_csv(job.history_path)]
    scores = [(row.get(plan.objective, math.nan), int(row["epoch"])) for row in history]
    scores = [(score, epoch) for score, epoch in scores if math.isfinite(score)]
    sign = 1.0 if plan.direction == "max" else -1.0
    score, best_epoch = max(scores, key=lambda pair: (sign * pair[0], -pair[1]),
                            default=(math.nan, None))
    if status == "completed":
        found = trial_divergence(history, objective=plan.objective, direction=plan.direction,
                                 record={"task": data.task, "num_classes": data.num_classes},
                                 hyperparameters={**plan.base, plan.knob: job.value})
        if found is not None:
            status, reason = "diverged", found.reason
        elif not scores:
            status, reason = "failed", f"no finite {plan.objective} was logged"
    return {"value": job.key, "seed": job.seed, "score": score, "best_epoch": best_epoch,
            "epochs": len(history), "seconds": round(seconds, 3), "status": status,
            "reason": reason}


def _start_worker(parent):
    from kt_toolkit._child import die_with_parent
    from kt_toolkit.compat import quiet_backends

    die_with_parent(parent)
    quiet_backends()


def run_jobs(plan: Plan, jobs: list, on_done, *, workers: "int | None" = None) -> None:
    """Runs `jobs`, calling `on_done(job, row)` in this process as each one ends.

    Args:
        plan: The `Plan`.
        jobs: List of `Job`.
        on_done: Function `(job, row)`, called in the order the jobs end.
        workers: Integer or `None`: with 2 or more, that many spawned processes.

    Raises:
        LaunchError: a worker process died; the rows already passed on stay.
    """
    if not workers or workers < 2 or len(jobs) < 2:
        for job in jobs:
            on_done(job, run_job(plan, job))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    from kt_toolkit.errors import LaunchError

    pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)),
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker, initargs=(os.getpid(),))
    try:
        futures = {pool.submit(run_job, plan, job): job for job in jobs}
        for future in as_completed(futures):
            on_done(futures[future], future.result())
    except BrokenProcessPool:
        pool.shutdown(wait=False, cancel_futures=True)
        raise LaunchError("A worker process of the ablation died (killed, or out of "
                          "memory). The runs that finished are kept in results.csv: rerun "
                          "the same command to train the rest.") from None
    except BaseException:  # Ctrl-C, SIGTERM: the workers end with this process
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
