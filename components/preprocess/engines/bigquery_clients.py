"""The google-cloud clients of the BigQuery adapter and where their credentials come from.

Credentials are never passed in by kwp: the client library finds Application Default Credentials
(Workload Identity on GKE). The one exception is a plain ``http://`` endpoint, which is a local emulator
and gets anonymous credentials, so that no real token is ever sent over an unencrypted channel.
"""

from __future__ import annotations

from typing import Any

from google.cloud import bigquery

from components.preprocess.engines.base import WarehouseError


def is_plaintext(api_endpoint: str | None) -> bool:
    """An ``http://`` endpoint: an emulator on loopback, never sent credentials."""
    return bool(api_endpoint and api_endpoint.startswith("http://"))


def make_client(project: str, location: str | None, api_endpoint: str | None) -> bigquery.Client:
    """A BigQuery REST client; a clear error when no credentials can be found."""
    from google.api_core.client_options import ClientOptions
    from google.auth.exceptions import DefaultCredentialsError

    options = ClientOptions(api_endpoint=api_endpoint) if api_endpoint else None
    credentials = None
    if is_plaintext(api_endpoint):
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()
    try:
        return bigquery.Client(project=project, location=location, credentials=credentials,
                               client_options=options)
    except DefaultCredentialsError as err:
        raise WarehouseError(
            "no Google credentials found for BigQuery: use Workload Identity on GKE or "
            "`gcloud auth application-default login` locally (see docs/warehouses.md)"
        ) from err


def make_read_client(api_endpoint: str | None, read_endpoint: str | None) -> Any:
    """A Storage Read client: insecure gRPC to an emulator's ``read_endpoint``, else the (private) service."""
    from google.cloud import bigquery_storage

    if is_plaintext(api_endpoint):
        import grpc
        from google.cloud.bigquery_storage_v1.services.big_query_read.transports import (
            BigQueryReadGrpcTransport,
        )

        channel = grpc.insecure_channel(read_endpoint)
        return bigquery_storage.BigQueryReadClient(transport=BigQueryReadGrpcTransport(channel=channel))
    from google.api_core.client_options import ClientOptions

    options = ClientOptions(api_endpoint=read_endpoint) if read_endpoint else None
    return bigquery_storage.BigQueryReadClient(client_options=options)
