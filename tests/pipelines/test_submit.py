"""``kwp upload`` and ``kwp submit``: compile a pipeline, register it and start runs through ``kfp.Client``.

No KFP server runs here, so the client is ``FakeKfpClient`` over a ``FakeKfpServer``: every call is
checked against the real ``kfp.Client`` method's signature (with its client-side checks), every uploaded
package is parsed strictly, answers are kfp_server_api's own model types, and the server keeps
pipelines, versions, experiments and runs in memory with KFP's naming and uniqueness rules.
"""

import inspect
import itertools
import json
import re
from pathlib import Path
from typing import Any

import kfp
import pytest
import yaml
from google.protobuf import json_format
from kfp.client.client import RunPipelineResult, validate_pipeline_display_name
from kfp.pipeline_spec import pipeline_spec_pb2
from kfp_server_api import (
    ApiException,
    V2beta1Experiment,
    V2beta1ListPipelinesResponse,
    V2beta1ListPipelineVersionsResponse,
    V2beta1Pipeline,
    V2beta1PipelineVersion,
    V2beta1PipelineVersionReference,
    V2beta1Run,
    V2beta1RuntimeConfig,
)

import pipelines.submit
from pipelines.cli import main
from pipelines.compile import compile_pipeline
from pipelines.submit import SubmittedRun, default_client_factory, submit, upload
from pipelines.upload import VersionConflictError, package_version_name, server_form

PIPELINE = "warehouse-train"
WAREHOUSE = "bigquery://my-project/my_dataset"
HOST = "https://kubeflow.example.com/pipeline"
UPLOADS = ("upload_pipeline", "upload_pipeline_version")


class FakeKfpServer:
    """The KFP API server's state and rules, in memory (no KFP server exists in tests).

    As the real server: a new pipeline's first version is named after the pipeline; pipeline names are
    unique per namespace ("" = shared), version names per pipeline (else HTTP 409); a stored package
    comes back as ``pipeline_spec`` shaped by ``YamlStringToPipelineSpecStruct``; empty lists come back
    as ``None`` (omitted from the JSON).
    """

    def __init__(self) -> None:
        self.pipelines: dict[str, V2beta1Pipeline] = {}
        self.versions: dict[str, V2beta1PipelineVersion] = {}
        self.packages: dict[str, str] = {}  # version id -> the YAML uploaded
        self.experiments: dict[str, V2beta1Experiment] = {}
        self.runs: list[V2beta1Run] = []
        self.log: list[tuple[str, dict[str, Any]]] = []  # (kfp.Client method, its bound arguments)
        self._ids = itertools.count(1)
        self.final_state: str | None = "SUCCEEDED"  # how every run ends; None: still running

    def new_id(self, kind: str) -> str:
        return f"{kind}-{next(self._ids):04d}"

    def calls(self, *methods: str) -> list[dict[str, Any]]:
        return [arguments for method, arguments in self.log if method in methods]

    def versions_of(self, pipeline_id: str) -> list[V2beta1PipelineVersion]:
        return [v for v in self.versions.values() if v.pipeline_id == pipeline_id]

    def add_version(self, pipeline_id: str, name: str, description: str | None, text: str) -> Any:
        if any(v.name == name for v in self.versions_of(pipeline_id)):
            raise ApiException(status=409, reason=f"Conflict: version {name!r} exists")
        version = V2beta1PipelineVersion(
            pipeline_id=pipeline_id, pipeline_version_id=self.new_id("version"), name=name, display_name=name,
            description=description, pipeline_spec=stored_spec(text),
        )
        self.versions[version.pipeline_version_id] = version
        self.packages[version.pipeline_version_id] = text
        return version


def stored_spec(text: str) -> dict[str, Any]:
    """What KFP's server returns for a stored package (Go: ``YamlStringToPipelineSpecStruct``)."""
    pipeline_spec, platform_spec = None, None
    for part in text.split("\n---\n"):
        document = json.loads(json.dumps(yaml.safe_load(part)))  # through JSON, as the server's struct
        if "kubernetes" in (document.get("platforms") or {}):
            platform_spec = document
        else:
            pipeline_spec = document
    if platform_spec is None:
        return pipeline_spec
    return {"pipeline_spec": pipeline_spec, "platform_spec": platform_spec}


