"""Errors kt_toolkit raises, by class.

Every error kt_toolkit raises on purpose is a `KtToolkitError`:

| class | when | `kt-toolkit` exit code |
|---|---|---|
| `ConfigError` (and `DataError`) | a YAML file, a `--set` override, a flag or an argument is wrong; nothing was run or changed | 2 |
| `RunDirectoryError` | the run directory is busy (another command holds its lock) or cannot be written | 2 |
| `LaunchError` | the chief or a worker process of a parallel run cannot be kept running; finished trials stay | 1 |

`FailedTrialError` is KerasTuner's own: a trial failed, the search records it and
goes on. `SignalInterrupt` is no error: a termination signal stopping a command
the way Ctrl-C does (exit code 128 + the signal's number, as for Ctrl-C's 130).
"""

import difflib

__all__ = ["ConfigError", "DataError", "FailedTrialError", "KtToolkitError", "LaunchError",
           "RunDirectoryError", "SignalInterrupt", "invalid", "suggest"]


class KtToolkitError(Exception):
    """The base of kt_toolkit's errors: a message, the setting and the file it concerns.

    Args:
        message: String, what is wrong and how to fix it.
        key: Optional string, the dotted path of the setting (`model.space.dropout`)
            or the command-line flag (`--workers`).
        file: Optional string, the YAML file the setting came from.
    """

    def __init__(self, message: str, *, key: "str | None" = None,
                 file: "str | None" = None) -> None:
        super().__init__(message)
        self.message = message
        self.key = key
        self.file = file

    def __str__(self) -> str:
        where = ": ".join(str(part) for part in (self.file, self.key) if part)
        return f"{where}: {self.message}" if where else self.message


class ConfigError(KtToolkitError, ValueError):
    """A bad setting: names the file (when known), the dotted key and the value."""


class DataError(ConfigError):
    """A dataset that cannot be found, read or downloaded."""


class RunDirectoryError(KtToolkitError):
    """The run directory is busy (another process holds its lock) or not writable.

    Nothing in the run was changed.
    """


class LaunchError(KtToolkitError, RuntimeError):
    """The chief or a worker cannot be kept running; finished trials stay in the run."""


class SignalInterrupt(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Ctrl-C raises `KeyboardInterrupt`.

    A `KeyboardInterrupt`, so that every `finally` on the way runs and nothing
    takes it for a failed trial (KerasTuner records only an `Exception` as one):
    the run lock is released, finished trials are kept, and a rerun resumes.

    Args:
        signum: Integer, the signal's number.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum


def suggest(name: object, candidates) -> str:
    """Returns " Did you mean `x`?" for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=1,
                                      cutoff=0.5)
    return f" Did you mean `{close[0]}`?" if close else ""


def invalid(key: str, expected: str, value: object, hint: str = "", *,
            error: type = ConfigError) -> ConfigError:
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
