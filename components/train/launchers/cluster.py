"""Run a training job on Kubernetes: create or re-attach, wait, report, clean up.

The launcher talks to the API only through a ``CustomObjectsApi`` and a ``CoreV1Api`` passed in, so
tests drive it with fakes and a cluster drives it with the real clients (``from_environment``).
RBAC it needs in the job namespace: pytorchjobs/trainjobs create, get, delete; pods list; pods/log get.
While waiting it echoes the rank-0 pod's training log (follow.py), so the per-epoch lines reach the
launcher's own log (the KFP step log).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from components.train.launchers.errors import (
    JobConflictError,
    JobFailedError,
    JobTimeoutError,
    JobVanishedError,
    LauncherConfigError,
    LauncherError,
)
from components.train.launchers.follow import LogFollower
from components.train.launchers.jobs import JobKind, JobState, JobStatus
from components.train.launchers.local import print_line
from components.train.launchers.naming import SPEC_HASH_ANNOTATION, spec_hash

DELETE_POLICIES = ("never", "on_success", "always")
SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def load_kubernetes_config() -> None:
    """Configure the Kubernetes client: the pod's service account, else the local kubeconfig.

    The client's own error for neither ("Invalid kube-config file. No configuration found.") does not
    say where it looked nor what to do instead, so it is replaced by one that does.
    """
    from kubernetes import config

    try:
        config.load_incluster_config()
        return
    except config.ConfigException:
        pass
    try:
        config.load_kube_config()
    except config.ConfigException as error:
        raise LauncherConfigError(
            "no Kubernetes cluster to talk to: this is not a pod with a service account and no kubeconfig "
            f"was found (KUBECONFIG or ~/.kube/config: {error}); the kubernetes backend and tune mode need "
            "one, while train_backend=local and tune_mode/search_mode=local run on this machine"
        ) from error


@dataclass(frozen=True)
class JobOutcome:
    """How a finished job ended; ``attached`` is True when an existing job was adopted, not created."""

    name: str
    namespace: str
    status: JobStatus
    attached: bool
    deleted: bool


class KubernetesLauncher:
    """Creates one job (or adopts the one a previous launcher pod created) and follows it to the end."""

    def __init__(
        self,
        custom_api: Any,
        core_api: Any,
        kind: JobKind,
        *,
        poll_interval_s: float = 15.0,
        timeout_s: float = 24 * 3600.0,
        delete_after: str = "on_success",
        resubmit_failed: bool = False,
        log_tail_lines: int = 100,
        max_log_pods: int = 2,
        max_api_errors: int = 5,
        heartbeat_s: float = 300.0,
        follow_logs: bool = True,
        echo: Callable[[str], None] = print_line,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if delete_after not in DELETE_POLICIES:
            raise LauncherConfigError(f"delete_after={delete_after!r}; valid: {', '.join(DELETE_POLICIES)}")
        if poll_interval_s <= 0 or timeout_s <= 0:
            raise LauncherConfigError(
                f"poll_interval_s={poll_interval_s} and timeout_s={timeout_s} must be > 0"
            )
        self.custom, self.core, self.kind = custom_api, core_api, kind
        self.poll_interval_s, self.timeout_s = poll_interval_s, timeout_s
        self.delete_after, self.resubmit_failed = delete_after, resubmit_failed
        self.log_tail_lines, self.max_log_pods, self.max_api_errors = (
            log_tail_lines,
            max_log_pods,
            max_api_errors,
        )
        self.heartbeat_s, self.follow_logs = heartbeat_s, follow_logs
        self.echo, self.clock, self.sleep = echo, clock, sleep

    @classmethod
    def from_environment(cls, kind: JobKind, **options: Any) -> KubernetesLauncher:
        """Real API clients: in-cluster service account, else the local kubeconfig."""
        from kubernetes import client

        load_kubernetes_config()
        return cls(client.CustomObjectsApi(), client.CoreV1Api(), kind, **options)

    def run(self, manifest: Mapping[str, Any]) -> JobOutcome:
        """Submit (or re-attach), wait until the job finishes, then clean up as ``delete_after`` says."""
        self.kind.check(manifest)
        name, namespace = manifest["metadata"]["name"], manifest["metadata"]["namespace"]
        attached = self.submit(manifest)
        try:
            status = self.wait(name, namespace)
        except JobTimeoutError as exc:
            exc.logs = self.failure_logs(name, namespace, JobStatus(JobState.RUNNING))
            self.echo(exc.logs)
            self.cleanup(name, namespace, succeeded=False)
            raise
        if status.state is JobState.FAILED:
            logs = self.failure_logs(name, namespace, status)
            self.echo(logs)
            self.cleanup(name, namespace, succeeded=False)
            raise JobFailedError(
                f"{self.kind.kind} {namespace}/{name} failed: {status.reason} {status.message}".rstrip()
                + f"\n{logs}",
                job_name=name,
                logs=logs,
            )
        deleted = self.cleanup(name, namespace, succeeded=True)
        return JobOutcome(name, namespace, status, attached, deleted)

    def submit(self, manifest: Mapping[str, Any]) -> bool:
        """Create the job; on 409 adopt the existing one if it carries our spec hash. True if adopted."""
        body = with_spec_hash(manifest)
        name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
        k = self.kind
        try:
            self.custom.create_namespaced_custom_object(k.group, k.version, namespace, k.plural, body)
            self.echo(f"created {k.kind} {namespace}/{name}")
            return False
        except ApiException as exc:
            if exc.status != 409:
                raise _api_error(f"creating {k.kind} {namespace}/{name}", exc) from exc
        existing = self._get(name, namespace)
        if existing is None:  # deleted between our create and get: try once more
            self.custom.create_namespaced_custom_object(k.group, k.version, namespace, k.plural, body)
            self.echo(f"created {k.kind} {namespace}/{name}")
            return False
        _check_adoptable(k.kind, existing, body)
        status = k.status(existing)
        self.echo(f"{k.kind} {namespace}/{name} already exists ({status.state.value}): re-attaching to it")
        if status.state is JobState.FAILED and self.resubmit_failed:
            self.echo(f"it had failed and resubmit_failed is set: deleting and creating {name} again")
            self._delete(name, namespace)
            self._wait_gone(name, namespace)
            return self.submit(manifest)
        return True

    def wait(self, name: str, namespace: str) -> JobStatus:
        """Poll until the job succeeds or fails, echoing each change of state or replica counts and,
        after it, the new lines of the rank-0 pod's log (``follow_logs``)."""
        deadline = self.clock() + self.timeout_s
        last_line, last_echo, errors = "", self.clock(), 0
        follower = None
        if self.follow_logs:
            follower = LogFollower(
                self.core, namespace, self.echo, self.clock, first_tail_lines=self.log_tail_lines
            )
        while True:
            try:
                job = self._get(name, namespace)
                errors = 0
            except (ApiException, HTTPError) as exc:
                errors += 1
                if errors > self.max_api_errors:
                    raise LauncherError(f"polling {name}: {errors} API errors in a row, last: {exc}") from exc
                self.echo(f"API error while polling {name} ({errors}/{self.max_api_errors}): {exc}; retrying")
                job = {}
            if job is None:
                raise JobVanishedError(
                    f"{self.kind.kind} {namespace}/{name} disappeared while we waited (deleted by someone "
                    "else or by its ttlSecondsAfterFinished)"
                )
            if job:
                status = self.kind.status(job)
                line = status.summary()
                if line != last_line or self.clock() - last_echo >= self.heartbeat_s:
                    self.echo(f"{self.kind.kind} {name}: {line}")
                    last_line, last_echo = line, self.clock()
                if follower is not None:  # also once after the end: the last epochs' lines
                    follower.poll(self.kind.rank0_group(job))
                if status.state.finished:
                    return status
            if self.clock() >= deadline:
                raise JobTimeoutError(
                    f"{self.kind.kind} {namespace}/{name} did not finish within {self.timeout_s:.0f} s "
                    f"(last state: {last_line or 'unknown'})",
                    job_name=name,
                )
            self.sleep(max(0.0, min(self.poll_interval_s, deadline - self.clock())))

    def failure_logs(self, name: str, namespace: str, status: JobStatus) -> str:
        """The log tails of the failing pods (or the first pods) of the job, as one text."""
        from components.train.launchers.pods import failed_first, pod_log

        chunks: list[str] = []
        for group in self.kind.pod_groups(name, status):
            try:
                pods = self.core.list_namespaced_pod(namespace, label_selector=group.selector).items
            except ApiException as exc:
                chunks.append(f"(could not list pods {group.selector}: HTTP {exc.status} {exc.reason})")
                continue
            for pod in failed_first(pods)[: self.max_log_pods - len(chunks)]:
                chunks.append(pod_log(self.core, pod, namespace, group.container, self.log_tail_lines))
            if len(chunks) >= self.max_log_pods:
                break
        return "\n".join(chunks) if chunks else f"(no pods of {name} found to read logs from)"

    def cleanup(self, name: str, namespace: str, succeeded: bool) -> bool:
        """Delete the job if ``delete_after`` asks for it; True when it is gone."""
        if self.delete_after == "never" or (self.delete_after == "on_success" and not succeeded):
            self.echo(f"keeping {self.kind.kind} {namespace}/{name} (delete_after={self.delete_after})")
            return False
        try:
            existed = self._delete(name, namespace)
        except ApiException as exc:
            self.echo(f"could not delete {self.kind.kind} {namespace}/{name}: HTTP {exc.status} {exc.reason}")
            return False
        if existed:
            self.echo(f"deleted {self.kind.kind} {namespace}/{name}")
        return True

    def _get(self, name: str, namespace: str) -> dict[str, Any] | None:
        k = self.kind
        try:
            return self.custom.get_namespaced_custom_object(k.group, k.version, namespace, k.plural, name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def _delete(self, name: str, namespace: str) -> bool:
        """Delete the job and, in the background, its pods; False if it was already gone."""
        k = self.kind
        try:
            self.custom.delete_namespaced_custom_object(
                k.group, k.version, namespace, k.plural, name, propagation_policy="Background"
            )
        except ApiException as exc:
            if exc.status != 404:
                raise
            return False
        return True

    def _wait_gone(self, name: str, namespace: str) -> None:
        deadline = self.clock() + self.timeout_s
        while self._get(name, namespace) is not None:
            if self.clock() >= deadline:
                raise JobTimeoutError(f"{name} was not deleted within {self.timeout_s:.0f} s", job_name=name)
            self.sleep(self.poll_interval_s)


def with_spec_hash(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the manifest annotated with the fingerprint of its own content."""
    body = copy.deepcopy(dict(manifest))
    annotations = body.setdefault("metadata", {}).setdefault("annotations", {})
    annotations.pop(SPEC_HASH_ANNOTATION, None)
    if not annotations:
        del body["metadata"]["annotations"]
    digest = spec_hash(body)
    body["metadata"].setdefault("annotations", {})[SPEC_HASH_ANNOTATION] = digest
    return body


def _check_adoptable(kind: str, existing: Mapping[str, Any], body: Mapping[str, Any]) -> None:
    want = body["metadata"]["annotations"][SPEC_HASH_ANNOTATION]
    found = ((existing.get("metadata") or {}).get("annotations") or {}).get(SPEC_HASH_ANNOTATION)
    if found != want:
        meta = body["metadata"]
        raise JobConflictError(
            f"{kind} {meta['namespace']}/{meta['name']} exists but was not created from this spec "
            f"(annotation {SPEC_HASH_ANNOTATION}={found!r}, expected {want!r}); delete it or use another "
            "run/task id"
        )


def _api_error(action: str, exc: ApiException) -> LauncherError:
    hint = ""
    if exc.status == 403:
        hint = " (the launcher's service account lacks RBAC for it: see docs/components/train.md)"
    elif exc.status == 404:
        hint = " (is the CRD installed, i.e. the Training Operator or Kubeflow Trainer?)"
    return LauncherError(
        f"{action} failed: HTTP {exc.status} {exc.reason}{hint}: {exc.body or ''}".rstrip(": ")
    )


def current_namespace(default: str = "default") -> str:
    """The namespace of the pod we run in (service account file), else ``default``."""
    try:
        with open(SERVICE_ACCOUNT_NAMESPACE) as handle:
            return handle.read().strip() or default
    except OSError:
        return default
