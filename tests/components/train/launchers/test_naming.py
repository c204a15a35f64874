"""Job names: deterministic per run and task, valid RFC 1035 labels, short enough for pod names."""

from __future__ import annotations

import pytest

from components.train.launchers import job_name
from components.train.launchers.naming import MAX_JOB_NAME, dns_label, stable_hash


def test_same_run_and_task_give_the_same_name_and_other_tasks_another():
    run = "3f2a9c1e-7b7d-4d0e-9a51-0c3f5d1e2b44"
    assert job_name(run, "task-a") == job_name(run, "task-a")
    assert job_name(run, "task-a") != job_name(run, "task-b")
    assert job_name(run, "task-a").startswith("kwp-train-3f2a9c1e-")


@pytest.mark.parametrize("run_id", ["UPPER_case run/ID", "x" * 300, "-", "1234", "ünïcode"])
def test_names_are_rfc1035_labels_within_the_limit(run_id):
    name = job_name(run_id, "t")
    assert len(name) <= MAX_JOB_NAME
    assert name[0].isalpha() and name[-1].isalnum()
    assert dns_label(name) == name


def test_hash_is_stable_and_unambiguous():
    assert stable_hash("ab", "c") != stable_hash("a", "bc")
    assert stable_hash("run", "task") == "dc6940e603"  # fixed: never Python's salted hash()


def test_bad_inputs():
    with pytest.raises(ValueError, match="both are empty"):
        job_name("", "")
    with pytest.raises(ValueError, match="must start with a letter"):
        job_name("r", "t", prefix="9train")
