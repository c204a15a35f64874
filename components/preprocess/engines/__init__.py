"""Warehouse engines addressed by URL.

Valid forms::

    duckdb:///absolute/path/file.duckdb        (file-URL style: the path after "duckdb://")
    duckdb:relative/path/file.duckdb
    duckdb:///:memory:
    bigquery://PROJECT/DATASET?location=EU
    snowflake://ACCOUNT/DATABASE/SCHEMA?warehouse=WH&role=ROLE

DuckDB also accepts ``threads`` and ``memory_limit`` parameters. Credentials never go into the URL (they
come from the environment: ADC / Workload Identity for BigQuery, environment variables for Snowflake);
a URL carrying a password, user name or token is refused without echoing the secret.

Adapters are imported lazily, so DuckDB users need neither cloud client installed.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from components.preprocess.engines.base import (
    Engine,
    TableExistsError,
    TableNotFoundError,
    TableRef,
    WarehouseError,
    redact,
)

VALID_FORMS = (
    "duckdb:///path/to/file.duckdb, duckdb:///:memory:, "
    "bigquery://PROJECT/DATASET?location=..., snowflake://ACCOUNT/DATABASE/SCHEMA?warehouse=...&role=..."
)

#: scheme -> (names of the path parts, documented query parameters, adapter "module:Class").
#: DuckDB parameters are checked here; the cloud adapters check theirs (they accept a few more).
SCHEMES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "duckdb": (("path",), ("threads", "memory_limit"), "components.preprocess.engines.duckdb:DuckDBEngine"),
    "bigquery": (("project", "dataset"), ("location",),
                 "components.preprocess.engines.bigquery:BigQueryEngine"),
    "snowflake": (("account", "database", "schema"), ("warehouse", "role"),
                  "components.preprocess.engines.snowflake:SnowflakeEngine"),
}


class WarehouseUrlError(ValueError):
    """A warehouse URL is malformed; the message names it and lists the valid forms."""


@dataclass(frozen=True)
class WarehouseUrl:
    """A parsed warehouse URL: ``scheme``, named path ``parts`` and query ``params``."""

    scheme: str
    parts: tuple[str, ...]
    params: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    def part(self, name: str) -> str:
        """``url.part("dataset")``; the names per scheme are in :data:`SCHEMES`."""
        names = SCHEMES[self.scheme][0]
        if name not in names:
            raise KeyError(f"a {self.scheme} URL has parts {names}, not {name!r}")
        return self.parts[names.index(name)]

    @property
    def path(self) -> str:
        return self.part("path")

    @property
    def project(self) -> str:
        return self.part("project")

    @property
    def dataset(self) -> str:
        return self.part("dataset")

    @property
    def account(self) -> str:
        return self.part("account")

    @property
    def database(self) -> str:
        return self.part("database")

    @property
    def schema(self) -> str:
        return self.part("schema")

    def __str__(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in redact(dict(self.params)).items())
        if self.scheme == "duckdb":
            base = "duckdb:///:memory:" if self.path == ":memory:" else f"duckdb://{self.path}"
        else:
            base = f"{self.scheme}://" + "/".join(self.parts)
        return base + (f"?{query}" if query else "")


def _shown(url: str) -> str:
    """The URL as it may appear in a message or log: user info and secret-looking values masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("://", 1)[0] + "://..."
    netloc = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"***@{netloc}" if "@" in parts.netloc else netloc
    query = "&".join(f"{k}={v}" for k, v in redact(dict(parse_qsl(parts.query, True))).items())
    return parts._replace(netloc=netloc, query=query, fragment="").geturl()


def _fail(url: str, problem: str) -> WarehouseUrlError:
    shown = _shown(url)
    return WarehouseUrlError(f"malformed warehouse URL {shown!r}: {problem}. Valid forms: {VALID_FORMS}")


def parse_url(url: str) -> WarehouseUrl:
    """Parse and validate a warehouse URL (no connection is made)."""
    if not isinstance(url, str) or "\n" in url:
        raise _fail(str(url), "expected a one-line string")
    try:
        parsed = urlsplit(url)
    except ValueError as err:
        raise _fail(url, str(err)) from err
    scheme = parsed.scheme.lower()
    if scheme not in SCHEMES:
        raise _fail(url, f"unknown scheme {parsed.scheme!r} (valid: {', '.join(SCHEMES)})")
    if parsed.username or parsed.password or parsed.fragment:
        raise _fail(url, "credentials and fragments do not belong in the URL; use the environment")
    names, allowed, _ = SCHEMES[scheme]
    params = dict(parse_qsl(parsed.query, keep_blank_values=True, strict_parsing=False))
    if parsed.query and not params:
        raise _fail(url, f"cannot read query {parsed.query!r}")
    secret = sorted(k for k in params if redact({k: ""})[k] == "***")
    if secret:
        raise _fail(url, f"parameter(s) {secret} look like credentials, which never go into the URL; "
                         "the adapter reads them from the environment")
    unknown = sorted(set(params) - set(allowed))
    if unknown and scheme == "duckdb":  # cloud adapters validate their own (optional) parameters
        valid = ", ".join(allowed) or "none"
        raise _fail(url, f"unknown parameter(s) {unknown} for {scheme} (valid: {valid})")
    empty = sorted(k for k, v in params.items() if not v)
    if empty:
        raise _fail(url, f"parameter(s) {empty} have no value")
    if scheme == "duckdb":
        parts = (_duckdb_path(url, parsed.netloc, parsed.path),)
    else:
        parts = tuple(unquote(p) for p in [parsed.netloc, *parsed.path.split("/")[1:]])
        if len(parts) != len(names) or not all(parts):
            raise _fail(url, f"a {scheme} URL needs exactly {len(names)} non-empty parts: {'/'.join(names)}")
    return WarehouseUrl(scheme, parts, MappingProxyType(params))


def _duckdb_path(url: str, netloc: str, path: str) -> str:
    if netloc:
        raise _fail(url, f"a duckdb URL has no host ({netloc!r}); write duckdb:///absolute/path.duckdb")
    path = unquote(path)
    if path in ("/:memory:", ":memory:"):
        return ":memory:"
    if not path or path.endswith("/"):
        raise _fail(url, "a duckdb URL needs a database file path")
    return path


def _adapter(scheme: str) -> type[Engine]:
    module, _, name = SCHEMES[scheme][2].partition(":")
    return getattr(importlib.import_module(module), name)


def connect(url: str | WarehouseUrl, **options: Any) -> Engine:
    """An :class:`Engine` for ``url``.

    Adapters are built with ``Adapter.from_url(parsed_url, **options)`` when they define it, otherwise
    ``Adapter(parsed_url, **options)``.
    """
    parsed = url if isinstance(url, WarehouseUrl) else parse_url(url)
    adapter = _adapter(parsed.scheme)
    factory = getattr(adapter, "from_url", adapter)
    return factory(parsed, **options)


__all__ = [
    "SCHEMES", "VALID_FORMS", "Engine", "TableExistsError", "TableNotFoundError", "TableRef",
    "WarehouseError", "WarehouseUrl", "WarehouseUrlError", "connect", "parse_url",
]
