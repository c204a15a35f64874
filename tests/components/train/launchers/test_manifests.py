"""PyTorchJob and TrainJob manifests: valid against the real CRD schemas, runnable arguments, goldens."""

from __future__ import annotations

import copy

import pytest

from components.runtime import TRAINER_IMAGE
from components.train.cli import build_parser
from components.train.launchers import (
    GPU_TOLERATION,
    PYTORCHJOB,
    TRAINJOB,
    Elastic,
    GangScheduling,
    JobSpec,
    LauncherConfigError,
    ManifestError,
    Resources,
    Toleration,
    build_pytorchjob,
    build_trainjob,
    entry_point_args,
    example_pytorchjob,
    example_trainjob,
    to_yaml,
)

ARGS = tuple(
    entry_point_args(
        "gs://b/data/train.parquet",
        "gs://b/data/validation.parquet",
        "gs://b/model",
        "gs://b/data/stats.json",
        {"model": "mlp", "epochs": 3, "hidden_sizes": [32, 16], "fsdp": False},
    )
)


def spec(**overrides) -> JobSpec:
    values = {
        "name": "kwp-train-test",
        "namespace": "ml",
        "image": "registry/kwp-trainer:1",
        "entry_args": ARGS,
    }
    return JobSpec(**{**values, **overrides})


def gpu_spec(**overrides) -> JobSpec:
    values = {
        "num_nodes": 3,
        "nproc_per_node": 2,
        "resources": Resources(cpu="8", memory="32Gi", gpu=2),
        "gang": GangScheduling(queue="training", priority_class="high", schedule_timeout_s=600),
        "checkpoint_pvc": "ckpt",
        "secret_env": {"AWS_SECRET_ACCESS_KEY": "s3-creds/secret"},
        "env": {"NCCL_DEBUG": "WARN"},
        "service_account": "trainer",
        "node_selector": {"cloud.google.com/gke-accelerator": "nvidia-l4"},
        "tolerations": (Toleration("spot", "Exists", effect="NoSchedule"),),
        "ttl_seconds_after_finished": 3600,
        "active_deadline_seconds": 7200,
        "labels": {"team": "ml"},
    }
    return spec(**{**values, **overrides})


def containers(manifest: dict, replica: str) -> list[dict]:
    return manifest["spec"]["pytorchReplicaSpecs"][replica]["template"]["spec"]["containers"]


def test_pytorchjob_master_workers_and_operator_rules(crd_errors):
    job = build_pytorchjob(gpu_spec(restart_policy="ExitCode", backoff_limit=5, clean_pod_policy="Running"))
    assert crd_errors(job) == []
    replicas = job["spec"]["pytorchReplicaSpecs"]
    assert {k: v["replicas"] for k, v in replicas.items()} == {"Master": 1, "Worker": 2}
    assert job["spec"]["nprocPerNode"] == "2"
    for replica in ("Master", "Worker"):
        (container,) = containers(job, replica)
        assert container["name"] == "pytorch"
        assert container["resources"]["limits"]["nvidia.com/gpu"] == "2"
        assert container["command"] == ["torchrun", "-m", "components.train"]
        assert replicas[replica]["restartPolicy"] == "ExitCode"
        template = replicas[replica]["template"]
        assert template["metadata"]["annotations"]["sidecar.istio.io/inject"] == "false"
        assert template["metadata"]["labels"]["team"] == "ml"
    run_policy = job["spec"]["runPolicy"]
    assert run_policy["schedulingPolicy"] == {
        "minAvailable": 3,
        "queue": "training",
        "priorityClass": "high",
        "scheduleTimeoutSeconds": 600,
    }
    assert (run_policy["backoffLimit"], run_policy["cleanPodPolicy"]) == (5, "Running")
    assert (run_policy["ttlSecondsAfterFinished"], run_policy["activeDeadlineSeconds"]) == (3600, 7200)


