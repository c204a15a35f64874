"""One trial process: started in its own session, output to a log file, stoppable as a group.

A trial may start children (``torchrun`` starts one process per rank), so stopping it signals the
whole process group: SIGTERM first, SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

GRACE_S = 5.0


class TrialProcess:
    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        log_path: Path,
        deadline_s: float | None = None,
    ) -> None:
        self.log_path = log_path
        self.deadline_s = deadline_s
        self.timed_out = False
        self.started = time.monotonic()
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in close(), the process outlives this call
        try:
            self._proc = subprocess.Popen(
                list(argv), cwd=cwd, env=dict(env), stdout=self._log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        except OSError:
            self._log.close()
            raise

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def poll(self) -> int | None:
        """The exit code once finished; a trial past its deadline is stopped and reported finished."""
        code = self._proc.poll()
        if code is None and self.deadline_s is not None and self.elapsed_s > self.deadline_s:
            self.timed_out = True
            return self.stop()
        return code

    def stop(self, grace_s: float = GRACE_S) -> int:
        """Terminate the process group and wait; returns the exit code."""
        if self._proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self._proc.wait()
        self._signal(signal.SIGKILL)  # stragglers of the group (ranks a launcher left behind)
        return self._proc.returncode

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        self._log.close()

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, sig)
