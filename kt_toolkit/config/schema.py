"""Typed sections of an experiment file. Imports no TensorFlow.

Each dataclass is one YAML section; a field's default is the value used when the
YAML leaves it out. `validate()` on each section checks values that a type alone
cannot (ranges, choices); the loader checks the types and unknown keys.

The `data:` section lives in `data_schema.py`, `training:` and its callbacks in
`training_schema.py`; every name of theirs is importable from here too.
"""

import dataclasses
import math
import re
from typing import Any, Optional, Union

from kt_toolkit.config._checks import (MAX_SEED, check_choice, check_folder_name,  # noqa: F401
                                      check_positive, check_seed)
# The sections of their own modules, re-exported: `from kt_toolkit.config.schema import …`
# keeps working for every name.
from kt_toolkit.config.data_schema import (COLOR_MODES, COLUMN_KINDS,  # noqa: F401
                                           DEFAULT_IMAGE_SIZE, MISSING_POLICIES, TASK_NAMES,
                                           DataConfig)
from kt_toolkit.config.training_schema import (MIXED_PRECISION, OOM_POLICIES,  # noqa: F401
                                               CallbacksConfig, ChancePruningConfig,
                                               EarlyStoppingConfig, MedianPruningConfig,
                                               ReduceLROnPlateauConfig, TerminateOnNaNConfig,
                                               TrainingConfig)
from kt_toolkit.errors import invalid

__all__ = [
    "ALGORITHMS", "CallbacksConfig", "ChancePruningConfig", "DataConfig", "EarlyStoppingConfig",
    "ExperimentConfig", "ExperimentSection", "FinalConfig", "MedianPruningConfig", "ModelConfig", "OutputConfig",
    "ReduceLROnPlateauConfig", "TerminateOnNaNConfig", "TrainingConfig", "TunerConfig",
]

ALGORITHMS = ("hyperband", "bayesian", "random", "grid", "quasi_random", "tpe")
DEFAULT_MAX_TRIALS = 10  # random, quasi_random and bayesian, when tuner.max_trials is null
DEFAULT_TPE_TRIALS = 30  # tpe: its first 10 trials are random, the rest are TPE's


def default_max_trials(algorithm: str) -> int:
    """The trials an algorithm runs when `tuner.max_trials` is null (not Hyperband, grid)."""
    return DEFAULT_TPE_TRIALS if algorithm == "tpe" else DEFAULT_MAX_TRIALS


_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d*)?)\s*h)?\s*(?:(\d+(?:\.\d*)?)\s*m(?:in)?)?"
                       r"\s*(?:(\d+(?:\.\d*)?)\s*s)?\s*$")