def matching(items: list[Any], filter_json: str | None) -> list[Any]:
    """Apply a KFP list filter; the fake knows only what kwp sends: display_name EQUALS."""
    if not filter_json:
        return items
    for predicate in json.loads(filter_json)["predicates"]:
        if predicate["key"] != "display_name" or predicate["operation"] not in ("EQUALS", 1):
            raise ApiException(status=400, reason=f"fake filter does not support {predicate}")
        items = [item for item in items if item.display_name == predicate["stringValue"]]
    return items


class FakeKfpClient:
    """Stands in for ``kfp.Client`` (no KFP server in tests): checks calls, forwards them to the server."""

    def __init__(self, host: str, namespace: str | None, server: FakeKfpServer | None = None):
        self.host = host
        self.namespace = namespace
        self.server = server or FakeKfpServer()
        self.calls: list[dict] = []  # create_run_from_pipeline_package calls

    def _bind(self, method: str, *args, **kwargs) -> dict[str, Any]:
        # A keyword the real client does not take would fail on a cluster: fail here too.
        bound = inspect.signature(getattr(kfp.Client, method)).bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = {k: v for k, v in bound.arguments.items() if k != "self"}
        self.server.log.append((method, arguments))
        return arguments

    @staticmethod
    def _read_package(path: str) -> str:
        if not path.endswith((".yaml", ".yml")):  # the server picks the format by the file name
            raise ApiException(status=400, reason=f"unsupported package file {path!r}")
        text = Path(path).read_text()  # the caller deletes its temporary file afterwards
        parse_strictly(text)
        return text

    def create_run_from_pipeline_package(self, *args, **kwargs) -> RunPipelineResult:
        call = self._bind("create_run_from_pipeline_package", *args, **kwargs)
        self.calls.append({**call, "package": self._read_package(call["pipeline_file"])})
        return RunPipelineResult(self, V2beta1Run(run_id=f"run-{len(self.calls):04d}"))

    def list_pipelines(self, *args, **kwargs) -> V2beta1ListPipelinesResponse:
        a = self._bind("list_pipelines", *args, **kwargs)
        here = [p for p in self.server.pipelines.values() if (p.namespace or "") == (a["namespace"] or "")]
        found = matching(here, a["filter"])
        page = found[: a["page_size"]]
        return V2beta1ListPipelinesResponse(pipelines=page or None, total_size=len(found),
                                            next_page_token="more" if len(found) > len(page) else None)

    def upload_pipeline(self, *args, **kwargs) -> V2beta1Pipeline:
        a = self._bind("upload_pipeline", *args, **kwargs)
        text = self._read_package(a["pipeline_package_path"])
        name = a["pipeline_name"] or yaml.safe_load_all(text).__next__()["pipelineInfo"]["name"]
        validate_pipeline_display_name(name)
        if any(p.display_name == name and (p.namespace or "") == (a["namespace"] or "")
               for p in self.server.pipelines.values()):
            raise ApiException(status=409, reason=f"Conflict: pipeline {name!r} exists")
        pipeline = V2beta1Pipeline(pipeline_id=self.server.new_id("pipeline"), name=name, display_name=name,
                                   description=a["description"], namespace=a["namespace"])
        self.server.pipelines[pipeline.pipeline_id] = pipeline
        self.server.add_version(pipeline.pipeline_id, name, a["description"], text)  # named as the pipeline
        return pipeline

    def upload_pipeline_version(self, *args, **kwargs) -> V2beta1PipelineVersion:
        a = self._bind("upload_pipeline_version", *args, **kwargs)
        if bool(a["pipeline_id"]) == bool(a["pipeline_name"]):
            raise ValueError("Either pipeline_id or pipeline_name is required.")  # as kfp.Client does
        pipeline_id = a["pipeline_id"] or self.get_pipeline_id(a["pipeline_name"])
        text = self._read_package(a["pipeline_package_path"])
        if pipeline_id not in self.server.pipelines:
            raise ApiException(status=404, reason=f"Not Found: pipeline {pipeline_id!r}")
        return self.server.add_version(pipeline_id, a["pipeline_version_name"], a["description"], text)

    def get_pipeline_id(self, *args, **kwargs) -> str | None:
        a = self._bind("get_pipeline_id", *args, **kwargs)
        found = matching([p for p in self.server.pipelines.values() if not p.namespace], json.dumps(
            {"predicates": [{"operation": 1, "key": "display_name", "stringValue": a["name"]}]}))
        return found[0].pipeline_id if found else None

    def list_pipeline_versions(self, *args, **kwargs) -> V2beta1ListPipelineVersionsResponse:
        a = self._bind("list_pipeline_versions", *args, **kwargs)
        if a["pipeline_id"] not in self.server.pipelines:
            raise ApiException(status=404, reason=f"Not Found: pipeline {a['pipeline_id']!r}")
        found = matching(self.server.versions_of(a["pipeline_id"]), a["filter"])
        page = found[: a["page_size"]]
        return V2beta1ListPipelineVersionsResponse(pipeline_versions=page or None, total_size=len(found),
                                                   next_page_token="more" if len(found) > len(page) else None)

    def get_pipeline_version(self, *args, **kwargs) -> V2beta1PipelineVersion:
        a = self._bind("get_pipeline_version", *args, **kwargs)
        version = self.server.versions.get(a["pipeline_version_id"])
        if version is None or version.pipeline_id != a["pipeline_id"]:
            raise ApiException(status=404, reason=f"Not Found: version {a['pipeline_version_id']!r}")
        return version

    def create_experiment(self, *args, **kwargs) -> V2beta1Experiment:
        a = self._bind("create_experiment", *args, **kwargs)
        namespace = a["namespace"] or self.namespace  # kfp: namespace or get_user_namespace()
        for experiment in self.server.experiments.values():
            if (experiment.display_name, experiment.namespace) == (a["name"], namespace):
                return experiment
        experiment = V2beta1Experiment(experiment_id=self.server.new_id("experiment"), display_name=a["name"],
                                       description=a["description"], namespace=namespace)
        self.server.experiments[experiment.experiment_id] = experiment
        return experiment

    def wait_for_run_completion(self, *args, **kwargs) -> V2beta1Run:
        a = self._bind("wait_for_run_completion", *args, **kwargs)
        if self.server.final_state is None:
            raise TimeoutError("Run timeout")  # kfp's own exception and words
        return V2beta1Run(run_id=a["run_id"], state=self.server.final_state)

    def run_pipeline(self, *args, **kwargs) -> V2beta1Run:
        a = self._bind("run_pipeline", *args, **kwargs)
        if (a["pipeline_package_path"] is None) == (a["pipeline_id"] is None and a["version_id"] is None):
            raise ValueError("Must specify either `pipeline_pacakge_path` or both `pipeline_id` and "
                             "`version_id`.")  # kfp's words
        if (a["pipeline_id"] is None) != (a["version_id"] is None):
            raise ValueError("both `pipeline_id` and `version_id` are required.")
        if a["experiment_id"] not in self.server.experiments:
            raise ApiException(status=404, reason=f"Not Found: experiment {a['experiment_id']!r}")
        version = self.server.versions.get(a["version_id"])
        if version is None or version.pipeline_id != a["pipeline_id"]:
            raise ApiException(status=404, reason=f"Not Found: version {a['version_id']!r}")
        run = V2beta1Run(
            run_id=self.server.new_id("run"), experiment_id=a["experiment_id"], display_name=a["job_name"],
            pipeline_version_reference=V2beta1PipelineVersionReference(
                pipeline_id=a["pipeline_id"], pipeline_version_id=a["version_id"]),
            runtime_config=V2beta1RuntimeConfig(parameters=a["params"] or {},
                                                pipeline_root=a["pipeline_root"]),
            service_account=a["service_account"],
        )
        self.server.runs.append(run)
        return run


