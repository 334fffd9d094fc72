"""Where each file of a run directory lives: the one place its layout is spelled out.

| path | what | written by |
|---|---|---|
| `config.yaml` | the resolved config (every knob's range written out) | `rundir.setup` |
| `run.json` | objective, direction, task, builder and data sizes | `RunDirectory.write_record` |
| `tuner/` | KerasTuner's project: `oracle.json`, `trial_<id>/trial.json`, checkpoints; `chief.json`, `stopped.json` of a parallel run | KerasTuner, `tuners.distributed` |
| `trials/<id>/history.csv`, `meta.json` | every epoch of every trial; its seconds, worker, pruning, failure reason | `callbacks.EpochLogger`, `RunDirectory.write_meta` |
| `trials/<id>/folds.json` | `data.cv_folds`: each finished fold's history and score, written as the fold ends (a resumed trial keeps them) | `tuners.folds` (`RunDirectory.write_folds`) |
| `trials.csv` | one row per trial | `RunDirectory.write_trials_table` |
| `tensorboard/` | per-epoch scalars and the HParams experiment | `callbacks.EpochScalars`, `rundir.tensorboard` |
| `best/model.keras`, `hyperparameters.yaml`, `evaluation.yaml` | the best trial's model, settings, validation scores | `RunDirectory.write_best` |
| `final/evaluation.yaml`, `final/model.keras` | the test part's scores of the best model (and of its refit on training + validation, `final.refit`), the refit model | `RunDirectory.write_final` |
| `logs/` | the chief's and workers' logs of a parallel run | `tuners.launcher` |
| `stages/<n>-<name>/`, `stages.md` | a coarse-to-fine experiment's stages, each a run | `kt_toolkit.stages` |
| `report.md`, `report.html`, `report/`, `curves/` | the report, its figures, each trial's curves | `analysis.report` |
| `report/figures.json` | what each figure was drawn from (a fingerprint: an unchanged figure is not drawn again) | `analysis.figure_files` |
| `proxy_check.csv`, `proxy_check.md` | the proxy check | `kt_toolkit.proxy` |
| `ablations/<knob>/` | one knob's ablation: `ablation.json`, `results.csv`, `histories/`, `table.md`, `figure.png` | `kt_toolkit.ablation` (`rundir.ablations`) |

Beside the run, `<output.directory>/.<run name>.lock` is its lock (`rundir.lock`).
Imports nothing but the standard library.
"""

import os

__all__ = ["ABLATIONS_DIR", "BEST_DIR", "FINAL_DIR", "FINAL_SCALARS_SUFFIX", "CHIEF_FILE", "CONFIG_FILE", "CURVES_DIR",
           "FIGURES_INDEX", "FOLDS_FILE", "HISTORY_FILE", "LOGS_DIR", "META_FILE", "ORACLE_FILE",
           "PROJECT_NAME", "PROXY_CSV", "PROXY_MD",
           "REPORT_DIR", "REPORT_HTML", "REPORT_MD", "RUN_RECORD", "STOPPED_FILE",
           "TENSORBOARD_DIR", "TRIALS_DIR", "TRIALS_TABLE", "ablation_dir", "lock_path",
           "project_dir",
           "trial_dir", "trial_json_path", "trial_logdir"]

CONFIG_FILE = "config.yaml"
RUN_RECORD = "run.json"
PROJECT_NAME = "tuner"  # KerasTuner's project folder inside a run directory
ORACLE_FILE = "oracle.json"  # KerasTuner's, in the project folder
CHIEF_FILE = "chief.json"  # in the project folder, while a chief serves
STOPPED_FILE = "stopped.json"  # in the project folder: why a chief stopped early
TRIALS_DIR = "trials"
HISTORY_FILE = "history.csv"
META_FILE = "meta.json"
FOLDS_FILE = "folds.json"  # data.cv_folds: the finished folds of a trial (tuners.folds)
TRIALS_TABLE = "trials.csv"
TENSORBOARD_DIR = "tensorboard"
BEST_DIR = "best"
FINAL_DIR = "final"  # the test part's evaluation, once the search ends
FINAL_SCALARS_SUFFIX = ".test"  # the best trial's TensorBoard run: its test scores
LOGS_DIR = "logs"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
REPORT_DIR = "report"
CURVES_DIR = "curves"
FIGURES_INDEX = "figures.json"  # in REPORT_DIR
PROXY_CSV = "proxy_check.csv"
PROXY_MD = "proxy_check.md"
ABLATIONS_DIR = "ablations"


def project_dir(run_dir: str) -> str:
    """`<run>/tuner`: KerasTuner's project folder."""
    return os.path.join(run_dir, PROJECT_NAME)


def trial_dir(run_dir: str, trial_id: str) -> str:
    """`<run>/trials/<id>`: a trial's `history.csv` and `meta.json`."""
    return os.path.join(run_dir, TRIALS_DIR, str(trial_id))


def trial_json_path(project: str, trial_id: str) -> str:
    """KerasTuner's `<project>/trial_<id>/trial.json`."""
    return os.path.join(project, f"trial_{trial_id}", "trial.json")


def trial_logdir(run_dir: str, trial_id: str) -> str:
    """`<run>/tensorboard/<trial_id>`: the trial's HParams session and scalars."""
    return os.path.join(run_dir, TENSORBOARD_DIR, str(trial_id))


def ablation_dir(run_dir: str, knob: str) -> str:
    """`<run>/ablations/<knob>`: one knob's ablation (`kt_toolkit.rundir.ablations`)."""
    return os.path.join(run_dir, ABLATIONS_DIR, knob)


def lock_path(run_dir: str) -> str:
    """`<parent>/.<run name>.lock`: beside the run, not in it (`--overwrite` deletes it)."""
    run_dir = os.path.normpath(run_dir)
    parent = os.path.dirname(run_dir) or "."
    return os.path.join(parent, f".{os.path.basename(run_dir)}.lock")
