"""Talk to a Kubeflow Pipelines server: register a pipeline (``kwp upload``) and start runs (``kwp submit``).

A plain ``submit`` uploads the package with the run (a one-off run, not listed under Pipelines);
``submit(register=True)`` first registers the package as a pipeline version (rules in
:mod:`pipelines.upload`) and runs that version, so the run links to it in the UI.
"""

from __future__ import annotations

import dataclasses
import tempfile
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.compile import compile_pipeline
from pipelines.params import check_required, check_values
from pipelines.registry import load_pipeline
from pipelines.upload import RegisteredPipeline, register_package

#: How KFP's API reports a run that ended well; any other final state is a failure to the caller.
SUCCEEDED = "SUCCEEDED"


class ServerUnreachableError(ConnectionError):
    """No KFP API answered at the given host."""


class RunTimeoutError(TimeoutError):
    """``wait_s`` passed and the run had not finished; it keeps running on the server."""


@dataclass(frozen=True)
class SubmittedRun:
    run_id: str
    url: str
    registered: RegisteredPipeline | None = None  # the pipeline version run, with ``register=True``
    state: str | None = None  # the final state, when the caller waited (``wait_s``)

    @property
    def succeeded(self) -> bool:
        return self.state == SUCCEEDED


def default_client_factory(host: str, namespace: str | None) -> Any:
    """A real ``kfp.Client``; credentials come from the environment as kfp documents.

    Without ``namespace`` kfp keeps its own default (the saved ``kfp`` context or the multi-user
    profile of the caller) instead of being handed ``None``.
    """
    import kfp
    from urllib3.exceptions import HTTPError

    options = {"namespace": namespace} if namespace else {}
    with warnings.catch_warnings():  # kfp warns on every construction that it needs a v2 server
        warnings.simplefilter("ignore", FutureWarning)
        try:
            return kfp.Client(host=host, **options)  # it checks the API's health endpoint at once
        except HTTPError as error:
            raise ServerUnreachableError(
                f"no KFP API answers at {host} ({_connection_reason(error)}); --host is the API endpoint, "
                "e.g. https://kubeflow.example.com/pipeline, or http://localhost:8080 after "
                "`kubectl port-forward -n kubeflow svc/ml-pipeline-ui 8080:80`"
            ) from error


def _connection_reason(error: Exception) -> str:
    """The operating system's words (``[Errno 111] Connection refused``) rather than urllib3's retry story."""
    text = str(getattr(error, "reason", None) or error)
    return text[text.index("[Errno"):].rstrip(")\"'") if "[Errno" in text else text


def upload(
    name: str,
    host: str,
    *,
    namespace: str | None = None,
    version: str | None = None,
    description: str | None = None,
    client_factory: Callable[[str, str | None], Any] | None = None,
) -> RegisteredPipeline:
    """Compile ``name`` and register it as a pipeline version on the server at ``host``.

    See :func:`pipelines.upload.register_package` for naming, reuse and refusal. ``namespace`` makes
    a new pipeline private to that profile; without it the pipeline is shared.
    """
    with tempfile.TemporaryDirectory() as tmp:
        package = compile_pipeline(name, tmp)
        client = (client_factory or default_client_factory)(host, namespace)
        return register_package(
            client, name, package, host=host, namespace=namespace, version=version, description=description
        )


def submit(
    name: str,
    host: str,
    arguments: Mapping[str, Any],
    *,
    experiment: str = "kwp",
    namespace: str | None = None,
    run_name: str | None = None,
    service_account: str | None = None,
    register: bool = False,
    version: str | None = None,
    description: str | None = None,
    wait_s: int | None = None,
    client_factory: Callable[[str, str | None], Any] | None = None,
) -> SubmittedRun:
    """Compile ``name`` and start a run of it on the server at ``host``.

    With ``wait_s`` it also waits up to that many seconds for the run to end and returns its final
    state (``SubmittedRun.state``), or raises :class:`RunTimeoutError`: what a CI job needs.

    The arguments are checked first (:func:`pipelines.params.check_values`, then the parameters
    without a default) and the pipeline is compiled before connecting, so neither a bad argument nor
    a pipeline that does not compile reaches the server. ``service_account`` is the Kubernetes service
    account the run's pods use (e.g. ``kwp-launcher``, which may create training jobs). With
    ``register`` the package is first registered as in :func:`upload` (``version``, ``description``)
    and the run starts from that version. ``client_factory(host, namespace)`` defaults to
    :func:`default_client_factory`, looked up at call time so tests can replace it.
    """
    if wait_s is not None and wait_s <= 0:
        raise ValueError(f"wait_s={wait_s} must be a positive number of seconds; nothing was started")
    if not register and (version or description):
        raise ValueError(
            "a version name or description needs register=True (kwp submit --register): without it the run "
            "is a one-off, not a pipeline version"
        )
    check_values(arguments)
    check_required(load_pipeline(name), arguments)
    with tempfile.TemporaryDirectory() as tmp:
        package = compile_pipeline(name, tmp)
        client = (client_factory or default_client_factory)(host, namespace)
        if register:
            registered = register_package(client, name, package, host=host, namespace=namespace,
                                          version=version, description=description)
            run = _run_version(client, host, registered, arguments, experiment, namespace,
                               run_name or name, service_account)
        else:
            result = client.create_run_from_pipeline_package(
                str(Path(package)),
                arguments=dict(arguments),
                run_name=run_name or name,
                experiment_name=experiment,
                namespace=namespace,
                service_account=service_account,
            )
            run = SubmittedRun(run_id=result.run_id, url=run_url(host, result.run_id))
    return run if wait_s is None else _wait(client, run, wait_s)


def _wait(client: Any, run: SubmittedRun, wait_s: int) -> SubmittedRun:
    """Poll the run through ``kfp.Client.wait_for_run_completion`` until it ends or ``wait_s`` passes."""
    try:
        final = client.wait_for_run_completion(run.run_id, timeout=wait_s)
    except TimeoutError:
        raise RunTimeoutError(
            f"run {run.run_id} had not finished after {wait_s} s; it keeps running: {run.url}"
        ) from None
    return dataclasses.replace(run, state=str(final.state))


def run_url(host: str, run_id: str) -> str:
    return f"{host.rstrip('/')}/#/runs/details/{run_id}"


def _run_version(
    client: Any,
    host: str,
    registered: RegisteredPipeline,
    arguments: Mapping[str, Any],
    experiment: str,
    namespace: str | None,
    run_name: str,
    service_account: str | None,
) -> SubmittedRun:
    """Start a run of a registered version in ``experiment`` (created when missing, as kfp does)."""
    found = client.create_experiment(experiment, namespace=namespace)
    run = client.run_pipeline(
        experiment_id=found.experiment_id,
        job_name=run_name,
        params=dict(arguments),
        pipeline_id=registered.pipeline_id,
        version_id=registered.version_id,
        service_account=service_account,
    )
    return SubmittedRun(run_id=run.run_id, url=run_url(host, run.run_id), registered=registered)
