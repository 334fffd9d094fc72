"""Where an ablation starts: an experiment file or a run directory, and its base values.

- An experiment file: every other knob at the space's first value (what a
  search's trial 0 trains), and the ablation goes into the run directory `tune`
  would use for the same settings (created, with its `config.yaml`, if new).
- A run directory: every other knob at its best trial (ranked as the run's
  `best/` is), the run's `config.yaml` as the experiment. A knob that `--set
  model.space.<knob>=…` changes takes that setting's first value instead.
"""

import dataclasses
import os
from collections.abc import Iterable

from kt_toolkit.config import parse_override, run_directory
from kt_toolkit.config.knobs import is_custom_builder
from kt_toolkit.errors import ConfigError
from kt_toolkit.experiment import load_experiment
from kt_toolkit.rundir import RunDirectory, load_study, prepare_run_dir
from kt_toolkit.rundir.layout import CONFIG_FILE

__all__ = ["Source", "first_values", "load_source"]


def first_values(space: dict) -> dict:
    """Each knob's first value in a resolved space (`fixed`, else its `default`)."""
    return {name: spec["fixed"] if "fixed" in spec else spec["default"]
            for name, spec in space.items()}


@dataclasses.dataclass
class Source:
    """The experiment an ablation runs, its run directory and the held knobs' values.

    Attributes:
        config: The `ExperimentConfig`.
        run_dir: String.
        base: Dict, every knob's value the ablation holds.
        description: String, where `base` comes from (for the table's caption).
        is_run: Boolean, whether the source was a run directory.
    """

    config: object
    run_dir: str
    base: dict
    description: str
    is_run: bool

    def prepare(self, data, objective: str, direction: str) -> None:
        """Creates the run directory of an experiment file, if new (under the run lock)."""
        if self.is_run:
            return
        run = RunDirectory(self.run_dir)
        if not run.exists():  # else the run of these settings (the fingerprint names it)
            prepare_run_dir(self.config)
        if not run.read_record():
            run.write_record({
                "objective": objective, "direction": direction, "task": data.task,
                "builder": self.config.model.builder, "dataset": data.name,
                "train_samples": int(len(data.y_train)),
                "validation_samples": int(len(data.y_val)),
                "num_classes": data.num_classes, "data_summary": data.summary()})


def _space_overrides(overrides):
    names = set()
    for text in overrides:
        key = parse_override(text)[0]
        if key.startswith("model.space."):
            names.add(key.split(".")[2])
    return names


def _best_values(run_dir):
    study = load_study(run_dir)
    best = study.best(1)
    if not best:
        raise ConfigError(
            f"The run {run_dir!r} has no completed trial to hold the other knobs at. "
            "Ablate from its experiment file instead (the space's first values), or let "
            "the search finish a trial first.", key="source")
    trial_id = best[0]["trial_id"]
    record = RunDirectory(run_dir).trial_record(trial_id)
    values = (record.get("hyperparameters") or {}).get("values") or {}
    return trial_id, {name: value for name, value in values.items()
                      if not name.startswith("tuner/")}


def _refuse_own_model(config, path):
    """An ablation holds knobs by the builders' tables; your own model has none yet."""
    if is_custom_builder(config.model.builder):
        raise ConfigError(
            "`builder` must be a registered builder (mlp, cnn, sequence) for an ablation. "
            f"Received: builder={config.model.builder!r}. Your own model's hyperparameters "
            "are known only once it is built: compare its values with a search (`kt-toolkit "
            "tune`, then `kt-toolkit show`).", key="model.builder", file=path)


def load_source(source: str, overrides: Iterable[str] = ()) -> Source:
    """Reads an experiment file or a run directory, with `--set` overrides.

    Raises:
        ConfigError: `source` is neither, a setting is wrong, or a run has no
            completed trial.
    """
    source = os.fspath(source)
    overrides = list(overrides)
    if os.path.isdir(source):
        config_path = os.path.join(source, CONFIG_FILE)
        if not os.path.isfile(config_path):
            raise ConfigError(
                "`source` must be an experiment YAML file or a run directory (a folder with "
                f"config.yaml). Received: source={source!r}. Give the folder `kt-toolkit "
                "tune` printed as `Run directory:`.", key="source")
        config = load_experiment(config_path, overrides)
        _refuse_own_model(config, config_path)
        trial_id, best = _best_values(source)
        base = first_values(config.model.space)
        changed = _space_overrides(overrides)
        base.update({name: value for name, value in best.items()
                     if name in base and name not in changed})
        description = f"trial {trial_id}, the best of {os.path.basename(os.path.normpath(source))}"
        return Source(config, source, base, description, is_run=True)
    config = load_experiment(source, overrides)
    _refuse_own_model(config, source)
    if config.stages:
        raise ConfigError("`source` must be an experiment without `stages` (an ablation "
                          "holds one set of knobs). Received a staged experiment: ablate a "
                          "stage's run directory (`<run>/stages/<n>-<name>`) instead.",
                          key="stages", file=source)
    return Source(config, run_directory(config), first_values(config.model.space),
                  "the space's first values", is_run=False)