@pytest.fixture
def server() -> FakeKfpServer:
    return FakeKfpServer()


@pytest.fixture
def clients(monkeypatch, server) -> list[FakeKfpClient]:
    """Every ``FakeKfpClient`` kwp makes, all talking to ``server``; replaces the real client factory."""
    made: list[FakeKfpClient] = []

    def factory(host: str, namespace: str | None) -> FakeKfpClient:
        made.append(FakeKfpClient(host, namespace, server))
        return made[-1]

    monkeypatch.setattr(pipelines.submit, "default_client_factory", factory)
    return made


@pytest.fixture
def edit_code(monkeypatch):
    """``edit_code(epochs)``: from now on the pipeline compiles as after a code change (a new default
    for ``epochs``); ``edit_code(None)`` goes back to the shipped code."""

    def compile_edited(name: str, out_dir: str | Path, epochs: int) -> Path:
        path = compile_pipeline(name, out_dir)
        documents = list(yaml.safe_load_all(path.read_text()))
        documents[0]["root"]["inputDefinitions"]["parameters"]["epochs"]["defaultValue"] = epochs
        path.write_text(yaml.safe_dump_all(documents, sort_keys=True))
        return path

    def edit(epochs: int | None) -> None:
        if epochs is None:
            monkeypatch.setattr(pipelines.submit, "compile_pipeline", compile_pipeline)
        else:
            monkeypatch.setattr(pipelines.submit, "compile_pipeline",
                                lambda name, out_dir: compile_edited(name, out_dir, epochs))

    return edit


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
        {"epochs": 3, "lr": 0.01, "model_type": "mlp", "warehouse_url": WAREHOUSE},
        experiment="nightly",
        namespace="team-a",
        run_name="warehouse-train-42",
        service_account="kwp-launcher",
    )
    (client,) = clients
    (call,) = client.calls
    assert call["service_account"] == "kwp-launcher"
    assert (client.host, client.namespace) == ("https://kubeflow.example.com/pipeline/", "team-a")
    assert call["arguments"] == {"epochs": 3, "lr": 0.01, "model_type": "mlp", "warehouse_url": WAREHOUSE}
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
    run = submit(PIPELINE, "http://kfp.example", {"warehouse_url": WAREHOUSE})
    (call,) = clients[0].calls
    assert (call["run_name"], call["experiment_name"], call["namespace"]) == (PIPELINE, "kwp", None)
    assert clients[0].namespace is None
    assert run.url == "http://kfp.example/#/runs/details/run-0001"


