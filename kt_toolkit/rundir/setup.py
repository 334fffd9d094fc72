"""Creating a run directory, or checking one before a search resumes or a worker joins.

A run directory holds one search: `config.yaml` records its settings, and a
command with other search settings (`kt_toolkit.config.search_settings`) is
refused rather than mixing two searches. Nothing is changed when a check fails.
"""

import logging
import os
import shutil
from typing import TYPE_CHECKING

import yaml

from kt_toolkit._io import atomic_write_text
from kt_toolkit.config import config_from_dict, dump_config, run_directory, search_settings
from kt_toolkit.errors import ConfigError, RunDirectoryError
from kt_toolkit.rundir.layout import CONFIG_FILE

if TYPE_CHECKING:
    from kt_toolkit.config.schema import ExperimentConfig

__all__ = ["check_run_dir", "prepare_run_dir", "read_stored_config"]

logger = logging.getLogger(__name__)


def _differences(old, new, prefix=""):
    if isinstance(old, dict) and isinstance(new, dict) and old.keys() == new.keys():
        found = []
        for key in old:
            found += _differences(old.get(key), new.get(key), f"{prefix}{key}.")
        return found
    return [] if old == new else [(prefix.rstrip("."), old, new)]


def _changed_settings(config_path, config):
    """`[(dotted key, stored, new)]` where `config`'s search differs from the stored one."""
    return _differences(search_settings(read_stored_config(config_path)),
                        search_settings(config))


def prepare_run_dir(config: "ExperimentConfig", *, overwrite: bool = False) -> str:
    """Creates (or checks, to resume) the run directory; writes `config.yaml`.

    Args:
        config: A validated `kt_toolkit.config.ExperimentConfig`.
        overwrite: Boolean, delete the run directory first and start afresh.

    Returns:
        String, the run directory.

    Raises:
        ConfigError: when the directory holds a run of other search settings, or
            files that are not a kt_toolkit run. Nothing in it is changed then.
        RunDirectoryError: when it cannot be written.
    """
    run_dir = run_directory(config)
    config_path = os.path.join(run_dir, CONFIG_FILE)
    if overwrite and os.path.isdir(run_dir):
        if os.listdir(run_dir) and not os.path.exists(config_path):
            raise ConfigError(f"--overwrite refuses to delete {run_dir!r}: it is not a "
                              "kt_toolkit run directory (no config.yaml).",
                              key="output.run_name")
        shutil.rmtree(run_dir)
    elif os.path.exists(config_path):
        changed = _changed_settings(config_path, config)
        if changed:
            key, old, new = changed[0]
            raise ConfigError(
                f"The run directory {run_dir!r} holds a search with other settings "
                f"({len(changed)} differ; first: {key} was {old!r}, now {new!r}). "
                "Resuming would mix two searches. Use --overwrite to start it afresh, "
                "or another output.run_name.", key=key)
        logger.info("Resuming the search in %s", run_dir)
    elif os.path.isdir(run_dir) and os.listdir(run_dir):
        raise ConfigError(f"{run_dir!r} exists and is not a kt_toolkit run directory "
                          "(no config.yaml): choose another output.run_name.",
                          key="output.run_name")
    try:
        os.makedirs(run_dir, exist_ok=True)
        atomic_write_text(config_path, dump_config(config))
    except OSError as error:
        raise RunDirectoryError(f"Cannot write the run directory {run_dir!r}: "
                                f"{error.strerror}. Choose a writable output.directory.",
                                key="output.directory") from None
    return run_dir


def check_run_dir(config: "ExperimentConfig") -> str:
    """The existing run directory of `config`; a `ConfigError` if absent or of other settings.

    For processes that join a run (`kt-toolkit worker`): they never create one.
    """
    run_dir = run_directory(config)
    config_path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.exists(config_path):
        raise ConfigError(f"There is no run in {run_dir!r} (no config.yaml) to join. Start "
                          "the chief first (`kt-toolkit tune --workers N "
                          "--oracle-address 0.0.0.0`), and give this worker the same config "
                          "and --set options, with output.directory on a file system both "
                          "hosts share.", key="output.directory")
    changed = _changed_settings(config_path, config)
    if changed:
        key, old, new = changed[0]
        raise ConfigError(f"The run in {run_dir!r} searches other settings ({key} is "
                          f"{old!r} there, {new!r} here): give the worker the chief's config "
                          "and --set options.", key=key)
    return run_dir


def read_stored_config(path: str) -> "ExperimentConfig":
    """The config a run directory was made with (`<run>/config.yaml` or the run itself).

    Raises:
        ConfigError: when it cannot be read as a kt_toolkit config.
    """
    if os.path.isdir(path):
        path = os.path.join(path, CONFIG_FILE)
    try:
        with open(path, encoding="utf-8") as handle:
            return config_from_dict(yaml.safe_load(handle))
    except (ConfigError, yaml.YAMLError, OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"The run directory's config cannot be read as a kt_toolkit config ({error}). "
            "Use --overwrite to start that run afresh, or another output.run_name.",
            file=path) from None
