"""snowflake_credentials: credentials come from the ``SNOWFLAKE_*`` environment variables only."""

from __future__ import annotations

import pytest

from components.preprocess.engines.snowflake_credentials import (
    CREDENTIAL_ENV,
    MissingCredentialsError,
    credentials_from_env,
)


def test_credentials_come_from_the_environment_only() -> None:
    env = {"SNOWFLAKE_USER": "svc", "SNOWFLAKE_PRIVATE_KEY_PATH": "/secrets/key.p8", "UNRELATED": "x"}
    assert credentials_from_env(env) == {"user": "svc", "private_key_file": "/secrets/key.p8"}
    token = {"SNOWFLAKE_USER": "svc", "SNOWFLAKE_AUTHENTICATOR": "OAUTH", "SNOWFLAKE_TOKEN": "t0k"}
    assert credentials_from_env(token) == {"user": "svc", "authenticator": "OAUTH", "token": "t0k"}
    for incomplete in ({}, {"SNOWFLAKE_USER": "svc"}, {"SNOWFLAKE_PASSWORD": "pw"}):
        with pytest.raises(MissingCredentialsError, match="SNOWFLAKE_USER plus one of SNOWFLAKE_PASSWORD"):
            credentials_from_env(incomplete)


def test_every_documented_variable_maps_to_a_connector_keyword() -> None:
    env = {name: f"value-of-{name}" for name in CREDENTIAL_ENV}
    assert credentials_from_env(env) == {kw: f"value-of-{name}" for name, kw in CREDENTIAL_ENV.items()}


def test_the_error_names_every_way_to_log_in_and_no_value() -> None:
    with pytest.raises(MissingCredentialsError) as caught:
        credentials_from_env({"SNOWFLAKE_PASSWORD": "hunter2"})
    message = str(caught.value)
    assert "hunter2" not in message
    for name in ("SNOWFLAKE_USER", "SNOWFLAKE_PASSWORD", "SNOWFLAKE_PRIVATE_KEY_PATH", "SNOWFLAKE_TOKEN"):
        assert name in message
