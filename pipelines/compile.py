"""Compile every shipped pipeline to ``DIR/<name>.yaml`` and component to ``DIR/components/<name>.yaml``.

The pipeline files are what users upload to the Kubeflow UI or pass to ``kfp.Client``; the component
files are for pipelines of their own (``kfp.components.load_component_from_file``). Both are
deterministic: the same code compiles to the same bytes.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.registry import COMPONENTS, PIPELINES, load_component, load_pipeline

COMPONENTS_DIR = "components"


def compile_pipeline(name: str, out_dir: str | Path) -> Path:
    """Compile one pipeline; the file name is the pipeline's registry name."""
    return _compile(load_pipeline(name), Path(out_dir) / f"{name}.yaml")


def compile_component(name: str, out_dir: str | Path) -> Path:
    """Compile one component to ``out_dir/components/<name>.yaml``."""
    return _compile(load_component(name), Path(out_dir) / COMPONENTS_DIR / f"{name}.yaml")


def _compile(pipeline_or_component: object, path: Path) -> Path:
    from kfp import compiler

    path.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(pipeline_or_component, package_path=str(path))
    return path


def compile_all(out_dir: str | Path, components: bool = True) -> list[Path]:
    """Every pipeline, then (unless ``components=False``) every component."""
    paths = [compile_pipeline(name, out_dir) for name in PIPELINES]
    return paths + ([compile_component(name, out_dir) for name in COMPONENTS] if components else [])
