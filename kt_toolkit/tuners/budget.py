"""A search's own stopping rules: a wall-time budget and an objective target (issue 12).

`tuner.max_time` stops starting trials once the search has run that long, counted
over every process and resume of the run (the oracle keeps the seconds spent in
its state); `tuner.target` stops starting trials once a completed trial's
objective reaches the target. Running trials finish either way. Both are the
oracle's decision, so they hold with `--workers` too (the chief decides).
"""

import logging
import math
import time
from typing import Callable, Optional

__all__ = ["BudgetOracleMixin"]

logger = logging.getLogger(__name__)


class BudgetOracleMixin:
    """Mixed in before a KerasTuner oracle class (see `build.py`): `max_time`, `target`.

    KerasTuner's `Oracle.create_trial` asks `populate_space` for a new trial's
    values; answering `{"status": "STOPPED"}` ends the search (for every worker
    of a chief). `set_budget` turns the rules on; `budget_reason` says why the
    search stopped, or is `None`.
    """

    max_time: Optional[float] = None  # seconds
    target: Optional[float] = None
    budget_reason: Optional[str] = None
    _elapsed_before = 0.0  # seconds spent by earlier processes of this run
    _since: Optional[float] = None
    clock: Callable[[], float] = staticmethod(time.monotonic)

    def set_budget(self, *, max_time: Optional[float] = None,
                   target: Optional[float] = None,
                   clock: Optional[Callable[[], float]] = None) -> None:
        """Sets the rules (seconds; the objective's value) and starts this process's clock.

        `clock` (seconds, monotonic) replaces `time.monotonic`, e.g. a test's own clock.
        """
        self.max_time, self.target = max_time, target
        if clock is not None:
            self.clock = clock
        self._since = self.clock()

    def elapsed(self) -> float:
        """Seconds the search has run, this process's and its earlier ones'."""
        now = self.clock()
        return self._elapsed_before + (now - (self._since if self._since is not None else now))

    def populate_space(self, trial_id):
        reason = self._budget_spent()
        self.budget_reason = reason
        if reason:
            logger.info("Search stopped: %s", reason)
            return {"status": "STOPPED", "values": None}
        return super().populate_space(trial_id)

    def _budget_spent(self) -> Optional[str]:
        if self.max_time is not None and self.elapsed() >= self.max_time:
            return (f"the time budget (tuner.max_time = {self.max_time:g} s) is spent after "
                    f"{self.elapsed():.0f} s")
        if self.target is not None:
            maximize = self.objective.direction == "max"
            scores = [t.score for t in self.trials.values()
                      if t.status == "COMPLETED" and t.score is not None
                      and math.isfinite(t.score)]
            best = (max if maximize else min)(scores, default=None)
            if best is not None and (best >= self.target if maximize else best <= self.target):
                return (f"the target (tuner.target = {self.target:g}) is reached: "
                        f"{self.objective.name} {best:.4g}")
        return None

    def get_state(self):
        state = super().get_state()
        state["elapsed_seconds"] = self.elapsed()
        state["budget_reason"] = self.budget_reason
        return state

    def set_state(self, state):
        super().set_state(state)
        self._elapsed_before = float(state.get("elapsed_seconds") or 0.0)
        self._since = self.clock()
        self.budget_reason = state.get("budget_reason")
