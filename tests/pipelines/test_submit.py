"""``kwp submit``: compile a pipeline, upload it and start a run through ``kfp.Client``.

No KFP server runs here, so the client is ``FakeKfpClient``: it checks every call against the real
``kfp.Client`` signature, keeps a copy of the uploaded package, and answers with kfp's own result type.
"""

import inspect
from pathlib import Path
from typing import Any

import kfp
import pytest
import yaml
from google.protobuf import json_format
from kfp.client.client import RunPipelineResult
from kfp.pipeline_spec import pipeline_spec_pb2
from kfp_server_api import V2beta1Run

import pipelines.submit
from pipelines.cli import main
from pipelines.compile import compile_pipeline
from pipelines.submit import SubmittedRun, default_client_factory, submit

PIPELINE = "warehouse-train"
WAREHOUSE = "bigquery://my-project/my_dataset"


class FakeKfpClient:
    """Stands in for ``kfp.Client`` (no KFP server in tests): records calls, returns run ids."""

    def __init__(self, host: str, namespace: str | None):
        self.host = host
        self.namespace = namespace
        self.calls: list[dict] = []

    def create_run_from_pipeline_package(self, pipeline_file: str, **kwargs) -> RunPipelineResult:
        # A keyword the real client does not take would fail on a cluster: fail here too.
        inspect.signature(kfp.Client.create_run_from_pipeline_package).bind(self, pipeline_file, **kwargs)
        with open(pipeline_file) as package:  # the caller deletes its temporary file afterwards
            self.calls.append({"pipeline_file": pipeline_file, "package": package.read(), **kwargs})
        return RunPipelineResult(self, V2beta1Run(run_id=f"run-{len(self.calls):04d}"))


@pytest.fixture
def clients(monkeypatch) -> list[FakeKfpClient]:
    """Every ``FakeKfpClient`` made by ``kwp submit``; replaces the real client factory."""
    made: list[FakeKfpClient] = []

    def factory(host: str, namespace: str | None) -> FakeKfpClient:
        made.append(FakeKfpClient(host, namespace))
        return made[-1]

    monkeypatch.setattr(pipelines.submit, "default_client_factory", factory)
    return made


def parse_strictly(text: str) -> tuple[Any, Any]:
    """The package as KFP's server reads it: unknown fields are errors, not ignored."""
    documents = [d for d in yaml.safe_load_all(text) if d is not None]
    assert 1 <= len(documents) <= 2, f"expected PipelineSpec [+ PlatformSpec], got {len(documents)} documents"
    spec = json_format.ParseDict(documents[0], pipeline_spec_pb2.PipelineSpec())
    if len(documents) == 1:
        return spec, None
    return spec, json_format.ParseDict(documents[1], pipeline_spec_pb2.PlatformSpec())


def test_submit_uploads_a_strict_package_and_starts_a_named_run(clients, tmp_path):
    run = submit(
        PIPELINE,
        "https://kubeflow.example.com/pipeline/",
        {"epochs": 3, "lr": 0.01, "model_type": "mlp"},
        experiment="nightly",
        namespace="team-a",
        run_name="warehouse-train-42",
        service_account="kwp-launcher",
    )
    (client,) = clients
    (call,) = client.calls
    assert call["service_account"] == "kwp-launcher"
    assert (client.host, client.namespace) == ("https://kubeflow.example.com/pipeline/", "team-a")
    assert call["arguments"] == {"epochs": 3, "lr": 0.01, "model_type": "mlp"}
    assert (call["experiment_name"], call["namespace"], call["run_name"]) == (
        "nightly",
        "team-a",
        "warehouse-train-42",
    )
    assert run == SubmittedRun(
        run_id="run-0001", url="https://kubeflow.example.com/pipeline/#/runs/details/run-0001"
    )
    spec, platform = parse_strictly(call["package"])
    assert platform is not None and "kubernetes" in platform.platforms
    assert spec.pipeline_info.name == PIPELINE
    inputs = spec.root.input_definitions.parameters
    integer = pipeline_spec_pb2.ParameterType.NUMBER_INTEGER
    assert inputs["epochs"].parameter_type == integer and isinstance(call["arguments"]["epochs"], int)
    # What is uploaded is exactly what `kwp compile` writes for users to upload by hand.
    assert call["package"] == compile_pipeline(PIPELINE, tmp_path).read_text()


