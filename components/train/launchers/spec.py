"""What a distributed training job needs, independent of the operator that runs it.

``JobSpec`` is plain data validated on construction; ``pytorchjob.build_pytorchjob`` and
``trainjob.build_trainjob`` translate it into each operator's manifest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from components.train.launchers.errors import LauncherConfigError
from components.train.launchers.naming import check_job_name
from components.train.launchers.scheduling import Toleration, check_node_selector, pod_tolerations

RESTART_POLICIES = ("OnFailure", "Never", "Always", "ExitCode")
CLEAN_POD_POLICIES = ("None", "Running", "All")
GPU_RESOURCE = "nvidia.com/gpu"
#: Set in every training container before the user's env: unbuffered output so logs stream, and a
#: fresh rendezvous store per torchrun restart attempt (a shared one hands a restarted worker the
#: previous attempt's peer address: "Connection refused").
POD_ENV_DEFAULTS = {"PYTHONUNBUFFERED": "1", "TORCH_DISABLE_SHARE_RDZV_TCP_STORE": "1"}
# The Kubernetes quantity grammar, as the CRDs spell it.
_QUANTITY = re.compile(
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


@dataclass(frozen=True)
class Resources:
    """Per-node compute. CPU is only requested (no limit, so no throttling); memory and GPUs are limits."""

    cpu: str | None = "2"
    memory: str | None = "8Gi"
    gpu: int = 0

    def __post_init__(self) -> None:
        for name in ("cpu", "memory"):
            value = getattr(self, name)
            if value is not None and not _QUANTITY.match(str(value)):
                raise LauncherConfigError(
                    f"{name}={value!r} is not a Kubernetes quantity (e.g. '2', '500m', '8Gi')"
                )
        if not isinstance(self.gpu, int) or self.gpu < 0:
            raise LauncherConfigError(f"gpu={self.gpu!r} must be a non-negative integer")

    def requests(self) -> dict[str, str]:
        values = {"cpu": self.cpu, "memory": self.memory, GPU_RESOURCE: str(self.gpu) if self.gpu else None}
        return {k: str(v) for k, v in values.items() if v is not None}

    def limits(self) -> dict[str, str]:
        values = {"memory": self.memory, GPU_RESOURCE: str(self.gpu) if self.gpu else None}
        return {k: str(v) for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class GangScheduling:
    """All nodes start together or none does (PyTorchJob ``runPolicy.schedulingPolicy``).

    ``min_available`` defaults to every node of the job. For a TrainJob only ``queue`` applies: it becomes
    the Kueue label ``kueue.x-k8s.io/queue-name`` (a TrainJob's pod-group policy lives in its runtime).
    """

    min_available: int | None = None
    queue: str | None = None
    priority_class: str | None = None
    schedule_timeout_s: int | None = None


@dataclass(frozen=True)
class Elastic:
    """PyTorchJob ``elasticPolicy``: torchrun rendezvous lets the node count move in [min, max]."""

    min_nodes: int
    max_nodes: int
    rdzv_backend: str = "c10d"
    max_restarts: int = 3

    def __post_init__(self) -> None:
        if not 1 <= self.min_nodes <= self.max_nodes:
            raise LauncherConfigError(
                f"elastic min_nodes={self.min_nodes}, max_nodes={self.max_nodes}: need 1 <= min <= max"
            )
        if self.rdzv_backend not in ("c10d", "etcd", "etcd-v2"):
            raise LauncherConfigError(f"rdzv_backend={self.rdzv_backend!r}; valid: 'c10d', 'etcd', 'etcd-v2'")
        if self.max_restarts < 0:
            raise LauncherConfigError(f"max_restarts={self.max_restarts} must be >= 0")


@dataclass(frozen=True)
class JobSpec:
    """One distributed run of ``python -m components.train`` on ``num_nodes`` pods.

    ``entry_args`` are the entry point's own arguments (see ``command.entry_point_args``); the
    checkpoint directory is added by the builders from ``checkpoint_dir`` / ``checkpoint_pvc`` so that it
    always matches the mounted volume. ``secret_env`` maps an environment variable to ``"secret/key"``.
    ``node_selector`` picks the nodes (the accelerator type is a node label); ``tolerations`` may be
    ``Toleration``s or Kubernetes-style dicts, and ``pod_tolerations`` adds the GPU one (see scheduling).
    """

    name: str
    namespace: str
    image: str
    entry_args: tuple[str, ...]
    num_nodes: int = 2
    nproc_per_node: int = 1
    resources: Resources = field(default_factory=Resources)
    restart_policy: str = "OnFailure"
    clean_pod_policy: str = "None"
    backoff_limit: int | None = 3
    ttl_seconds_after_finished: int | None = None
    active_deadline_seconds: int | None = None
    gang: GangScheduling | None = None
    elastic: Elastic | None = None
    checkpoint_pvc: str | None = None
    checkpoint_mount: str = "/mnt/checkpoints"
    checkpoint_dir: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    secret_env: Mapping[str, str] = field(default_factory=dict)
    env_from_secrets: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    service_account: str | None = None
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Toleration, ...] = ()
    runtime: str = "torch-distributed"

    def __post_init__(self) -> None:
        _check_identity(self)
        _check_topology(self)
        _check_policies(self)
        _check_env(self)
        _check_scheduling(self)

    @property
    def checkpoint_path(self) -> str | None:
        """Where the entry point writes checkpoints: explicit, or a per-job folder on the mounted PVC."""
        if self.checkpoint_dir:
            return self.checkpoint_dir
        if self.checkpoint_pvc:
            return f"{self.checkpoint_mount.rstrip('/')}/{self.name}"
        return None

    def container_args(self) -> list[str]:
        """The entry point arguments including the checkpoint directory."""
        path = self.checkpoint_path
        return [*self.entry_args, *(["--checkpoint-dir", path] if path else [])]

    def pod_tolerations(self) -> list[Toleration]:
        """What every pod tolerates: ``tolerations``, plus ``nvidia.com/gpu:NoSchedule`` with GPUs."""
        return pod_tolerations(self.tolerations, self.resources.gpu)

    def secret_refs(self) -> list[tuple[str, str, str]]:
        """``(variable, secret, key)`` for each ``secret_env`` entry, in name order."""
        return [(var, *ref.split("/", 1)) for var, ref in sorted(self.secret_env.items())]


def _check_identity(spec: JobSpec) -> None:
    try:
        check_job_name(spec.name)
    except ValueError as exc:
        raise LauncherConfigError(str(exc)) from None
    if not spec.namespace or not _SECRET_NAME.match(spec.namespace):
        raise LauncherConfigError(f"namespace={spec.namespace!r} is not a valid Kubernetes namespace name")
    if not spec.image:
        raise LauncherConfigError("image is empty; give the trainer image (components.runtime.TRAINER_IMAGE)")
    if not isinstance(spec.entry_args, tuple) or not all(isinstance(a, str) for a in spec.entry_args):
        raise LauncherConfigError(f"entry_args must be a tuple of strings, got {spec.entry_args!r}")
    if "--checkpoint-dir" in spec.entry_args:
        raise LauncherConfigError("pass the checkpoint location as JobSpec.checkpoint_dir, not in entry_args")


def _check_topology(spec: JobSpec) -> None:
    if not isinstance(spec.num_nodes, int) or spec.num_nodes < 1:
        raise LauncherConfigError(f"num_nodes={spec.num_nodes!r} must be an integer >= 1")
    if not isinstance(spec.nproc_per_node, int) or spec.nproc_per_node < 1:
        raise LauncherConfigError(f"nproc_per_node={spec.nproc_per_node!r} must be an integer >= 1")
    if spec.resources.gpu and spec.nproc_per_node > spec.resources.gpu:
        raise LauncherConfigError(
            f"nproc_per_node={spec.nproc_per_node} exceeds gpu={spec.resources.gpu}: "
            "NCCL needs one GPU per process"
        )
    if spec.elastic and not spec.elastic.min_nodes <= spec.num_nodes <= spec.elastic.max_nodes:
        raise LauncherConfigError(
            f"num_nodes={spec.num_nodes} is outside the elastic range "
            f"[{spec.elastic.min_nodes}, {spec.elastic.max_nodes}]"
        )


def _check_policies(spec: JobSpec) -> None:
    if spec.restart_policy not in RESTART_POLICIES:
        raise LauncherConfigError(
            f"restart_policy={spec.restart_policy!r}; valid: {', '.join(RESTART_POLICIES)}"
        )
    if spec.clean_pod_policy not in CLEAN_POD_POLICIES:
        raise LauncherConfigError(
            f"clean_pod_policy={spec.clean_pod_policy!r}; valid: {', '.join(CLEAN_POD_POLICIES)}"
        )
    for name in ("backoff_limit", "ttl_seconds_after_finished"):
        value = getattr(spec, name)
        if value is not None and (not isinstance(value, int) or value < 0):
            raise LauncherConfigError(f"{name}={value!r} must be None or an integer >= 0")
    if spec.active_deadline_seconds is not None and spec.active_deadline_seconds < 1:
        raise LauncherConfigError(f"active_deadline_seconds={spec.active_deadline_seconds} must be >= 1")
    gang = spec.gang
    if gang and gang.min_available is not None and not 1 <= gang.min_available <= spec.num_nodes:
        raise LauncherConfigError(f"gang min_available={gang.min_available} must be in [1, {spec.num_nodes}]")
    if spec.checkpoint_pvc is not None and not _SECRET_NAME.match(spec.checkpoint_pvc):
        raise LauncherConfigError(f"checkpoint_pvc={spec.checkpoint_pvc!r} is not a valid claim name")
    if not spec.checkpoint_mount.startswith("/") or ":" in spec.checkpoint_mount:
        raise LauncherConfigError(
            f"checkpoint_mount={spec.checkpoint_mount!r} must be an absolute path without ':'"
        )


def _check_env(spec: JobSpec) -> None:
    for var in [*spec.env, *spec.secret_env]:
        if not _ENV_NAME.match(var):
            raise LauncherConfigError(
                f"environment variable name {var!r} is not valid ([A-Za-z_][A-Za-z0-9_]*)"
            )
    clash = sorted(set(spec.env) & set(spec.secret_env))
    if clash:
        raise LauncherConfigError(f"variables {clash} are set both as plain env and from a secret")
    for var, ref in spec.secret_env.items():
        secret, _, key = ref.partition("/")
        if not _SECRET_NAME.match(secret) or not key:
            raise LauncherConfigError(f"secret_env[{var!r}]={ref!r}: expected 'secret-name/key'")
    for secret in spec.env_from_secrets:
        if not _SECRET_NAME.match(secret):
            raise LauncherConfigError(f"env_from_secrets entry {secret!r} is not a valid secret name")


def _check_scheduling(spec: JobSpec) -> None:
    check_node_selector(spec.node_selector)
    if isinstance(spec.tolerations, (str, bytes, Mapping)) or not hasattr(spec.tolerations, "__iter__"):
        raise LauncherConfigError(f"tolerations must be a sequence of tolerations, got {spec.tolerations!r}")
    items = tuple(t if isinstance(t, Toleration) else Toleration.from_dict(t) for t in spec.tolerations)
    object.__setattr__(spec, "tolerations", items)
