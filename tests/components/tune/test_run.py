"""``run_tune`` end to end: on a (fake) cluster, across a launcher restart, and locally for real."""

from __future__ import annotations

import json

import pytest

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
    fake_api, katib_controller, small_experiment, clock
):
    api = fake_api(katib_controller(reads=1000))
    request = _request(small_experiment, timeout_s=60, poll_s=30, delete_after="never")
    with pytest.raises(cluster.TuneTimeout):
        run_tune(request, api=api, progress=lambda _: None, clock=clock, sleep=clock.sleep)
    (stored,) = [o for (_, plural, _, _), o in api.objects.items() if plural == "experiments"]
    text = json.dumps(stored)
    assert "gs://bucket/train.parquet" in text and "${kwp." not in text


def test_a_restarted_launcher_reattaches_instead_of_creating_a_second_experiment(
    fake_api, katib_controller, small_experiment, clock
):
    api = fake_api(katib_controller(reads=4))
    request = _request(small_experiment, timeout_s=30, poll_s=30, delete_after="on_success")
    with pytest.raises(cluster.TuneTimeout):  # the first launcher gives up (as if its pod died)
        run_tune(request, api=api, progress=lambda _: None, clock=clock, sleep=clock.sleep)
    lines: list[str] = []
    result = run_tune(_request(small_experiment, timeout_s=600), api=api, progress=lines.append)
    assert result.succeeded and api.calls.count("create") == 2  # the second create got 409
    assert len([k for k in api.objects if k[1] == "experiments"]) == 0  # deleted on success
    assert lines[0].startswith("re-attached to Experiment team/small-tune-")


def test_timeout_with_delete_always_removes_the_experiment(
    fake_api, katib_controller, small_experiment, clock
):
    api = fake_api(katib_controller(reads=1000))
    request = _request(small_experiment, timeout_s=3600, poll_s=60, delete_after="always")
    with pytest.raises(cluster.TuneTimeout):
        run_tune(request, api=api, progress=lambda _: None, clock=clock, sleep=clock.sleep)
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
