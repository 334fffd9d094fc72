"""Callbacks: the default set (B2, B4, B5, E3), pruning (B2), the per-epoch recorders (A2)."""

from kt_toolkit.callbacks.defaults import default_callbacks
from kt_toolkit.callbacks.guards import NanGuard
from kt_toolkit.callbacks.history import EpochLogger
from kt_toolkit.callbacks.pruning import ChancePruning, MedianPruning, TrialCurves, chance_level
from kt_toolkit.callbacks.scalars import EpochScalars

__all__ = ["ChancePruning", "EpochLogger", "EpochScalars", "MedianPruning", "NanGuard",
           "TrialCurves", "chance_level", "default_callbacks"]
