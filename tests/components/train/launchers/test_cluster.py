"""KubernetesLauncher against FakeCustomObjectsApi / FakeCoreV1Api: wait, re-attach, failure, timeout."""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from components.train.launchers import (
    PYTORCHJOB,
    TRAINJOB,
    JobConflictError,
    JobFailedError,
    JobSpec,
    JobState,
    JobTimeoutError,
    JobVanishedError,
    KubernetesLauncher,
    LauncherConfigError,
    LauncherError,
    build_pytorchjob,
    build_trainjob,
)
from components.train.launchers.cluster import with_spec_hash

NAME, NS = "kwp-train-run1-0123456789", "ml"
PT_SELECTOR = "training.kubeflow.org/job-name={},training.kubeflow.org/replica-type={}"
TJ_SELECTOR = "jobset.sigs.k8s.io/jobset-name={},jobset.sigs.k8s.io/replicatedjob-name={}"
INDEX = "training.kubeflow.org/replica-index"


def cond(kind: str, status: str = "True", reason: str = "", message: str = "") -> dict:
    return {"type": kind, "status": status, "reason": reason or f"PyTorchJob{kind}", "message": message}


CREATED = {"conditions": [cond("Created")]}
RUNNING = {
    "conditions": [cond("Created"), cond("Running")],
    "replicaStatuses": {"Master": {"active": 1}, "Worker": {"active": 1}},
}
SUCCEEDED = {
    "conditions": [cond("Created"), cond("Running", "False"), cond("Succeeded")],
    "replicaStatuses": {"Master": {"succeeded": 1}, "Worker": {"succeeded": 1}},
}
FAILED = {
    "conditions": [cond("Created"), cond("Running", "False"), cond("Failed", message="Worker exited 1")],
    "replicaStatuses": {"Master": {"active": 1}, "Worker": {"failed": 1}},
}


@pytest.fixture
def manifest() -> dict:
    spec = JobSpec(name=NAME, namespace=NS, image="img", entry_args=("--train", "t"), num_nodes=2)
    return build_pytorchjob(spec)


@pytest.fixture
def launcher(fake_custom, fake_core, fake_clock):
    lines: list[str] = []

    def make(kind=PYTORCHJOB, **options) -> KubernetesLauncher:
        defaults = {"poll_interval_s": 10.0, "timeout_s": 600.0, "echo": lines.append}
        made = KubernetesLauncher(
            fake_custom, fake_core, kind, clock=fake_clock, sleep=fake_clock.sleep, **{**defaults, **options}
        )
        made.lines = lines
        return made

    return make


def test_created_running_succeeded(launcher, manifest, fake_custom, fake_clock):
    fake_custom.script(NAME, [CREATED, RUNNING, RUNNING, SUCCEEDED])
    run = launcher()
    outcome = run.run(manifest)
    assert outcome.status.state is JobState.SUCCEEDED
    assert (outcome.attached, outcome.deleted) == (False, True)
    assert fake_custom.count("create") == 1 and fake_custom.count("delete") == 1
    assert fake_custom.objects == {}
    assert fake_clock.sleeps == [10.0, 10.0, 10.0]
    progress = [line for line in run.lines if line.startswith("PyTorchJob")]
    # one line per change: the repeated Running poll prints nothing new
    assert progress == [
        f"PyTorchJob {NAME}: Pending (PyTorchJobCreated)",
        f"PyTorchJob {NAME}: Running (PyTorchJobRunning) | Master: active=1 | Worker: active=1",
        f"PyTorchJob {NAME}: Succeeded (PyTorchJobSucceeded) | Master: succeeded=1 | Worker: succeeded=1",
    ]


def test_restarted_launcher_reattaches_instead_of_creating_a_second_job(launcher, manifest, fake_custom):
    fake_custom.add("pytorchjobs", with_spec_hash(manifest))  # what the first launcher pod created
    fake_custom.script(NAME, [RUNNING, SUCCEEDED])
    run = launcher(delete_after="never")
    outcome = run.run(manifest)
    assert outcome.attached and not outcome.deleted
    assert fake_custom.count("create") == 1  # the attempt that answered 409
    assert len(fake_custom.objects) == 1
    assert any("already exists (Running): re-attaching" in line for line in run.lines)


def test_a_foreign_job_with_our_name_is_not_adopted(launcher, manifest, fake_custom):
    other = with_spec_hash({**manifest, "spec": {**manifest["spec"], "nprocPerNode": "8"}})
    fake_custom.add("pytorchjobs", other)
    with pytest.raises(JobConflictError, match="was not created from this spec"):
        launcher().run(manifest)
    assert fake_custom.count("delete") == 0


