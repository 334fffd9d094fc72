"""Reading, overriding, validating and writing experiment files (A1).

`load_config(path, overrides)` is the one entry point: `yaml.safe_load`, then the
`--set dotted.key=value` overrides, then type and value checks, then the builder's
search space is resolved (every knob written out with its range and default).
Every error is a `ConfigError` naming the file, the dotted key and the value.
"""

import copy
import dataclasses
import hashlib
import json
import os
import re
import typing

import yaml

from kt_toolkit.config.schema import ExperimentConfig
from kt_toolkit.errors import ConfigError, invalid, suggest
from kt_toolkit.hypermodels.knobs import BUILDERS, builder_knobs
from kt_toolkit.hypermodels.space import resolve_space

__all__ = ["config_from_dict", "dump_config", "fingerprint", "load_config",
           "parse_override", "apply_overrides"]

# Settings that may change between runs of one run directory: budget and verbosity.
RESUMABLE_KEYS = ("tuner.max_trials", "tuner.max_consecutive_failed_trials",
                  "training.verbose", "output.directory", "output.run_name", "output.report",
                  "experiment.description")


class _Loader(yaml.SafeLoader):
    """`yaml.SafeLoader` that reads `1e-3` as a float.

    PyYAML follows YAML 1.1, where `1e-3` (no dot) is a string: a Keras user
    writing `learning_rate: 1e-3` means a number.
    """


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def _check_repeats(node, prefix=""):
    """Refuses a key given twice in one mapping (YAML would keep the last silently)."""
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key_node, value_node in node.value:
            key = f"{prefix}{key_node.value}"
            if key in seen:
                raise ConfigError(f"The key `{key_node.value}` appears more than once "
                                  f"(line {key_node.start_mark.line + 1}); keep one.", key=key)
            seen.add(key)
            _check_repeats(value_node, f"{key}.")
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_repeats(item, prefix)


def _yaml(text):
    if not isinstance(text, str):
        text = text.read()
    _check_repeats(yaml.compose(text, Loader=_Loader))
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def parse_override(text):
    """Splits `"tuner.max_trials=4"` into `("tuner.max_trials", 4)` (YAML-typed value)."""
    if "=" not in text:
        raise ConfigError(f"An override must look like dotted.key=value. Received: {text!r}.",
                          key="--set")
    key, _, raw = text.partition("=")
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"An override needs a dotted key before '='. Received: {text!r}.",
                          key="--set")
    try:
        value = _yaml(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"The value of {key} is not valid YAML ({exc.problem}). "
                          f"Received: {raw!r}.", key=key) from None
    return key, value


def apply_overrides(raw, overrides):
    """Sets each `(dotted_key, value)` in the nested dict `raw` (in place)."""
    for key, value in overrides:
        node = raw
        parts = key.split(".")
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                where = ".".join(parts[: depth + 1])
                raise ConfigError(f"Cannot set {key}: {where} holds the value {child!r}, "
                                  "not a mapping.", key=key)
            node = child
        node[parts[-1]] = value
    return raw


def _type_name(tp):
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
             list: "a list", dict: "a mapping"}
    if tp in names:
        return names[tp]
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    return " or ".join(_type_name(a) for a in args) + (" or null" if type(None) in
                                                         typing.get_args(tp) else "")


def _coerce(value, tp, key):
    """Checks `value` against the annotation `tp`; returns it (ints widen to float)."""
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        if value is None and type(None) in typing.get_args(tp):
            return None
        for option in typing.get_args(tp):
            if option is type(None):
                continue
            try:
                return _coerce(value, option, key)
            except ConfigError:
                continue
        raise invalid(key, _type_name(tp), value)
    if dataclasses.is_dataclass(tp):
        if isinstance(value, bool) and "enabled" in {f.name for f in dataclasses.fields(tp)}:
            return tp(enabled=value)
        return _build(tp, value, key)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float) and isinstance(value, bool):
        raise invalid(key, _type_name(tp), value)
    if not isinstance(value, tp):
        raise invalid(key, _type_name(tp), value)
    return value


def _build(cls, raw, key):
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise invalid(key or "config", "a mapping of settings", raw)
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for name in raw:
        if name not in names:
            where = f"{key}.{name}" if key else str(name)
            raise ConfigError(f"Unknown key `{name}`. Allowed here: {', '.join(names)}."
                              + suggest(name, names), key=where)
    kwargs = {name: _coerce(raw[name], hints[name], f"{key}.{name}" if key else name)
              for name in names if name in raw}
    return cls(**kwargs)


