"""The stage schema of a coarse-to-fine experiment (C3): `stages:` checked and resolved.

Each stage is the experiment with its own `tuner:`, `training:` and `data:`
settings laid over the file's, run as a sub-run `<run>/stages/<n>-<name>/`.
`stage_config` gives a stage's own `ExperimentConfig`; running the stages is
`kt_toolkit.stages.run_stages`'s job. Pure: no Keras, no files.
"""

import os
from typing import TYPE_CHECKING, Any

from kt_toolkit.config._build import build_config
from kt_toolkit.config.identity import run_directory
from kt_toolkit.errors import ConfigError, invalid, suggest

if TYPE_CHECKING:
    from kt_toolkit.config.schema import ExperimentConfig

__all__ = ["DEFAULT_MARGIN", "DEFAULT_TOP_K", "NARROW_KEYS", "STAGES_DIR", "STAGE_KEYS",
           "stage_config", "stage_run_name", "validate_stages"]

STAGES_DIR = "stages"  # the stages' runs, inside the parent run directory
STAGE_KEYS = ("name", "tuner", "training", "data", "narrow")
NARROW_KEYS = ("top_k", "margin")
DEFAULT_TOP_K = 5
DEFAULT_MARGIN = 0.25  # of the top trials' span (log span for log knobs), each side


def _stage_raw(config, index):
    stage = config.stages[index]
    raw = config.to_dict()
    raw.pop("stages", None)
    for section in ("tuner", "training", "data"):
        _merge(raw[section], stage.get(section) or {})
    raw["output"]["directory"] = os.path.join(run_directory(config), STAGES_DIR)
    raw["output"]["run_name"] = stage_run_name(config, index)
    return raw


def stage_run_name(config: "ExperimentConfig", index: int) -> str:
    """`<n>-<name>`: the folder of stage `index` (0-based) under `<run>/stages/`."""
    return f"{index + 1}-{config.stages[index]['name']}"


def _merge(base, extra):
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def stage_config(config: "ExperimentConfig", index: int,
                 space: dict[str, Any] | None = None) -> "ExperimentConfig":
    """The `ExperimentConfig` of stage `index` (0-based), with `space` if given.

    Raises:
        ConfigError: naming `stages.<index>.<key>` for a bad stage setting.
    """
    raw = _stage_raw(config, index)
    if space is not None:
        raw["model"]["space"] = space
    try:
        return build_config(raw)
    except ConfigError as error:
        key = error.key or ""
        section = key.split(".", 1)[0]
        if section in ("tuner", "training", "data") and section in config.stages[index]:
            key = f"stages.{index}.{key}"
        raise ConfigError(error.message, key=key, file=error.file) from None


def validate_stages(config: "ExperimentConfig") -> None:
    """Checks every stage's keys and settings; a `ConfigError` names the first bad one."""
    stages = config.stages
    if not stages:
        return
    if not isinstance(stages, list):
        raise invalid("stages", "a list of stages (each a mapping with a `name`)", stages)
    names = []
    for index, stage in enumerate(stages):
        key = f"stages.{index}"
        if not isinstance(stage, dict):
            raise invalid(key, "a mapping with `name` and optional tuner/training/data/narrow",
                          stage)
        for name in stage:
            if name not in STAGE_KEYS:
                raise ConfigError(f"Unknown key `{name}`. Allowed here: "
                                  f"{', '.join(STAGE_KEYS)}." + suggest(name, STAGE_KEYS),
                                  key=f"{key}.{name}")
        name = stage.get("name")
        if not isinstance(name, str) or not name or not name.replace("_", "").replace(
                "-", "").isalnum():
            raise invalid(f"{key}.name", "a short name of letters, digits, - and _", name)
        if name in names:
            raise ConfigError(f"Stage names must differ. Received: name={name!r} twice.",
                              key=f"{key}.name")
        names.append(name)
        _validate_narrow(stage.get("narrow"), f"{key}.narrow", first=index == 0)
        stage_config(config, index)


def _validate_narrow(narrow, key, *, first):
    if narrow is None:
        return
    if first:
        raise ConfigError("The first stage has no earlier stage to narrow around. Remove "
                          "`narrow` from it.", key=key)
    if not isinstance(narrow, dict):
        raise invalid(key, "a mapping with top_k and margin", narrow)
    for name, value in narrow.items():
        if name not in NARROW_KEYS:
            raise ConfigError(f"Unknown key `{name}`. Allowed here: {', '.join(NARROW_KEYS)}."
                              + suggest(name, NARROW_KEYS), key=f"{key}.{name}")
    top_k = narrow.get("top_k", DEFAULT_TOP_K)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise invalid(f"{key}.top_k", "an integer >= 1", top_k)
    margin = narrow.get("margin", DEFAULT_MARGIN)
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or margin < 0:
        raise invalid(f"{key}.margin", "a number >= 0", margin)
