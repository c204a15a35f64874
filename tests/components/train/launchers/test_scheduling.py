"""Node selectors and tolerations: parsed from the component's JSON and checked as the API server would."""

from __future__ import annotations

import pytest

from components.train.launchers import LauncherConfigError
from components.train.launchers.scheduling import (
    GPU_TOLERATION,
    Toleration,
    check_node_selector,
    parse_node_selector,
    parse_tolerations,
    pod_tolerations,
)


def test_tolerations_parse_from_the_kubernetes_spelling_and_back():
    text = (
        '[{"key": "spot", "operator": "Exists", "effect": "NoSchedule"},'
        ' {"key": "dedicated", "value": "ml", "effect": "NoExecute", "tolerationSeconds": 300},'
        ' {"operator": "Exists"}]'
    )
    parsed = parse_tolerations(text)
    assert parsed[1] == Toleration("dedicated", "Equal", "ml", "NoExecute", 300)
    assert [t.to_dict() for t in parsed] == [
        {"key": "spot", "operator": "Exists", "effect": "NoSchedule"},
        {
            "key": "dedicated",
            "operator": "Equal",
            "value": "ml",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
        {"operator": "Exists"},
    ]
    assert parse_tolerations("") == parse_tolerations("[]") == ()


def test_node_selector_parses_accelerator_labels():
    selector = parse_node_selector('{"cloud.google.com/gke-accelerator": "nvidia-l4", "pool": ""}')
    assert selector == {"cloud.google.com/gke-accelerator": "nvidia-l4", "pool": ""}
    assert parse_node_selector("") == parse_node_selector("{}") == {}


def test_gpu_toleration_is_added_once_and_only_with_gpus():
    spot = Toleration("spot", "Exists", effect="NoSchedule")
    assert pod_tolerations([spot], gpu=0) == [spot]
    assert pod_tolerations([spot], gpu=1) == [spot, GPU_TOLERATION]
    assert GPU_TOLERATION.to_dict() == {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    own = Toleration("nvidia.com/gpu", "Equal", "present", "NoSchedule")
    assert pod_tolerations([own], gpu=2) == [own]  # the user's own nvidia.com/gpu toleration is kept as is
    everything = Toleration(operator="Exists")
    assert pod_tolerations([everything], gpu=2) == [everything]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"key": "a", "operator": "In"}]', "operator='In'; valid: Equal, Exists"),
        (
            '[{"key": "a", "effect": "NoRun"}]',
            "effect='NoRun'; valid: NoSchedule, PreferNoSchedule, NoExecute",
        ),
        ('[{"key": "a", "operator": "Exists", "value": "x"}]', "'Exists' and value='x'"),
        ('[{"value": "x"}]', "without key must use operator 'Exists'"),
        ('[{"key": "bad key!"}]', "toleration key 'bad key!' is not a valid label key"),
        ('[{"key": "a", "value": "-x-"}]', "value '-x-' is not a valid label value"),
        ('[{"key": "a", "effect": "NoSchedule", "tolerationSeconds": 60}]', "needs effect 'NoExecute'"),
        ('[{"key": "a", "effect": "NoExecute", "tolerationSeconds": -1}]', "tolerationSeconds=-1"),
        ('[{"key": "a", "effect": "NoExecute", "tolerationSeconds": "60"}]', "tolerationSeconds='60'"),
        ('[{"key": "a", "toleration_seconds": 5}]', r"unknown fields \['toleration_seconds'\]"),
        ('["spot"]', "a toleration must be a JSON object, got 'spot'"),
        ('{"key": "a"}', "tolerations must be a JSON list"),
        ("[oops", "tolerations is not valid JSON"),
    ],
)
def test_bad_tolerations_name_the_bad_value(text, message):
    with pytest.raises(LauncherConfigError, match=message):
        parse_tolerations(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('["nvidia-l4"]', "node_selector must be a JSON object"),
        ('{"accelerator": 4}', r"node_selector\['accelerator'\] 4 is not a valid label value"),
        ('{"Bad_Prefix/accel": "x"}', "node_selector key 'Bad_Prefix/accel'"),
        ('{"": "x"}', "node_selector key ''"),
        ('{"accel": "' + "x" * 64 + '"}', "is not a valid label value"),
        ("{oops", "node_selector is not valid JSON"),
    ],
)
def test_bad_node_selectors_name_the_bad_value(text, message):
    with pytest.raises(LauncherConfigError, match=message):
        parse_node_selector(text)


def test_node_selector_must_be_a_mapping():
    with pytest.raises(LauncherConfigError, match="mapping of label to value"):
        check_node_selector([("a", "b")])
