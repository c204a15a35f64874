"""bigquery_clients: an emulator endpoint gets anonymous credentials; missing ADC is a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials

from components.preprocess.engines.base import WarehouseError
from components.preprocess.engines.bigquery_clients import is_plaintext, make_client, make_read_client


def test_only_http_endpoints_count_as_emulators() -> None:
    assert is_plaintext("http://127.0.0.1:9050")
    assert not is_plaintext("https://bigquery-example.p.googleapis.com")
    assert not is_plaintext(None)


def test_an_emulator_endpoint_never_gets_real_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Were ADC consulted, this missing key file would raise: the emulator client must not look.
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    client = make_client("proj", "EU", "http://127.0.0.1:9")
    try:
        assert isinstance(client._credentials, AnonymousCredentials)
        assert (client.project, client.location) == ("proj", "EU")
    finally:
        client.close()


def test_missing_application_default_credentials_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with pytest.raises(WarehouseError, match="no Google credentials found for BigQuery"):
        make_client("proj", None, None)


def test_an_emulator_read_client_uses_a_plaintext_grpc_channel() -> None:
    from google.cloud.bigquery_storage_v1.services.big_query_read.transports import BigQueryReadGrpcTransport

    reader = make_read_client("http://127.0.0.1:9", "127.0.0.1:10")
    try:
        assert isinstance(reader.transport, BigQueryReadGrpcTransport)
    finally:
        reader.transport.close()
