"""Compile every shipped pipeline to ``DIR/<name>.yaml``, deterministically.

The files are what users upload to the Kubeflow UI or pass to ``kfp.Client``.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.registry import PIPELINES, load_pipeline


def compile_pipeline(name: str, out_dir: str | Path) -> Path:
    """Compile one pipeline; the file name is the pipeline's registry name."""
    from kfp import compiler

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.yaml"
    compiler.Compiler().compile(load_pipeline(name), package_path=str(path))
    return path


def compile_all(out_dir: str | Path) -> list[Path]:
    return [compile_pipeline(name, out_dir) for name in PIPELINES]