def test_failure_prints_the_failing_replicas_log_tail(
    launcher, manifest, fake_custom, fake_core, pod_factory
):
    fake_custom.script(NAME, [RUNNING, FAILED])
    log = "\n".join(f"line {i}" for i in range(500)) + "\nValueError: label column has one class"
    fake_core.add_pod(
        PT_SELECTOR.format(NAME, "worker"), pod_factory(f"{NAME}-worker-0", "pytorch", "Failed", 1), log
    )
    fake_core.add_pod(
        PT_SELECTOR.format(NAME, "master"), pod_factory(f"{NAME}-master-0", "pytorch"), "waiting"
    )
    run = launcher(log_tail_lines=20, follow_logs=False)  # only the failure logs read pods here
    with pytest.raises(JobFailedError, match="Worker exited 1") as failure:
        run.run(manifest)
    assert fake_core.selectors[0] == PT_SELECTOR.format(NAME, "worker")  # the failed replica first
    assert fake_core.log_calls[0] == {
        "pod": f"{NAME}-worker-0",
        "container": "pytorch",
        "tail_lines": 20,
        "previous": False,
        "since_seconds": None,
        "timestamps": False,
    }
    assert "ValueError: label column has one class" in failure.value.logs
    assert "line 481" in failure.value.logs and "line 480" not in failure.value.logs
    assert failure.value.job_name == NAME
    assert fake_custom.count("delete") == 0  # on_success keeps a failed job for inspection
    assert any("keeping PyTorchJob" in line for line in run.lines)


def test_failure_with_delete_always_deletes_after_reading_logs(
    launcher, manifest, fake_custom, fake_core, pod_factory
):
    fake_custom.script(NAME, [FAILED])
    fake_core.add_pod(
        PT_SELECTOR.format(NAME, "worker"), pod_factory(f"{NAME}-worker-0", "pytorch", "Failed", 1), "boom"
    )
    with pytest.raises(JobFailedError):
        launcher(delete_after="always").run(manifest)
    assert fake_custom.calls.index(("delete", NAME)) > 0 and fake_core.log_calls
    assert fake_custom.objects == {}


def test_log_of_a_crashed_and_restarted_container_is_the_previous_attempt(
    launcher, manifest, fake_custom, fake_core, pod_factory
):
    fake_custom.script(NAME, [FAILED])
    pod = pod_factory(f"{NAME}-worker-0", "pytorch", restarted=True)
    fake_core.add_pod(
        PT_SELECTOR.format(NAME, "worker"), pod, "restarted, loading checkpoint", "CUDA error: out of memory"
    )
    with pytest.raises(JobFailedError) as failure:
        launcher().run(manifest)
    assert "CUDA error: out of memory" in failure.value.logs
    assert "previous attempt" in failure.value.logs


def test_timeout_reports_the_last_state_and_deletes_when_always(
    launcher, manifest, fake_custom, fake_core, pod_factory, fake_clock
):
    fake_custom.script(NAME, [CREATED] + [RUNNING] * 100)
    fake_core.add_pod(
        PT_SELECTOR.format(NAME, "master"), pod_factory(f"{NAME}-master-0", "pytorch"), "epoch=3 loss=0.4"
    )
    with pytest.raises(JobTimeoutError, match=r"did not finish within 60 s \(last state: Running") as timeout:
        launcher(timeout_s=60.0, delete_after="always").run(manifest)
    assert "epoch=3 loss=0.4" in timeout.value.logs
    assert fake_custom.objects == {}
    assert fake_clock.now == pytest.approx(60.0)


