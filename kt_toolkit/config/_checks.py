"""Value checks shared by the schema's sections (private to `kt_toolkit.config`).

Each raises the house `ConfigError` ("`key` must be …. Received: key=….") through
`kt_toolkit.errors.invalid`; the dotted `key` is the setting's place in the YAML.
"""

import math

from kt_toolkit.errors import invalid, suggest

__all__ = ["MAX_SEED", "check_choice", "check_folder_name", "check_positive", "check_seed"]

MAX_SEED = 2**32 - 1


def check_choice(key, value, allowed):
    """`value` is one of `allowed`; the error suggests the closest one."""
    if value not in allowed:
        raise invalid(key, "one of " + ", ".join(map(str, allowed)), value,
                      suggest(value, allowed).strip())


def check_seed(key, value):
    """`value` is null or a seed NumPy and Keras accept (0 … 2**32 - 1)."""
    if value is not None and not 0 <= value <= MAX_SEED:
        raise invalid(key, f"an integer >= 0 and <= {MAX_SEED}", value)


def check_folder_name(key, value, what):
    """`value` names one folder: not empty, no slash, not hidden."""
    if not value or any(c in value for c in "/\\") or value.startswith("."):
        raise invalid(key, f"a non-empty {what} without slashes, not starting with '.'",
                      value)


def check_positive(key, value, *, allow_none=False, strict=True):
    """`value` is a finite number > 0 (`strict=False`: >= 0), or null with `allow_none`."""
    if value is None and allow_none:
        return
    if value is None or not math.isfinite(value) or (value <= 0 if strict else value < 0):
        raise invalid(key, "a positive number" if strict else "a number >= 0", value)
