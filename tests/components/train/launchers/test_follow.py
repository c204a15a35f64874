"""LogFollower: bounded log reads of the rank-0 pod, each line echoed once, through restarts and errors."""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from components.train.launchers.follow import LogCursor, LogFollower, new_lines, split_stamp
from components.train.launchers.jobs import PodGroup

SELECTOR = "training.kubeflow.org/job-name=j,training.kubeflow.org/replica-type=master"
INDEX = "training.kubeflow.org/replica-index"
GROUP = PodGroup(SELECTOR, "pytorch", INDEX)


@pytest.fixture
def follow(fake_core, fake_clock):
    lines: list[str] = []
    follower = LogFollower(fake_core, "ml", lines.append, fake_clock, first_tail_lines=3)

    def poll_at(t: float) -> list[str]:
        """Advance the clock to ``t``, poll, and return what this poll echoed."""
        fake_clock.now = t
        before = len(lines)
        follower.poll(GROUP)
        return lines[before:]

    poll_at.follower = follower
    return poll_at


def add_master(fake_core, pod_factory, name="j-master-0", uid="uid-1"):
    pod = pod_factory(name, "pytorch")
    pod.metadata.uid = uid
    return fake_core.add_pod(f"{SELECTOR},{INDEX}=0", pod)


def test_quiet_until_the_pod_and_its_log_exist(follow, fake_core, pod_factory):
    assert follow(1.0) == []  # no pod yet
    assert fake_core.log_calls == []
    add_master(fake_core, pod_factory)
    assert follow(2.0) == ["--- training log of j-master-0 (container pytorch) ---"]  # 400: not started
    fake_core.write_log("j-master-0", "pytorch", [(3.0, "starting"), (4.0, "epoch=1 loss=1")])
    assert follow(5.0) == ["starting", "epoch=1 loss=1"]
    assert follow(6.0) == []


def test_first_read_of_a_long_running_pod_is_only_its_tail(follow, fake_core, pod_factory):
    add_master(fake_core, pod_factory)
    fake_core.write_log("j-master-0", "pytorch", [(float(i), f"epoch={i}") for i in range(1, 500)])
    assert follow(600.0)[1:] == ["epoch=497", "epoch=498", "epoch=499"]  # a re-attached launcher
    fake_core.write_log("j-master-0", "pytorch", [(601.0, "epoch=500")])
    assert follow(615.0) == ["epoch=500"]
    assert fake_core.log_calls[-1]["since_seconds"] == 45  # 15 s since the last read + 30 s overlap


def test_a_crashed_attempts_last_lines_then_the_restarted_one(follow, fake_core, pod_factory):
    pod = add_master(fake_core, pod_factory)
    fake_core.write_log("j-master-0", "pytorch", [(1.0, "epoch=1 loss=1")])
    assert follow(2.0)[1:] == ["epoch=1 loss=1"]
    fake_core.write_log(
        "j-master-0",
        "pytorch",
        [(3.0, "epoch=2 loss=0.9"), (4.0, "RuntimeError: NCCL timeout"), (8.0, "resumed at epoch 2")],
    )
    fake_core.restart(pod, at=5.0)
    assert follow(10.0) == ["epoch=2 loss=0.9", "RuntimeError: NCCL timeout", "resumed at epoch 2"]
    assert [c["previous"] for c in fake_core.log_calls] == [False, True, False]


def test_a_replacement_pod_is_followed_from_its_start(follow, fake_core, pod_factory):
    add_master(fake_core, pod_factory)
    fake_core.write_log("j-master-0", "pytorch", [(1.0, "first pod")])
    assert follow(2.0)[1:] == ["first pod"]
    fake_core.pods.clear()  # deleted and created again under the same name: a new uid
    add_master(fake_core, pod_factory, uid="uid-2")
    fake_core.logs.clear()
    fake_core.write_log("j-master-0", "pytorch", [(3.0, "second pod")])
    assert follow(4.0) == ["--- training log of j-master-0 (container pytorch) ---", "second pod"]


def test_api_errors_are_reported_once_and_rbac_stops_following(follow, fake_core, pod_factory):
    add_master(fake_core, pod_factory)
    fake_core.write_log("j-master-0", "pytorch", [(1.0, "epoch=1")])
    fake_core.list_error = ApiException(status=500, reason="Internal")
    assert follow(2.0) == ["could not read the training log (HTTP 500: Internal); retrying"]
    assert follow(3.0) == []  # said once
    fake_core.list_error = None
    assert follow(4.0)[1:] == ["epoch=1"]
    fake_core.log_error = ApiException(status=403, reason="Forbidden")
    assert "(HTTP 403)" in follow(5.0)[0]
    calls = len(fake_core.log_calls)
    assert follow(6.0) == [] and len(fake_core.log_calls) == calls and follow.follower.disabled


def test_no_pod_with_index_0_means_nothing_to_follow(follow, fake_core, pod_factory):
    fake_core.add_pod(f"{SELECTOR},{INDEX}=1", pod_factory("j-worker-1", "pytorch"), "epoch=1")
    assert follow(1.0) == []


def test_new_lines_skips_what_an_overlapping_read_returns_again():
    cursor = LogCursor()
    first = "2026-01-02T03:04:05.5Z a\n2026-01-02T03:04:05.5Z b\n2026-01-02T03:04:06Z c\n"
    assert new_lines(first, cursor) == ["a", "b", "c"]
    again = first + "2026-01-02T03:04:06Z d\n2026-01-02T03:04:06.000000001Z e\nno stamp\n"
    assert new_lines(again, cursor) == ["d", "e", "no stamp"]
    assert new_lines(again, cursor) == []


def test_split_stamp_orders_fractions_of_any_length():
    early, _ = split_stamp("2026-01-02T03:04:05.123456789Z x")
    late, text = split_stamp("2026-01-02T03:04:05.5Z y z")
    assert early < late and text == "y z"
    assert split_stamp("plain line") == (None, "plain line")
    offset, _ = split_stamp("2026-01-02T04:04:05+01:00 x")
    assert offset == split_stamp("2026-01-02T03:04:05Z x")[0]
