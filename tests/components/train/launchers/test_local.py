"""LocalLauncher: torchrun --standalone as a subprocess, streamed output, clear errors, timeouts."""

from __future__ import annotations

import sys

import psutil
import pytest

from components.train.launchers import LauncherConfigError, LocalLauncher, LocalRunError, local_command


def test_local_command_is_torchrun_standalone_through_this_interpreter():
    command = local_command(["--train", "t"], nproc_per_node=2, max_restarts=1)
    assert command == [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nnodes=1",
        "--nproc_per_node=2",
        "--max_restarts=1",
        "-m",
        "components.train",
        "--train",
        "t",
    ]
    with pytest.raises(LauncherConfigError, match="nproc_per_node=0"):
        local_command([], nproc_per_node=0)


@pytest.mark.slow
def test_failing_entry_point_raises_with_its_output_tail(tmp_path):
    lines: list[str] = []
    launcher = LocalLauncher(nproc_per_node=1, echo=lines.append, timeout_s=300)
    args = ["--train", str(tmp_path / "missing.parquet"), "--validation", str(tmp_path / "missing.parquet")]
    with pytest.raises(LocalRunError, match="torchrun exited with status") as failure:
        launcher.run([*args, "--model-dir", str(tmp_path / "model")])
    assert failure.value.returncode != 0
    # the trainer's own message heads the error, above torchrun's ChildFailedError report
    assert "errors:\n  error: data split" in str(failure.value) and "missing.parquet" in str(failure.value)
    assert "missing.parquet" in failure.value.tail
    assert any("missing.parquet" in line for line in lines)  # and was streamed while it ran
    assert lines[0].startswith("running: ")


@pytest.mark.slow
def test_timeout_stops_torchrun_and_its_workers():
    marker = "import time; time.sleep(120)  # kwp-local-timeout-test"
    launcher = LocalLauncher(module="timeit", timeout_s=6, echo=lambda line: None)
    with pytest.raises(LocalRunError, match="did not finish within 6 s"):
        launcher.run(["-n", "1", "-r", "1", marker])
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if marker in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []


def test_bad_timeout():
    with pytest.raises(LauncherConfigError, match="timeout_s=0"):
        LocalLauncher(timeout_s=0)
