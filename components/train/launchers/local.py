"""Run the training entry point on this machine under ``torchrun --standalone``.

The same arguments a PyTorchJob pod gets; torchrun starts ``nproc_per_node`` processes and a c10d
rendezvous on a free local port, so several local runs can share a machine.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from components.train.launchers.command import ENTRY_MODULE, local_command
from components.train.launchers.errors import LauncherConfigError, LocalRunError

KILL_GRACE_S = 10.0
# Lines worth repeating at the top of an error: the trainer's own "error: ..." line and exception lines,
# which torchrun's ChildFailedError report would otherwise bury.
_ERROR_LINE = re.compile(r"^(error: |(\w+\.)*\w*(Error|Exception): )")


def print_line(line: str) -> None:
    """Default output of the launchers: stdout, flushed at once so KFP's log view keeps up."""
    print(line, flush=True)


@dataclass(frozen=True)
class LocalOutcome:
    returncode: int
    tail: str
    command: tuple[str, ...]


class LocalLauncher:
    """Runs ``python -m torch.distributed.run --standalone ... -m components.train ARGS``.

    ``module`` replaces ``components.train`` (tests run a stand-in that sleeps or fails on purpose).
    """

    def __init__(
        self,
        nproc_per_node: int = 1,
        *,
        max_restarts: int = 0,
        timeout_s: float | None = None,
        tail_lines: int = 60,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        python: str = sys.executable,
        module: str = ENTRY_MODULE,
        echo: Callable[[str], None] = print_line,
    ) -> None:
        if timeout_s is not None and timeout_s <= 0:
            raise LauncherConfigError(f"timeout_s={timeout_s} must be > 0 (or None for no limit)")
        self.nproc_per_node, self.max_restarts = nproc_per_node, max_restarts
        self.timeout_s, self.tail_lines = timeout_s, tail_lines
        self.env, self.cwd, self.python, self.module, self.echo = env, cwd, python, module, echo

    def command(self, entry_args: Sequence[str]) -> list[str]:
        return local_command(entry_args, self.nproc_per_node, self.max_restarts, self.python, self.module)

    def run(self, entry_args: Sequence[str]) -> LocalOutcome:
        """Run to the end, echoing every output line; LocalRunError with the tail on failure."""
        command = self.command(entry_args)
        self.echo("running: " + " ".join(command))
        tail: collections.deque[str] = collections.deque(maxlen=self.tail_lines)
        errors: collections.deque[str] = collections.deque(maxlen=5)
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(self.env or {})},
            cwd=self.cwd,
            start_new_session=True,  # one process group: a timeout stops torchrun and all its workers
        )
        reader = threading.Thread(target=self._pump, args=(process, tail, errors), daemon=True)
        reader.start()
        try:
            returncode = process.wait(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            _stop(process)
            reader.join(timeout=KILL_GRACE_S)
            raise LocalRunError(
                f"torchrun did not finish within {self.timeout_s:.0f} s and was stopped; last output:\n"
                + "\n".join(tail),
                returncode=process.returncode if process.returncode is not None else -1,
                tail="\n".join(tail),
            ) from None
        except BaseException:
            _stop(process)  # interrupted: never leave worker processes behind
            raise
        reader.join()
        text = "\n".join(tail)
        if returncode != 0:
            found = "".join(f"\n  {line}" for line in errors)
            raise LocalRunError(
                f"torchrun exited with status {returncode} ({self.nproc_per_node} processes)"
                + (f"; errors:{found}" if found else "")
                + f"\nlast {len(tail)} lines of output:\n{text}",
                returncode=returncode,
                tail=text,
            )
        return LocalOutcome(returncode, text, tuple(command))

    def _pump(
        self, process: subprocess.Popen, tail: collections.deque[str], errors: collections.deque[str]
    ) -> None:
        assert process.stdout is not None  # set by Popen(stdout=PIPE)
        for line in process.stdout:
            line = line.rstrip("\n")
            tail.append(line)
            if _ERROR_LINE.match(line) and "ChildFailedError" not in line:
                errors.append(line)
            self.echo(line)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the whole process group, then SIGKILL whatever is left after a grace period."""
    if process.poll() is not None:
        return
    for sig, wait_s in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue
