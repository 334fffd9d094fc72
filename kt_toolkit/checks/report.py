"""`Finding` and `CheckReport`: what `check_experiment` found, and its text form."""

import dataclasses
import textwrap
from typing import Any

from kt_toolkit.config.practices import PRACTICES_LEGEND

__all__ = ["CheckReport", "Finding", "STATUSES"]

STATUSES = ("pass", "warn", "fail", "skip")
_LABELS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "SKIP"}
WIDTH = 100


@dataclasses.dataclass
class Finding:
    """One check's verdict, with the numbers behind it.

    Args:
        name: String, the check (`"inputs"`, `"order"`, `"overfit"`…).
        status: String, `"pass"`, `"warn"` (suspicious, not fatal), `"fail"`
            (fix before tuning) or `"skip"` (could not run; the message says why).
        message: String, what was measured, with numbers.
        advice: String, what to do about it; empty when nothing is needed.
        numbers: Dict of the measured values (JSON-friendly).
        details: List of strings printed under the finding (tables).
        section: String, `"data"` or `"model"`.
    """

    name: str
    status: str
    message: str
    advice: str = ""
    numbers: dict[str, Any] = dataclasses.field(default_factory=dict)
    details: list[str] = dataclasses.field(default_factory=list)
    section: str = "data"

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"`status` must be one of {', '.join(STATUSES)}. "
                             f"Received: status={self.status!r}.")

    @property
    def passed(self) -> bool:
        """Boolean: everything but `"fail"` passes (a warning is not a failure)."""
        return self.status != "fail"

    def to_dict(self) -> dict[str, Any]:
        return dict(dataclasses.asdict(self), passed=self.passed)


@dataclasses.dataclass
class CheckReport:
    """Everything `check_experiment` found, in the order it looked.

    Args:
        title: String, what was checked (experiment and data summary).
        findings: List of `Finding`.
        model_summary: String, the default configuration's knob values, or empty.
    """

    title: str
    findings: list[Finding] = dataclasses.field(default_factory=list)
    model_summary: str = ""

    @property
    def passed(self) -> bool:
        """Boolean, whether no finding failed."""
        return all(finding.passed for finding in self.findings)

    @property
    def failures(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.status == "fail"]

    @property
    def warnings(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.status == "warn"]

    def finding(self, name: str) -> Finding | None:
        """Returns the finding called `name`, or `None`."""
        return next((finding for finding in self.findings if finding.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "passed": self.passed,
                "model_summary": self.model_summary,
                "findings": [finding.to_dict() for finding in self.findings]}

    def format(self) -> str:
        """Returns the report as text, one block per finding, then where the practice
        IDs its advice cites are explained, and a verdict line last."""
        lines = [self.title, ""]
        for section, heading in (("data", "Data"), ("model", "Model")):
            findings = [f for f in self.findings if f.section == section]
            if not findings:
                continue
            lines.append(heading)
            if section == "model" and self.model_summary:
                lines += textwrap.wrap(self.model_summary, WIDTH, initial_indent="  ",
                                       subsequent_indent="    ")
            for finding in findings:
                lines += _finding_lines(finding)
            lines.append("")
        failed, warned = len(self.failures), len(self.warnings)
        verdict = "PASS" if self.passed else "FAIL"
        lines.append(PRACTICES_LEGEND)
        lines.append(f"Result: {verdict}: {failed} failed, {warned} "
                     f"warning{'s' if warned != 1 else ''}, "
                     f"{len(self.findings)} checks."
                     + ("" if self.passed else " Fix the failed checks before tuning (C4)."))
        return "\n".join(lines)


def _finding_lines(finding):
    head = f"  {_LABELS[finding.status]}  {finding.name}: "
    lines = textwrap.wrap(head + finding.message, WIDTH, subsequent_indent=" " * 8)
    lines += ["        " + line for line in finding.details]
    if finding.advice:
        lines += textwrap.wrap("-> " + finding.advice, WIDTH, initial_indent=" " * 8,
                               subsequent_indent=" " * 11)
    return lines
