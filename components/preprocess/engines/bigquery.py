"""BigQuery adapter: ``bigquery://PROJECT/DATASET?location=EU``.

Credentials are never part of the URL: the client finds them in the environment (Application Default
Credentials, which on GKE is Workload Identity). Statements run as query jobs that are waited for with a
timeout and cancelled when it passes; tables are read as a stream of Arrow record batches, through the
Storage Read API when it is available and REST pages otherwise.

Extra URL parameters, all optional and none secret:

- ``location``: where jobs run (``US``, ``EU``, ``europe-west4``); defaults to the dataset's location.
- ``timeout``: seconds a job may take before it is cancelled (default 3600).
- ``storage_api``: ``false`` reads over REST pages even where the Storage Read API is allowed.
- ``api_endpoint`` / ``read_endpoint``: private endpoints (Private Service Connect) or a local emulator.
  A plain ``http://`` endpoint never receives credentials: it is treated as an emulator on loopback and
  its ``read_endpoint`` (``host:port``) is reached over an insecure gRPC channel.

Beside this module: ``bigquery_url`` (URL → keywords), ``bigquery_clients`` (clients and credentials),
``bigquery_types`` (Arrow ↔ BigQuery types).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import tempfile
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from google.api_core import exceptions as gexc
from google.cloud import bigquery
from sqlglot import exp

from components.preprocess.engines import WarehouseUrl
from components.preprocess.engines.base import (
    Engine,
    TableExistsError,
    TableNotFoundError,
    TableRef,
    WarehouseError,
)
from components.preprocess.engines.bigquery_clients import is_plaintext, make_client, make_read_client
from components.preprocess.engines.bigquery_types import bigquery_type, load_arrow_type, scalar, type_name
from components.preprocess.engines.bigquery_url import FORM, SCHEME, parse_url

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 3600.0
JOB_LABELS = {"created-by": "kwp"}

__all__ = ["DEFAULT_TIMEOUT_S", "FORM", "JOB_LABELS", "SCHEME", "BigQueryEngine", "parse_url"]


class BigQueryEngine(Engine):
    """Runs the builder's BigQuery SQL as query jobs in ``project`` with ``dataset`` as default.

    ``client`` and ``read_client`` may be passed in (tests, custom transports); otherwise they are
    created on first use, so building an engine needs neither credentials nor network.
    """

    dialect = "bigquery"

    def __init__(
        self,
        project: str,
        dataset: str,
        *,
        location: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        storage_api: bool = True,
        api_endpoint: str | None = None,
        read_endpoint: str | None = None,
        client: bigquery.Client | None = None,
        read_client: Any | None = None,
    ) -> None:
        self.project = project
        self.dataset = dataset
        self.location = location
        self.timeout_s = timeout_s
        self.storage_api = storage_api
        self.api_endpoint = api_endpoint
        self.read_endpoint = read_endpoint
        self._client = client
        self._read_client = read_client

    @classmethod
    def from_url(cls, url: str | WarehouseUrl, **overrides: Any) -> BigQueryEngine:
        return cls(**{**parse_url(url), **overrides})

    def __repr__(self) -> str:
        where = f", location={self.location!r}" if self.location else ""
        return f"BigQueryEngine(project={self.project!r}, dataset={self.dataset!r}{where})"

    # -- clients ---------------------------------------------------------------------------------

    @property
    def client(self) -> bigquery.Client:
        if self._client is None:
            self._client = make_client(self.project, self.location, self.api_endpoint)
        return self._client

    def _storage_client(self) -> Any | None:
        """The Storage Read client, or None to read REST pages (never the public service by accident)."""
        if not self.storage_api:
            return None
        if self._read_client is None:
            if is_plaintext(self.api_endpoint) and not self.read_endpoint:
                return None
            self._read_client = make_read_client(self.api_endpoint, self.read_endpoint)
        return self._read_client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        transport = getattr(self._read_client, "transport", None)
        if transport is not None:
            transport.close()

    # -- names -----------------------------------------------------------------------------------

    def qualify(self, name: str) -> TableRef:
        """``t`` → project.dataset.t, ``ds.t`` → project.ds.t, ``p.ds.t`` (domain-scoped ``a.com:p.ds.t``)."""
        parts = name.split(".")
        if not name or any(not p.strip() for p in parts):
            raise ValueError(f"table name {name!r} has an empty part; expected TABLE, DATASET.TABLE or P.D.T")
        if len(parts) == 1:
            return TableRef(parts[0], self.dataset, self.project)
        if len(parts) == 2:
            return TableRef(parts[1], parts[0], self.project)
        return TableRef(parts[-1], parts[-2], ".".join(parts[:-2]))

    def _full(self, table: TableRef) -> TableRef:
        return TableRef(table.name, table.schema or self.dataset, table.catalog or self.project)

    def _ref(self, table: TableRef) -> bigquery.TableReference:
        full = self._full(table)
        return bigquery.TableReference(bigquery.DatasetReference(full.catalog, full.schema), full.name)

    def sql_table(self, table: TableRef) -> exp.Table:
        """The table as a quoted sqlglot node (each part in its own backticks)."""
        full = self._full(table)
        return exp.table_(full.name, db=full.schema, catalog=full.catalog, quoted=True)

    # -- metadata --------------------------------------------------------------------------------

    def table_exists(self, table: TableRef) -> bool:
        try:
            with self._errors(f"looking up {table}"):
                self.client.get_table(self._ref(table))
        except TableNotFoundError:
            return False
        return True

    def column_types(self, table: TableRef) -> dict[str, str]:
        with self._errors(f"looking up {table}"):
            schema = self.client.get_table(self._ref(table)).schema
        return {field.name: type_name(field) for field in schema}

    # -- statements ------------------------------------------------------------------------------

    def execute(self, sql: str) -> None:
        with self._errors("running a statement"):
            self._wait(self.client.query(sql, job_config=self._job_config()))

    def fetch_rows(self, sql: str) -> list[dict[str, Any]]:
        with self._errors("running a query"):
            job = self.client.query(sql, job_config=self._job_config())
            rows = self._wait(job)
            return [{key: scalar(value) for key, value in row.items()} for row in rows]

    def drop_table(self, table: TableRef) -> None:
        with self._errors(f"dropping {table}"):
            self.client.delete_table(self._ref(table), not_found_ok=True, timeout=self.timeout_s)

    def _job_config(self) -> bigquery.QueryJobConfig:
        return bigquery.QueryJobConfig(labels=dict(JOB_LABELS))

    def _wait(self, job: Any) -> Any:
        """Wait for a job; cancel it and raise if the timeout passes (a stuck job must not bill on)."""
        try:
            result = job.result(timeout=self.timeout_s)
            log.info("BigQuery job %s done", job.job_id)
            return result
        except concurrent.futures.TimeoutError as err:
            with contextlib.suppress(gexc.GoogleAPIError):
                job.cancel()
            raise WarehouseError(
                f"BigQuery job {job.job_id} did not finish within {self.timeout_s:g}s and was cancelled"
            ) from err

    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Translate client errors into the engine's error classes, naming what was being done."""
        try:
            yield
        except gexc.NotFound as err:
            raise TableNotFoundError(f"BigQuery: not found while {doing}: {_message(err)}") from err
        except gexc.Conflict as err:
            raise TableExistsError(f"BigQuery: already exists while {doing}: {_message(err)}") from err
        except gexc.GoogleAPIError as err:
            raise WarehouseError(f"BigQuery failed while {doing}: {_message(err)}") from err

    # -- data ------------------------------------------------------------------------------------

    def iter_batches(self, table: TableRef, batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        """Stream ``table`` page by page (or Storage Read stream by stream); an empty table yields one
        empty batch so that writers still learn the schema."""
        with self._errors(f"reading {table}"):
            rows = self.client.list_rows(self._ref(table), page_size=batch_rows, timeout=self.timeout_s)
            produced = False
            batches = rows.to_arrow_iterable(bqstorage_client=self._storage_client(), max_queue_size=2)
            for batch in batches:
                for offset in range(0, batch.num_rows, batch_rows):
                    produced = True
                    yield batch.slice(offset, batch_rows)
            if not produced:
                yield self._empty_batch(table)

    def _empty_batch(self, table: TableRef) -> pa.RecordBatch:
        rows = self.client.list_rows(self._ref(table), max_results=0, timeout=self.timeout_s)
        return pa.RecordBatch.from_pylist([], schema=rows.to_arrow(create_bqstorage_client=False).schema)

    def load_arrow(self, table: TableRef, data: pa.Table, overwrite: bool = False) -> None:
        """Load ``data`` as a Parquet load job with an explicit schema (no type guessing).

        A new table is loaded with ``WRITE_EMPTY`` (guards the race where it appears meanwhile). To
        overwrite, the data goes to a staging table first and then replaces the old table in one
        ``CREATE OR REPLACE TABLE``, so a failed load leaves the old table as it was.
        """
        full = self._full(table)
        if not overwrite:
            if self.table_exists(full):
                raise TableExistsError(f"BigQuery table {full} exists; pass overwrite=True to replace it")
            self._load(full, data)
            return
        staging = TableRef(f"{full.name}__kwp_load_{uuid.uuid4().hex[:12]}", full.schema, full.catalog)
        self._load(staging, data)
        try:
            replace = exp.Create(
                this=self.sql_table(full),
                kind="TABLE",
                replace=True,
                expression=exp.select(exp.Star()).from_(self.sql_table(staging)),
            )
            self.execute(replace.sql(self.dialect))
        finally:
            self.drop_table(staging)

    def _load(self, table: TableRef, data: pa.Table) -> None:
        data = data.cast(pa.schema([pa.field(f.name, load_arrow_type(f)) for f in data.schema]))
        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.PARQUET,
            schema=[bigquery.SchemaField(f.name, bigquery_type(f)) for f in data.schema],
            write_disposition="WRITE_EMPTY",
            labels=dict(JOB_LABELS),
        )
        with tempfile.TemporaryFile() as handle, self._errors(f"loading {table}"):
            pq.write_table(data, handle)
            handle.seek(0)
            load = self.client.load_table_from_file
            self._wait(load(handle, self._ref(table), job_config=config, timeout=self.timeout_s))


def _message(err: gexc.GoogleAPIError) -> str:
    """The server's message on one line (job errors arrive with location and job id on extra lines)."""
    return " ".join((getattr(err, "message", None) or str(err)).split())

