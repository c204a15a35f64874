"""The DARTS trial reads its data from object-store URIs (gs://, s3://, file://) through pyarrow.fs.

``file://`` takes the same path as ``gs://`` and ``s3://`` (``pyarrow.fs.FileSystem.from_uri``). For
``s3://`` no S3 server runs on a test machine, so ``FakeS3Server`` (a read-only stand-in on loopback:
HEAD and ranged GET of objects under a local directory, 404 for anything else) plays MinIO, reached
through ``AWS_ENDPOINT_URL`` exactly as a trial pod of the tune step reaches it.
"""

from __future__ import annotations

import http.server
import json
import re
import shutil
import threading
from email.utils import formatdate
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from katib.darts.cli import main
from katib.darts.data import load_image_table, read_stats
from katib.darts.errors import DataError


class FakeS3Server(http.server.ThreadingHTTPServer):
    """Serves ``root/<bucket>/<key>`` as S3 objects (path-style), and records each request."""

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _FakeS3Handler)
        self.root = root
        self.requests: list[tuple[str, str]] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


class _FakeS3Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeS3Server

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        self.server.requests.append((self.command, self.path))
        key = self.path.split("?", 1)[0].lstrip("/")
        path = self.server.root / key
        if not key or not path.is_file():
            payload = b"<Error><Code>NoSuchKey</Code></Error>"
            self.send_response(404)
            self.send_header("Content-Length", str(len(payload) if body else 0))
            self.end_headers()
            if body:
                self.wfile.write(payload)
            return
        data = path.read_bytes()
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
        if body and match:
            start = int(match[1])
            end = int(match[2]) if match[2] else len(data) - 1
            data_range = data[start : end + 1]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{start + len(data_range) - 1}/{len(data)}")
            data = data_range
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Last-Modified", formatdate(usegmt=True))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def minio(tmp_path, monkeypatch, digits_parquet, digits_stats):
    """A FakeS3Server holding bucket ``mlpipeline`` with the digits table and its statistics."""
    bucket = tmp_path / "s3" / "mlpipeline" / "run"
    bucket.mkdir(parents=True)
    shutil.copy(digits_parquet, bucket / "train.parquet")
    shutil.copy(digits_stats, bucket / "stats.json")
    server = FakeS3Server(tmp_path / "s3")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    for name, value in {
        "AWS_ENDPOINT_URL": server.endpoint,
        "AWS_ACCESS_KEY_ID": "minio",
        "AWS_SECRET_ACCESS_KEY": "minio123",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    yield server
    server.shutdown()
    server.server_close()


def test_file_uris_read_the_same_table_as_local_paths(digits_parquet, digits_stats):
    local = load_image_table(digits_parquet, stats_path=digits_stats)
    remote = load_image_table(digits_parquet.as_uri(), stats_path=digits_stats.as_uri())
    assert (
        read_stats(digits_stats.as_uri())
        == read_stats(str(digits_stats))
        == json.loads(digits_stats.read_text())
    )
    np.testing.assert_array_equal(remote.features, local.features)
    np.testing.assert_array_equal(remote.labels, local.labels)
    assert remote.feature_columns == local.feature_columns and remote.input_shape == (1, 8, 8)


def test_a_parquet_directory_uri_is_read_whole(tmp_path, digits_parquet):
    table = pq.read_table(digits_parquet)
    folder = tmp_path / "split"
    folder.mkdir()
    pq.write_table(table.slice(0, 40), folder / "part-0.parquet")
    pq.write_table(table.slice(40), folder / "part-1.parquet")
    assert len(load_image_table(folder.as_uri())) == len(load_image_table(str(folder))) == table.num_rows


@pytest.mark.parametrize(
    "uri, message",
    [
        ("minio://mlpipeline/run/train.parquet", "cannot open 'minio://.*gs://, s3:// or file:// URI"),
        ("file://relative/train.parquet", "cannot open 'file://relative"),
    ],
)
def test_unusable_uris_are_data_errors(uri, message):
    with pytest.raises(DataError, match=message):
        load_image_table(uri)
    with pytest.raises(DataError, match=message):
        read_stats(uri)


def test_missing_file_uris_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="cannot read statistics JSON file://"):
        read_stats((tmp_path / "nope.json").as_uri())
    with pytest.raises(DataError, match="cannot read Parquet data file://"):
        load_image_table((tmp_path / "nope.parquet").as_uri())


def test_s3_uris_go_to_the_endpoint_in_aws_endpoint_url(minio, digits_parquet, digits_stats):
    table = load_image_table("s3://mlpipeline/run/train.parquet", stats_path="s3://mlpipeline/run/stats.json")
    np.testing.assert_array_equal(
        table.features, load_image_table(digits_parquet, stats_path=digits_stats).features
    )
    assert {path.split("?")[0] for _, path in minio.requests} == {
        "/mlpipeline/run/train.parquet",
        "/mlpipeline/run/stats.json",
    }
    with pytest.raises(DataError, match=r"cannot read statistics JSON s3://mlpipeline/run/missing\.json"):
        read_stats("s3://mlpipeline/run/missing.json")


def test_the_trial_command_searches_on_s3_data(minio, tmp_path, capsys):
    settings = (
        "{'num_epochs': '1', 'batch_size': '32', 'num_workers': '0', 'init_channels': '4', 'num_nodes': '1'}"
    )
    code = main(
        ["--algorithm-settings", settings, "--search-space", '["max_pooling_3x3", "skip_connection"]',
         "--num-layers", "1", "--data", "s3://mlpipeline/run/train.parquet",
         "--stats", "s3://mlpipeline/run/stats.json", "--output-dir", str(tmp_path / "out"),
         "--device", "cpu", "--threads", "1"]
    )  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "Best-Genotype=Genotype(" in printed.out
    report = json.loads((tmp_path / "out" / "search_metrics.json").read_text())
    assert report["data"] == "s3://mlpipeline/run/train.parquet" and report["feature_columns"][0] == "pixel_0"
