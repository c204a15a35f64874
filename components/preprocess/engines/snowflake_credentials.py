"""Snowflake credentials: only ever from ``SNOWFLAKE_*`` environment variables (a Kubernetes Secret).

Read at the moment a connection opens and handed straight to the connector; never part of a URL, a
pipeline parameter, an engine attribute or a log line.

====================================  ==========================================================
``SNOWFLAKE_USER``                    login name (required)
``SNOWFLAKE_PASSWORD``                password
``SNOWFLAKE_PRIVATE_KEY_PATH``        key-pair authentication: path of a PKCS#8 PEM private key
``SNOWFLAKE_PRIVATE_KEY_PASSPHRASE``  passphrase of that key, if it is encrypted
``SNOWFLAKE_AUTHENTICATOR``           e.g. ``SNOWFLAKE_JWT``, ``OAUTH``, ``PROGRAMMATIC_ACCESS_TOKEN``
``SNOWFLAKE_TOKEN``                   OAuth or programmatic access token
====================================  ==========================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from components.preprocess.engines.base import WarehouseError

#: environment variable -> snowflake.connector.connect keyword.
CREDENTIAL_ENV = {
    "SNOWFLAKE_USER": "user",
    "SNOWFLAKE_PASSWORD": "password",
    "SNOWFLAKE_PRIVATE_KEY_PATH": "private_key_file",
    "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": "private_key_file_pwd",
    "SNOWFLAKE_AUTHENTICATOR": "authenticator",
    "SNOWFLAKE_TOKEN": "token",
}


class MissingCredentialsError(WarehouseError):
    """The environment holds no usable Snowflake credentials; the message lists the variables."""


def credentials_from_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Connector keywords from the ``SNOWFLAKE_*`` variables; raises if no way to log in is set."""
    environ = os.environ if environ is None else environ
    found = {kw: environ[var] for var, kw in CREDENTIAL_ENV.items() if environ.get(var)}
    if "user" not in found or not ({"password", "private_key_file", "token", "authenticator"} & set(found)):
        raise MissingCredentialsError(
            "Snowflake credentials are not set: SNOWFLAKE_USER plus one of SNOWFLAKE_PASSWORD, "
            "SNOWFLAKE_PRIVATE_KEY_PATH, SNOWFLAKE_TOKEN or SNOWFLAKE_AUTHENTICATOR must be in the "
            "environment (mount them from a Kubernetes Secret; see docs/warehouses.md)"
        )
    return found