def test_submit_defaults_run_name_experiment_and_namespace(clients):
    run = submit(PIPELINE, "http://kfp.example", {})
    (call,) = clients[0].calls
    assert (call["run_name"], call["experiment_name"], call["namespace"]) == (PIPELINE, "kwp", None)
    assert clients[0].namespace is None
    assert run.url == "http://kfp.example/#/runs/details/run-0001"


def test_submit_leaves_no_temporary_package_behind(clients):
    submit(PIPELINE, "http://kfp.example", {})
    assert not Path(clients[0].calls[0]["pipeline_file"]).exists()


def test_an_explicit_client_factory_wins_over_the_default(clients):
    mine: list[FakeKfpClient] = []

    def factory(host: str, namespace: str | None) -> FakeKfpClient:
        mine.append(FakeKfpClient(host, namespace))
        return mine[-1]

    submit(PIPELINE, "http://kfp.example", {}, client_factory=factory)
    assert len(mine[0].calls) == 1 and clients == []


def test_the_real_factory_builds_a_kfp_client_for_the_host_and_namespace():
    client = default_client_factory("http://127.0.0.1:9", "team-a")  # no request is made for a namespace
    assert isinstance(client, kfp.Client)
    assert client.get_user_namespace() == "team-a"


def test_kwp_submit_prints_the_run_id_and_url(clients, capsys):
    code = main(["submit", PIPELINE, "--host", "http://kfp.example", "--param", "epochs=3",
                 "--param", f"warehouse_url={WAREHOUSE}"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert out.strip() == "started run run-0001: http://kfp.example/#/runs/details/run-0001"
    call = clients[0].calls[0]
    assert call["arguments"] == {"epochs": 3, "warehouse_url": WAREHOUSE}
    assert isinstance(call["arguments"]["epochs"], int)
    assert (call["experiment_name"], call["run_name"]) == ("kwp", PIPELINE)


def test_kwp_submit_passes_experiment_namespace_and_run_name(clients, capsys):
    argv = ["submit", PIPELINE, "--host", "http://kfp.example", "--experiment", "exp-1",
            "--namespace", "team-b", "--run-name", "r1", "--param", "lr=0.5", "--param", "model_type=mlp",
            "--param", f"warehouse_url={WAREHOUSE}"]
    assert main(argv) == 0
    call = clients[0].calls[0]
    assert clients[0].namespace == "team-b"
    assert (call["experiment_name"], call["namespace"], call["run_name"]) == ("exp-1", "team-b", "r1")
    assert call["arguments"] == {"lr": 0.5, "model_type": "mlp", "warehouse_url": WAREHOUSE}


def test_kwp_submit_without_a_warehouse_url_names_the_missing_parameter(clients, capsys):
    assert main(["submit", PIPELINE, "--host", "http://kfp.example"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "kwp: error: this pipeline needs --param warehouse_url=... (no default)"
    assert clients == []


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("epochs=three", "kwp: error: --param epochs='three' is not a valid number integer"),
        ("epoch=3", "kwp: error: unknown parameter 'epoch'; this pipeline takes: "),
        ("epochs", "kwp: error: --param 'epochs' is not KEY=VALUE"),
    ],
)
def test_kwp_submit_bad_param_is_one_line_and_uploads_nothing(clients, capsys, param, message):
    code = main(["submit", PIPELINE, "--host", "http://kfp.example", "--param", param])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(message) and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert clients == []


def test_kwp_submit_server_error_is_one_line(monkeypatch, capsys):
    class UnreachableKfpClient(FakeKfpClient):
        """A fake whose server refuses the upload."""

        def create_run_from_pipeline_package(self, pipeline_file: str, **kwargs):
            raise ConnectionError("HTTPConnectionPool(host='kfp.example', port=80): Max retries\n(...)")

    monkeypatch.setattr(pipelines.submit, "default_client_factory", UnreachableKfpClient)
    code = main(["submit", PIPELINE, "--host", "http://kfp.example", "--param", f"warehouse_url={WAREHOUSE}"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("kwp: error: HTTPConnectionPool(host='kfp.example'") and err.count("\n") == 1
