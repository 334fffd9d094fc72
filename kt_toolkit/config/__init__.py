"""Experiment configuration: typed sections, YAML load/dump, overrides. No TensorFlow."""

from kt_toolkit.config.loader import (apply_overrides, config_from_dict, dump_config,
                                      fingerprint, load_config, parse_override,
                                      search_settings)
from kt_toolkit.config.schema import (ALGORITHMS, CallbacksConfig, DataConfig,
                                      ExperimentConfig, ModelConfig, OutputConfig,
                                      TrainingConfig, TunerConfig)

__all__ = [
    "ALGORITHMS", "CallbacksConfig", "DataConfig", "ExperimentConfig", "ModelConfig",
    "OutputConfig", "TrainingConfig", "TunerConfig", "apply_overrides", "config_from_dict",
    "dump_config", "fingerprint", "load_config", "parse_override", "search_settings",
]