def test_submit_leaves_no_temporary_package_behind(clients):
    submit(PIPELINE, "http://kfp.example", {"warehouse_url": WAREHOUSE})
    assert not Path(clients[0].calls[0]["pipeline_file"]).exists()


def test_an_explicit_client_factory_wins_over_the_default(clients):
    mine: list[FakeKfpClient] = []

    def factory(host: str, namespace: str | None) -> FakeKfpClient:
        mine.append(FakeKfpClient(host, namespace))
        return mine[-1]

    submit(PIPELINE, "http://kfp.example", {"warehouse_url": WAREHOUSE}, client_factory=factory)
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
        ("epochs=three", "kwp: error: --param epochs='three' is not an integer, e.g. epochs=5"),
        ("epoch=3", "kwp: error: unknown parameter 'epoch'; this pipeline takes: "),
        ("epochs", "kwp: error: --param 'epochs' is not KEY=VALUE"),
        ("train_backend=kubernets", "kwp: error: train_backend='kubernets' is not one of: local, kubernetes"),
        ("train_options=[1]", "kwp: error: train_options='[1]' is not a JSON object (it is a JSON list)"),
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


# --- kwp upload: pipelines and versions in the UI's Pipelines list ---------------------------------


def test_first_upload_creates_a_shared_pipeline_named_as_its_first_version(clients, server, tmp_path):
    registered = upload(PIPELINE, HOST)
    ((pipeline_id, pipeline),) = server.pipelines.items()
    ((version_id, version),) = server.versions.items()
    assert (pipeline.display_name, pipeline.namespace, version.pipeline_id) == (PIPELINE, None, pipeline_id)
    assert (registered.pipeline_id, registered.version_id, registered.version_name) == (
        pipeline_id, version_id, PIPELINE)
    assert registered.pipeline_created and registered.version_created
    assert registered.url == f"{HOST}/#/pipelines/details/{pipeline_id}/version/{version_id}"
    # Exactly what `kwp compile` writes, and the pipeline's own description for the Pipelines list.
    shipped = compile_pipeline(PIPELINE, tmp_path).read_text()
    assert server.packages[version_id] == shipped
    assert pipeline.description == yaml.safe_load_all(shipped).__next__()["pipelineInfo"]["description"]
    (lookup,) = server.calls("list_pipelines")
    assert lookup["namespace"] is None and clients[0].namespace is None


