"""Errors for Experiments: each names the bad value, where it sits, and what would be valid."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class ExperimentError(ValueError):
    """Base class: an Experiment that cannot be built, read or run."""


class ExperimentBuildError(ExperimentError):
    """A builder argument that does not make a valid Experiment."""


class ExperimentLoadError(ExperimentError):
    """An Experiment document that cannot be read (missing file, bad YAML, not a mapping)."""


@dataclass(frozen=True)
class Issue:
    """One failed rule: the field path as Katib's webhook writes it, and what is wrong there."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ExperimentValidationError(ExperimentError):
    """The Experiment breaks one or more of the rules Katib's admission webhook enforces."""

    def __init__(self, name: str, issues: Sequence[Issue]) -> None:
        self.name = name
        self.issues = tuple(issues)
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        super().__init__(f"Experiment {name!r} is invalid ({len(self.issues)} problem(s)):\n{lines}")