def test_wait_echoes_the_masters_training_log_once_each_in_order(
    launcher, manifest, fake_custom, fake_core, pod_factory
):
    fake_custom.script(NAME, [CREATED, RUNNING, RUNNING, RUNNING, SUCCEEDED])  # polls at t=0,10,..,40
    master = PT_SELECTOR.format(NAME, "master") + f",{INDEX}=0"
    fake_core.add_pod(master, pod_factory(f"{NAME}-master-0", "pytorch"))  # no log yet: HTTP 400
    fake_core.add_pod(
        PT_SELECTOR.format(NAME, "worker") + f",{INDEX}=0", pod_factory(f"{NAME}-worker-0", "pytorch")
    )
    fake_core.write_log(f"{NAME}-worker-0", "pytorch", [(2.0, "worker noise")])
    fake_core.write_log(
        f"{NAME}-master-0",
        "pytorch",
        [
            (3.0, "loading data"),
            (8.0, "epoch=1 loss=0.9"),
            (8.0, "epoch=2 loss=0.8"),  # the same timestamp twice
            (15.0, "epoch=3 loss=0.7"),
            (15.5, "epoch=4 loss=0.6"),
            (38.0, "epoch=5 loss=0.5"),
            (39.999, "saved the model"),  # after the last poll that saw the job running
        ],
    )
    run = launcher()
    run.run(manifest)
    assert run.lines == [
        f"created PyTorchJob {NS}/{NAME}",
        f"PyTorchJob {NAME}: Pending (PyTorchJobCreated)",
        f"--- training log of {NAME}-master-0 (container pytorch) ---",
        f"PyTorchJob {NAME}: Running (PyTorchJobRunning) | Master: active=1 | Worker: active=1",
        "loading data",
        "epoch=1 loss=0.9",
        "epoch=2 loss=0.8",
        "epoch=3 loss=0.7",
        "epoch=4 loss=0.6",
        f"PyTorchJob {NAME}: Succeeded (PyTorchJobSucceeded) | Master: succeeded=1 | Worker: succeeded=1",
        "epoch=5 loss=0.5",
        "saved the model",
        f"deleted PyTorchJob {NS}/{NAME}",
    ]
    reads = fake_core.log_calls
    assert {c["pod"] for c in reads} == {f"{NAME}-master-0"} and all(c["timestamps"] for c in reads)
    # bounded reads: the tail at first, then only the seconds since the previous read plus the overlap
    assert [(c["tail_lines"], c["since_seconds"]) for c in reads] == [
        (100, None),
        (100, None),
        (None, 40),
        (None, 40),
        (None, 40),
    ]


def test_trainjob_follows_the_node_pod_with_completion_index_0(launcher, fake_custom, fake_core, pod_factory):
    manifest = build_trainjob(JobSpec(name=NAME, namespace=NS, image="img", entry_args=(), num_nodes=2))
    running = {"jobsStatus": [{"name": "node", "active": 2}]}
    complete = {"conditions": [{"type": "Complete", "status": "True", "reason": "JobSetCompleted"}]}
    fake_custom.script(NAME, [running, complete])
    selector = TJ_SELECTOR.format(NAME, "node") + ",jobset.sigs.k8s.io/job-index=0"
    for index in (1, 0):
        pod = pod_factory(f"{NAME}-node-0-{index}-x{index}", "node")
        pod.metadata.annotations = {"batch.kubernetes.io/job-completion-index": str(index)}
        fake_core.add_pod(selector, pod, f"node rank {index} starting\nepoch=1 from rank {index}")
    run = launcher(kind=TRAINJOB)
    run.run(manifest)
    assert (
        "epoch=1 from rank 0" in run.lines
        and f"--- training log of {NAME}-node-0-0-x0 (container node) ---" in run.lines
    )
    assert not any("rank 1" in line for line in run.lines)


def test_job_deleted_by_someone_else_while_waiting(launcher, manifest, fake_custom):
    fake_custom.script(NAME, [RUNNING])
    fake_custom.on_create = lambda body: fake_custom.fail_gets.extend(
        [ApiException(status=404, reason="NotFound")]
    )
    with pytest.raises(JobVanishedError, match="disappeared while we waited"):
        launcher().run(manifest)


def test_transient_api_errors_are_retried_then_give_up(launcher, manifest, fake_custom):
    fake_custom.script(NAME, [SUCCEEDED])
    fake_custom.fail_gets.extend([ApiException(status=503, reason="Unavailable")] * 2)
    assert launcher().run(manifest).status.state is JobState.SUCCEEDED
    fake_custom.objects.clear()
    fake_custom.fail_gets.extend([ApiException(status=500, reason="Internal")] * 4)
    with pytest.raises(LauncherError, match="4 API errors in a row"):
        launcher(max_api_errors=3).run(manifest)


def test_forbidden_create_names_rbac(launcher, manifest, fake_custom):
    fake_custom.create_error = ApiException(status=403, reason="Forbidden")
    with pytest.raises(LauncherError, match="lacks RBAC"):
        launcher().run(manifest)


def test_resubmit_failed_replaces_a_failed_job(launcher, manifest, fake_custom):
    old = with_spec_hash(manifest)
    old["status"] = FAILED
    fake_custom.add("pytorchjobs", old)
    fake_custom.script(NAME, [FAILED])  # the get that finds the failed job, then the new job runs
    fake_custom.on_create = lambda body: fake_custom.script(NAME, [RUNNING, SUCCEEDED])
    outcome = launcher(resubmit_failed=True).run(manifest)
    assert outcome.status.state is JobState.SUCCEEDED and not outcome.attached
    assert [a for a, _ in fake_custom.calls if a != "get"] == ["create", "delete", "create", "delete"]


