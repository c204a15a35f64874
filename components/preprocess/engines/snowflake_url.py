"""``snowflake://ACCOUNT/DATABASE/SCHEMA?k=v`` → the keywords of ``SnowflakeEngine``; no connection.

A parameter that looks like a credential is refused, because the URL is a pipeline parameter that is
stored with the run and shown in the UI; the message points at the environment variables instead.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from components.preprocess.engines import WarehouseUrl, WarehouseUrlError
from components.preprocess.engines.snowflake_credentials import CREDENTIAL_ENV

SCHEME = "snowflake"
FORM = "snowflake://ACCOUNT/DATABASE/SCHEMA?warehouse=...&role=..."
URL_PARAMS = ("warehouse", "role", "timeout", "login_timeout", "network_timeout", "host", "port", "protocol")
_SECRET_PARAM = re.compile(r"password|passphrase|token|secret|private|key|credential|user", re.IGNORECASE)
_ACCOUNT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
#: URL parameter -> engine keyword, for the positive whole numbers.
_NUMBERS = {
    "timeout": "timeout_s",
    "login_timeout": "login_timeout_s",
    "network_timeout": "network_timeout_s",
    "port": "port",
}


def parse_url(url: str | WarehouseUrl) -> dict[str, Any]:
    """``snowflake://ACCOUNT/DATABASE/SCHEMA?k=v`` (text, or split by ``engines.parse_url``) as keywords."""
    if isinstance(url, WarehouseUrl):
        return _keywords(url.account, [url.database, url.schema], dict(url.params), str(url))
    parts = urlsplit(url)
    if parts.scheme != SCHEME:
        raise WarehouseUrlError(f"{url!r} is not a Snowflake URL; expected {FORM}")
    if "@" in parts.netloc:
        raise WarehouseUrlError(
            "a Snowflake URL carries no user or password: set SNOWFLAKE_USER and SNOWFLAKE_PASSWORD (or a "
            "key pair) as environment variables from a Kubernetes Secret"
        )
    path = [unquote(p) for p in parts.path.strip("/").split("/")]
    return _keywords(parts.netloc, path, dict(parse_qsl(parts.query, True)), url)


def _keywords(account: str, path: list[str], params: dict[str, str], shown: str) -> dict[str, Any]:
    if not _ACCOUNT_RE.match(account):
        raise WarehouseUrlError(f"account {account!r} is not an account identifier; expected {FORM}")
    if len(path) != 2 or not all(p.strip() for p in path):
        raise WarehouseUrlError(f"{shown!r} must name exactly a database and a schema; expected {FORM}")
    secret = sorted(k for k in params if _SECRET_PARAM.search(k))
    if secret:
        raise WarehouseUrlError(
            f"credential parameter(s) {secret} do not belong in a URL (it is a pipeline parameter and gets "
            f"logged); use the environment variables {', '.join(CREDENTIAL_ENV)}"
        )
    unknown = sorted(set(params) - set(URL_PARAMS))
    if unknown:
        raise WarehouseUrlError(
            f"unknown parameter(s) {unknown} in Snowflake URL; known: {list(URL_PARAMS)}"
        )
    kwargs: dict[str, Any] = {"account": account, "database": path[0], "schema": path[1]}
    kwargs.update({k: params[k] for k in ("warehouse", "role", "host", "protocol") if params.get(k)})
    for name, key in _NUMBERS.items():
        if name in params:
            kwargs[key] = _positive_int(params[name], name)
    return kwargs


def _positive_int(text: str, name: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise WarehouseUrlError(f"{name}={text!r} must be a positive whole number")
    return int(text)
