"""Exceptions of the training launchers.

Each says what was wrong and what would be valid; the failure classes carry the evidence (job name,
log tail) so a caller can show it without parsing the message.
"""

from __future__ import annotations


class LauncherError(Exception):
    """Base class of every launcher error."""


class LauncherConfigError(LauncherError, ValueError):
    """An option of the job or the launcher has a value we cannot use."""


class ManifestError(LauncherError, ValueError):
    """A manifest breaks a rule of its operator that the CRD schema does not express."""


class JobConflictError(LauncherError, RuntimeError):
    """A job with our name exists but was not created from the same spec, so we must not adopt it."""


class JobFailedError(LauncherError, RuntimeError):
    """The training job reached its Failed condition."""

    def __init__(self, message: str, job_name: str, logs: str = "") -> None:
        super().__init__(message)
        self.job_name = job_name
        self.logs = logs


class JobTimeoutError(LauncherError, TimeoutError):
    """The job did not finish within the launcher's timeout."""

    def __init__(self, message: str, job_name: str, logs: str = "") -> None:
        super().__init__(message)
        self.job_name = job_name
        self.logs = logs


class JobVanishedError(LauncherError, RuntimeError):
    """The job disappeared (HTTP 404) while we were waiting for it."""


class LocalRunError(LauncherError, RuntimeError):
    """``torchrun`` exited with a non-zero status; ``tail`` holds its last output lines."""

    def __init__(self, message: str, returncode: int, tail: str) -> None:
        super().__init__(message)
        self.returncode = returncode
        self.tail = tail
