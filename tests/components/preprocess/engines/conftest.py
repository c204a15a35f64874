"""Local warehouse servers for the engine tests, started by the tests themselves on loopback.

- BigQuery: bqemulator (REST + Storage Read gRPC) from its own environment ``.venv-bq``, one process per
  test session.
- Snowflake: fakesnow, both ways it runs: *patch* mode (``fakesnow.patch()`` swaps the connector's
  ``connect`` for an in-process fake) and *server* mode (the real connector talks HTTP to a fakesnow
  server subprocess, one per session).

Both servers need a few packages their environments lack today; the fixtures lend them read-only from
the neighbouring environment instead of installing anything (see ``_lend``):

- ``.venv-bq`` has no numpy, which bqemulator's UDF registration imports: lent from ``.venv``.
- bqemulator loads DuckDB's spatial extension and would download it; the extension wheels in
  ``.venv-bq`` are installed into a private DuckDB extension directory under the session's HOME.
- ``.venv`` lacks fakesnow's ``server`` extra (uvicorn, starlette): lent from ``.venv-bq``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[4]
BQ_VENV = REPO_ROOT / ".venv-bq"
BQ_PROJECT = "kwp-test"
START_TIMEOUT_S = 90.0
FAKE_CREDENTIALS = {"SNOWFLAKE_USER": "kwp_tester", "SNOWFLAKE_PASSWORD": "not-a-real-password"}


# --- process helpers ---------------------------------------------------------------------------------


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages"))
    if not found:
        pytest.fail(f"{venv} has no site-packages; build it with `make {venv.name}/.installed`")
    return found[0]


def _lend(names: list[str], source: Path, into: Path) -> Path:
    """Symlink the top-level packages ``names`` found in ``source`` into ``into`` (a PYTHONPATH entry)."""
    into.mkdir(parents=True, exist_ok=True)
    for name in names:
        for candidate in (source / name, source / f"{name}.py", source / f"{name}.libs"):
            if candidate.exists() and not (into / candidate.name).exists():
                (into / candidate.name).symlink_to(candidate)
    return into


def _main_env_lacks(*modules: str) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


def _wait_until_ready(process: subprocess.Popen, probe, log: Path, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited with code {process.returncode}:\n{_tail(log)}")
        with contextlib.suppress(OSError):
            if probe():
                return
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"{what} was not ready after {START_TIMEOUT_S:.0f}s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


# --- BigQuery ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BigQueryEmulator:
    project: str
    rest_port: int
    grpc_port: int

    @property
    def api_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    def url(self, dataset: str, storage_api: bool = True) -> str:
        read = f"&read_endpoint=127.0.0.1:{self.grpc_port}" if storage_api else ""
        return f"bigquery://{self.project}/{dataset}?api_endpoint={self.api_endpoint}{read}"

    def client(self):
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        return bigquery.Client(
            project=self.project,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=self.api_endpoint),
        )

    def read_client(self):
        import grpc
        from google.cloud import bigquery_storage
        from google.cloud.bigquery_storage_v1.services.big_query_read.transports import (
            BigQueryReadGrpcTransport,
        )

        channel = grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}")
        return bigquery_storage.BigQueryReadClient(transport=BigQueryReadGrpcTransport(channel=channel))


def _bq_environment(workdir: Path) -> dict[str, str]:
    """HOME with DuckDB's spatial/avro extensions installed from their wheels, numpy lent if missing."""
    python = BQ_VENV / "bin" / "python"
    site = _site_packages(BQ_VENV)
    (workdir / "home").mkdir()
    env = {**os.environ, "HOME": str(workdir / "home")}
    wheels = sorted(site.glob("duckdb_extension_*/extensions/*/*.duckdb_extension"))
    install = "import duckdb, sys\nfor path in sys.argv[1:]:\n    duckdb.connect().install_extension(path)\n"
    subprocess.run([python, "-c", install, *map(str, wheels)], env=env, check=True, timeout=120)
    has_numpy = subprocess.run([python, "-c", "import numpy"], env=env, capture_output=True).returncode == 0
    if not has_numpy:
        main_site = Path(importlib.util.find_spec("numpy").submodule_search_locations[0]).parent
        env["PYTHONPATH"] = str(_lend(["numpy"], main_site, workdir / "lent"))
    return env


