"""Local paths and object-store URIs (gs://, s3://, file://) through one interface: ``pyarrow.fs``.

pyarrow ships the GCS and S3 clients the runtime image needs, so the trainer reads Parquet and writes
the model directory without fsspec plugins. Credentials come from the environment as usual
(GOOGLE_APPLICATION_CREDENTIALS / workload identity, AWS_* variables).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow.fs as pafs

from components.train.errors import OutputError


def is_uri(path: str) -> bool:
    """True for ``scheme://...`` addresses (including ``file://``), False for plain local paths."""
    return "://" in str(path)


def resolve(path: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem and the path inside it for a local path or a URI."""
    if is_uri(path):
        return pafs.FileSystem.from_uri(str(path))
    return pafs.LocalFileSystem(), str(Path(path).absolute())


def normalize(path: str) -> str:
    """A URI as given, a local path made absolute: the same file named from another directory matches."""
    return str(path) if is_uri(path) else str(Path(path).absolute())


def read_bytes(path: str) -> bytes:
    fs, inner = resolve(path)
    with fs.open_input_stream(inner) as stream:
        return stream.read()


def read_text(path: str) -> str:
    return read_bytes(path).decode("utf-8")


def exists(path: str) -> bool:
    fs, inner = resolve(path)
    return fs.get_file_info(inner).type != pafs.FileType.NotFound


def check_writable(directory: str) -> None:
    """Create ``directory`` if needed and write then delete a probe file, so a bad output location
    fails in seconds instead of after training."""
    probe_name = f".kwp-write-probe-{uuid.uuid4().hex}"
    try:
        if is_uri(directory):
            fs, inner = resolve(directory)
            fs.create_dir(inner, recursive=True)
            probe = f"{inner.rstrip('/')}/{probe_name}"
            with fs.open_output_stream(probe) as stream:
                stream.write(b"ok")
            fs.delete_file(probe)
            return
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        probe = path / probe_name
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"cannot write to {directory!r}: {exc}") from exc


def upload_dir(local_dir: str | os.PathLike[str], uri: str) -> None:
    """Copy a local directory tree to a URI (used when the model directory is in an object store)."""
    fs, inner = resolve(uri)
    fs.create_dir(inner, recursive=True)
    pafs.copy_files(str(Path(local_dir).absolute()), inner, destination_filesystem=fs)