def test_checkpoint_volume_is_mounted_where_the_entry_point_writes(crd_errors):
    job = build_pytorchjob(gpu_spec())
    (container,) = containers(job, "Worker")
    pod = job["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "checkpoints", "persistentVolumeClaim": {"claimName": "ckpt"}}]
    assert container["volumeMounts"] == [{"name": "checkpoints", "mountPath": "/mnt/checkpoints"}]
    args = container["args"]
    assert args[args.index("--checkpoint-dir") + 1] == "/mnt/checkpoints/kwp-train-test"
    secret = [e for e in container["env"] if e["name"] == "AWS_SECRET_ACCESS_KEY"]
    assert secret == [
        {
            "name": "AWS_SECRET_ACCESS_KEY",
            "valueFrom": {"secretKeyRef": {"key": "secret", "name": "s3-creds"}},
        }
    ]


def test_container_args_parse_with_the_real_entry_point():
    job = build_pytorchjob(gpu_spec())
    parsed = build_parser().parse_args(containers(job, "Master")[0]["args"])
    assert (parsed.train, parsed.model_dir, parsed.stats) == (
        "gs://b/data/train.parquet",
        "gs://b/model",
        "gs://b/data/stats.json",
    )
    assert (parsed.epochs, parsed.hidden_sizes, parsed.fsdp) == (3, [32, 16], False)
    assert parsed.checkpoint_dir == "/mnt/checkpoints/kwp-train-test"


def test_single_node_job_has_only_a_master(crd_errors):
    job = build_pytorchjob(spec(num_nodes=1))
    assert crd_errors(job) == []
    assert list(job["spec"]["pytorchReplicaSpecs"]) == ["Master"]


def test_elastic_job_has_workers_only_and_an_elastic_policy(crd_errors):
    job = build_pytorchjob(spec(num_nodes=2, elastic=Elastic(min_nodes=1, max_nodes=4, max_restarts=5)))
    assert crd_errors(job) == []
    assert {k: v["replicas"] for k, v in job["spec"]["pytorchReplicaSpecs"].items()} == {"Worker": 2}
    assert job["spec"]["elasticPolicy"] == {
        "maxReplicas": 4,
        "maxRestarts": 5,
        "minReplicas": 1,
        "rdzvBackend": "c10d",
    }


def test_trainjob_uses_the_torch_runtime_and_patches_the_node_pods(crd_errors):
    job = build_trainjob(gpu_spec(gang=GangScheduling(queue="training")))
    assert crd_errors(job) == []
    assert job["spec"]["runtimeRef"]["name"] == "torch-distributed"
    trainer = job["spec"]["trainer"]
    assert (trainer["numNodes"], trainer["numProcPerNode"]) == (3, 2)
    assert trainer["resourcesPerNode"]["limits"]["nvidia.com/gpu"] == "2"
    assert trainer["command"] == ["torchrun", "-m", "components.train"]
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "training"
    (patch,) = job["spec"]["runtimePatches"]
    (node,) = patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]
    pod = node["template"]["spec"]["template"]
    assert node["name"] == "node"
    assert pod["metadata"]["annotations"] == {"sidecar.istio.io/inject": "false"}
    assert pod["spec"]["containers"] == [
        {"name": "node", "volumeMounts": [{"mountPath": "/mnt/checkpoints", "name": "checkpoints"}]}
    ]
    assert pod["spec"]["serviceAccountName"] == "trainer"


SPOT = {"key": "spot", "operator": "Exists", "effect": "NoSchedule"}
GPU = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
ACCELERATOR = {"cloud.google.com/gke-accelerator": "nvidia-l4"}


def trainjob_pod(job: dict) -> dict:
    (patch,) = job["spec"]["runtimePatches"]
    (node,) = patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]
    return node["template"]["spec"]["template"]["spec"]


def test_every_replica_gets_the_node_selector_and_tolerations_plus_the_gpu_one(crd_errors):
    job = build_pytorchjob(gpu_spec())
    assert crd_errors(job) == []
    for replica in ("Master", "Worker"):
        pod = job["spec"]["pytorchReplicaSpecs"][replica]["template"]["spec"]
        assert pod["nodeSelector"] == ACCELERATOR
        assert pod["tolerations"] == [SPOT, GPU]
    train = build_trainjob(gpu_spec(gang=GangScheduling(queue="training")))
    assert crd_errors(train) == []
    assert trainjob_pod(train)["nodeSelector"] == ACCELERATOR
    assert trainjob_pod(train)["tolerations"] == [SPOT, GPU]


