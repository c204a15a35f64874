"""The train component's core: options, the Kubernetes path end to end against fakes, outputs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from components.train.cli import build_parser
from components.train.launchers import (
    PYTORCHJOB,
    KubernetesLauncher,
    LauncherConfigError,
    LocalLauncher,
    TrainResult,
    TrainStepConfig,
    publish,
    run_train_step,
)
from components.train.launchers.step import job_spec
from components.train.launchers.uris import pod_uri


@dataclass
class FakeArtifact:
    """What the step reads from a KFP artifact: where it lives for the pods (uri) and here (path)."""

    uri: str
    path: str
    metadata: dict = field(default_factory=dict)
    logged: dict = field(default_factory=dict)

    def log_metric(self, name: str, value: float) -> None:
        self.logged[name] = value


def artifacts(tmp_path: Path, data: Path) -> dict[str, FakeArtifact]:
    """Inputs live in the 'object store' (their uri); outputs get a separate launcher-local path."""
    store, local = tmp_path / "store", tmp_path / "local"
    store.mkdir()
    made = {
        "train_data": FakeArtifact(str(data / "train.parquet"), str(local / "train.parquet")),
        "validation_data": FakeArtifact(str(data / "validation.parquet"), str(local / "validation.parquet")),
        "stats": FakeArtifact(str(data / "stats.json"), str(local / "stats.json")),
        "model": FakeArtifact(str(store / "model"), str(local / "model")),
    }
    for name in ("metrics", "tensorboard", "learning_curves"):
        made[name] = FakeArtifact(str(store / name), str(local / name))
    return made


def pods_run_the_container(fake_custom, statuses):
    """On create, do what the job's pods would: run the container args with the real trainer."""

    def run(body):
        (container,) = body["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"]
        assert container["command"] == ["torchrun", "-m", "components.train"]
        LocalLauncher(nproc_per_node=int(body["spec"]["nprocPerNode"]), echo=lambda line: None).run(
            container["args"]
        )
        fake_custom.script(body["metadata"]["name"], statuses)

    return run


@pytest.mark.slow
def test_kubernetes_backend_gives_pods_uris_and_brings_the_model_back(
    tmp_path, tiny_splits, fake_custom, fake_core, fake_clock
):
    succeeded = {"conditions": [{"type": "Succeeded", "status": "True", "reason": "PyTorchJobSucceeded"}]}
    created_bodies: list[dict] = []
    run_pods = pods_run_the_container(fake_custom, [succeeded])
    fake_custom.on_create = lambda body: (created_bodies.append(body), run_pods(body))
    config = TrainStepConfig(
        backend="kubernetes", num_nodes=1, nproc_per_node=1, epochs=2, batch_size=32,
        extra_args=json.dumps({"hidden_sizes": [8], "num_threads": 1}), namespace="ml",
        run_id="run-42", task_id="task-7",
    )  # fmt: skip
    a = artifacts(tmp_path, tiny_splits)
    launcher = KubernetesLauncher(
        fake_custom, fake_core, PYTORCHJOB, echo=lambda line: None, clock=fake_clock, sleep=fake_clock.sleep
    )
    result = run_train_step(
        config,
        a["train_data"],
        a["validation_data"],
        a["stats"],
        a["model"],
        launcher=launcher,
        say=lambda s: None,
    )
    assert result.job_name.startswith("kwp-train-run-42-")
    assert (Path(a["model"].uri) / "model.pt").is_file()  # written by the "pods" to the artifact URI
    assert (Path(a["model"].path) / "model.pt").is_file()  # and brought back to the launcher's path
    assert result.metrics["epochs"] == 2
    assert fake_custom.objects == {}  # deleted on success
    publish(result, config, model=a["model"], metrics=a["metrics"], tensorboard=a["tensorboard"],
            stats=a["stats"], learning_curves=a["learning_curves"])  # fmt: skip
    assert set(a["metrics"].logged) == {"loss", "accuracy", "val_loss", "val_accuracy", "epochs"}
    assert a["model"].metadata["job_name"] == result.job_name
    assert a["model"].metadata["statistics_uri"] == a["stats"].uri
    assert a["tensorboard"].metadata["event_files"] >= 1
    curves = Path(a["learning_curves"].path).read_text()
    assert curves.count("<polyline") == 4  # loss, val_loss, accuracy, val_accuracy

    # A launcher restarted after the job succeeded finds the outputs, does not train again, and still
    # deletes the finished job it left behind.
    (created,) = created_bodies
    fake_custom.add("pytorchjobs", created)
    fake_custom.on_create = None
    again = run_train_step(
        config,
        a["train_data"],
        a["validation_data"],
        a["stats"],
        a["model"],
        launcher=launcher,
        say=lambda s: None,
    )
    assert again.reused and fake_custom.count("create") == 1
    assert fake_custom.objects == {} and fake_custom.count("delete") == 2


