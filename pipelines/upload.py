"""Register a compiled pipeline in the Kubeflow Pipelines UI's Pipelines list (``kwp upload``).

A KFP server holds named pipelines, each with named versions. The rules here:

- the pipeline is found by display name (in ``namespace`` for a private pipeline, else among the shared
  ones) and created when missing. KFP's server names a new pipeline's first version after the pipeline
  itself, whatever the client asks;
- the version name defaults to :func:`package_version_name` (kwp's version + a digest of the package),
  so uploading unchanged code again finds that version, or the pipeline's first version when it holds
  the same package, and reuses it instead of adding a duplicate;
- an explicit version name that exists with a different package is refused before anything is
  uploaded: a version name must keep meaning one package.

Everything goes through the public ``kfp.Client`` methods, so this module takes a client and never
builds one (:mod:`pipelines.submit` does).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

DISTRIBUTION = "kubeflow-warehouse-pipelines"


class VersionConflictError(ValueError):
    """An explicit version name already names a different package on the server."""


@dataclass(frozen=True)
class RegisteredPipeline:
    """Where a package lives on the server, and whether this upload created it."""

    pipeline_name: str
    pipeline_id: str
    version_name: str
    version_id: str
    pipeline_created: bool
    version_created: bool
    url: str


def package_digest(text: str) -> str:
    """sha256 of the compiled YAML; kwp compiles deterministically, so unchanged code, same digest."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def package_version_name(text: str) -> str:
    """The default version name, e.g. ``0.1.0-3f2a9c0d1e4b``: readable, and unique per package."""
    try:
        release = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        release = "0+unknown"
    return f"{release}-{package_digest(text)[:12]}"


def version_url(host: str, pipeline_id: str, version_id: str) -> str:
    return f"{host.rstrip('/')}/#/pipelines/details/{pipeline_id}/version/{version_id}"


def register_package(
    client: Any,
    name: str,
    package: str | Path,
    *,
    host: str,
    namespace: str | None = None,
    version: str | None = None,
    description: str | None = None,
) -> RegisteredPipeline:
    """Make ``package`` a version of the pipeline ``name`` on the server behind ``client``.

    ``client`` is a ``kfp.Client``. ``namespace`` makes a new pipeline private to that Kubeflow profile
    (and looks for an existing one there); without it the pipeline is shared. ``description`` goes to
    a new pipeline, else to the new version; it defaults to the pipeline's own description.
    Raises :class:`VersionConflictError` (uploading nothing) when ``version`` already names a
    different package.
    """
    if version is not None and not version.strip():
        raise ValueError(f"version name {version!r} is empty: give a name, or leave it out for the default")
    upload = _Upload(client, host, name, str(package), Path(package).read_text(), description)
    wanted = version or package_version_name(upload.text)
    pipeline_id = find_pipeline_id(client, name, namespace)
    if pipeline_id is None:
        pipeline_id = client.upload_pipeline(
            upload.path, pipeline_name=name, namespace=namespace,
            description=description or _pipeline_description(upload.text),
        ).pipeline_id
        first = find_version(client, pipeline_id, name)
        if first is None:
            raise RuntimeError(f"the server created pipeline {name!r} ({pipeline_id}) without a version")
        if version is None or version == first.display_name:
            return upload.result(pipeline_id, first, pipeline_created=True, version_created=True)
        return upload.add_version(pipeline_id, wanted, pipeline_created=True)

    existing = find_version(client, pipeline_id, wanted)
    if existing is not None:
        # A default name carries the package digest, so a match is the same package already.
        if version is None or same_package(client, existing, upload.text):
            return upload.result(pipeline_id, existing, pipeline_created=False, version_created=False)
        raise VersionConflictError(
            f"pipeline {name!r} already has a version {wanted!r} with a different package; nothing was "
            f"uploaded. Choose another --version name, or leave --version out to name the version after "
            f"the package ({package_version_name(upload.text)})"
        )
    if version is None:
        first = find_version(client, pipeline_id, name)  # the version KFP made with the pipeline
        if first is not None and same_package(client, first, upload.text):
            return upload.result(pipeline_id, first, pipeline_created=False, version_created=False)
    return upload.add_version(pipeline_id, wanted, pipeline_created=False)


