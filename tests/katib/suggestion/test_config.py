"""The katib-config patch that registers ``kwp-hyperband`` with Katib."""

from __future__ import annotations

import pytest
import yaml

from katib.suggestion.config import (
    ALGORITHM_NAME,
    add_suggestion,
    add_to_katib_config_text,
    default_katib_config,
    katib_config_patch,
)

IMAGE = "registry.example/kwp-hyperband-suggestion:1.2.3"


def _ours(config):
    return [s for s in config["runtime"]["suggestions"] if s["algorithmName"] == ALGORITHM_NAME]


def test_patch_is_the_katib_config_map_with_our_entry():
    patch = katib_config_patch(IMAGE)
    assert patch["kind"] == "ConfigMap"
    assert patch["metadata"] == {"name": "katib-config", "namespace": "kubeflow"}
    config = yaml.safe_load(patch["data"]["katib-config.yaml"])
    assert config["kind"] == "KatibConfig"
    assert config["apiVersion"] == "config.kubeflow.org/v1beta1"
    [entry] = _ours(config)
    assert entry["image"] == IMAGE
    assert "ports" not in entry  # Katib adds port 6789 itself and rejects a config that names it
    assert entry["securityContext"]["runAsNonRoot"] is True
    # Katib's own algorithms and trial kinds are still there: the key replaces the whole file.
    names = {s["algorithmName"] for s in config["runtime"]["suggestions"]}
    assert {"hyperband", "random", "tpe", "grid", "darts"} <= names
    assert "PyTorchJob.v1.kubeflow.org" in config["init"]["controller"]["trialResources"]


def test_adding_twice_replaces_our_entry_and_keeps_the_rest():
    base = default_katib_config()
    once = add_suggestion(base, "old:1")
    twice = add_suggestion(once, IMAGE)
    assert [e["image"] for e in _ours(twice)] == [IMAGE]
    assert len(twice["runtime"]["suggestions"]) == len(base["runtime"]["suggestions"]) + 1
    assert not _ours(base), "the input is not modified"


def test_custom_base_is_kept():
    custom = {
        "kind": "KatibConfig",
        "init": {"controller": {"trialResources": ["TrainJob.v1alpha1.trainer.kubeflow.org"]}},
    }
    config = yaml.safe_load(
        katib_config_patch(IMAGE, base=custom, namespace="katib")["data"]["katib-config.yaml"]
    )
    assert config["init"] == custom["init"]
    assert [e["image"] for e in _ours(config)] == [IMAGE]


def test_edit_existing_text():
    text = yaml.safe_dump(default_katib_config())
    assert _ours(yaml.safe_load(add_to_katib_config_text(text, IMAGE)))[0]["image"] == IMAGE
    with pytest.raises(ValueError, match="kind: KatibConfig"):
        add_to_katib_config_text("kind: ConfigMap\n", IMAGE)
