"""Search-space knobs: their PRACTICES priors, YAML specs and KerasTuner registration.

A *knob* is one tunable setting of a builder (`dropout`, `learning_rate`…) with a
default range and a default value taken from `PRACTICES.md`. A YAML file (or a
Python caller) overrides a knob with a *spec* in one of three forms:

- a fixed value: `dropout: 0.5`
- a range: `dropout: {min: 0.2, max: 0.6, step: 0.1, sampling: linear, default: 0.5}`
- choices: `activation: {values: [relu, tanh], default: relu}` (a plain list works too)

This module imports neither Keras nor TensorFlow, so configuration files can be
validated without them; `register` only calls methods of the `hp` object it gets.
"""

import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

from kt_toolkit.errors import ConfigError, invalid, suggest

__all__ = ["Knob", "knob_names", "normalize_spec", "register", "resolve_space"]

logger = logging.getLogger(__name__)
SAMPLINGS = ("linear", "log", "reverse_log")
_RANGE_KEYS = ("min", "max", "step", "sampling", "default")
_CHOICE_KEYS = ("values", "default")


@dataclasses.dataclass(frozen=True)
class Knob:
    """One tunable setting of a builder.

    Args:
        name: String, the hyperparameter name KerasTuner records.
        kind: String, one of `"int"`, `"float"`, `"choice"`, `"bool"`.
        default: The prior: the value tried first and used when not tuned.
        practice: String, the PRACTICES ID(s) the prior comes from.
        help: String, one line for the README table.
        min_value: Number, lower end of the default range (int/float knobs).
        max_value: Number, upper end of the default range (int/float knobs).
        step: Optional number, step of the default range.
        sampling: String, `"linear"`, `"log"` or `"reverse_log"`.
        values: Tuple, default choices (choice knobs).
        allowed: Optional tuple, every value a user may choose (choice knobs).
        lower: Optional (number, inclusive) bound any user value must respect.
        upper: Optional (number, inclusive) bound any user value must respect.
        grid_step: Optional number, the step used for grid search when the default
            range has none (a multiplier for log sampling).
        parent: Optional `(name, values)`: the knob exists only when knob `name`
            takes one of `values` (a KerasTuner conditional scope).
        tuned: Boolean, whether the default space searches it (else it is fixed at
            `default` until a YAML range or choices open it).
    """

    name: str
    kind: str
    default: object
    practice: str = ""
    help: str = ""
    min_value: float | None = None
    max_value: float | None = None
    step: float | None = None
    sampling: str = "linear"
    values: tuple = ()
    allowed: tuple | None = None
    lower: tuple[float, bool] | None = None
    upper: tuple[float, bool] | None = None
    grid_step: float | None = None
    parent: tuple[str, tuple] | None = None
    tuned: bool = True

    def default_spec(self, *, discrete: bool = False) -> dict[str, Any]:
        """The knob's default spec in normalized form (see `normalize_spec`).

        A knob with `tuned=False` (e.g. Adam's β1, tuned last by C2) is fixed at its
        default until the YAML gives it a range or choices.
        """
        if not self.tuned:
            return {"fixed": self.default}
        return self._default_range(discrete=discrete)

    def _default_range(self, *, discrete=False):
        if self.kind in ("choice", "bool") or self.values:
            values = self.values or (False, True)
            return {"values": list(values), "default": self.default}
        step = self.step
        if step is None and discrete:
            step = self.grid_step
        return {
            "min": self.min_value,
            "max": self.max_value,
            "step": step,
            "sampling": self.sampling,
            "default": self.default,
        }


def knob_names(knobs: Sequence[Knob]) -> list[str]:
    return [knob.name for knob in knobs]


def _is_number(value, kind):
    if isinstance(value, bool):
        return False
    if kind == "int":
        return isinstance(value, int)
    return isinstance(value, (int, float)) and math.isfinite(value)