def test_uploading_unchanged_code_again_reuses_its_version(clients, server):
    first = upload(PIPELINE, HOST)
    uploads_before = len(server.calls(*UPLOADS))
    again = upload(PIPELINE, HOST)
    assert len(server.calls(*UPLOADS)) == uploads_before == 1
    assert (again.pipeline_id, again.version_id) == (first.pipeline_id, first.version_id)
    assert not again.pipeline_created and not again.version_created
    assert len(server.versions) == 1


def test_changed_code_becomes_a_new_version_named_after_its_package(clients, server, edit_code):
    first = upload(PIPELINE, HOST)
    edit_code(epochs=7)
    changed = upload(PIPELINE, HOST)
    assert changed.pipeline_id == first.pipeline_id and not changed.pipeline_created
    assert changed.version_created and changed.version_id != first.version_id
    package = server.packages[changed.version_id]
    assert changed.version_name == package_version_name(package)
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*-[0-9a-f]{12}", changed.version_name)
    spec, _ = parse_strictly(package)
    assert spec.root.input_definitions.parameters["epochs"].default_value.number_value == 7
    (added,) = server.calls("upload_pipeline_version")
    assert (added["pipeline_id"], added["pipeline_name"]) == (first.pipeline_id, None)
    # The same edit again finds its version by name; the shipped code again finds KFP's first version.
    assert upload(PIPELINE, HOST).version_id == changed.version_id
    edit_code(None)
    assert upload(PIPELINE, HOST).version_id == first.version_id
    assert len(server.versions) == 2 and len(server.calls(*UPLOADS)) == 2


def test_an_explicit_version_that_names_another_package_is_refused_and_nothing_is_uploaded(
    clients, server, edit_code
):
    upload(PIPELINE, HOST)
    nightly = upload(PIPELINE, HOST, version="nightly")
    assert nightly.version_name == "nightly" and nightly.version_created
    edit_code(epochs=7)
    uploads_before = len(server.calls(*UPLOADS))
    with pytest.raises(VersionConflictError) as refused:
        upload(PIPELINE, HOST, version="nightly")
    message = str(refused.value)
    assert "'nightly'" in message and "different package" in message and "Choose another --version" in message
    assert len(server.calls(*UPLOADS)) == uploads_before
    assert [v.name for v in server.versions.values()] == [PIPELINE, "nightly"]


def test_an_explicit_version_that_holds_the_same_package_is_reused(clients, server):
    upload(PIPELINE, HOST, version="v1")
    again = upload(PIPELINE, HOST, version="v1")
    assert not again.version_created and again.version_name == "v1"
    also_first = upload(PIPELINE, HOST, version=PIPELINE)  # KFP's first version holds this package too
    assert not also_first.version_created
    assert len(server.calls(*UPLOADS)) == 2


def test_an_explicit_version_of_a_new_pipeline_is_added_beside_kfps_first_version(clients, server):
    registered = upload(PIPELINE, HOST, version="v1", description="first release")
    assert registered.pipeline_created and registered.version_name == "v1"
    assert [(v.name, v.description) for v in server.versions.values()] == [
        (PIPELINE, "first release"), ("v1", "first release")]


def test_a_namespace_makes_a_private_pipeline_apart_from_the_shared_one(clients, server):
    shared = upload(PIPELINE, HOST)
    private = upload(PIPELINE, HOST, namespace="team-a")
    assert private.pipeline_created and private.pipeline_id != shared.pipeline_id
    assert server.pipelines[private.pipeline_id].namespace == "team-a"
    assert [c["namespace"] for c in server.calls("list_pipelines", "upload_pipeline")] == [
        None, None, "team-a", "team-a"]
    assert clients[1].namespace == "team-a"
    assert upload(PIPELINE, HOST, namespace="team-a").version_id == private.version_id


def test_a_version_name_without_register_is_refused_before_connecting(clients):
    with pytest.raises(ValueError, match="register=True"):
        submit(PIPELINE, HOST, {}, version="v1")
    assert clients == []


