"""Experiment configuration: typed sections, YAML load/dump, overrides, stages, run identity.

Pure: imports no Keras, no TensorFlow and nothing of kt_toolkit above `errors`.
"""

from kt_toolkit.config.identity import fingerprint, run_directory, search_settings
from kt_toolkit.config.loader import (apply_overrides, config_from_dict, dump_config,
                                      load_config, parse_override)
from kt_toolkit.config.schema import (ALGORITHMS, CallbacksConfig, DataConfig,
                                      ExperimentConfig, ModelConfig, OutputConfig,
                                      TrainingConfig, TunerConfig)
from kt_toolkit.config.stages import stage_config, validate_stages

__all__ = [
    "ALGORITHMS", "CallbacksConfig", "DataConfig", "ExperimentConfig", "ModelConfig",
    "OutputConfig", "TrainingConfig", "TunerConfig", "apply_overrides", "config_from_dict",
    "dump_config", "fingerprint", "load_config", "parse_override",
    "run_directory", "search_settings", "stage_config", "validate_stages",
]
