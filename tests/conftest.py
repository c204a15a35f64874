"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"

# Keep every test on the loopback interface and on CPU, whatever the machine offers.
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def kfp_local(tmp_path: Path):
    """Initialise ``kfp.local`` with the in-process subprocess runner (no containers, no venv)."""
    from kfp import local

    root = tmp_path / "pipeline_root"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root), raise_on_error=True)
    return root


@pytest.fixture
def golden():
    """``golden("sql/duckdb/stats.sql", text)`` compares text with tests/golden/<path>.

    Set KWP_UPDATE_GOLDEN=1 to (re)write the files instead; a missing file is a failure otherwise.
    """

    def check(relative: str, text: str) -> None:
        path = GOLDEN_DIR / relative
        if os.environ.get("KWP_UPDATE_GOLDEN") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            return
        if not path.exists():
            pytest.fail(f"golden file {path} is missing; run with KWP_UPDATE_GOLDEN=1 to create it")
        assert text == path.read_text(), f"output differs from golden file {path}"

    return check


class FakeClock:
    """Monotonic time that only moves when slept on, so waiting for hours in a test takes no time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    """A :class:`FakeClock`; pass it as ``clock=`` and its ``sleep`` as ``sleep=``."""
    return FakeClock()
