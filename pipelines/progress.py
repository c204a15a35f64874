"""A quiet view of a ``kfp.local`` run: one line per task on the terminal, the full log in a file.

``kfp.local`` prints every task's executor input, streamed subprocess output and outputs to stdout
(thousands of lines for one pipeline). :func:`quiet_kfp_output` diverts all of it into the run's log
file and writes to ``out`` each task's start, end and duration, with the training epochs and finished
Katib trials in between; when a task fails, the last lines of its log follow, so the error is on screen
without opening the file.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
TASK_STARTED = re.compile(r"Executing task '(?P<task>[^']+)'")
TASK_FINISHED = re.compile(r"Task '(?P<task>[^']+)' finished with status (?P<status>\w+)")
TASK_RETRY = re.compile(r"Task '?(?P<task>[^' ]+)'? failed \(attempt (?P<attempt>\d+)/(?P<attempts>\d+)\)\. "
                        r"Retrying in (?P<delay>[\d.]+)s")
#: What a task prints that is worth seeing while it runs: the trainer's epoch lines and the local
#: Katib runner's finished trials and final state (not each trial's start).
TASK_PROGRESS = re.compile(
    r"^(epoch=\d+ |\[[^\]]+\] trial \d+/\d+ (?!started)|\[[^\]]+\] (Succeeded|Failed) )"
)
#: The line a Python traceback ends with: ``[package.module.]SomeError: message``.
EXCEPTION_LINE = re.compile(
    r"^\s*(?:[A-Za-z_][\w.]*\.)?(?P<error>[A-Za-z_]\w*(?:Error|Exception)): (?P<message>\S.*)$"
)
#: Lines of a failed task's log shown on the terminal, and the width a progress line is cut to.
FAILURE_TAIL = 40
PROGRESS_WIDTH = 150


class ProgressLog(io.TextIOBase):
    """A text stream that copies everything to ``log`` and task progress lines to ``out``."""

    def __init__(self, log: TextIO, out: TextIO, clock: Callable[[], float] = time.perf_counter) -> None:
        self.log, self.out, self.clock = log, out, clock
        self._partial = ""
        self._task_lines: deque[str] = deque(maxlen=FAILURE_TAIL)
        self._started: dict[str, float] = {}
        #: ``SomeError: message`` that ended the last failed task's log, for the run's one-line error.
        self.last_error: str | None = None

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.log.write(text)
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._line(ANSI_ESCAPE.sub("", line))
        return len(text)

    def flush(self) -> None:
        self.log.flush()
        self.out.flush()

    def _line(self, line: str) -> None:
        started = TASK_STARTED.search(line)
        if started:
            self._task_lines.clear()
            self._started[started["task"]] = self.clock()
            print(f"  {started['task']} ...", file=self.out, flush=True)
            return
        retry = TASK_RETRY.search(line)
        if retry:
            print(f"  {retry['task']}: retrying in {float(retry['delay']):.0f} s "
                  f"(attempt {int(retry['attempt']) + 1} of {retry['attempts']})", file=self.out, flush=True)
            return
        finished = TASK_FINISHED.search(line)
        if not finished:
            self._task_lines.append(line)
            self._show_progress(line.strip())
            return
        task, status = finished["task"], finished["status"].lower()
        seconds = self.clock() - self._started.pop(task, self.clock())
        print(f"  {task}: {status} in {seconds:.1f} s", file=self.out, flush=True)
        if status != "success":
            self._show_tail(task)

    def _show_progress(self, text: str) -> None:
        if self._started and TASK_PROGRESS.match(text):
            cut = text if len(text) <= PROGRESS_WIDTH else text[: PROGRESS_WIDTH - 3] + "..."
            print(f"    {cut}", file=self.out, flush=True)

    def show_failure(self) -> None:
        """Report the task that was running when the pipeline stopped, with the end of its log.

        ``kfp.local`` raises instead of printing a failed task's end (``raise_on_error=True``).
        """
        for task, started in self._started.items():
            print(f"  {task}: failed after {self.clock() - started:.1f} s", file=self.out)
            self._show_tail(task)
        self._started.clear()

    def _show_tail(self, task: str) -> None:
        self.last_error = _last_exception(list(self._task_lines))
        print(f"  last lines of {task}'s log:", file=self.out)
        for kept in self._task_lines:
            print(f"  | {kept}", file=self.out)
        self.out.flush()


class _RetryMessages(logging.Handler):
    """Writes kfp.local's retry notices, and any warning, to a stream.

    kfp.local announces a retry with ``logging.info`` on the root logger, which is silent by default
    (level WARNING), so without this a retried step looks like a step started twice.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__(logging.INFO)
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.WARNING or TASK_RETRY.search(message):
            self.stream.write(message + "\n")


@contextlib.contextmanager
def retry_messages(stream: TextIO) -> Iterator[None]:
    """Route kfp.local's retry notices to ``stream`` for the duration (root logger level restored)."""
    root = logging.getLogger()
    handler, level = _RetryMessages(stream), root.level
    root.addHandler(handler)
    root.setLevel(min(level, logging.INFO) if level else logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _last_exception(lines: list[str]) -> str | None:
    """``SomeError: message`` from the last traceback in ``lines``, with the indented lines that continue
    a message ending in a colon (a list of problems, say), joined into one line."""
    found = [(i, m) for i, m in enumerate(map(EXCEPTION_LINE.match, lines)) if m]
    if not found:
        return None
    index, match = found[-1]
    text = f"{match['error']}: {match['message'].strip()}"
    if text.endswith(":"):
        indent = len(lines[index]) - len(lines[index].lstrip())
        more = itertools.takewhile(lambda line: len(line) - len(line.lstrip()) > indent and line.strip(),
                                   lines[index + 1:])
        text += " " + "; ".join(line.strip() for line in more)
    return text.rstrip(": ")


@contextlib.contextmanager
def quiet_kfp_output(log_path: Path, out: TextIO) -> Iterator[ProgressLog]:
    """Divert stdout and stderr (kfp.local's logs, its tasks' output, warnings) into ``log_path``."""
    with open(log_path, "a", encoding="utf-8") as log:
        stream = ProgressLog(log, out)
        with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream), retry_messages(stream):
            try:
                yield stream
            finally:
                stream.flush()
