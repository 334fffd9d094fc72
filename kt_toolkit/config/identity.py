"""Run identity: which settings define a search, its fingerprint, its directory.

Pure functions of an `ExperimentConfig`: a run directory is named after the
search settings, so rerunning the same command resumes the same run, and a
changed setting starts another one.
"""

import copy
import hashlib
import json
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kt_toolkit.config.schema import ExperimentConfig

__all__ = ["RESUMABLE_KEYS", "fingerprint", "run_directory", "search_settings"]

# Settings that may change between runs of one run directory: budget and verbosity.
RESUMABLE_KEYS = ("tuner.max_trials", "tuner.max_consecutive_failed_trials",
                  "tuner.max_time", "tuner.target",
                  "training.verbose", "training.oom", "output.directory", "output.run_name",
                  "output.report", "experiment.description",
                  "final")  # what happens after the search (refit) does not change it


# Settings added after runs already existed, with the value that means "as before":
# left out of the fingerprint at that value, so rerunning an older YAML still
# resumes its run directory.
ADDED_LATER = {"data.header": "auto", "training.mixed_precision": None,
               "training.jit_compile": False, "training.steps_per_execution": 1,
               "data.imbalance": None, "model.module_dir": None,
               "data.loader": None, "data.module_dir": None, "data.image_size": [64, 64],
               "data.color_mode": "rgb", "data.columns": None, "data.missing": "error",
               "data.test_split": None, "data.cv_folds": None}


def _drop_keys(data, keys):
    data = json.loads(json.dumps(data))
    for key in keys:
        *parents, leaf = key.split(".")
        node = data
        for part in parents:
            node = node.get(part, {})
        node.pop(leaf, None)
    return data


def _get(data, key):
    for part in key.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data


def search_settings(config: "ExperimentConfig") -> dict[str, Any]:
    """The parts of the config that define a search (everything but budget/output).

    A stage's own budget (`stages.<n>.tuner.max_trials`, …) is budget too.
    """
    data = config.to_dict()
    unchanged = [key for key, default in ADDED_LATER.items()
                 if _get(data, key) == default]
    settings = _drop_keys(data, RESUMABLE_KEYS + tuple(unchanged))
    stages = []
    for stage in settings.get("stages") or []:
        stage = copy.deepcopy(stage)
        for key in ("max_trials", "max_consecutive_failed_trials", "max_time", "target"):
            (stage.get("tuner") or {}).pop(key, None)
        stages.append(stage)
    settings["stages"] = stages
    return settings


def fingerprint(config: "ExperimentConfig") -> str:
    """8 hex digits identifying the search settings (see `search_settings`)."""
    text = json.dumps(search_settings(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def run_directory(config: "ExperimentConfig") -> str:
    """`<output.directory>/<output.run_name>`, or `<name>-<fingerprint>` without a name."""
    name = config.output.run_name or f"{config.experiment.name}-{fingerprint(config)}"
    return os.path.join(config.output.directory, name)
