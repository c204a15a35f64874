"""Echo the training log of a job's rank-0 pod while the launcher waits, one bounded read per poll.

Global rank 0 prints the per-epoch Katib lines (``epoch=3 loss=0.41 ...``). A blocking ``follow=True``
stream would stall the state polling and the timeout, and ends when the container restarts, so each
poll reads the log once instead: the first read of a pod takes its last ``first_tail_lines`` lines (a
re-attached launcher does not replay a day of log), later reads only the lines of the seconds since
the previous read plus an overlap. With ``timestamps=True`` every line carries the kubelet's RFC 3339
timestamp, and a cursor (the last timestamp echoed, how many lines carried it) drops what an
overlapping read returns again: each line is echoed once, in order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from components.train.launchers.jobs import PodGroup
from components.train.launchers.pods import rank0_pod, restart_count

#: Seconds each read reaches back beyond the time since the previous one (latency, slow polls).
OVERLAP_S = 30.0
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")
# 400: the container is still being created (or gone); 404: the pod was deleted between list and read.
_QUIET_STATUSES = (400, 404)

Stamp = tuple[datetime, int]  # (whole seconds, nanoseconds): RFC 3339 fractions vary in length


@dataclass
class LogCursor:
    """How far one pod's log has been echoed."""

    stamp: Stamp | None = None
    count: int = 0  # lines echoed that carry ``stamp``
    read_at: float | None = None  # launcher clock at the last successful read
    restarts: int = 0  # the container's restart count when last seen


class LogFollower:
    """Echoes each new line of the rank-0 pod's training container; quiet until that pod runs."""

    def __init__(
        self,
        core_api: Any,
        namespace: str,
        echo: Callable[[str], None],
        clock: Callable[[], float],
        *,
        first_tail_lines: int = 100,
        overlap_s: float = OVERLAP_S,
    ) -> None:
        self.core, self.namespace, self.echo, self.clock = core_api, namespace, echo, clock
        self.first_tail_lines, self.overlap_s = first_tail_lines, overlap_s
        self.cursors: dict[str, LogCursor] = {}
        self.following: str | None = None
        self.disabled = False
        self._reported: set[str] = set()

    def poll(self, group: PodGroup) -> None:
        """Echo what rank 0 wrote since the previous poll (and what a crashed attempt wrote last)."""
        if self.disabled:
            return
        try:
            pods = self.core.list_namespaced_pod(self.namespace, label_selector=group.selector).items
        except (ApiException, HTTPError) as exc:
            self._trouble(exc)
            return
        pod = rank0_pod(pods, group.index_key)
        if pod is None:
            return
        key = pod.metadata.uid or pod.metadata.name
        restarts = restart_count(pod, group.container)
        cursor = self.cursors.setdefault(key, LogCursor(restarts=restarts))
        if key != self.following:  # first sight, or a replacement pod after a failure
            self.echo(f"--- training log of {pod.metadata.name} (container {group.container}) ---")
            self.following = key
        now = self.clock()
        if cursor.read_at is None:
            window: dict[str, int] = {"tail_lines": self.first_tail_lines}
        else:
            window = {"since_seconds": max(1, math.ceil(now - cursor.read_at + self.overlap_s))}
        if restarts > cursor.restarts:  # crashed and restarted in place: finish the crashed attempt
            if cursor.read_at is not None:
                self._read(pod.metadata.name, group.container, cursor, window, previous=True)
            cursor.restarts = restarts
        if self._read(pod.metadata.name, group.container, cursor, window, previous=False):
            cursor.read_at = now

    def _read(
        self, pod: str, container: str, cursor: LogCursor, window: dict[str, int], previous: bool
    ) -> bool:
        try:
            text = self.core.read_namespaced_pod_log(
                pod, self.namespace, container=container, timestamps=True, previous=previous, **window
            )
        except (ApiException, HTTPError) as exc:
            self._trouble(exc)
            return False
        for line in new_lines(str(text or ""), cursor):
            self.echo(line)
        return True

    def _trouble(self, exc: Exception) -> None:
        """Say once per kind of error why the log is not shown; stop trying when RBAC forbids it."""
        status = getattr(exc, "status", None)
        if status in _QUIET_STATUSES:
            return
        if status == 403:
            self.disabled = True
            self.echo(
                "cannot follow the training log: the launcher's service account may not list pods or "
                "get pods/log (HTTP 403); waiting on the job's state only"
            )
            return
        kind = f"HTTP {status}" if status is not None else type(exc).__name__
        if kind not in self._reported:
            self._reported.add(kind)
            self.echo(f"could not read the training log ({kind}: {getattr(exc, 'reason', exc)}); retrying")


def new_lines(text: str, cursor: LogCursor) -> list[str]:
    """The lines of a timestamped log read that come after ``cursor`` (without their timestamps).

    Moves the cursor past them. A line without a timestamp goes with the line before it.
    """
    fresh: list[str] = []
    previous: Stamp | None = None
    run = 0
    for raw in text.splitlines():
        stamp, line = split_stamp(raw)
        stamp = stamp or previous
        if stamp is None:
            continue  # cannot be placed before or after what was echoed already
        run = run + 1 if stamp == previous else 1
        previous = stamp
        if cursor.stamp is not None and (
            stamp < cursor.stamp or (stamp == cursor.stamp and run <= cursor.count)
        ):
            continue
        cursor.stamp, cursor.count = stamp, run
        fresh.append(line)
    return fresh


def split_stamp(raw: str) -> tuple[Stamp | None, str]:
    """``2026-01-02T03:04:05.123456789Z text`` -> ((03:04:05 UTC, 123456789), "text")."""
    head, _, rest = raw.partition(" ")
    match = _STAMP.match(head)
    if match is None:
        return None, raw
    zone = "+00:00" if match[3] == "Z" else match[3]
    seconds = datetime.fromisoformat(match[1] + zone)
    return (seconds, int((match[2] or "").ljust(9, "0"))), rest
