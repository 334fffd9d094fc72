"""Callbacks: the default set (B2, B4, B5, E3) the per-epoch recorders (A2): CSV and TensorBoard."""

from kt_toolkit.callbacks.defaults import default_callbacks
from kt_toolkit.callbacks.guards import NanGuard
from kt_toolkit.callbacks.history import EpochLogger
from kt_toolkit.callbacks.scalars import EpochScalars

__all__ = ["EpochLogger", "EpochScalars", "NanGuard", "default_callbacks"]
