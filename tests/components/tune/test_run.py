"""``run_tune`` end to end: on a (fake) cluster, across a launcher restart, and locally for real."""

from __future__ import annotations

import json

import pytest

from components.train.launchers.errors import LauncherConfigError
from components.tune import cluster
from components.tune.run import TuneRequest, data_bindings, run_tune
from katib.experiments import UnboundDataError, experiment_to_yaml


def _request(spec, **kwargs) -> TuneRequest:
    defaults = {
        "mode": "kubernetes",
        "namespace": "team",
        "run_id": "run-7",
        "task_id": "tune",
        "poll_s": 0.0,
        "data": {"train": "gs://bucket/train.parquet"},
    }
    return TuneRequest(spec, **(defaults | kwargs))


def test_cluster_run_creates_waits_reads_trials_and_deletes(fake_api, katib_controller, small_experiment):
    api = fake_api(katib_controller(reads=2))
    result = run_tune(_request(experiment_to_yaml(small_experiment)), api=api, progress=lambda _: None)
    name = cluster.experiment_name("small-tune", "run-7", "tune")
    assert (result.name, result.status) == (name, "Succeeded")
    assert result.best.name == f"{name}-bbbbbbbb" and result.best_parameters() == {"lr": "0.01"}
    assert [t.objective for t in result.trials] == [0.5, 0.2]
    assert api.calls.count("create") == 1 and api.calls[-1] == "delete"


def test_the_created_experiment_has_data_bound_and_no_placeholders(
    fake_api, katib_controller, small_experiment, fake_clock
):
    api = fake_api(katib_controller(reads=1000))
    request = _request(small_experiment, timeout_s=60, poll_s=30, delete_after="never")
    with pytest.raises(cluster.TuneTimeout):
        run_tune(request, api=api, progress=lambda _: None, clock=fake_clock, sleep=fake_clock.sleep)
    (stored,) = [o for (_, plural, _, _), o in api.objects.items() if plural == "experiments"]
    text = json.dumps(stored)
    assert "gs://bucket/train.parquet" in text and "${kwp." not in text


def test_a_restarted_launcher_reattaches_instead_of_creating_a_second_experiment(
    fake_api, katib_controller, small_experiment, fake_clock
):
    api = fake_api(katib_controller(reads=4))
    request = _request(small_experiment, timeout_s=30, poll_s=30, delete_after="on_success")
    with pytest.raises(cluster.TuneTimeout):  # the first launcher gives up (as if its pod died)
        run_tune(request, api=api, progress=lambda _: None, clock=fake_clock, sleep=fake_clock.sleep)
    lines: list[str] = []
    result = run_tune(_request(small_experiment, timeout_s=600), api=api, progress=lines.append)
    assert result.succeeded and api.calls.count("create") == 2  # the second create got 409
    assert len([k for k in api.objects if k[1] == "experiments"]) == 0  # deleted on success
    assert lines[0].startswith("re-attached to Experiment team/small-tune-")


def test_timeout_with_delete_always_removes_the_experiment(
    fake_api, katib_controller, small_experiment, fake_clock
):
    api = fake_api(katib_controller(reads=1000))
    request = _request(small_experiment, timeout_s=3600, poll_s=60, delete_after="always")
    with pytest.raises(cluster.TuneTimeout):
        run_tune(request, api=api, progress=lambda _: None, clock=fake_clock, sleep=fake_clock.sleep)
    assert api.calls[-1] == "delete" and not api.objects


def test_failed_experiment_is_returned_failed_and_kept_for_inspection(
    fake_api, katib_controller, small_experiment
):
    api = fake_api(katib_controller(reads=1, outcome="Failed"))
    result = run_tune(_request(small_experiment), api=api, progress=lambda _: None)
    assert (result.status, result.reason, result.message) == ("Failed", "ExperimentFailed", "Failed now")
    assert "delete" not in api.calls
    with pytest.raises(Exception, match="failed: Failed now"):
        result.raise_for_status()


def test_bad_requests_fail_before_any_api_call(fake_api, small_experiment):
    api = fake_api()
    with pytest.raises(UnboundDataError, match="train"):
        run_tune(_request(small_experiment, data={}), api=api)
    small_experiment["spec"]["parallelTrialCount"] = 9
    with pytest.raises(ValueError, match="parallelTrialCount"):
        run_tune(_request(small_experiment), api=api)
    assert api.calls == []
    with pytest.raises(ValueError, match="mode 'cloud'"):
        _request(small_experiment, mode="cloud")
    with pytest.raises(ValueError, match="delete_after"):
        _request(small_experiment, delete_after="later")


def test_local_mode_runs_the_trials_here(small_experiment, tmp_path):
    data = tmp_path / "train.txt"
    data.write_text("a b c d")
    request = TuneRequest(
        small_experiment, mode="local", data={"train": str(data)}, workdir=tmp_path / "work"
    )
    result = run_tune(request, progress=lambda _: None)
    assert result.succeeded and result.best_parameters() == {"lr": "0.1"}
    assert result.best.metrics == {"loss": 0.5, "rows": 4.0}
    assert (tmp_path / "work" / "best_trial.json").exists()


