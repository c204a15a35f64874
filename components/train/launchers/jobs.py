"""What the Kubernetes launcher needs to know about a kind of training job.

``PyTorchJobKind`` (pytorchjob.py) and ``TrainJobKind`` (trainjob.py) implement ``JobKind``: where the
resource lives in the API, how to read its state from ``status``, which pods to read logs from, and
which pod runs global rank 0 (the one printing the per-epoch metrics lines).
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Where the train step trains: torchrun in its own pod ("local") or a job it creates ("kubernetes").
BACKENDS = ("local", "kubernetes")
#: The kinds of job the "kubernetes" backend creates, by the name the train step takes.
JOB_KIND_NAMES = ("pytorchjob", "trainjob")


class JobState(str, enum.Enum):
    PENDING = "Pending"
    RUNNING = "Running"
    RESTARTING = "Restarting"
    SUSPENDED = "Suspended"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"

    @property
    def finished(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED)


@dataclass(frozen=True)
class JobStatus:
    """The state of a job as the launcher reports it; ``replicas`` maps a replica group to its counts."""

    state: JobState
    reason: str = ""
    message: str = ""
    replicas: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def summary(self) -> str:
        """One progress line, e.g. ``Running (PyTorchJobRunning) | Master: active=1 | Worker: active=1``."""
        parts = [self.state.value + (f" ({self.reason})" if self.reason else "")]
        for group, counts in sorted(self.replicas.items()):
            shown = " ".join(f"{k}={v}" for k, v in sorted(counts.items()) if v) or "none"
            parts.append(f"{group}: {shown}")
        return " | ".join(parts)


@dataclass(frozen=True)
class PodGroup:
    """Pods of one replica group: how to select them and which container holds the training.

    ``index_key`` names the label (or annotation) that holds a pod's index within the group; the pod
    whose index is ``"0"`` runs node rank 0.
    """

    selector: str
    container: str
    index_key: str | None = None


class JobKind(ABC):
    """A custom resource kind that runs ``components.train`` on several pods."""

    kind: str
    group: str
    version: str
    plural: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @abstractmethod
    def status(self, job: Mapping[str, Any]) -> JobStatus:
        """Read the job's state from the object the API server returned."""

    @abstractmethod
    def pod_groups(self, name: str, status: JobStatus) -> list[PodGroup]:
        """Pod groups worth reading logs from, the ones that failed first."""

    @abstractmethod
    def rank0_group(self, job: Mapping[str, Any]) -> PodGroup:
        """The pods among which node rank 0 runs (its ``index_key`` is "0"), read from the job object."""

    @abstractmethod
    def check(self, manifest: Mapping[str, Any]) -> None:
        """Raise ManifestError where the manifest breaks a rule of the operator."""


def true_conditions(job: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The status conditions whose status is "True", in the order the controller wrote them."""
    conditions = (job.get("status") or {}).get("conditions") or []
    return [c for c in conditions if str(c.get("status")) == "True"]
