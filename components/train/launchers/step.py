"""The logic behind the KFP ``train`` component, importable and testable without KFP.

``run_train_step`` trains with the chosen backend and returns the model directory's metrics;
:mod:`components.train.launchers.publishing` turns that result into the component's outputs. Artifacts
are duck-typed: anything with ``uri`` and ``path`` works, so tests pass simple objects and the
component passes KFP artifacts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from components.runtime import TRAINER_IMAGE
from components.train.launchers.cluster import KubernetesLauncher, current_namespace
from components.train.launchers.command import RESERVED, entry_point_args
from components.train.launchers.errors import LauncherConfigError
from components.train.launchers.jobs import BACKENDS, JOB_KIND_NAMES
from components.train.launchers.local import LocalLauncher, print_line
from components.train.launchers.naming import job_name
from components.train.launchers.pytorchjob import PYTORCHJOB, build_pytorchjob
from components.train.launchers.scheduling import load_json, parse_node_selector, parse_tolerations
from components.train.launchers.spec import GangScheduling, JobSpec, Resources
from components.train.launchers.trainjob import TRAINJOB, build_trainjob
from components.train.launchers.uris import check_endpoint, fetch_dir, pod_uri, uri_exists

#: Each job kind's name (as the train step takes it), its JobKind and its manifest builder.
JOB_KINDS = dict(
    zip(JOB_KIND_NAMES, [(PYTORCHJOB, build_pytorchjob), (TRAINJOB, build_trainjob)], strict=True)
)
MODEL_FILES = ("model.pt", "model_config.json", "metrics.json")


class Located(Protocol):
    uri: str
    path: str


@dataclass(frozen=True)
class TrainStepConfig:
    """The ``train`` component's parameters (KFP types: str, int, float), validated on construction."""

    backend: str = "local"
    job_kind: str = "pytorchjob"
    num_nodes: int = 1
    nproc_per_node: int = 1
    model_type: str = "mlp"
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    precision: str = "fp32"
    extra_args: str = "{}"
    image: str = ""  # "" means components.runtime.TRAINER_IMAGE
    namespace: str = ""
    cpu: str = "2"
    memory: str = "8Gi"
    gpu: int = 0
    checkpoint_pvc: str = ""  # kubernetes: checkpoints at <mount>/<job name> on this claim
    checkpoint_dir: str = ""  # local: "" means "<model.path>.checkpoints"
    max_restarts: int = 0  # local: torchrun --max-restarts
    service_account: str = ""
    queue: str = ""
    priority_class: str = ""
    node_selector: str = "{}"  # kubernetes: JSON {"label": "value"}; the accelerator type goes here
    tolerations: str = "[]"  # kubernetes: JSON list of tolerations; GPUs add nvidia.com/gpu's
    secret_env: str = "{}"
    s3_endpoint: str = ""
    delete_after: str = "on_success"
    timeout_s: int = 24 * 3600
    poll_interval_s: float = 15.0
    run_id: str = ""
    task_id: str = ""
    extra: dict[str, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise LauncherConfigError(f"backend={self.backend!r}; valid: {', '.join(BACKENDS)}")
        if self.job_kind not in JOB_KINDS:
            raise LauncherConfigError(f"job_kind={self.job_kind!r}; valid: {', '.join(JOB_KINDS)}")
        if self.backend == "local" and self.num_nodes != 1:
            raise LauncherConfigError(
                f"backend='local' runs one node; num_nodes={self.num_nodes} needs 'kubernetes'"
            )
        if self.timeout_s <= 0:
            raise LauncherConfigError(f"timeout_s={self.timeout_s} must be > 0")
        _check_restart_settings(self)
        _check_scheduling_settings(self)
        object.__setattr__(self, "extra", _json_object("extra_args", self.extra_args))

    def options(self) -> dict[str, Any]:
        """Entry-point options: the named parameters, then ``extra_args`` (which may not repeat them)."""
        named = {
            "model": self.model_type,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "precision": self.precision,
        }
        own = set(named) | RESERVED | {"max_restarts"}
        clash = sorted({k.replace("-", "_") for k in self.extra} & own)
        if clash:
            raise LauncherConfigError(f"extra_args sets {clash}, which are parameters of their own")
        return {**named, **self.extra}


@dataclass(frozen=True)
class TrainResult:
    """A finished training run: the local model directory and its metrics.json content."""

    model_dir: str
    metrics: dict[str, Any]
    backend: str
    job_name: str | None = None
    job_kind: str | None = None
    reused: bool = False
    checkpoint_dir: str | None = None  # as the trainer saw it (in the pods for Kubernetes)


def run_train_step(
    config: TrainStepConfig,
    train_data: Located,
    validation_data: Located,
    stats: Located | None,
    model: Located,
    *,
    launcher: KubernetesLauncher | None = None,
    say: Callable[[str], None] = print_line,
) -> TrainResult:
    """Train with ``config.backend``; the model files end up in ``model.path`` either way."""
    options = config.options()
    if config.backend == "local":
        checkpoints = local_checkpoint_dir(config, model.path)
        args = entry_point_args(
            train_data.path, validation_data.path, model.path, stats and stats.path, options, checkpoints
        )
        LocalLauncher(
            config.nproc_per_node, max_restarts=config.max_restarts, timeout_s=config.timeout_s, echo=say
        ).run(args)
        return TrainResult(model.path, read_metrics(model.path), "local", checkpoint_dir=checkpoints)
    return _run_on_kubernetes(config, train_data, validation_data, stats, model, options, launcher, say)


def local_checkpoint_dir(config: TrainStepConfig, model_path: str) -> str:
    """``checkpoint_dir``, else a folder beside the model output: unique per run and task, as KFP makes
    output paths, so a torchrun restart resumes and two runs never share checkpoints."""
    return config.checkpoint_dir or f"{model_path.rstrip('/')}.checkpoints"


def _check_restart_settings(config: TrainStepConfig) -> None:
    """Local-only parameters must not be silently ignored by the kubernetes backend."""
    if config.max_restarts < 0:
        raise LauncherConfigError(f"max_restarts={config.max_restarts} must be >= 0")
    if config.backend != "kubernetes":
        return
    if config.max_restarts:
        raise LauncherConfigError(
            f"max_restarts={config.max_restarts} applies to backend='local' (torchrun --max-restarts); on "
            "Kubernetes the operator restarts failed pods (restartPolicy OnFailure, backoffLimit)"
        )
    if config.checkpoint_dir:
        raise LauncherConfigError(
            f"checkpoint_dir={config.checkpoint_dir!r} applies to backend='local'; on Kubernetes give "
            "checkpoint_pvc, and the job checkpoints to /mnt/checkpoints/<job name> on that claim"
        )


def _check_scheduling_settings(config: TrainStepConfig) -> None:
    """Parse the pod scheduling JSON now, and refuse it locally rather than silently ignore it."""
    selector = parse_node_selector(config.node_selector)
    tolerations = parse_tolerations(config.tolerations)
    if config.backend == "local" and (selector or tolerations):
        used = ", ".join(
            f"{n}={getattr(config, n)!r}"
            for n, v in (("node_selector", selector), ("tolerations", tolerations))
            if v
        )
        raise LauncherConfigError(
            f"{used}: node selectors and tolerations place job pods on cluster nodes, so they apply to "
            "backend='kubernetes' only; backend='local' trains in this container (leave them '{}' / '[]')"
        )


def _run_on_kubernetes(
    config: TrainStepConfig,
    train_data: Located,
    validation_data: Located,
    stats: Located | None,
    model: Located,
    options: dict[str, Any],
    launcher: KubernetesLauncher | None,
    say: Callable[[str], None],
) -> TrainResult:
    """The pods read and write artifact URIs; the launcher then copies the model files to model.path."""
    endpoint = config.s3_endpoint or None
    model_uri = pod_uri(model.uri, endpoint)
    kind, build = JOB_KINDS[config.job_kind]
    name = job_name(config.run_id, f"{config.task_id}|{model.uri}")
    args = entry_point_args(
        pod_uri(train_data.uri, endpoint),
        pod_uri(validation_data.uri, endpoint),
        model_uri,
        pod_uri(stats.uri, endpoint) if stats else None,
        options,
    )
    spec = job_spec(config, name, tuple(args))
    if spec.checkpoint_path is None:
        say(
            "warning: no checkpoint_pvc, so the job does not checkpoint: a pod that restarts (crash, "
            "eviction, node drain) starts training over from epoch 1. Give checkpoint_pvc (ReadWriteMany "
            "for several nodes) to resume instead"
        )
    manifest = build(spec)
    # A failed job found under our name means an earlier attempt of this task already reported the
    # failure and KFP is retrying the task: submit it again (it resumes from its checkpoints).
    launcher = launcher or KubernetesLauncher.from_environment(
        kind,
        poll_interval_s=config.poll_interval_s,
        timeout_s=config.timeout_s,
        delete_after=config.delete_after,
        resubmit_failed=True,
        echo=say,
    )
    # Reading the model URI here also fails fast when this pod cannot read what the job will write.
    reused = all(uri_exists(f"{model_uri.rstrip('/')}/{f}", endpoint) for f in MODEL_FILES)
    if reused:
        say(f"{model.uri} already holds a trained model from an earlier attempt of this task; reusing it")
        launcher.cleanup(name, manifest["metadata"]["namespace"], succeeded=True)
    else:
        launcher.run(manifest)
    fetch_dir(model_uri, model.path, endpoint)
    return TrainResult(
        model.path, read_metrics(model.path), "kubernetes", name, config.job_kind, reused=reused,
        checkpoint_dir=spec.checkpoint_path,
    )  # fmt: skip


def job_spec(config: TrainStepConfig, name: str, entry_args: tuple[str, ...]) -> JobSpec:
    """The JobSpec the component's parameters describe."""
    gang = None
    if config.queue or config.priority_class:
        gang = GangScheduling(queue=config.queue or None, priority_class=config.priority_class or None)
    secret_env = _json_object("secret_env", config.secret_env)
    env = {"AWS_ENDPOINT_URL": check_endpoint(config.s3_endpoint)} if config.s3_endpoint else {}
    return JobSpec(
        name=name,
        namespace=config.namespace or current_namespace(),
        image=config.image or TRAINER_IMAGE,
        entry_args=entry_args,
        num_nodes=config.num_nodes,
        nproc_per_node=config.nproc_per_node,
        resources=Resources(cpu=config.cpu or None, memory=config.memory or None, gpu=config.gpu),
        active_deadline_seconds=int(config.timeout_s),
        gang=gang,
        checkpoint_pvc=config.checkpoint_pvc or None,
        env=env,
        secret_env={str(k): str(v) for k, v in secret_env.items()},
        service_account=config.service_account or None,
        node_selector=parse_node_selector(config.node_selector),
        tolerations=parse_tolerations(config.tolerations),
    )


def read_metrics(model_dir: str) -> dict[str, Any]:
    path = Path(model_dir) / "metrics.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"training finished but wrote no {path}; the model directory holds "
            f"{sorted(p.name for p in Path(model_dir).glob('*'))}"
        )
    return json.loads(path.read_text())


def _json_object(name: str, text: str) -> dict[str, Any]:
    value = load_json(name, text, "{}")
    if not isinstance(value, dict):
        raise LauncherConfigError(f"{name} must be a JSON object, got {text!r}")
    return value