def duration_seconds(value: "int | float | str | None") -> "float | None":
    """Seconds in a duration: a number of seconds, or text such as `90s`, `15m`, `2h30m`.

    Returns:
        Float, or `None` for `None` and for text that is not a duration.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)  # "90": seconds
    except ValueError:
        pass
    match = _DURATION.match(str(value))
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (float(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


@dataclasses.dataclass
class ExperimentSection:
    """`experiment:` what the run is called and its seed."""

    name: str = "experiment"
    seed: int = 42
    description: str = ""

    def validate(self, key: str) -> None:
        check_folder_name(f"{key}.name", self.name, "name")
        check_seed(f"{key}.seed", self.seed)


@dataclasses.dataclass
class ModelConfig:
    """`model:` the builder and overrides of its search space.

    `builder` is a registered builder (`mlp`, `cnn`, `sequence`) or your own model
    as `"package.module:Name"`; `module_dir` is the folder that module is imported
    from (the experiment file's folder unless given).
    """

    builder: str = "mlp"
    space: Optional[dict] = dataclasses.field(default_factory=dict)
    module_dir: Optional[str] = None


@dataclasses.dataclass
class TunerConfig:
    """`tuner:` algorithm, objective and budget.

    `max_trials` caps the number of trials for every algorithm (Hyperband runs
    its full schedule when it is null). `max_epochs` is Hyperband's largest
    epoch budget (null: `training.epochs`). `max_time` (`90s`, `15m`, `2h`, or
    seconds) stops starting trials once the search has run that long, over all
    its resumes; running trials finish. `target` stops starting trials once a
    completed trial's objective reaches it (in the objective's direction).
    """

    algorithm: str = "tpe"
    objective: str = "auto"
    direction: str = "auto"
    max_trials: Optional[int] = None
    max_epochs: Optional[int] = None
    factor: int = 3
    hyperband_iterations: int = 1
    num_initial_points: Optional[int] = None
    executions_per_trial: int = 1
    seed: Optional[int] = None
    max_consecutive_failed_trials: int = 3
    max_time: Optional[Union[int, float, str]] = None
    target: Optional[float] = None

    def validate(self, key: str) -> None:
        check_choice(f"{key}.algorithm", self.algorithm, ALGORITHMS)
        if self.max_time is not None:
            seconds = duration_seconds(self.max_time)
            if seconds is None or not math.isfinite(seconds) or seconds <= 0:
                raise invalid(f"{key}.max_time", "a duration such as 90s, 15m, 2h30m or a "
                              "number of seconds > 0", self.max_time)
        if self.target is not None and not math.isfinite(self.target):
            raise invalid(f"{key}.target", "a finite number (the objective's value)",
                          self.target)
        check_choice(f"{key}.direction", self.direction, ("auto", "max", "min"))
        check_seed(f"{key}.seed", self.seed)
        for name in ("max_trials", "max_epochs", "num_initial_points"):
            check_positive(f"{key}.{name}", getattr(self, name), allow_none=True)
        for name in ("hyperband_iterations", "executions_per_trial",
                     "max_consecutive_failed_trials"):
            check_positive(f"{key}.{name}", getattr(self, name))
        if self.factor < 2:
            raise invalid(f"{key}.factor", "an integer >= 2", self.factor,
                          "Hyperband keeps 1/factor of the trials each round; 3 is usual.")


@dataclasses.dataclass
class OutputConfig:
    """`output:` where runs go.

    The run directory is `<directory>/<run_name>`; without `run_name` it is
    `<experiment.name>-<8-hex fingerprint of the search settings>`, so the same
    settings resume the same run and changed settings never touch it. `report`
    writes `report.md` and `report.html` into it when the search ends.
    """

    directory: str = "runs"
    run_name: Optional[str] = None
    report: bool = True

    def validate(self, key: str) -> None:
        if self.run_name is not None:
            check_folder_name(f"{key}.run_name", self.run_name, "folder name")


@dataclasses.dataclass
class FinalConfig:
    """`final:` what happens once the search ends, on the held-out test part.

    The best model is evaluated once on the test part (`data.test_split`, or the
    source's own); `refit: true` also retrains the best settings on the training
    and validation parts together, for the best trial's best epoch count (not
    scaled to the larger data), and evaluates that model on the test part.
    """

    refit: bool = False

    def validate(self, key: str) -> None:
        if not isinstance(self.refit, bool):
            raise invalid(f"{key}.refit", "true or false", self.refit)


@dataclasses.dataclass
class ExperimentConfig:
    """A whole experiment file."""

    experiment: ExperimentSection = dataclasses.field(default_factory=ExperimentSection)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    tuner: TunerConfig = dataclasses.field(default_factory=TunerConfig)
    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
    output: OutputConfig = dataclasses.field(default_factory=OutputConfig)
    final: FinalConfig = dataclasses.field(default_factory=FinalConfig)
    # C3 coarse to fine: searches run one after another (see `kt_toolkit.stages`).
    stages: list = dataclasses.field(default_factory=list)

    def validate(self) -> None:
        for field in dataclasses.fields(self):
            section = getattr(self, field.name)
            if hasattr(section, "validate"):
                section.validate(field.name)
        if self.tuner.seed is None:
            self.tuner.seed = self.experiment.seed
        self._check_folds()

    def _check_folds(self):
        """`data.cv_folds` runs one execution per fold: not with Hyperband, nor with
        `tuner.executions_per_trial` of its own."""
        if self.data.cv_folds is None:
            return
        if self.tuner.algorithm == "hyperband":
            raise invalid("data.cv_folds", "null with tuner.algorithm hyperband",
                          self.data.cv_folds, "Hyperband continues a trial's model from "
                          "round to round, and a fold's model cannot continue another's: "
                          "use another algorithm, or drop data.cv_folds.")
        if self.tuner.executions_per_trial != 1:
            raise invalid("data.cv_folds", "null when tuner.executions_per_trial is above 1",
                          self.data.cv_folds, "Each fold is one execution of the trial: "
                          "drop tuner.executions_per_trial.")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