def test_job_spec_from_component_parameters():
    config = TrainStepConfig(
        backend="kubernetes", num_nodes=4, nproc_per_node=2, gpu=2, cpu="16", memory="64Gi",
        checkpoint_pvc="ckpt", queue="gpu-queue", priority_class="batch", namespace="ml",
        secret_env=json.dumps({"AWS_SECRET_ACCESS_KEY": "minio/secretkey"}),
        s3_endpoint="http://minio-service.kubeflow:9000", timeout_s=3600,
        node_selector='{"cloud.google.com/gke-accelerator": "nvidia-l4"}',
        tolerations='[{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}]',
    )  # fmt: skip
    spec = job_spec(config, "kwp-train-x", ("--train", "s3://b/t"))
    assert spec.node_selector == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert [t.to_dict() for t in spec.pod_tolerations()] == [
        {"key": "spot", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},  # added for gpu=2
    ]
    assert (spec.num_nodes, spec.nproc_per_node, spec.resources.gpu) == (4, 2, 2)
    assert spec.gang.queue == "gpu-queue" and spec.gang.priority_class == "batch"
    assert spec.env == {"AWS_ENDPOINT_URL": "http://minio-service.kubeflow:9000"}
    assert spec.checkpoint_path == "/mnt/checkpoints/kwp-train-x"
    assert spec.active_deadline_seconds == 3600


def test_options_render_for_the_real_parser():
    config = TrainStepConfig(model_type="cnn", epochs=3, lr=0.01, extra_args='{"seed": 5, "fsdp": true}')
    from components.train.launchers import entry_point_args

    parsed = build_parser().parse_args(entry_point_args("t", "v", "m", "s", config.options()))
    assert (parsed.model, parsed.epochs, parsed.lr, parsed.seed, parsed.fsdp) == ("cnn", 3, 0.01, 5, True)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"backend": "slurm"}, "backend='slurm'"),
        ({"job_kind": "tfjob"}, "job_kind='tfjob'"),
        ({"num_nodes": 2}, "needs 'kubernetes'"),
        ({"extra_args": "[1, 2]"}, "extra_args must be a JSON object"),
        ({"extra_args": "{oops"}, "extra_args is not valid JSON"),
        ({"timeout_s": 0}, "timeout_s=0"),
        ({"max_restarts": -1}, "max_restarts=-1 must be >= 0"),
        ({"backend": "kubernetes", "max_restarts": 2}, "applies to backend='local'"),
        ({"backend": "kubernetes", "checkpoint_dir": "/ckpt"}, "give checkpoint_pvc"),
        (
            {"node_selector": '{"pool": "gpu"}'},
            r"node_selector='\{\"pool\": \"gpu\"\}'.*backend='kubernetes' only",
        ),
        (
            {"tolerations": '[{"key": "spot", "operator": "Exists"}]'},
            "tolerations=.*backend='kubernetes' only",
        ),
        ({"backend": "kubernetes", "tolerations": '[{"key": "a", "operator": "Gt"}]'}, "operator='Gt'"),
        ({"backend": "kubernetes", "node_selector": '"nvidia-l4"'}, "node_selector must be a JSON object"),
    ],
)
def test_bad_step_configs(overrides, message):
    with pytest.raises(LauncherConfigError, match=message):
        TrainStepConfig(**overrides)


def test_default_scheduling_settings_are_fine_locally():
    config = TrainStepConfig(backend="local", node_selector="{}", tolerations="[]")
    assert (config.node_selector, config.tolerations) == ("{}", "[]")


def test_extra_args_may_not_repeat_parameters():
    with pytest.raises(LauncherConfigError, match=r"\['epochs', 'model_dir'\]"):
        TrainStepConfig(extra_args='{"epochs": 5, "model-dir": "/x"}').options()
    with pytest.raises(LauncherConfigError, match=r"\['checkpoint_dir', 'max_restarts'\]"):
        TrainStepConfig(extra_args='{"checkpoint-dir": "/c", "max_restarts": 1}').options()


