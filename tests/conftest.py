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


def update_golden() -> bool:
    """Set KWP_UPDATE_GOLDEN=1 to rewrite golden files instead of comparing with them."""
    return os.environ.get("KWP_UPDATE_GOLDEN") == "1"


def assert_golden(relative: str, text: str) -> None:
    """Compare ``text`` with tests/golden/<relative>, or write it when KWP_UPDATE_GOLDEN=1."""
    path = GOLDEN_DIR / relative
    if update_golden() or not path.exists():
        if not update_golden():
            pytest.fail(f"golden file {path} is missing; run with KWP_UPDATE_GOLDEN=1 to create it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    assert text == path.read_text(), f"output differs from golden file {path}"