def test_reattaching_to_a_failed_job_reports_its_failure(launcher, manifest, fake_custom):
    old = with_spec_hash(manifest)
    old["status"] = FAILED
    fake_custom.add("pytorchjobs", old)
    with pytest.raises(JobFailedError):
        launcher().run(manifest)
    assert fake_custom.count("create") == 1


def test_trainjob_conditions_and_node_logs(launcher, fake_custom, fake_core, pod_factory):
    manifest = build_trainjob(JobSpec(name=NAME, namespace=NS, image="img", entry_args=()))
    running = {
        "jobsStatus": [{"name": "node", "active": 2, "ready": 2, "succeeded": 0, "failed": 0, "suspended": 0}]
    }
    failed = {
        "conditions": [
            {"type": "Failed", "status": "True", "reason": "JobSetFailed", "message": "node-1 failed"}
        ],
        "jobsStatus": [
            {"name": "node", "active": 0, "ready": 0, "succeeded": 0, "failed": 1, "suspended": 0}
        ],
    }
    fake_custom.script(NAME, [{}, running, failed])
    fake_core.add_pod(
        TJ_SELECTOR.format(NAME, "node"),
        pod_factory(f"{NAME}-node-0-1-x", "node", "Failed", 2),
        "DataError: empty split",
    )
    run = launcher(kind=TRAINJOB)
    with pytest.raises(JobFailedError, match="node-1 failed") as failure:
        run.run(manifest)
    assert "DataError: empty split" in failure.value.logs
    assert fake_core.log_calls[0]["container"] == "node"
    assert f"TrainJob {NAME}: Running | node: active=2 ready=2" in run.lines


def test_trainjob_complete(launcher, fake_custom):
    manifest = build_trainjob(JobSpec(name=NAME, namespace=NS, image="img", entry_args=()))
    complete = {
        "conditions": [{"type": "Complete", "status": "True", "reason": "JobSetCompleted", "message": ""}]
    }
    fake_custom.script(NAME, [complete])
    outcome = launcher(kind=TRAINJOB, delete_after="never").run(manifest)
    assert outcome.status.state is JobState.SUCCEEDED and not outcome.deleted
    assert len(fake_custom.objects) == 1


def test_status_of_restarting_and_suspended_jobs():
    restarting = {"status": {"conditions": [cond("Created"), cond("Running", "False"), cond("Restarting")]}}
    assert PYTORCHJOB.status(restarting).state is JobState.RESTARTING
    assert PYTORCHJOB.status({}).state is JobState.PENDING
    suspended = {"status": {"conditions": [{"type": "Suspended", "status": "True", "reason": "Suspended"}]}}
    assert TRAINJOB.status(suspended).state is JobState.SUSPENDED


def test_bad_launcher_options(fake_custom, fake_core):
    with pytest.raises(LauncherConfigError, match="delete_after='sometimes'"):
        KubernetesLauncher(fake_custom, fake_core, PYTORCHJOB, delete_after="sometimes")
    with pytest.raises(LauncherConfigError, match="timeout_s=0"):
        KubernetesLauncher(fake_custom, fake_core, PYTORCHJOB, timeout_s=0)


def test_spec_hash_ignores_a_previous_hash_annotation(manifest):
    once = with_spec_hash(manifest)
    assert with_spec_hash(once) == once
    assert (
        with_spec_hash(manifest)["metadata"]["annotations"]
        != with_spec_hash({**manifest, "spec": {**manifest["spec"], "nprocPerNode": "2"}})["metadata"][
            "annotations"
        ]
    )


def _kubeconfig_at(monkeypatch, path) -> None:
    """Outside a pod, with the kubeconfig at ``path``. The client reads KUBECONFIG when it is imported,
    so the default location it resolved then is what is patched."""
    from kubernetes.config import kube_config

    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))


def test_without_a_cluster_the_error_says_where_it_looked_and_what_runs_locally(monkeypatch, tmp_path):
    from components.train.launchers.cluster import load_kubernetes_config

    _kubeconfig_at(monkeypatch, tmp_path / "missing-kubeconfig")
    with pytest.raises(LauncherConfigError, match=r"no Kubernetes cluster to talk to: .*KUBECONFIG or "
                       r"~/.kube/config.*train_backend=local and tune_mode/search_mode=local"):
        load_kubernetes_config()


def test_a_kubeconfig_is_loaded_when_there_is_one(monkeypatch, tmp_path):
    from kubernetes import client

    from components.train.launchers.cluster import load_kubernetes_config

    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:6443'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u, namespace: team-a}}]\n"
    )
    _kubeconfig_at(monkeypatch, kubeconfig)
    monkeypatch.setattr(client.Configuration, "_default", client.Configuration._default)  # restored after
    load_kubernetes_config()
    assert client.Configuration.get_default_copy().host == "https://127.0.0.1:6443"