def pod_specs(job: dict) -> list[dict]:
    """Every pod spec a job's pods start from: each PyTorchJob replica, or the TrainJob node patch."""
    if job["kind"] == "TrainJob":
        return [trainjob_pod(job)]
    return [r["template"]["spec"] for r in job["spec"]["pytorchReplicaSpecs"].values()]


@pytest.mark.parametrize("build", [build_pytorchjob, build_trainjob])
def test_own_gpu_toleration_is_kept_and_cpu_jobs_get_no_toleration(crd_errors, build):
    evict = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60}
    job = build(gpu_spec(tolerations=(evict,), gang=None))  # Kubernetes-style dicts are accepted too
    assert crd_errors(job) == []
    assert [p["tolerations"] for p in pod_specs(job)] == [[evict]] * len(pod_specs(job))
    cpu_pods = pod_specs(build(spec(num_nodes=2)))
    assert all("tolerations" not in p and "nodeSelector" not in p for p in cpu_pods)
    assert spec(resources=Resources(gpu=1)).pod_tolerations() == [GPU_TOLERATION]


def test_misspelt_toleration_field_fails_the_schema(crd_errors):
    job = build_pytorchjob(gpu_spec())
    job["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["tolerations"][0]["tolerationSecond"] = 5
    assert any("tolerationSecond" in e for e in crd_errors(job))


def test_examples_are_valid_and_match_their_golden_files(crd_errors, golden):
    for name, manifest in (("pytorchjob", example_pytorchjob()), ("trainjob", example_trainjob())):
        assert crd_errors(manifest) == []
        golden(f"manifests/example-{name}.yaml", to_yaml(manifest))
    job = example_pytorchjob()
    assert containers(job, "Master")[0]["image"] == TRAINER_IMAGE
    assert job["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] == 1
    assert "gs://YOUR_BUCKET/kwp/data/train.parquet" in containers(job, "Master")[0]["args"]


def test_gpu_variants_match_their_golden_files(golden):
    golden("manifests/pytorchjob-gpu-gang.yaml", to_yaml(build_pytorchjob(gpu_spec())))
    golden(
        "manifests/trainjob-gpu.yaml",
        to_yaml(build_trainjob(gpu_spec(gang=GangScheduling(queue="training")))),
    )
    elastic = spec(num_nodes=2, elastic=Elastic(min_nodes=2, max_nodes=4), env_from_secrets=("gcs-creds",))
    golden("manifests/pytorchjob-elastic.yaml", to_yaml(build_pytorchjob(elastic)))


# --- what the schema cannot catch, our checks do -------------------------------------------------


def test_wrong_replica_type_passes_the_schema_but_not_our_check(crd_errors):
    job = build_pytorchjob(spec())
    job["spec"]["pytorchReplicaSpecs"]["Chief"] = job["spec"]["pytorchReplicaSpecs"].pop("Worker")
    assert crd_errors(job) == []  # the CRD types pytorchReplicaSpecs as a free-form map
    with pytest.raises(ManifestError, match=r"Chief.*only \['Master', 'Worker'\]"):
        PYTORCHJOB.check(job)


def test_missing_container_name_fails_schema_and_check(crd_errors):
    job = build_pytorchjob(spec())
    del containers(job, "Worker")[0]["name"]
    assert any("'name' is a required property" in e for e in crd_errors(job))
    with pytest.raises(ManifestError, match="every container needs a name"):
        PYTORCHJOB.check(job)


def test_container_not_named_pytorch_is_rejected(crd_errors):
    job = build_pytorchjob(spec())
    containers(job, "Master")[0]["name"] = "trainer"
    assert crd_errors(job) == []
    with pytest.raises(ManifestError, match="must be named 'pytorch'"):
        PYTORCHJOB.check(job)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda j: j["spec"]["pytorchReplicaSpecs"]["Master"].update(replicas=2), "exactly 1 replica"),
        (lambda j: j["spec"].update(nprocPerNode=2), "nprocPerNode must be a string"),
        (lambda j: j["spec"]["pytorchReplicaSpecs"].pop("Master"), "needs a Master"),
        (lambda j: j["spec"]["pytorchReplicaSpecs"]["Worker"].update(restartPolicy="Sometimes"), "Sometimes"),
        (lambda j: j["metadata"].update(name="Bad_Name"), "Bad_Name"),
    ],
)
def test_operator_rules(mutate, message):
    job = build_pytorchjob(spec())
    mutate(job)
    with pytest.raises(ManifestError, match=message):
        PYTORCHJOB.check(job)


