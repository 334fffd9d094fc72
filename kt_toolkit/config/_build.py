"""Building a typed `ExperimentConfig` from a plain dict: types, values, the search space.

Private to `kt_toolkit.config`: `config_from_dict` (loader) adds the stages on top,
and a stage's own config is built here (`stages.stage_config`).
"""

import dataclasses
import re
import typing

from kt_toolkit.config.knobs import BUILDERS, builder_knobs, is_custom_builder
from kt_toolkit.config.schema import ExperimentConfig
from kt_toolkit.config.space import resolve_space
from kt_toolkit.errors import ConfigError, invalid, suggest

__all__ = ["build_config"]


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


def build_config(raw: dict) -> ExperimentConfig:
    """Builds and validates an `ExperimentConfig` from a plain dict, but not its stages.

    Raises:
        ConfigError: for unknown keys, wrong types or bad values.
    """
    config = _build(ExperimentConfig, raw, "")
    config.validate()
    builder = config.model.builder
    if is_custom_builder(builder):
        _check_custom_builder(config.model)
        return config
    if builder not in BUILDERS:
        raise invalid("model.builder", "one of " + ", ".join(BUILDERS) + ', or your own '
                      'model as "package.module:Name"', builder,
                      suggest(builder, BUILDERS).strip())
    space = dict(config.model.space or {})
    knobs = builder_knobs(builder)
    _check_foreign_knobs(builder, space)
    if "batch_size" not in space and any(k.name == "batch_size" for k in knobs):
        space["batch_size"] = config.training.batch_size  # E8: tuned only when given choices
    config.model.space = resolve_space(knobs, space,
                                       discrete=config.tuner.algorithm == "grid")
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


_CUSTOM = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")


def _check_custom_builder(model):
    """The user's own model: its name's form and a mapping for `model.space`.

    Its space is what its `build(hp)` declares, known only once it is imported
    (`kt_toolkit.hypermodels.custom` resolves `model.space` against it).
    """
    if not _CUSTOM.match(model.builder):
        raise invalid("model.builder", '"package.module:Name" (your own model) or one of '
                      + ", ".join(BUILDERS), model.builder,
                      'E.g. builder: "my_model:build" for build() in my_model.py next to '
                      "the experiment file.")
    if not isinstance(model.space or {}, dict):
        raise invalid("model.space", "a mapping from hyperparameter name to spec",
                      model.space)