def _check_value(knob, value, key):
    """Checks one value (fixed, a choice, or a range end) against the knob."""
    if knob.kind == "bool":
        if not isinstance(value, bool):
            raise invalid(key, "true or false", value)
        return value
    if knob.kind == "choice":
        allowed = knob.allowed or knob.values
        # Same type too: `True == 1` and `64.0 == 64` must not pass as choices.
        if not any(value == a and type(value) is type(a) for a in allowed):
            hint = "Allowed: " + ", ".join(map(str, allowed)) + "."
            raise invalid(key, f"one of the known {knob.name} values", value,
                          hint + suggest(value, map(str, allowed)))
        return value
    kind_words = "an integer" if knob.kind == "int" else "a number"
    if not _is_number(value, knob.kind):
        raise invalid(key, kind_words, value)
    for bound, is_low in ((knob.lower, True), (knob.upper, False)):
        if bound is None:
            continue
        limit, inclusive = bound
        bad = (value < limit or (value == limit and not inclusive)) if is_low else (
            value > limit or (value == limit and not inclusive))
        if bad:
            side = (">=" if inclusive else ">") if is_low else ("<=" if inclusive else "<")
            raise invalid(key, f"{kind_words} {side} {limit}", value)
    return float(value) if knob.kind == "float" else value


def normalize_spec(knob: Knob, spec: Any, key: str, *,
                   discrete: bool = False) -> dict[str, Any]:
    """Validates a user spec for `knob` and returns it in normalized form.

    Args:
        knob: The `Knob`.
        spec: A fixed value, a list of choices, or a dict (range or `values`).
        key: String, dotted path for error messages (`model.space.dropout`).
        discrete: Boolean, whether the tuner needs a finite grid (grid search).

    Returns:
        `{"fixed": v}`, `{"values": [...], "default": v}` or
        `{"min", "max", "step", "sampling", "default"}`.

    Raises:
        ConfigError: naming `key`, the value and what is allowed.
    """
    if spec is None:
        raise invalid(key, "a value, a range {min, max} or choices {values: [...]}", spec)
    if isinstance(spec, list):
        spec = {"values": spec}
    if not isinstance(spec, dict):
        return {"fixed": _check_value(knob, spec, key)}
    if "fixed" in spec:  # the resolved form written into a run directory
        _unknown_keys(spec, ("fixed",), key)
        return {"fixed": _check_value(knob, spec["fixed"], f"{key}.fixed")}
    if "values" in spec:
        return _normalize_choices(knob, spec, key)
    if knob.kind in ("choice", "bool"):
        raise invalid(key, f"a single value or {{values: [...]}} ({knob.name} has no "
                      "numeric range)", spec)
    return _normalize_range(knob, spec, key, discrete=discrete)


def _unknown_keys(spec, allowed, key, *, noun="key", listing="Allowed here"):
    """Refuses the first name of `spec` not in `allowed`, suggesting the closest."""
    for name in spec:
        if name not in allowed:
            raise ConfigError(
                f"Unknown {noun} `{name}`. {listing}: {', '.join(allowed)}."
                + suggest(name, allowed),
                key=f"{key}.{name}",
            )


def _normalize_choices(knob, spec, key):
    _unknown_keys(spec, _CHOICE_KEYS, key)
    values = spec["values"]
    if not isinstance(values, list) or not values:
        raise invalid(f"{key}.values", "a non-empty list", values)
    checked = [_check_value(knob, v, f"{key}.values") for v in values]
    if len(set(map(repr, checked))) != len(checked):
        raise invalid(f"{key}.values", "a list without repeats", values)
    default = spec.get("default", knob.default if knob.default in checked else checked[0])
    if default not in checked:
        raise invalid(f"{key}.default", f"one of {checked}", default)
    return {"values": checked, "default": default}


def _normalize_range(knob, spec, key, *, discrete):
    _unknown_keys(spec, _RANGE_KEYS, key)
    for end in ("min", "max"):
        if end not in spec:
            raise ConfigError(f"A range needs `min` and `max`; `{end}` is missing. "
                              f"Received: {spec!r}.", key=key)
    low = _check_value(knob, spec["min"], f"{key}.min")
    high = _check_value(knob, spec["max"], f"{key}.max")
    if low > high:
        raise invalid(f"{key}.min", f"<= max ({high})", low,
                      "Swap the two ends or fix one of them.")
    sampling = spec.get("sampling", knob.sampling)
    if sampling not in SAMPLINGS:
        raise invalid(f"{key}.sampling", "one of " + ", ".join(SAMPLINGS), sampling,
                      suggest(sampling, SAMPLINGS).strip())
    if sampling != "linear" and low <= 0:
        raise invalid(f"{key}.min", f"> 0 with sampling={sampling}", low,
                      "Log scales cannot reach 0: use a small positive minimum.")
    step = spec.get("step")
    if step is not None:
        kind = knob.kind
        if not _is_number(step, kind) or step <= 0 or (sampling != "linear" and step <= 1):
            need = "a multiplier > 1 (log sampling)" if sampling != "linear" else f"a positive {'integer' if kind == 'int' else 'number'}"
            raise invalid(f"{key}.step", need, step)
    elif discrete and knob.kind == "float":
        raise ConfigError(
            "Grid search needs a finite grid, and this float range has no `step`. "
            f"Received: {spec!r}. Add `step` (a multiplier for log sampling) or give "
            "`values: [...]`.", key=key)
    default = spec.get("default", knob.default)
    default = _check_value(knob, default, f"{key}.default") if "default" in spec else default
    if default is None or not (low <= default <= high):
        if "default" in spec:
            raise invalid(f"{key}.default", f"inside [{low}, {high}]", default)
        default = low
    return {"min": low, "max": high, "step": step, "sampling": sampling, "default": default}


