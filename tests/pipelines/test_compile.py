"""Every shipped pipeline compiles deterministically to a spec KFP parses strictly (golden files)."""

import pyarrow.parquet as pq
import pytest
import yaml
from google.protobuf import json_format
from kfp import components as kfp_components
from kfp import dsl
from kfp.kubernetes import kubernetes_executor_config_pb2
from kfp.pipeline_spec import pipeline_spec_pb2

from pipelines.compile import compile_component, compile_pipeline
from pipelines.registry import COMPONENTS, PIPELINES, load_component


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    return {name: compile_pipeline(name, out).read_text() for name in PIPELINES}


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_compiled_pipeline_matches_its_golden_file(compiled, golden, name):
    golden(f"pipelines/{name}.yaml", compiled[name])


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_compiled_pipeline_parses_strictly_with_platform_settings(compiled, name):
    pipeline_doc, platform_doc = yaml.safe_load_all(compiled[name])
    spec = json_format.ParseDict(pipeline_doc, pipeline_spec_pb2.PipelineSpec())
    json_format.ParseDict(platform_doc, pipeline_spec_pb2.PlatformSpec())
    assert spec.pipeline_info.name == name
    # The PlatformSpec keeps each executor's settings as a Struct: parse those strictly too.
    executors = {
        key: json_format.ParseDict(value, kubernetes_executor_config_pb2.KubernetesExecutorConfig())
        for key, value in platform_doc["platforms"]["kubernetes"]["deploymentSpec"]["executors"].items()
    }
    assert executors["exec-preprocess"].secret_as_env[0].secret_name == "kwp-warehouse-credentials"
    assert executors["exec-preprocess"].secret_as_env[0].optional


def _train_branches(pipeline_doc: dict) -> dict[str, dict]:
    """The two train tasks by branch condition: training in the step's pod, and launching a job."""
    components = pipeline_doc["components"]
    branches = {}
    for component in components.values():
        for task in component.get("dag", {}).get("tasks", {}).values():
            condition = task.get("triggerPolicy", {}).get("condition", "")
            inner = components[task["componentRef"]["name"]].get("dag", {}).get("tasks", {})
            trains = [t for name, t in inner.items() if name.startswith("train")]
            if "train_backend" in condition and trains:
                branches["job" if condition.startswith("!") else "local"] = trains[0]  # "!": the Else
    return branches


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_launching_steps_retry_and_name_their_jobs_from_the_run(compiled, name):
    branches = _train_branches(next(yaml.safe_load_all(compiled[name])))
    assert set(branches) == {"local", "job"}
    for task in branches.values():
        assert task["retryPolicy"]["maxRetryCount"] == 2
        params = task["inputs"]["parameters"]
        assert params["run_id"]["runtimeValue"]["constant"] == "{{$.pipeline_job_uuid}}"
        assert params["task_id"]["runtimeValue"]["constant"] == "{{$.pipeline_task_uuid}}"
        # scheduling of the training pods is passed to the job the step creates
        assert params["node_selector"]["componentInputParameter"] == "pipelinechannel--node_selector"
        assert params["tolerations"]["componentInputParameter"] == "pipelinechannel--tolerations"


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_only_the_step_that_trains_in_its_own_pod_requests_gpus(compiled, name):
    pipeline_doc, platform_doc = yaml.safe_load_all(compiled[name])
    branches = _train_branches(pipeline_doc)
    executors = pipeline_doc["deploymentSpec"]["executors"]
    resources = {
        kind: executors[pipeline_doc["components"][task["componentRef"]["name"]]["executorLabel"]]
        ["container"]["resources"]
        for kind, task in branches.items()
    }
    gpu = resources["local"]["accelerator"]
    assert gpu["resourceType"] == "nvidia.com/gpu"
    assert gpu["resourceCount"] == "{{$.inputs.parameters['pipelinechannel--gpus_per_node']}}"
    assert "accelerator" not in resources["job"]  # a launcher pod holds no GPU; its job's pods do
    platform = platform_doc["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    local_executor = pipeline_doc["components"][branches["local"]["componentRef"]["name"]]["executorLabel"]
    assert platform[local_executor]["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]


@pytest.fixture(scope="module")
def component_files(tmp_path_factory):
    first, second = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    files = {name: compile_component(name, first) for name in COMPONENTS}
    for name, path in files.items():
        again = compile_component(name, second)
        assert path.read_bytes() == again.read_bytes(), f"{name} does not compile deterministically"
    return files


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_each_component_compiles_to_a_reusable_spec(component_files, name):
    text = component_files[name].read_text()
    spec = json_format.ParseDict(yaml.safe_load(text), pipeline_spec_pb2.PipelineSpec())
    assert spec.pipeline_info.name == name
    loaded = kfp_components.load_component_from_file(str(component_files[name]))
    assert set(loaded.component_spec.inputs) == set(load_component(name).component_spec.inputs)


def test_a_component_loaded_from_its_yaml_runs_in_a_users_pipeline(component_files, kfp_local, tmp_path):
    """What a user does with dist/components/preprocess.yaml: load it, wire it, run it (here: kfp.local)."""
    from components.preprocess import datasets

    preprocess = kfp_components.load_component_from_file(str(component_files["preprocess"]))
    warehouse = tmp_path / "warehouse.duckdb"
    datasets.seed_duckdb(str(warehouse), "wine")

    @dsl.pipeline(name="my-pipeline")
    def my_pipeline(warehouse_url: str, spec_json: str) -> dsl.Dataset:
        return preprocess(warehouse_url=warehouse_url, spec_json=spec_json).outputs["train"]

    spec_json = datasets.default_spec("wine").to_json()
    run = my_pipeline(warehouse_url=f"duckdb:///{warehouse}", spec_json=spec_json)
    assert pq.read_metadata(run.output.path).num_rows > 100
