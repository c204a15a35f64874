"""Artifact URIs as the job pods see them, and copying a model directory back to the launcher.

KFP gives every artifact a URI (gs://, s3://, or minio:// on a default Kubeflow install) and the
launcher a local path for it. The job pods only get URIs; the trainer opens them through pyarrow's
filesystems, which know gs:// and s3:// but not minio://. Given the MinIO endpoint, a
``minio://bucket/key`` becomes ``s3://bucket/key`` and the pods get ``AWS_ENDPOINT_URL`` (which
pyarrow's S3 client honours) plus the keys through ``secret_env``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

from components.train.launchers.errors import LauncherConfigError

POD_SCHEMES = ("gs", "s3", "file")


def pod_uri(uri: str, s3_endpoint: str | None = None) -> str:
    """The form of ``uri`` the job pods can open; LauncherConfigError for what they cannot."""
    scheme = urlsplit(uri).scheme if "://" in uri else ""
    if scheme in POD_SCHEMES:
        return uri
    if not scheme and uri.startswith("/"):
        return uri  # a path on a volume every pod mounts at the same place
    if scheme == "minio":
        if not s3_endpoint:
            raise LauncherConfigError(
                f"artifact {uri!r} is on MinIO; pass s3_endpoint (e.g. 'http://minio-service.kubeflow:9000') "
                "and the MinIO keys as AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY through secret_env"
            )
        return "s3://" + uri.split("://", 1)[1]
    raise LauncherConfigError(
        f"artifact {uri!r} cannot be opened by the job pods; use a pipeline root on gs://, s3:// or minio://"
    )


def check_endpoint(s3_endpoint: str) -> str:
    """``http(s)://host:port`` or LauncherConfigError."""
    parts = urlsplit(s3_endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LauncherConfigError(f"s3_endpoint={s3_endpoint!r}; expected http(s)://host:port")
    return s3_endpoint


def uri_exists(uri: str, s3_endpoint: str | None = None) -> bool:
    if "://" not in uri:
        return Path(uri).exists()
    import pyarrow.fs as pafs

    filesystem, inner = _filesystem(uri, s3_endpoint)
    return filesystem.get_file_info(inner).type != pafs.FileType.NotFound


def fetch_dir(uri: str, local_dir: str, s3_endpoint: str | None = None) -> None:
    """Copy a model directory from ``uri`` to ``local_dir`` unless it is already there (same path, or a
    FUSE mount such as Vertex AI's /gcs that shows the object store's files)."""
    target = Path(local_dir)
    if (target / "metrics.json").is_file():
        return
    if "://" not in uri or uri.startswith("file://"):
        source = Path(uri.removeprefix("file://"))
        if source.resolve() != target.resolve():
            shutil.copytree(source, target, dirs_exist_ok=True)
        return
    import pyarrow.fs as pafs

    filesystem, inner = _filesystem(uri, s3_endpoint)
    target.mkdir(parents=True, exist_ok=True)
    pafs.copy_files(inner, str(target.absolute()), source_filesystem=filesystem)


def _filesystem(uri: str, s3_endpoint: str | None):
    import pyarrow.fs as pafs

    if s3_endpoint and uri.startswith("s3://"):
        parts = urlsplit(check_endpoint(s3_endpoint))
        return pafs.S3FileSystem(endpoint_override=parts.netloc, scheme=parts.scheme), uri[len("s3://") :]
    return pafs.FileSystem.from_uri(uri)