def resolve_space(knobs: Sequence[Knob], overrides: Mapping[str, Any] | None, *,
                  key: str = "model.space", discrete: bool = False) -> dict[str, dict[str, Any]]:
    """Merges user overrides into the builder's default space.

    Args:
        knobs: Sequence of `Knob`s of the builder.
        overrides: Dict from knob name to spec (may be empty or None).
        key: String, dotted path of the space for error messages.
        discrete: Boolean, whether every range must be finite (grid search).

    Returns:
        Dict from every knob name to its normalized spec, in knob order.

    Raises:
        ConfigError: for unknown knob names or bad specs.
    """
    overrides = dict(overrides or {})
    if not isinstance(overrides, dict):
        raise invalid(key, "a mapping from knob name to spec", overrides)
    _unknown_keys(overrides, knob_names(knobs), key, noun="knob", listing="Known knobs")
    resolved = {}
    for knob in knobs:
        if knob.name in overrides:
            resolved[knob.name] = normalize_spec(
                knob, overrides[knob.name], f"{key}.{knob.name}", discrete=discrete)
        else:
            resolved[knob.name] = knob.default_spec(discrete=discrete)
    # A resolved config (a run's config.yaml) spells out every knob; only a
    # setting that differs from the default was the user's choice.
    chosen = {name for name in overrides
              if resolved[name] != next(k for k in knobs if k.name == name).default_spec(
                  discrete=discrete)}
    _warn_inactive(knobs, resolved, chosen, key)
    return resolved


def _possible_values(spec):
    if "fixed" in spec:
        return [spec["fixed"]]
    return spec.get("values")  # None: a numeric range (no knob has one as a parent)


def _warn_inactive(knobs, resolved, overrides, key):
    """A setting for a knob whose parent can never enable it is logged, not dropped silently."""
    for knob in knobs:
        if knob.parent is None or knob.name not in overrides:
            continue
        parent, parent_values = knob.parent
        possible = _possible_values(resolved[parent])
        if possible is not None and not set(possible) & set(parent_values):
            logger.warning("%s.%s is never used: it applies only when %s is %s, and %s.%s "
                           "allows %s.", key, knob.name, parent, " or ".join(parent_values),
                           key, parent, ", ".join(map(str, possible)))


def register(hp: Any, knob: Knob, spec: Mapping[str, Any]) -> Any:
    """Declares `knob` on a KerasTuner `HyperParameters` object and returns its value.

    Args:
        hp: `keras_tuner.HyperParameters`.
        knob: The `Knob`.
        spec: Its normalized spec (see `normalize_spec`).

    Returns:
        The value of the hyperparameter for this trial.
    """
    name = knob.name
    if "fixed" in spec:
        return hp.Fixed(name, spec["fixed"])
    if "values" in spec:
        values = spec["values"]
        if len(values) == 1:
            return hp.Fixed(name, values[0])
        if knob.kind == "bool":
            return hp.Boolean(name, default=spec["default"])
        return hp.Choice(name, values, default=spec["default"])
    low, high, step = spec["min"], spec["max"], spec["step"]
    if low == high:
        return hp.Fixed(name, low)
    if knob.kind == "int":
        return hp.Int(name, low, high, step=step, sampling=spec["sampling"],
                      default=spec["default"])
    return hp.Float(name, low, high, step=step, sampling=spec["sampling"],
                    default=spec["default"])
