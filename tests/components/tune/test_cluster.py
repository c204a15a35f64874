"""Cluster logic against FakeCustomObjectsApi: create, re-attach, wait with timeout, list, delete."""

from __future__ import annotations

import re

import pytest

from components.tune import cluster
from components.tune.cluster import TuneError, TuneTimeout


def test_names_are_stable_per_task_and_valid_dns_labels():
    a = cluster.experiment_name("kwp-hyperband-digits", "run-1", "tune")
    assert a == cluster.experiment_name("kwp-hyperband-digits", "run-1", "tune")
    assert a != cluster.experiment_name("kwp-hyperband-digits", "run-2", "tune")
    for base in ("kwp-hyperband-digits", "My_Experiment!!", "9lives", "x" * 80, ""):
        name = cluster.experiment_name(base, "r", "t")
        assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name) and len(name) <= 40, name


def test_launch_creates_then_reattaches_to_the_same_experiment(fake_api, small_experiment):
    api = fake_api()
    created, fresh = cluster.launch(api, small_experiment, "small-1", "team")
    assert fresh and created["metadata"]["namespace"] == "team"
    assert cluster.SPEC_HASH in created["metadata"]["annotations"]
    again, fresh = cluster.launch(api, small_experiment, "small-1", "team")
    assert not fresh and again["metadata"]["uid"] == created["metadata"]["uid"]
    assert api.calls == ["create", "create", "get"]


def test_a_different_experiment_with_the_same_name_is_not_adopted(fake_api, small_experiment):
    api = fake_api()
    cluster.launch(api, small_experiment, "small-1", "team")
    small_experiment["spec"]["maxTrialCount"] = 2
    with pytest.raises(TuneError, match="already exists with a different spec"):
        cluster.launch(api, small_experiment, "small-1", "team")


def test_other_create_errors_are_reported(fake_api, small_experiment):
    class Forbidden(fake_api):
        def create_namespaced_custom_object(self, *args, **kwargs):
            from kubernetes.client.rest import ApiException

            raise ApiException(status=403, reason="Forbidden")

    with pytest.raises(TuneError, match="HTTP 403"):
        cluster.launch(Forbidden(), small_experiment, "small-1", "team")


def test_wait_polls_until_katib_marks_the_experiment_done(
    fake_api, katib_controller, small_experiment, fake_clock
):
    api = fake_api(katib_controller(reads=3))
    cluster.launch(api, small_experiment, "small-1", "team")
    lines = []
    final, done = cluster.wait(
        api,
        "small-1",
        "team",
        600,
        poll_s=10,
        clock=fake_clock,
        sleep=fake_clock.sleep,
        progress=lines.append,
    )
    assert (done.status, done.reason) == ("Succeeded", "ExperimentMaxTrialsReached")
    assert fake_clock.sleeps == [10, 10]
    assert final["status"]["currentOptimalTrial"]["bestTrialName"].endswith("bbbbbbbb")
    assert lines == ["[small-1] trials: 2 running"]  # printed once, not on every poll


def test_wait_times_out_with_a_clear_error(fake_api, katib_controller, small_experiment, fake_clock):
    api = fake_api(katib_controller(reads=1000))
    cluster.launch(api, small_experiment, "small-1", "team")
    with pytest.raises(TuneTimeout, match="did not finish within 60 s"):
        cluster.wait(
            api,
            "small-1",
            "team",
            60,
            poll_s=25,
            clock=fake_clock,
            sleep=fake_clock.sleep,
            progress=lambda _: None,
        )
    assert fake_clock.now == 75


def test_transient_api_errors_are_retried_and_a_deleted_experiment_is_an_error(
    fake_api, katib_controller, small_experiment, fake_clock
):
    api = fake_api(katib_controller(reads=1))
    cluster.launch(api, small_experiment, "small-1", "team")
    api.fail_next_gets = [503, 500]
    _, done = cluster.wait(
        api, "small-1", "team", 600, poll_s=1, clock=fake_clock, sleep=fake_clock.sleep, progress=print
    )
    assert done.status == "Succeeded" and fake_clock.sleeps == [1, 1]
    cluster.delete(api, "small-1", "team")
    with pytest.raises(TuneError, match="disappeared"):
        cluster.wait(api, "small-1", "team", 600, clock=fake_clock, sleep=fake_clock.sleep, progress=print)


def test_trials_are_listed_by_experiment_label(fake_api, katib_controller, small_experiment):
    api = fake_api(katib_controller(reads=1))
    cluster.launch(api, small_experiment, "small-1", "team")
    cluster.launch(api, small_experiment, "small-2", "team")
    api.get_namespaced_custom_object("kubeflow.org", "v1beta1", "team", "experiments", "small-1")
    names = [t["metadata"]["name"] for t in cluster.list_trials(api, "small-1", "team")]
    assert names == ["small-1-aaaaaaaa", "small-1-bbbbbbbb"]
    assert cluster.list_trials(api, "small-2", "team") == []


def test_delete_policy():
    assert cluster.should_delete("always", False) and cluster.should_delete("on_success", True)
    assert not cluster.should_delete("on_success", False) and not cluster.should_delete("never", True)
    with pytest.raises(ValueError, match="never, on_success, always"):
        cluster.should_delete("sometimes", True)


def test_deleting_a_missing_experiment_is_fine(fake_api):
    cluster.delete(fake_api(), "gone", "team")