def config_from_dict(raw):
    """Builds and validates an `ExperimentConfig` from a plain dict.

    Raises:
        ConfigError: for unknown keys, wrong types or bad values.
    """
    config = _build(ExperimentConfig, raw, "")
    config.validate()
    builder = config.model.builder
    if builder not in BUILDERS:
        raise invalid("model.builder", "one of " + ", ".join(BUILDERS), builder,
                      suggest(builder, BUILDERS).strip())
    space = dict(config.model.space or {})
    knobs = builder_knobs(builder)
    _check_foreign_knobs(builder, space)
    if "batch_size" not in space and any(k.name == "batch_size" for k in knobs):
        space["batch_size"] = config.training.batch_size  # E8: tuned only when given choices
    config.model.space = resolve_space(knobs, space,
                                       discrete=config.tuner.algorithm == "grid")
    _check_data_and_objective(config)
    if config.stages:
        from kt_toolkit.stages import validate_stages

        validate_stages(config)
    return config


def _check_foreign_knobs(builder, space):
    """A knob of another builder gets a message that says so."""
    own = {knob.name for knob in builder_knobs(builder)}
    for name in space:
        owners = [b for b in BUILDERS if b != builder and name in
                  {k.name for k in builder_knobs(b)}]
        if name not in own and owners:
            raise ConfigError(
                f"`{name}` is a knob of builder {' and '.join(owners)}; builder {builder} has "
                f"no such knob. Its knobs: {', '.join(sorted(own))}.",
                key=f"model.space.{name}")


def _check_data_and_objective(config):
    """Registry names and the objective are known before any data is loaded."""
    from kt_toolkit.data import dataset_task
    from kt_toolkit.hypermodels.tasks import resolve_objective

    task = dataset_task(config.data)  # DataError for an unknown registry name
    if task is not None:
        resolve_objective(config.tuner.objective, config.tuner.direction, task)


def load_config(path, overrides=()):
    """Reads an experiment file, applies `--set` overrides and validates it.

    Args:
        path: String or path-like, the YAML file.
        overrides: Iterable of `"dotted.key=value"` strings.

    Returns:
        A validated `ExperimentConfig` with `model.space` fully resolved.

    Raises:
        ConfigError: naming the file (or `--set …`), the key and the value.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ConfigError(f"The experiment file does not exist. Received: {path!r}.",
                          file=path)
    try:
        with open(path, encoding="utf-8") as handle:
            raw = _yaml(handle)
    except ConfigError as error:
        error.file = path
        raise
    except yaml.YAMLError as exc:
        raise ConfigError(f"Not valid YAML: {exc}", file=path) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"The file must be UTF-8 text ({exc.reason} at byte {exc.start}).",
                          file=path) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"The file must hold a mapping of sections. Received: {raw!r}.",
                          file=path)
    overrides = list(overrides)
    parsed = []
    try:
        for text in overrides:
            try:
                parsed.append(parse_override(text))
            except ConfigError as error:
                error.file = f"{path} (--set {text})"
                raise
        apply_overrides(raw, parsed)
        return config_from_dict(raw)
    except ConfigError as error:
        if error.file is None:
            error.file = _blame(path, overrides, error.key)
        raise


def _blame(path, overrides, key):
    """Names the `--set` override (as typed) an error came from, else the file."""
    for text in overrides:
        name = text.partition("=")[0].strip()
        if key and (key == name or key.startswith(name + ".") or name.startswith(key + ".")):
            return f"{path} (--set {text})"
    return path


def dump_config(config):
    """The config as YAML text (the resolved form written into the run directory)."""
    return yaml.safe_dump(config.to_dict(), sort_keys=False, default_flow_style=None)


def _drop_keys(data, keys):
    data = json.loads(json.dumps(data))
    for key in keys:
        *parents, leaf = key.split(".")
        node = data
        for part in parents:
            node = node.get(part, {})
        node.pop(leaf, None)
    return data


def search_settings(config):
    """The parts of the config that define a search (everything but budget/output).

    A stage's own budget (`stages.<n>.tuner.max_trials`, …) is budget too.
    """
    settings = _drop_keys(config.to_dict(), RESUMABLE_KEYS)
    stages = []
    for stage in settings.get("stages") or []:
        stage = copy.deepcopy(stage)
        for key in ("max_trials", "max_consecutive_failed_trials"):
            (stage.get("tuner") or {}).pop(key, None)
        stages.append(stage)
    settings["stages"] = stages
    return settings


def fingerprint(config):
    """8 hex digits identifying the search settings (see `search_settings`)."""
    text = json.dumps(search_settings(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:8]