def test_strict_schema_catches_misspelt_and_mistyped_fields(crd_errors):
    job = build_pytorchjob(spec())
    typo = copy.deepcopy(job)
    typo["spec"]["nprocPerNodes"] = typo["spec"].pop("nprocPerNode")
    assert any("nprocPerNodes" in e for e in crd_errors(typo))
    wrong_type = copy.deepcopy(job)
    wrong_type["spec"]["nprocPerNode"] = 2
    assert any("nprocPerNode: 2 is not of type 'string'" in e for e in crd_errors(wrong_type))
    train = build_trainjob(spec())
    del train["spec"]["runtimeRef"]
    assert any("'runtimeRef' is a required property" in e for e in crd_errors(train))


def test_trainjob_checks():
    job = build_trainjob(spec())
    job["spec"]["trainer"]["numNodes"] = 0
    with pytest.raises(ManifestError, match="numNodes=0"):
        TRAINJOB.check(job)
    job = build_trainjob(spec())
    job["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"][0][
        "name"
    ] = "trainer"
    with pytest.raises(ManifestError, match="'trainer'"):
        TRAINJOB.check(job)


def test_trainjob_refuses_pytorchjob_only_options():
    with pytest.raises(LauncherConfigError, match="elastic"):
        build_trainjob(spec(elastic=Elastic(1, 3)))
    with pytest.raises(LauncherConfigError, match="env_from_secrets"):
        build_trainjob(spec(env_from_secrets=("creds",)))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"resources": Resources(gpu=1), "nproc_per_node": 2}, "exceeds gpu=1"),
        ({"num_nodes": 0}, "num_nodes=0"),
        ({"restart_policy": "Sometimes"}, "restart_policy='Sometimes'"),
        ({"clean_pod_policy": "Some"}, "clean_pod_policy='Some'"),
        ({"secret_env": {"TOKEN": "no-key"}}, "expected 'secret-name/key'"),
        ({"env": {"BAD-NAME": "x"}}, "BAD-NAME"),
        ({"entry_args": (*ARGS, "--checkpoint-dir", "/x")}, "checkpoint_dir"),
        ({"name": "x" * 64}, "1-63 characters"),
        ({"namespace": ""}, "namespace"),
        ({"elastic": Elastic(1, 2), "num_nodes": 3}, "outside the elastic range"),
        ({"gang": GangScheduling(min_available=5)}, "min_available=5"),
        ({"checkpoint_mount": "relative/dir"}, "absolute path"),
        ({"node_selector": {"accel": "nvidia l4"}}, "'nvidia l4' is not a valid label value"),
        ({"tolerations": ({"key": "spot", "effect": "Never"},)}, "effect='Never'"),
        ({"tolerations": "spot"}, "tolerations must be a sequence"),
    ],
)
def test_bad_specs_get_clear_errors(overrides, message):
    with pytest.raises(LauncherConfigError, match=message):
        spec(**overrides)


def test_bad_quantities_and_elastic_ranges():
    with pytest.raises(LauncherConfigError, match="memory='8 GB'"):
        Resources(memory="8 GB")
    with pytest.raises(LauncherConfigError, match="min_nodes=3, max_nodes=2"):
        Elastic(3, 2)
    with pytest.raises(LauncherConfigError, match="rdzv_backend='zk'"):
        Elastic(1, 2, rdzv_backend="zk")
