"""Callbacks: the default set (B2, B4, B5, E3) and the per-epoch recorder (A2)."""

from kt_toolkit.callbacks.defaults import default_callbacks
from kt_toolkit.callbacks.guards import NanGuard
from kt_toolkit.callbacks.history import EpochLogger

__all__ = ["EpochLogger", "NanGuard", "default_callbacks"]
