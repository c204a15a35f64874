"""StdOut metrics parsing with Katib's default format and custom filters, and objective extraction."""

from __future__ import annotations

import pytest

from katib.metrics import (
    DEFAULT_METRICS_FORMAT,
    MetricsCollector,
    MetricsFormatError,
    compile_filter,
    goal_reached,
    is_better,
    metric_strategies,
)

TRAINING_OUTPUT = """\
starting training on cpu
epoch=1 loss=0.91 accuracy=0.71 val-loss=0.95 val-accuracy=0.70
epoch=2 loss=0.52 accuracy=0.85 val-loss=0.49 val-accuracy=0.86
warning: something happened
epoch=3 loss=0.41 accuracy=0.91 val-loss=0.58 val-accuracy=0.88
val-loss = 1.5e-1
"""


def test_default_format_reads_name_value_pairs_of_the_named_metrics_only():
    collector = MetricsCollector(["val-loss", "val-accuracy"])
    logs = collector.parse_lines(TRAINING_OUTPUT.splitlines())
    assert [(m.name, m.value) for m in logs][:2] == [("val-loss", "0.95"), ("val-accuracy", "0.70")]
    assert {m.name for m in logs} == {"val-loss", "val-accuracy"}  # loss, accuracy, epoch are not asked for
    assert logs[-1].value == "1.5e-1"  # spaces around '=' and an exponent, as Katib's regex allows


def test_observation_keeps_latest_min_max_and_strategies_extract_them():
    observation = MetricsCollector(["val-loss"]).parse(TRAINING_OUTPUT)
    summary = observation.metrics["val-loss"]
    assert (summary.latest, summary.min, summary.max, summary.count) == ("1.5e-1", 0.15, 0.95, 4)
    assert observation.value("val-loss", "latest") == 0.15
    assert observation.value("val-loss", "max") == 0.95
    assert observation.value("missing") is None


def test_metric_name_must_match_exactly_not_as_a_substring():
    observation = MetricsCollector(["loss"]).parse("val-loss=0.3\nloss=0.9\n")
    assert observation.metrics["loss"].latest == "0.9"
    assert observation.metrics["loss"].count == 1


def test_value_without_digits_is_not_a_report():
    assert MetricsCollector(["loss"]).parse("loss=nan\nloss=\n").metrics == {}


def test_custom_filter_reads_the_darts_genotype_as_a_string_metric():
    genotype = "Genotype(normal=[[('skip_connection',0)]],normal_concat=range(2,4))"
    collector = MetricsCollector(["Best-Genotype"], [r"([\w-]+)=(Genotype.*)"])
    observation = collector.parse(f"epoch=1 val-accuracy=0.9\nBest-Genotype={genotype}\n")
    summary = observation.metrics["Best-Genotype"]
    assert summary.latest == genotype
    assert summary.min is None and summary.max is None
    assert observation.value("Best-Genotype", "max") == genotype  # strings fall back to latest


def test_for_experiment_reads_names_and_filters_from_the_spec():
    experiment = {
        "spec": {
            "objective": {"objectiveMetricName": "acc", "additionalMetricNames": ["loss"]},
            "metricsCollectorSpec": {"source": {"filter": {"metricsFormat": [r"(\w+):\s*(\d+\.\d+)"]}}},
        }
    }
    collector = MetricsCollector.for_experiment(experiment)
    assert collector.metric_names == ("acc", "loss")
    assert collector.parse("acc: 0.75 loss: 0.5").value("acc") == 0.75


@pytest.mark.parametrize("pattern", [r"(\w+)=\d+", r"([\w-+)=(\d)"])
def test_bad_filters_are_rejected_with_the_pattern_named(pattern):
    with pytest.raises(MetricsFormatError, match="metricsFormat"):
        compile_filter(pattern)


def test_default_filter_has_two_groups():
    assert compile_filter(DEFAULT_METRICS_FORMAT).groups >= 2


def test_strategies_default_by_objective_type_as_katib_does():
    objective = {"type": "minimize", "objectiveMetricName": "loss", "additionalMetricNames": ["acc"]}
    assert metric_strategies(objective) == {"loss": "min", "acc": "min"}
    objective["metricStrategies"] = [{"name": "acc", "value": "latest"}]
    assert metric_strategies(objective) == {"loss": "min", "acc": "latest"}
    objective["metricStrategies"] = [{"name": "acc", "value": "median"}]
    with pytest.raises(MetricsFormatError, match="median"):
        metric_strategies(objective)


def test_comparisons_and_goal():
    assert is_better(0.1, 0.2, minimize=True) and not is_better(0.1, 0.2, minimize=False)
    assert is_better("Genotype(b)", "Genotype(a)", minimize=False)  # a string metric: the latest wins
    assert not is_better(float("nan"), 0.5, minimize=True)
    assert goal_reached(0.1, 0.1, minimize=True) and not goal_reached(0.11, 0.1, minimize=True)
    assert goal_reached(0.9, 0.8, minimize=False)
    assert not goal_reached("Genotype", 0.1, minimize=False) and not goal_reached(0.1, None, minimize=True)
