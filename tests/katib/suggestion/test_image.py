"""The suggestion image's Dockerfile copies every module the service needs, and nothing heavy."""

from __future__ import annotations

import glob
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO_ROOT / "images" / "katib-suggestion" / "Dockerfile"


def _copied_sources() -> list[tuple[list[str], str]]:
    """(source patterns, destination) of each ``COPY katib/...`` line."""
    copies = []
    for line in DOCKERFILE.read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and words[1].startswith("katib/"):
            copies.append((words[1:-1], words[-1]))
    return copies


def test_dockerfile_pins_base_runs_as_non_root_and_serves_on_6789():
    text = DOCKERFILE.read_text()
    assert "python:3.11.11-slim-bookworm" in text
    assert "USER 1000" in text
    assert "EXPOSE 6789" in text
    assert 'ENTRYPOINT ["python", "-m", "katib.suggestion", "--port", "6789"]' in text
    assert "requirements.txt" in text


def test_image_layout_imports_the_service_without_kfp_or_torch(tmp_path):
    app = tmp_path / "app"
    for patterns, destination in _copied_sources():
        target = app / destination
        target.mkdir(parents=True, exist_ok=True)
        for pattern in patterns:
            matches = glob.glob(str(REPO_ROOT / pattern))
            assert matches, f"COPY {pattern} matches nothing"
            for match in matches:
                shutil.copy(match, target)
    probe = (
        "import sys, katib.suggestion.service as s, katib.suggestion.__main__; "
        "assert s.__file__.startswith(sys.argv[1]), s.__file__; "
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('kfp', 'torch', 'components')); "
        "assert not heavy, heavy"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(app)],
        cwd=app,
        env={"PYTHONPATH": str(app), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