@pytest.fixture(scope="session")
def bq_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BigQueryEmulator]:
    """A bqemulator process on two free loopback ports for the whole session."""
    executable = BQ_VENV / "bin" / "bqemulator"
    if not executable.exists():
        pytest.fail(f"{executable} is missing: run `make .venv-bq/.installed` in {REPO_ROOT}")
    workdir = tmp_path_factory.mktemp("bqemulator")
    env = _bq_environment(workdir)
    emulator = BigQueryEmulator(BQ_PROJECT, free_port(), free_port())
    command = [
        str(executable), "start", "--rest-port", str(emulator.rest_port), "--grpc-port",
        str(emulator.grpc_port), "--project", emulator.project, "--log-level", "warning",
    ]  # fmt: skip
    log = workdir / "bqemulator.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    probe_url = f"{emulator.api_endpoint}/bigquery/v2/projects/{emulator.project}/datasets"

    def probe() -> bool:
        with urllib.request.urlopen(probe_url, timeout=2) as response:
            return response.status == 200

    try:
        _wait_until_ready(process, probe, log, "bqemulator")
        yield emulator
    finally:
        _stop(process)


@pytest.fixture
def bq_dataset(bq_emulator: BigQueryEmulator) -> Iterator[str]:
    """A fresh dataset per test, so tests never see each other's tables."""
    name = f"ds_{uuid.uuid4().hex[:10]}"
    client = bq_emulator.client()
    client.create_dataset(name)
    yield name
    client.delete_dataset(name, delete_contents=True, not_found_ok=True)
    client.close()


@pytest.fixture
def bigquery_engine(bq_emulator: BigQueryEmulator, bq_dataset: str):
    """A BigQueryEngine built from its URL by ``engines.connect``, reading through Storage Read."""
    from components.preprocess.engines import connect

    engine = connect(bq_emulator.url(bq_dataset))
    yield engine
    engine.close()


# --- Snowflake --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakesnowServer:
    port: int

    def url(self, database: str, schema: str) -> str:
        return (
            f"snowflake://fakesnow/{database}/{schema}?warehouse=TEST_WH&role=TESTER"
            f"&host=127.0.0.1&port={self.port}&protocol=http&network_timeout=5&login_timeout=10"
        )


@pytest.fixture
def snowflake_credentials(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Fake credentials in the environment, as a Kubernetes Secret would put them there."""
    for name in ("SNOWFLAKE_PRIVATE_KEY_PATH", "SNOWFLAKE_AUTHENTICATOR", "SNOWFLAKE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    return dict(FAKE_CREDENTIALS)


@pytest.fixture(scope="session")
def fakesnow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakesnowServer]:
    """``python -m fakesnow --server`` on a free loopback port for the whole session."""
    workdir = tmp_path_factory.mktemp("fakesnow")
    env = dict(os.environ)
    missing = _main_env_lacks("uvicorn", "starlette")
    if missing:
        if not BQ_VENV.exists():
            pytest.fail(f"fakesnow server mode needs {missing}: run `make .venv-bq/.installed` to lend them")
        lent = ["uvicorn", "starlette", "h11", "anyio", "sniffio", "click"]
        lent = [name for name in lent if importlib.util.find_spec(name) is None]
        env["PYTHONPATH"] = str(_lend(lent, _site_packages(BQ_VENV), workdir / "lent"))
    server = FakesnowServer(free_port())
    log = workdir / "fakesnow.log"
    command = [sys.executable, "-m", "fakesnow", "--server", "--port", str(server.port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)

    def probe() -> bool:
        with socket.create_connection(("127.0.0.1", server.port), timeout=2):
            return True

    try:
        _wait_until_ready(process, probe, log, "fakesnow server")
        yield server
    finally:
        _stop(process)


def _unique_schema() -> str:
    return f"S_{uuid.uuid4().hex[:10].upper()}"


@pytest.fixture
def snowflake_engines(request: pytest.FixtureRequest, snowflake_credentials: dict[str, str]):
    """``make("server")`` or ``make("patch")``: a SnowflakeEngine built from its URL, in a fresh schema,
    against fakesnow's server (real connector over HTTP) or its in-process patch of the connector."""
    import fakesnow

    from components.preprocess.engines import connect

    with contextlib.ExitStack() as stack:

        def make(mode: str):
            if mode == "server":
                url = request.getfixturevalue("fakesnow_server").url("KWP_TEST", _unique_schema())
            elif mode == "patch":
                stack.enter_context(fakesnow.patch())
                url = f"snowflake://fakesnow/KWP_TEST/{_unique_schema()}?warehouse=TEST_WH"
            else:
                raise ValueError(f"unknown fakesnow mode {mode!r}; valid: server, patch")
            engine = connect(url)
            engine.connection  # noqa: B018 - connect now, inside the patch where there is one
            stack.callback(engine.close)
            return engine

        yield make


@pytest.fixture(params=["server", "patch"])
def snowflake_engine(request: pytest.FixtureRequest, snowflake_engines):
    """Each engine test runs against fakesnow's server and against its patch."""
    return snowflake_engines(request.param)