@dataclass(frozen=True)
class _Upload:
    """One package on its way to one server."""

    client: Any
    host: str
    name: str
    path: str
    text: str
    description: str | None

    def add_version(self, pipeline_id: str, version: str, *, pipeline_created: bool) -> RegisteredPipeline:
        added = self.client.upload_pipeline_version(
            self.path,
            pipeline_version_name=version,
            pipeline_id=pipeline_id,
            description=self.description or f"kwp package sha256:{package_digest(self.text)}",
        )
        return self.result(pipeline_id, added, pipeline_created=pipeline_created, version_created=True)

    def result(
        self, pipeline_id: str, version: Any, *, pipeline_created: bool, version_created: bool
    ) -> RegisteredPipeline:
        return RegisteredPipeline(
            pipeline_name=self.name,
            pipeline_id=pipeline_id,
            version_name=version.display_name or version.name,
            version_id=version.pipeline_version_id,
            pipeline_created=pipeline_created,
            version_created=version_created,
            url=version_url(self.host, pipeline_id, version.pipeline_version_id),
        )


def find_pipeline_id(client: Any, name: str, namespace: str | None) -> str | None:
    """The id of the pipeline displayed as ``name`` in ``namespace`` (shared pipelines: ``None``).

    ``kfp.Client.get_pipeline_id`` takes no namespace, so it can only ever see shared pipelines;
    ``list_pipelines`` with the same filter sees private ones too.
    """
    response = client.list_pipelines(filter=_name_filter(name), namespace=namespace, page_size=2)
    pipelines = response.pipelines or []
    if len(pipelines) > 1:
        ids = ", ".join(p.pipeline_id for p in pipelines)
        raise ValueError(f"several pipelines are named {name!r} ({ids}); rename or delete all but one")
    return pipelines[0].pipeline_id if pipelines else None


def find_version(client: Any, pipeline_id: str, version_name: str) -> Any | None:
    """The version of ``pipeline_id`` displayed as ``version_name``, if any."""
    response = client.list_pipeline_versions(pipeline_id, filter=_name_filter(version_name), page_size=1)
    versions = response.pipeline_versions or []
    return versions[0] if versions else None


def same_package(client: Any, stored_version: Any, text: str) -> bool:
    """Whether the server's copy of ``stored_version`` is the package ``text``.

    The server returns a version's package as ``pipeline_spec``: the PipelineSpec document, or
    ``{"pipeline_spec": ..., "platform_spec": ...}`` when the package has a kubernetes PlatformSpec
    (KFP's ``YamlStringToPipelineSpecStruct``). Numbers come back through JSON, so they are compared
    as numbers, not as the YAML's spelling.
    """
    stored = client.get_pipeline_version(stored_version.pipeline_id, stored_version.pipeline_version_id)
    if stored.pipeline_spec is None:
        return False
    return _canonical(stored.pipeline_spec) == _canonical(server_form(text))


def server_form(text: str) -> dict[str, Any]:
    """``text`` shaped as the server returns a stored package (see :func:`same_package`)."""
    pipeline_spec: dict[str, Any] = {}
    platform_spec: dict[str, Any] | None = None
    for document in yaml.safe_load_all(text):
        if not document:
            continue
        if "kubernetes" in (document.get("platforms") or {}):
            platform_spec = document
        else:
            pipeline_spec = document
    if platform_spec is None:
        return pipeline_spec
    return {"pipeline_spec": pipeline_spec, "platform_spec": platform_spec}


def _name_filter(name: str) -> str:
    """A KFP list filter (``filter.proto``) matching one display name exactly."""
    return json.dumps({"predicates": [{"operation": "EQUALS", "key": "display_name", "stringValue": name}]})


def _pipeline_description(text: str) -> str | None:
    first = next((d for d in yaml.safe_load_all(text) if d), {})
    return (first.get("pipelineInfo") or {}).get("description")


def _canonical(value: Any) -> Any:
    """JSON-comparable form: every number a float (JSON has one number type), bools kept apart."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return json.loads(json.dumps(value, default=str))
