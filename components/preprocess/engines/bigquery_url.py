"""``bigquery://PROJECT/DATASET?k=v`` → the keywords of ``BigQueryEngine``; no client, no network.

Kept apart from the adapter so that a malformed URL is refused (with the bad part named) by code that
imports nothing of google-cloud-bigquery.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from components.preprocess.engines import WarehouseUrl, WarehouseUrlError

SCHEME = "bigquery"
FORM = "bigquery://PROJECT/DATASET?location=...&timeout=..."
URL_PARAMS = ("location", "timeout", "storage_api", "api_endpoint", "read_endpoint")
# Project ids may be domain-scoped ("example.com:proj"); dataset ids are letters, digits and underscores.
_PROJECT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:_-]*$")
_DATASET_RE = re.compile(r"^\w+$")


def parse_url(url: str | WarehouseUrl) -> dict[str, Any]:
    """``bigquery://PROJECT/DATASET?k=v`` (text, or as split by ``engines.parse_url``) as engine keywords."""
    if isinstance(url, WarehouseUrl):
        return _keywords(url.project, url.dataset, dict(url.params), str(url))
    parts = urlsplit(url)
    if parts.scheme != SCHEME:
        raise WarehouseUrlError(f"{url!r} is not a BigQuery URL; expected {FORM}")
    if "@" in parts.netloc:
        raise WarehouseUrlError(
            "a BigQuery URL carries no user or password: credentials come from Application Default "
            "Credentials or Workload Identity"
        )
    return _keywords(parts.netloc, parts.path.strip("/"), dict(parse_qsl(parts.query, True)), url)


def _keywords(project: str, dataset: str, params: dict[str, str], shown: str) -> dict[str, Any]:
    if not _PROJECT_RE.match(project):
        raise WarehouseUrlError(f"project {project!r} in {shown!r} is not a project id; expected {FORM}")
    if not _DATASET_RE.match(dataset):
        raise WarehouseUrlError(
            f"dataset {dataset!r} in {shown!r} is not a dataset id (letters, digits, underscores); "
            f"expected {FORM}"
        )
    unknown = sorted(set(params) - set(URL_PARAMS))
    if unknown:
        raise WarehouseUrlError(f"unknown parameter(s) {unknown} in BigQuery URL; known: {list(URL_PARAMS)}")
    kwargs: dict[str, Any] = {"project": project, "dataset": dataset}
    kwargs.update({k: params[k] for k in ("location", "api_endpoint", "read_endpoint") if params.get(k)})
    if "timeout" in params:
        kwargs["timeout_s"] = _positive_float(params["timeout"], "timeout")
    if "storage_api" in params:
        kwargs["storage_api"] = _boolean(params["storage_api"], "storage_api")
    return kwargs


def _positive_float(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise WarehouseUrlError(f"{name}={text!r} must be a positive number of seconds")
    return value


def _boolean(text: str, name: str) -> bool:
    lowered = text.lower()
    if lowered not in ("true", "false", "1", "0"):
        raise WarehouseUrlError(f"{name}={text!r} must be true or false")
    return lowered in ("true", "1")
