"""Pick the pods worth reading: the rank-0 pod to follow, failed pods whose log tails explain a failure."""

from __future__ import annotations

from typing import Any

from kubernetes.client.exceptions import ApiException


def failed_first(pods: list[Any]) -> list[Any]:
    """Pods that failed (or whose container crashed and restarted) first, then the rest, by name."""
    return sorted(pods, key=lambda pod: (not _crashed(pod), pod.metadata.name))


def _crashed(pod: Any) -> bool:
    if pod.status is None:
        return False
    if pod.status.phase == "Failed":
        return True
    return any(_exit_code(s.state) or _exit_code(s.last_state) for s in pod.status.container_statuses or [])


def _exit_code(state: Any) -> int:
    terminated = getattr(state, "terminated", None) if state is not None else None
    return int(terminated.exit_code or 0) if terminated is not None else 0


def _previous_attempt(pod: Any, container: str) -> bool:
    """True when the container crashed and restarted: the interesting log is the previous attempt's."""
    for status in (pod.status.container_statuses if pod.status else None) or []:
        if status.name == container:
            crashed_before = _exit_code(status.last_state) != 0
            return crashed_before and not _exit_code(status.state)
    return False


def pod_log(core_api: Any, pod: Any, namespace: str, container: str, tail_lines: int) -> str:
    """``--- pod (container, ...) ---`` followed by the last ``tail_lines`` log lines, or why not."""
    name = pod.metadata.name
    previous = _previous_attempt(pod, container)
    attempt = ", previous attempt" if previous else ""
    header = f"--- {name} (container {container}{attempt}, last {tail_lines} lines) ---"
    try:
        text = core_api.read_namespaced_pod_log(
            name, namespace, container=container, tail_lines=tail_lines, previous=previous
        )
    except ApiException as exc:
        text = f"(log unavailable: HTTP {exc.status} {exc.reason})"
    return f"{header}\n{str(text).rstrip()}"


def rank0_pod(pods: list[Any], index_key: str | None) -> Any | None:
    """The newest pod whose index (label, else annotation ``index_key``) is "0"; None if there is none.

    Newest, because a replaced pod (a Job's new attempt) may sit beside the failed one it replaced.
    """
    if index_key:
        pods = [p for p in pods if _meta_value(p.metadata, index_key) == "0"]
    if not pods:
        return None
    return max(pods, key=_age)


def _age(pod: Any) -> tuple[float, str]:
    created = pod.metadata.creation_timestamp
    return (created.timestamp() if created is not None else float("-inf"), pod.metadata.name)


def _meta_value(metadata: Any, key: str) -> str | None:
    for source in (metadata.labels, metadata.annotations):
        if source and key in source:
            return str(source[key])
    return None


def restart_count(pod: Any, container: str) -> int:
    """How often ``container`` of ``pod`` has restarted in place (0 when unknown)."""
    for status in (pod.status.container_statuses if pod.status else None) or []:
        if status.name == container:
            return int(status.restart_count or 0)
    return 0
