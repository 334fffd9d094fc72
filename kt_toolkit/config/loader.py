"""Reading, overriding, validating and writing experiment files (A1).

`load_config(path, overrides)` is the one entry point: `yaml.safe_load`, then the
`--set dotted.key=value` overrides, then type and value checks, then the builder's
search space is resolved (every knob written out with its range and default).
Every error is a `ConfigError` naming the file, the dotted key and the value.
"""

import os
import re
from typing import Any, Callable, Iterable, Sequence

import yaml

from kt_toolkit.config._build import build_config
from kt_toolkit.config.knobs import is_custom_builder
from kt_toolkit.config.tasks import custom_metric
from kt_toolkit.config.schema import ExperimentConfig
from kt_toolkit.config.stages import validate_stages
from kt_toolkit.errors import ConfigError

__all__ = ["apply_overrides", "config_from_dict", "dump_config", "load_config",
           "parse_override"]

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


def _yaml(text, name=None):
    """Parses YAML `text` (or an open file) once; `name` is the file its errors point
    into, instead of PyYAML's "<unicode string>"."""
    if not isinstance(text, str):
        text = text.read()  # a string: PyYAML's errors then quote the line and point at it
    loader = _Loader(text)
    if name is not None:
        loader.name = name  # the Reader's name: every error mark quotes it
    try:
        node = loader.get_single_node()
        if node is None:  # an empty document
            return None
        _check_repeats(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def parse_override(text: str) -> tuple[str, Any]:
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


def apply_overrides(raw: dict[str, Any],
                    overrides: Iterable[tuple[str, Any]]) -> dict[str, Any]:
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


def config_from_dict(raw: dict, *, checks: Sequence[Callable] = ()) -> ExperimentConfig:
    """Builds and validates an `ExperimentConfig` (its stages included) from a plain dict.

    Args:
        raw: Dict, the YAML file's content after overrides.
        checks: Callables taking the built config and raising a `ConfigError`,
            run last. Higher layers pass theirs down here (e.g.
            `kt_toolkit.data.check_data_config`: registry names, the objective
            against the dataset's task), so that this package imports none of them.

    Raises:
        ConfigError: for unknown keys, wrong types or bad values.
    """
    config = build_config(raw)
    if config.stages:
        validate_stages(config)
    for check in checks:
        check(config)
    return config


def load_config(path: str | os.PathLike[str], overrides: Iterable[str] = (), *,
                checks: Sequence[Callable] = ()) -> ExperimentConfig:
    """Reads an experiment file, applies `--set` overrides and validates it.

    Args:
        path: String or path-like, the YAML file.
        overrides: Iterable of `"dotted.key=value"` strings.
        checks: See `config_from_dict`; their errors name the file and the
            `--set` override they came from, as every other error here.

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
            raw = _yaml(handle, name=path)
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
        _default_module_dir(raw, path)
        return config_from_dict(raw, checks=checks)
    except ConfigError as error:
        if error.file is None:
            error.file = _blame(path, overrides, error.key)
        raise


def _default_module_dir(raw, path):
    """Your own model (`builder: "module:Name"`) and loader (`data.loader`) are imported
    from the experiment file's folder unless their section's `module_dir` (relative to
    that folder) says otherwise;
    kept in `config.yaml` as an absolute path, so the chief and workers of a parallel
    run import it from there too."""
    folder = os.path.dirname(os.path.abspath(path))
    model, data = raw.get("model"), raw.get("data")
    sections = [model] if isinstance(model, dict) and is_custom_builder(
        model.get("builder")) else []
    tuner = raw.get("tuner")
    if not sections and isinstance(tuner, dict) and custom_metric(str(tuner.get("objective"))):
        # a custom metric ("module:function") is imported from model.module_dir too
        if model is None:
            model = raw["model"] = {}
        if isinstance(model, dict):
            sections.append(model)
    if isinstance(data, dict) and data.get("loader") is not None:
        sections.append(data)  # your own data: `data.loader` is "module:function" too
    for section in sections:
        if section.get("module_dir") is None:
            section["module_dir"] = folder
        elif isinstance(section["module_dir"], str):  # relative to the experiment file
            section["module_dir"] = os.path.normpath(os.path.join(folder,
                                                                  section["module_dir"]))


def _blame(path, overrides, key):
    """Names the `--set` override (as typed) an error came from, else the file."""
    for text in overrides:
        name = text.partition("=")[0].strip()
        if key and (key == name or key.startswith(name + ".") or name.startswith(key + ".")):
            return f"{path} (--set {text})"
    return path


def dump_config(config: ExperimentConfig) -> str:
    """The config as YAML text (the resolved form written into the run directory)."""
    return yaml.safe_dump(config.to_dict(), sort_keys=False, default_flow_style=None)
