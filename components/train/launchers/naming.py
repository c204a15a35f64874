"""Deterministic job names and spec fingerprints.

A launcher pod that Kubernetes restarts must find the job it created before, so the name depends only
on the pipeline run and task (never on time or randomness), and two tasks never share a name.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

# Pod and Service names are "<job>-worker-<index>" (PyTorchJob) or "<job>-node-<i>-<j>-<suffix>"
# (TrainJob via JobSet), and must themselves stay within 63 characters: keep job names short.
MAX_JOB_NAME = 40
HASH_CHARS = 10
SPEC_HASH_ANNOTATION = "kubeflow-warehouse-pipelines/spec-sha256"
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def stable_hash(*parts: str, chars: int = HASH_CHARS) -> str:
    """Hex SHA-256 of the parts (length-prefixed, so ("ab", "c") differs from ("a", "bc"))."""
    digest = hashlib.sha256()
    for part in parts:
        encoded = part.encode("utf-8")
        digest.update(f"{len(encoded)}:".encode())
        digest.update(encoded)
    return digest.hexdigest()[:chars]


def dns_label(text: str) -> str:
    """Lower-case ``text`` and keep only [a-z0-9-], collapsing runs of anything else into one dash."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", text.lower())).strip("-")


def job_name(run_id: str, task_id: str, prefix: str = "kwp-train", max_length: int = MAX_JOB_NAME) -> str:
    """``<prefix>-<readable part of run_id>-<hash of run and task>``: an RFC 1035 label, stable per task.

    ``run_id`` and ``task_id`` are usually ``dsl.PIPELINE_JOB_ID_PLACEHOLDER`` and
    ``dsl.PIPELINE_TASK_ID_PLACEHOLDER`` resolved by KFP; any strings work.
    """
    if not run_id and not task_id:
        raise ValueError("job_name needs a run id or a task id to derive a stable name; both are empty")
    clean_prefix = dns_label(prefix)
    if not clean_prefix or not clean_prefix[0].isalpha():
        raise ValueError(f"job name prefix {prefix!r} must start with a letter (RFC 1035 label)")
    suffix = stable_hash(run_id, task_id)
    room = max_length - len(clean_prefix) - len(suffix) - 2
    if room < 0:
        raise ValueError(f"prefix {prefix!r} leaves no room for the hash within {max_length} characters")
    readable = dns_label(run_id)[:room].strip("-")
    name = "-".join(p for p in (clean_prefix, readable, suffix) if p)
    check_job_name(name, max_length)
    return name


def check_job_name(name: str, max_length: int = 63) -> None:
    """Raise ValueError unless ``name`` is an RFC 1035 label of at most ``max_length`` characters."""
    if len(name) > max_length or not _DNS_LABEL.match(name):
        raise ValueError(
            f"job name {name!r} is not valid: it needs 1-{max_length} characters of [a-z0-9-], "
            "starting with a letter and ending with a letter or digit"
        )


def spec_hash(manifest: Mapping[str, object]) -> str:
    """Fingerprint of a manifest, written as an annotation so a re-attaching launcher can check it."""
    canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
