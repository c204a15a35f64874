"""Upload a compiled pipeline to a Kubeflow Pipelines server and start a run (``kwp submit``)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.compile import compile_pipeline


@dataclass(frozen=True)
class SubmittedRun:
    run_id: str
    url: str


def default_client_factory(host: str, namespace: str | None) -> Any:
    """A real ``kfp.Client``; credentials come from the environment as kfp documents."""
    import kfp

    return kfp.Client(host=host, namespace=namespace)


def submit(
    name: str,
    host: str,
    arguments: Mapping[str, Any],
    *,
    experiment: str = "kwp",
    namespace: str | None = None,
    run_name: str | None = None,
    client_factory: Callable[[str, str | None], Any] = default_client_factory,
) -> SubmittedRun:
    """Compile ``name`` and start a run of it on the server at ``host``."""
    client = client_factory(host, namespace)
    with tempfile.TemporaryDirectory() as tmp:
        package = compile_pipeline(name, tmp)
        result = client.create_run_from_pipeline_package(
            str(Path(package)),
            arguments=dict(arguments),
            run_name=run_name or name,
            experiment_name=experiment,
            namespace=namespace,
        )
    run_id = result.run_id
    return SubmittedRun(run_id=run_id, url=f"{host.rstrip('/')}/#/runs/details/{run_id}")
