"""The keras-tuner versions the compat package was tested with, and the import-time check.

Every workaround in `kt_toolkit.compat` was written for keras-tuner 1.4.8 (and
Keras 3.15 / TensorFlow 2.21) and is tested on the 1.4.x series; `setup.cfg`
pins `keras-tuner>=1.4.7,<1.5`. An installed version outside that range (a
source checkout, a forced install) gets one `UntestedVersionWarning` when
`kt_toolkit.compat` is imported; `tests/compat/` then says which workaround broke.

Reads the installed version from the package metadata: no KerasTuner (nor
TensorFlow) import.
"""

import importlib.metadata
import re
import warnings

__all__ = ["TESTED_KERAS_TUNER", "UntestedVersionWarning", "check_keras_tuner_version",
           "in_tested_range", "installed_version"]

TESTED_KERAS_TUNER = ">=1.4.7,<1.5"
_LOWEST, _ABOVE = (1, 4, 7), (1, 5, 0)  # the same range, as release tuples
_WARNED = []


class UntestedVersionWarning(UserWarning):
    """The installed keras-tuner is outside the range kt_toolkit.compat was tested with."""


def installed_version(distribution="keras-tuner"):
    """The installed version string of `distribution`, or `None` when it is not installed."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _release(version):
    match = re.match(r"\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", version)
    if match is None:
        return None
    return tuple(int(part or 0) for part in match.groups())


def in_tested_range(version):
    """Whether a keras-tuner version string is in `TESTED_KERAS_TUNER`.

    A pre-release of 1.5 (`1.5.0rc1`) is outside, a development build of 1.4.x inside.
    """
    release = _release(version)
    return release is not None and _LOWEST <= release < _ABOVE


def check_keras_tuner_version(version=None):
    """Warns once per process when keras-tuner is installed outside the tested range.

    Args:
        version: Optional string, the version to check (defaults to the installed one).

    Returns:
        Boolean, whether a warning was issued by this call.
    """
    version = installed_version() if version is None else version
    if version is None or in_tested_range(version) or _WARNED:
        return False
    _WARNED.append(version)
    warnings.warn(f"keras-tuner {version} is installed; kt_toolkit's workarounds for "
                  f"KerasTuner internals (kt_toolkit.compat) are tested with keras-tuner"
                  f"{TESTED_KERAS_TUNER} (written for 1.4.8). Run tests/compat to see "
                  "whether they still hold, or install keras-tuner 1.4.x.",
                  UntestedVersionWarning, stacklevel=2)
    return True