# --- kwp submit --register: run the registered version ----------------------------------------------


def test_submit_register_runs_the_registered_version_in_the_experiment(clients, server):
    arguments = {"epochs": 3, "lr": 0.01, "warehouse_url": WAREHOUSE}
    run = submit(PIPELINE, HOST, arguments, experiment="nightly", namespace="team-a", run_name="r42",
                 service_account="kwp-launcher", register=True)
    ((experiment_id, experiment),) = server.experiments.items()
    assert (experiment.display_name, experiment.namespace) == ("nightly", "team-a")
    (stored,) = server.runs
    assert stored.run_id == run.run_id and run.url == f"{HOST}/#/runs/details/{run.run_id}"
    assert (stored.experiment_id, stored.display_name, stored.service_account) == (
        experiment_id, "r42", "kwp-launcher")
    assert stored.pipeline_version_reference == V2beta1PipelineVersionReference(
        pipeline_id=run.registered.pipeline_id, pipeline_version_id=run.registered.version_id)
    assert stored.runtime_config.parameters == arguments
    assert server.pipelines[run.registered.pipeline_id].namespace == "team-a"
    assert clients[0].calls == []  # no one-off package run
    # Again: the same version and experiment, a second run.
    second = submit(PIPELINE, HOST, arguments, experiment="nightly", namespace="team-a", register=True)
    assert second.registered.version_id == run.registered.version_id and not second.registered.version_created
    assert len(server.experiments) == 1 and len(server.runs) == 2 and server.runs[1].display_name == PIPELINE


# --- the command line ------------------------------------------------------------------------------


def test_kwp_upload_prints_the_pipeline_version_and_url_then_says_it_reused_the_version(
    clients, server, capsys
):
    assert main(["upload", PIPELINE, "--host", HOST]) == 0
    (pipeline_id,) = server.pipelines
    (version_id,) = server.versions
    url = f"{HOST}/#/pipelines/details/{pipeline_id}/version/{version_id}"
    assert capsys.readouterr().out.splitlines() == [
        f"created pipeline {PIPELINE}: {pipeline_id}",
        f"created version {PIPELINE}: {version_id}",
        url,
    ]
    assert main(["upload", PIPELINE, "--host", HOST]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"found pipeline {PIPELINE}: {pipeline_id}",
        f"reused version {PIPELINE} (the server already has this exact package): {version_id}",
        url,
    ]


def test_kwp_upload_passes_namespace_version_and_description(clients, server, capsys):
    argv = ["upload", PIPELINE, "--host", HOST, "--namespace", "team-b", "--version", "v2",
            "--description", "weekly retrain"]
    assert main(argv) == 0
    (added,) = server.calls("upload_pipeline_version")
    assert (added["pipeline_version_name"], added["description"]) == ("v2", "weekly retrain")
    assert server.calls("upload_pipeline")[0]["namespace"] == "team-b"
    assert "created version v2: " in capsys.readouterr().out