def test_data_bindings_use_uris_on_the_cluster_and_paths_locally():
    class Art:
        uri, path = "gs://b/t", "/gcs/b/t"

    assert data_bindings("kubernetes", {"train": Art(), "validation": None}) == {"train": "gs://b/t"}
    assert data_bindings("local", {"train": Art()}, '{"extra": "s3://x"}') == {
        "train": "/gcs/b/t",
        "extra": "s3://x",
    }
    with pytest.raises(ValueError, match="extra_data"):
        data_bindings("local", {}, "[1]")


class _Artifact:
    """What data_bindings reads of a KFP input artifact."""

    def __init__(self, uri: str, path: str = "/local/copy") -> None:
        self.uri, self.path = uri, path


MINIO = "http://minio-service.kubeflow:9000"


@pytest.mark.parametrize(
    "uri, endpoint, expected",
    [
        ("gs://b/run/train", "", "gs://b/run/train"),
        ("gs://b/run/train", MINIO, "gs://b/run/train"),
        ("s3://b/run/train", "", "s3://b/run/train"),
        ("s3://b/run/train", MINIO, "s3://b/run/train"),
        ("minio://mlpipeline/v2/artifacts/run/train", MINIO, "s3://mlpipeline/v2/artifacts/run/train"),
    ],
)
def test_cluster_bindings_are_uris_the_trial_pods_can_open(uri, endpoint, expected):
    artifacts = {"train": _Artifact(uri), "stats": None}
    assert data_bindings("kubernetes", artifacts, s3_endpoint=endpoint) == {"train": expected}


def test_a_minio_artifact_without_an_endpoint_names_the_input_and_the_parameter():
    artifacts = {"validation": _Artifact("minio://mlpipeline/v2/artifacts/run/validation")}
    with pytest.raises(LauncherConfigError, match=r"tune input .validation.*pass s3_endpoint"):
        data_bindings("kubernetes", artifacts)
    with pytest.raises(LauncherConfigError, match="tune input 'extra'"):
        data_bindings("kubernetes", {}, '{"extra": "minio://mlpipeline/x"}')
    with pytest.raises(LauncherConfigError, match=r"tune input .train.*cannot be opened by the job pods"):
        data_bindings("kubernetes", {"train": _Artifact("hdfs://nn/train")}, s3_endpoint=MINIO)


def test_extra_minio_uris_are_translated_and_other_extra_values_pass_as_given():
    extra = '{"test": "minio://mlpipeline/test", "labels": "https://example.com/labels.csv"}'
    assert data_bindings("kubernetes", {}, extra, s3_endpoint=MINIO) == {
        "test": "s3://mlpipeline/test",
        "labels": "https://example.com/labels.csv",
    }


def test_local_bindings_are_paths_whatever_the_uri():
    artifacts = {"train": _Artifact("minio://mlpipeline/train", "/minio/mlpipeline/train")}
    assert data_bindings("local", artifacts) == {"train": "/minio/mlpipeline/train"}


def test_the_cluster_experiment_gets_the_endpoint_and_keys_in_its_trial_container(
    fake_api, katib_controller, small_experiment
):
    api = fake_api(katib_controller(reads=1))
    data = data_bindings(
        "kubernetes", {"train": _Artifact("minio://mlpipeline/run/train")}, s3_endpoint=MINIO
    )
    secrets = {"AWS_ACCESS_KEY_ID": "mlpipeline-minio-artifact/accesskey"}
    request = _request(
        small_experiment, data=data, s3_endpoint=MINIO, secret_env=secrets, delete_after="never"
    )
    assert run_tune(request, api=api, progress=lambda _: None).succeeded
    (stored,) = [o for (_, plural, _, _), o in api.objects.items() if plural == "experiments"]
    trial = stored["spec"]["trialTemplate"]["trialSpec"]
    (container,) = trial["spec"]["template"]["spec"]["containers"]
    assert "s3://mlpipeline/run/train" in container["command"]
    assert container["env"] == [
        {"name": "AWS_ENDPOINT_URL", "value": MINIO},
        {
            "name": "AWS_ACCESS_KEY_ID",
            "valueFrom": {"secretKeyRef": {"name": "mlpipeline-minio-artifact", "key": "accesskey"}},
        },
    ]


def test_a_bad_endpoint_or_secret_reference_fails_before_any_api_call(fake_api, small_experiment):
    with pytest.raises(LauncherConfigError, match="s3_endpoint='minio:9000'"):
        _request(small_experiment, s3_endpoint="minio:9000")
    api = fake_api()
    with pytest.raises(ValueError, match="expected 'secret-name/key'"):
        run_tune(_request(small_experiment, secret_env={"AWS_ACCESS_KEY_ID": "keys"}), api=api)
    assert api.calls == []


def test_local_trials_see_the_endpoint(small_experiment, tmp_path):
    container = small_experiment["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]
    code = "import os, sys; print(f'loss={float(sys.argv[1])} rows={len(os.environ[\"AWS_ENDPOINT_URL\"])}')"
    container["containers"][0]["command"][2] = code
    data = tmp_path / "train.txt"
    data.write_text("a")
    request = TuneRequest(
        small_experiment, mode="local", data={"train": str(data)}, workdir=tmp_path / "w", s3_endpoint=MINIO
    )
    result = run_tune(request, progress=lambda _: None)
    assert result.succeeded and result.best.metrics == {"loss": 0.01, "rows": float(len(MINIO))}
