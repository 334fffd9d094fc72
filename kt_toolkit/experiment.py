"""`run_experiment`: config → data → hypermodel → tuner → run directory → report.

The one function that wires the layers together, and the one dispatcher of a
run: a staged experiment (coarse to fine, C3) runs its stages through
`kt_toolkit.stages.run_stages`; each search runs in this process, or with
`workers` in a chief and worker processes (`kt_toolkit.tuners.launcher`). The
CLI and notebooks call this module.

Example:

```python
from kt_toolkit.experiment import load_experiment, run_experiment

config = load_experiment("experiments/digits_mlp.yaml", ["tuner.max_trials=3"])
result = run_experiment(config)
print(result.best_score, result.run_dir)
```
"""

import logging
from typing import TYPE_CHECKING, Iterable, Optional

from kt_toolkit.analysis import write_report
from kt_toolkit.analysis.curve_drawer import CurveDrawer
from kt_toolkit.compat.collection import collect_young_only
from kt_toolkit.compat.devices import single_process_environment
from kt_toolkit.config import ExperimentConfig, load_config, run_directory
from kt_toolkit.config.stages import stage_run_name
from kt_toolkit.data import check_data_config
from kt_toolkit.rundir import RunDirectory, run_lock
from kt_toolkit.stages import run_stages

if TYPE_CHECKING:
    from kt_toolkit.tuners.session import RunResult

__all__ = ["load_experiment", "run_experiment", "write_run_report"]

logger = logging.getLogger(__name__)


def load_experiment(path, overrides: Iterable[str] = ()) -> ExperimentConfig:
    """`kt_toolkit.config.load_config` plus the checks of the data it names.

    Registry names and the objective against each dataset's task are checked
    before any data is loaded, and the errors name the file and `--set` override.

    Raises:
        ConfigError: naming the file (or `--set …`), the key and the value.
    """
    return load_config(path, overrides, checks=(check_data_config,))


def run_experiment(config: ExperimentConfig, *, overwrite: bool = False,
                   workers: "int | str | None" = None, oracle_address: str = "127.0.0.1",
                   trials_per_process: Optional[int] = None, gpus=None,
                   workers_per_gpu: Optional[int] = None) -> "RunResult":
    """Runs (or resumes) the search an experiment describes.

    Args:
        config: A validated `kt_toolkit.config.ExperimentConfig`. With `stages`,
            each stage runs in turn and the last stage's result is returned,
            with every stage's in its `stages`.
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
        gpus: With `workers`: `None` (every GPU found), `"all"`, `"none"` or GPU
            indices (`"0,1"`); workers go round-robin over them, and `workers="auto"`
            starts one per GPU × `workers_per_gpu` (`kt_toolkit.tuners.devices`).
        workers_per_gpu: Integer or `None`: with `workers`, how many workers share
            one GPU, each held to its share of the GPU's memory.

    Returns:
        A `RunResult`.

    Raises:
        ConfigError: bad settings, data that cannot be loaded, or an objective
            the task's model does not log. Raised before anything is written.
        RunDirectoryError: another command is searching the same run directory,
            or it cannot be written.
        LaunchError: with `workers`, the chief or a worker cannot be kept running.
    """
    # The tuners load Keras (and TensorFlow): imported when a search runs, so that
    # `kt-toolkit validate` and `report`, which import this module, stay fast.
    from kt_toolkit.tuners.launcher import check_launch_options

    launch = {"workers": workers, "oracle_address": oracle_address,
              "trials_per_process": trials_per_process, "gpus": gpus,
              "workers_per_gpu": workers_per_gpu}
    if workers is not None:
        check_launch_options(**launch)
    else:  # TensorFlow grows into a GPU's memory, so other processes can share it
        single_process_environment()
    if config.stages:  # coarse to fine (C3); only the last stage's best meets the test part
        last = len(config.stages) - 1
        stages = run_stages(config, lambda stage: _run_search(
            stage, final=stage.output.run_name == stage_run_name(config, last),
            **launch), overwrite=overwrite)
        result = stages[-1].result
        result.stages = stages
        return result
    return _run_search(config, overwrite=overwrite, **launch)


def _run_search(config, *, overwrite=False, workers=None, oracle_address="127.0.0.1",
                trials_per_process=None, gpus=None, workers_per_gpu=None, final=True):
    import keras  # see run_experiment: TensorFlow loads when a search runs

    from kt_toolkit.data import load_parts
    from kt_toolkit.tuners import build_tuner
    from kt_toolkit.tuners.final import run_final
    from kt_toolkit.tuners.launcher import run_parallel
    from kt_toolkit.tuners.session import (finish_search, prepare_search, resolve_model_space,
                                           run_search)

    # The test part stays here, apart from everything the search gets, until the end.
    data, held_out = load_parts(config.data, seed=config.experiment.seed,
                                batch_size=config.training.batch_size)
    data = resolve_model_space(config, data)  # your own model: its space names the run
    with run_lock(run_directory(config)):
        setup = prepare_search(config, overwrite=overwrite, data=data)
        # The report's curves are drawn in the background as trials end (one process);
        # KerasTuner's collections before each build, in the search and in the best
        # model's export, visit only what the search made (kt_toolkit.compat.collection).
        with collect_young_only(), CurveDrawer(setup.run_dir) as drawer:
            if workers is None:
                keras.utils.set_random_seed(config.experiment.seed)
                tuner = build_tuner(config, setup.hypermodel, setup.run_dir,
                                    task=setup.data.task)
                if config.output.report:
                    tuner.trial_listeners.append(drawer.notify)
                stopped_reason = run_search(tuner, config, setup)
            else:
                stopped_reason = run_parallel(
                    config, setup, workers=workers, oracle_address=oracle_address,
                    trials_per_process=trials_per_process, gpus=gpus,
                    workers_per_gpu=workers_per_gpu,
                    trial_listeners=[drawer.notify] if config.output.report else [])
                tuner = build_tuner(config, setup.hypermodel, setup.run_dir,
                                    task=setup.data.task)
            result = finish_search(tuner, setup, stopped_reason, config=config)
            if final:  # the best model, once, on the held-out test part (and the refit)
                run_final(tuner, setup, held_out, refit=config.final.refit,
                          seed=config.experiment.seed,
                          batch_size=config.training.batch_size, result=result)
        if config.output.report:
            result.report = _report_or_warn(setup.run_dir)
        return result


def write_run_report(run_dir: str):
    """`report.md` and `report.html` for a run (finished, running or killed).

    First adds the TensorBoard HParams records a killed run (or an older
    kt_toolkit) left out, then writes the report (`kt_toolkit.analysis.write_report`).

    Returns:
        A `kt_toolkit.analysis.Report`.
    """
    try:
        RunDirectory(run_dir).sync_tensorboard()
    except (OSError, ValueError) as error:
        logger.warning("Could not write the TensorBoard HParams data: %s", error)
    return write_report(run_dir)


def _report_or_warn(run_dir):
    try:
        return write_report(run_dir)
    except Exception as error:  # noqa: BLE001 - a report must never cost a finished search
        logger.warning("The report could not be written (%s: %s); the search's results "
                       "are in %s. Retry with `kt-toolkit report %s`.",
                       type(error).__name__, error, run_dir, run_dir, exc_info=True)
        return None