@pytest.mark.slow
def test_local_backend_checkpoints_beside_the_model_and_resumes_after_a_crash(
    tmp_path, tiny_splits, monkeypatch
):
    """torchrun restarts the crashed process (max_restarts) and the trainer resumes from the checkpoint
    the step put beside the model output by default."""
    marker = tmp_path / "crashed-once"
    for var, value in {
        "KWP_FAULT_AT_STEP": "5",
        "KWP_FAULT_RANK": "0",
        "KWP_FAULT_MARKER": str(marker),
    }.items():
        monkeypatch.setenv(var, value)  # 3 steps per epoch: dies in epoch 2, after epoch 1's checkpoint
    a = artifacts(tmp_path, tiny_splits)
    for name in ("train_data", "validation_data", "stats"):
        a[name].path = a[name].uri  # local runs read the paths KFP downloaded the inputs to
    config = TrainStepConfig(
        epochs=3,
        batch_size=32,
        max_restarts=1,
        extra_args=json.dumps({"hidden_sizes": [8], "num_threads": 1}),
    )
    lines: list[str] = []
    result = run_train_step(
        config, a["train_data"], a["validation_data"], a["stats"], a["model"], say=lines.append
    )
    assert marker.exists()  # the first attempt did die
    assert result.checkpoint_dir == a["model"].path + ".checkpoints"
    assert (Path(result.checkpoint_dir) / "checkpoint.pt").is_file()
    assert f"--checkpoint-dir {result.checkpoint_dir}" in lines[0] and "--max_restarts=1" in lines[0]
    assert result.metrics["epochs"] == 3 and result.metrics["resumed_from"]["epoch"] == 1
    assert [line.split()[0] for line in lines if line.startswith("epoch=")] == [
        "epoch=1",
        "epoch=2",
        "epoch=3",
    ]  # epoch 1 was not trained twice


def test_kubernetes_checkpoints_per_job_and_warns_without_a_volume(
    tmp_path, tiny_splits, fake_custom, fake_core
):
    a = artifacts(tmp_path, tiny_splits)
    Path(a["model"].uri).mkdir()
    for name in ("model.pt", "model_config.json", "metrics.json"):  # an earlier attempt finished
        (Path(a["model"].uri) / name).write_text("{}")
    launcher = KubernetesLauncher(fake_custom, fake_core, PYTORCHJOB, echo=lambda line: None)

    def step(**overrides) -> tuple[TrainResult, list[str]]:
        said: list[str] = []
        settings = {"backend": "kubernetes", "namespace": "ml", "run_id": "run-1", "task_id": "t"}
        config = TrainStepConfig(**{**settings, **overrides})
        inputs = (a["train_data"], a["validation_data"], a["stats"], a["model"])
        return run_train_step(config, *inputs, launcher=launcher, say=said.append), said

    result, said = step(checkpoint_pvc="kwp-checkpoints")
    assert result.checkpoint_dir == f"/mnt/checkpoints/{result.job_name}"
    assert not any("warning" in line for line in said)
    assert step(checkpoint_pvc="kwp-checkpoints")[0].checkpoint_dir == result.checkpoint_dir  # resumable
    other_run = step(checkpoint_pvc="kwp-checkpoints", run_id="run-2")[0]
    assert other_run.checkpoint_dir != result.checkpoint_dir  # runs never share checkpoints
    unprotected, said = step()
    assert unprotected.checkpoint_dir is None
    assert any(line.startswith("warning: no checkpoint_pvc") and "from epoch 1" in line for line in said)


def test_pod_uris():
    assert pod_uri("gs://bucket/a") == "gs://bucket/a"
    assert pod_uri("minio://mlpipeline/v2/x", "http://minio:9000") == "s3://mlpipeline/v2/x"
    with pytest.raises(LauncherConfigError, match="pass s3_endpoint"):
        pod_uri("minio://mlpipeline/v2/x")
    with pytest.raises(LauncherConfigError, match="cannot be opened by the job pods"):
        pod_uri("https://example.com/x")
    with pytest.raises(LauncherConfigError, match="expected http"):
        job_spec(TrainStepConfig(backend="kubernetes", s3_endpoint="minio:9000", namespace="ml"), "kwp-x", ())
