"""What an ablation compares: the knob, its values (`--values`, `--sweep`), the seeds.

Every check raises a `ConfigError` in the house style before anything trains:
an unknown knob lists the builder's knobs; a value must be one the knob allows
(the same check as a YAML value); a sweep is `start:stop:count`, log spaced when
both ends are > 0 and span two decades or more, else linear (`lin:` or `log:`
in front forces the scale).
"""

import math

from kt_toolkit.config import parse_override
from kt_toolkit.config.knobs import builder_knobs
from kt_toolkit.config.space import Knob, normalize_spec
from kt_toolkit.errors import ConfigError, invalid, suggest
from kt_toolkit.rundir.ablations import value_text

__all__ = ["MIN_SEEDS", "SWEEP_POINTS", "check_seeds", "default_values", "find_knob",
           "parse_sweep", "parse_values"]

MIN_SEEDS = 2
SWEEP_POINTS = 5  # a numeric knob given neither --values nor --sweep: its range in 5 points
_SWEEP_SYNTAX = "start:stop:count, e.g. 1e-5:10:9 (log spaced) or lin:0:0.5:6"


def find_knob(builder: str, name: str) -> Knob:
    """The builder's knob `name`; a `ConfigError` listing its knobs otherwise."""
    knobs = builder_knobs(builder)
    for knob in knobs:
        if knob.name == name:
            return knob
    names = [knob.name for knob in knobs]
    raise invalid("--knob", f"a knob of builder {builder} ({', '.join(names)})", name,
                  suggest(name, names).strip())


def check_seeds(seeds: object) -> int:
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < MIN_SEEDS:
        raise invalid("--seeds", f"an integer >= {MIN_SEEDS}", seeds,
                      "One seed shows no spread: an interval and a p-value need 2 or more "
                      "(3-5 is usual).")
    return seeds


def _checked(knob, value, key):
    return normalize_spec(knob, value, key)["fixed"]


def _distinct(knob, values, key, given):
    texts = [value_text(v) for v in values]
    if len(set(texts)) != len(texts):
        raise invalid(key, "a list without repeats", given)
    if len(values) < 2:
        raise invalid(key, f"at least 2 values of {knob.name} to compare", given)
    return values


def parse_values(knob: Knob, text: str) -> list:
    """`"glorot_uniform,zeros"` → the typed, checked values (YAML typing: `1e-3`, `true`)."""
    if not isinstance(text, str) or not text.strip():
        raise invalid("--values", "a comma-separated list of values", text)
    values = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            raise invalid("--values", "a comma-separated list without empty items", text)
        value = parse_override(f"{knob.name}={item}")[1]
        values.append(_checked(knob, value, "--values"))
    return _distinct(knob, values, "--values", text)


def _number(part, text):
    try:
        value = float(part)
    except ValueError:
        raise invalid("--sweep", _SWEEP_SYNTAX, text, f"{part!r} is not a number.") from None
    if not math.isfinite(value):
        raise invalid("--sweep", _SWEEP_SYNTAX, text, f"{part!r} is not a finite number.")
    return value


def sweep_scale(start: float, stop: float) -> str:
    """`"log"` when both ends are > 0 and span at least two decades, else `"linear"`."""
    low, high = sorted((start, stop))
    return "log" if low > 0 and high / low >= 100 else "linear"


def parse_sweep(knob: Knob, text: str) -> tuple[list, str]:
    """`"1e-5:10:9"` → (9 values from 1e-5 to 10, `"log"`); `lin:`/`log:` force a scale.

    Values keep 6 significant digits; an integer knob's are rounded, repeats dropped.

    Returns:
        `(values, scale)` with `scale` `"log"` or `"linear"`.
    """
    import numpy as np

    if knob.kind not in ("int", "float"):
        raise invalid("--sweep", "given for a numeric knob", text,
                      f"{knob.name} is a {knob.kind} knob: list its values with --values.")
    parts = str(text).split(":")
    forced = parts[0] if parts and parts[0] in ("lin", "log") else None
    numbers = parts[1:] if forced else parts
    if len(numbers) != 3:
        raise invalid("--sweep", _SWEEP_SYNTAX, text)
    start, stop = _number(numbers[0], text), _number(numbers[1], text)
    count = _number(numbers[2], text)
    if count != int(count) or count < 2:
        raise invalid("--sweep", _SWEEP_SYNTAX, text, "The count must be a whole number >= 2.")
    scale = {"lin": "linear", "log": "log"}.get(forced) or sweep_scale(start, stop)
    if scale == "log" and (start <= 0 or stop <= 0):
        raise invalid("--sweep", _SWEEP_SYNTAX, text, "A log sweep needs both ends > 0: "
                      "use lin:start:stop:count.")
    spaced = (np.geomspace if scale == "log" else np.linspace)(start, stop, int(count))
    if knob.kind == "int":
        values = list(dict.fromkeys(int(round(v)) for v in spaced))
    else:
        values = list(dict.fromkeys(float(f"{v:.6g}") for v in spaced))
    values = [_checked(knob, v, "--sweep") for v in values]
    return _distinct(knob, values, "--sweep", text), scale


def default_values(knob: Knob, spec: dict) -> tuple[list, "str | None"]:
    """The values compared when neither `--values` nor `--sweep` is given.

    The experiment's choices for the knob; its range in `SWEEP_POINTS` points
    (in its sampling); for a knob the experiment fixes, the knob's default choices
    or range.

    Returns:
        `(values, scale)`; `scale` is `None` for choices.
    """
    if "fixed" in spec:  # the knob's own default choices or range
        spec = ({"values": list(knob.values or (False, True))}
                if knob.values or knob.kind in ("choice", "bool") else
                {"min": knob.min_value, "max": knob.max_value, "sampling": knob.sampling})
    if "values" in spec:
        values = list(spec["values"])
        if len(values) < 2:
            raise ConfigError(f"{knob.name} has only one value here ({values}): give the "
                              "values to compare with --values.", key="--values")
        return values, None
    sampling = "log" if spec.get("sampling") != "linear" else "lin"
    low, high = spec["min"], spec["max"]
    return parse_sweep(knob, f"{sampling}:{low!r}:{high!r}:{SWEEP_POINTS}")
