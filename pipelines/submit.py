"""Upload a compiled pipeline to a Kubeflow Pipelines server and start a run (``kwp submit``)."""

from __future__ import annotations

import tempfile
import warnings
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
    """A real ``kfp.Client``; credentials come from the environment as kfp documents.

    Without ``namespace`` kfp keeps its own default (the saved ``kfp`` context or the multi-user
    profile of the caller) instead of being handed ``None``.
    """
    import kfp

    options = {"namespace": namespace} if namespace else {}
    with warnings.catch_warnings():  # kfp warns on every construction that it needs a v2 server
        warnings.simplefilter("ignore", FutureWarning)
        return kfp.Client(host=host, **options)


def submit(
    name: str,
    host: str,
    arguments: Mapping[str, Any],
    *,
    experiment: str = "kwp",
    namespace: str | None = None,
    run_name: str | None = None,
    service_account: str | None = None,
    client_factory: Callable[[str, str | None], Any] | None = None,
) -> SubmittedRun:
    """Compile ``name`` and start a run of it on the server at ``host``.

    The pipeline is compiled before connecting, so a pipeline that does not compile never reaches the
    server. ``service_account`` is the Kubernetes service account the run's pods use (e.g.
    ``kwp-launcher``, which may create training jobs). ``client_factory(host, namespace)`` defaults to
    :func:`default_client_factory`, looked up at call time so tests can replace it.
    """
    with tempfile.TemporaryDirectory() as tmp:
        package = compile_pipeline(name, tmp)
        client = (client_factory or default_client_factory)(host, namespace)
        result = client.create_run_from_pipeline_package(
            str(Path(package)),
            arguments=dict(arguments),
            run_name=run_name or name,
            experiment_name=experiment,
            namespace=namespace,
            service_account=service_account,
        )
    run_id = result.run_id
    return SubmittedRun(run_id=run_id, url=f"{host.rstrip('/')}/#/runs/details/{run_id}")
