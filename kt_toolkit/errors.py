"""Errors kt_toolkit raises.

`ConfigError` is fatal: a YAML file, a `--set` override or a function argument is
wrong, and nothing was run or changed. `FailedTrialError` is KerasTuner's own: a
trial failed, the search records it and goes on.
"""

import difflib

__all__ = ["ConfigError", "DataError", "FailedTrialError", "invalid", "suggest"]


class ConfigError(ValueError):
    """A bad setting: names the file (when known), the dotted key and the value.

    Args:
        message: String, what is wrong and how to fix it.
        key: Optional string, the dotted path of the setting (`model.space.dropout`).
        file: Optional string, the YAML file the setting came from.
    """

    def __init__(self, message, *, key=None, file=None):
        super().__init__(message)
        self.message = message
        self.key = key
        self.file = file

    def __str__(self):
        where = ": ".join(str(part) for part in (self.file, self.key) if part)
        return f"{where}: {self.message}" if where else self.message


class DataError(ConfigError):
    """A dataset that cannot be found, read or downloaded."""


def suggest(name, candidates):
    """Returns " Did you mean `x`?" for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=1,
                                      cutoff=0.5)
    return f" Did you mean `{close[0]}`?" if close else ""


def invalid(key, expected, value, hint="", *, error=ConfigError):
    """Builds the house-style error: "`key` must be X. Received: key=V. Hint."

    Args:
        key: String, dotted path of the setting.
        expected: String, what is allowed ("a float in [0, 1)").
        value: The value received.
        hint: Optional string, how to fix it.
        error: The `ConfigError` subclass to build.

    Returns:
        A `ConfigError` (not raised).
    """
    leaf = key.rsplit(".", 1)[-1] if key else "value"
    message = f"`{leaf}` must be {expected}. Received: {leaf}={value!r}."
    if hint:
        message += f" {hint}"
    return error(message, key=key)


def __getattr__(name):
    # keras_tuner imports Keras (and TensorFlow): only pay for it when asked, so
    # `kt_toolkit.config` stays importable without TensorFlow.
    if name == "FailedTrialError":
        from keras_tuner.errors import FailedTrialError

        return FailedTrialError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