def test_kwp_upload_conflict_is_one_line_naming_the_version(clients, server, edit_code, capsys):
    assert main(["upload", PIPELINE, "--host", HOST, "--version", "v1"]) == 0
    edit_code(epochs=7)
    capsys.readouterr()
    assert main(["upload", PIPELINE, "--host", HOST, "--version", "v1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"kwp: error: pipeline '{PIPELINE}' already has a version 'v1' with a different")
    assert err.count("\n") == 1 and len(server.versions) == 2


def test_kwp_submit_register_prints_the_version_and_the_run(clients, server, capsys):
    argv = ["submit", PIPELINE, "--host", HOST, "--register", "--service-account", "kwp-launcher",
            "--param", "epochs=3", "--param", f"warehouse_url={WAREHOUSE}"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    (run,) = server.runs
    (version_id,) = server.versions
    assert lines[1] == f"created version {PIPELINE}: {version_id}"
    assert lines[-1] == f"started run {run.run_id}: {HOST}/#/runs/details/{run.run_id}"
    assert run.runtime_config.parameters == {"epochs": 3, "warehouse_url": WAREHOUSE}
    assert run.service_account == "kwp-launcher"


def test_kwp_submit_version_without_register_is_one_line(clients, capsys):
    argv = ["submit", PIPELINE, "--host", HOST, "--version", "v1", "--param", f"warehouse_url={WAREHOUSE}"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "needs register=True (kwp submit --register)" in err and err.count("\n") == 1
    assert clients == []


def test_kwp_upload_server_refusal_is_one_line(monkeypatch, capsys):
    class ForbiddenKfpClient(FakeKfpClient):
        """A fake whose server refuses to list pipelines (no permission in the namespace)."""

        def list_pipelines(self, *args, **kwargs):
            self._bind("list_pipelines", *args, **kwargs)
            raise ApiException(status=403, reason="Forbidden")

    monkeypatch.setattr(pipelines.submit, "default_client_factory", ForbiddenKfpClient)
    assert main(["upload", PIPELINE, "--host", HOST, "--namespace", "team-c"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("kwp: error: (403) Reason: Forbidden") and err.count("\n") == 1


def test_an_empty_version_name_is_refused_before_anything_is_uploaded(clients, server):
    with pytest.raises(ValueError, match="version name ' ' is empty"):
        upload(PIPELINE, HOST, version=" ")
    assert server.calls(*UPLOADS) == []


def test_server_form_is_the_pipeline_spec_alone_without_a_platform_spec():
    single = "# PIPELINE DEFINITION\npipelineInfo:\n  name: p\nschemaVersion: 2.1.0\n"
    assert server_form(single) == {"pipelineInfo": {"name": "p"}, "schemaVersion": "2.1.0"}
    assert server_form(single) == stored_spec(single)


@pytest.mark.parametrize(("final_state", "code"), [("SUCCEEDED", 0), ("FAILED", 1), ("CANCELED", 1)])
def test_kwp_submit_wait_exits_with_the_runs_outcome(clients, server, capsys, final_state, code):
    server.final_state = final_state
    argv = ["submit", PIPELINE, "--host", "http://kfp.example", "--param", f"warehouse_url={WAREHOUSE}",
            "--wait", "3600"]  # fmt: skip
    assert main(argv) == code
    assert capsys.readouterr().out.splitlines()[-1] == f"run run-0001 ended: {final_state}"
    (wait,) = server.calls("wait_for_run_completion")
    assert (wait["run_id"], wait["timeout"]) == ("run-0001", 3600)


def test_kwp_submit_wait_timeout_is_one_line_saying_the_run_goes_on(clients, server, capsys):
    server.final_state = None
    argv = ["submit", PIPELINE, "--host", "http://kfp.example", "--param", f"warehouse_url={WAREHOUSE}",
            "--register", "--wait", "60"]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("kwp: error: run run-") and "after 60 s; it keeps running" in err


def test_submit_refuses_a_non_positive_wait_before_starting_anything(clients, server):
    with pytest.raises(ValueError, match="wait_s=0 must be a positive number of seconds; nothing was"):
        submit(PIPELINE, "http://kfp.example", {"warehouse_url": WAREHOUSE}, wait_s=0)
    assert not clients and not server.log


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "this pipeline needs --param warehouse_url=... (no default)"),
        ({"warehouse_url": WAREHOUSE, "job_kind": "tfjob"}, "job_kind='tfjob' is not one of: pytorchjob"),
        ({"warehouse_url": "bigquery:/p"}, "bigquery:/p"),
    ],
)
def test_submit_refuses_bad_arguments_before_connecting(clients, arguments, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        submit(PIPELINE, "http://kfp.example", arguments)
    assert clients == []


def test_a_host_where_no_kfp_api_answers_is_one_clear_line(capsys):
    """The real kfp.Client against a closed loopback port: the OS's reason and what --host should be."""
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago and has nobody listening now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    host = f"http://127.0.0.1:{port}"
    with pytest.raises(pipelines.submit.ServerUnreachableError, match=r"Connection refused"):
        pipelines.submit.default_client_factory(host, None)
    assert main(["upload", PIPELINE, "--host", host]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"kwp: error: no KFP API answers at {host} (") and "Connection refused); " in err
    assert "--host is the API endpoint" in err and err.count("\n") == 1 and "HTTPConnectionPool" not in err
