"""The example Experiments: valid, as golden YAML, bindable, and written to disk without clobbering."""

from __future__ import annotations

import pytest
import yaml

from katib.experiments import (
    bind,
    example_experiments,
    experiment_to_yaml,
    search_example,
    unbound,
    validate_experiment,
    write_examples,
)
from katib.experiments.trial_template import primary_container
from katib.hyperband import brackets


@pytest.mark.parametrize("name", sorted(example_experiments()))
def test_examples_are_valid_and_match_their_golden_yaml(name, golden):
    doc = example_experiments()[name]()
    validate_experiment(doc)
    golden(f"katib/experiment-{name}.yaml", experiment_to_yaml(doc))


def test_hyperband_example_is_one_full_iteration_with_epochs_as_resource():
    spec = example_experiments()["hyperband"]()["spec"]
    settings = {s["name"]: s["value"] for s in spec["algorithm"]["algorithmSettings"]}
    assert spec["algorithm"]["algorithmName"] == "kwp-hyperband"
    assert settings == {"resource_name": "epochs", "r_l": "27", "eta": "3"}
    assert spec["maxTrialCount"] == sum(b.trial_count for b in brackets(27, 3)) == 69
    assert spec["trialTemplate"]["trialSpec"]["kind"] == "PyTorchJob"


@pytest.mark.parametrize(("max_resource", "eta", "trials"), [(1, 3, 1), (2, 3, 1), (3, 3, 6)])
def test_hyperband_example_runs_no_more_trials_in_parallel_than_its_schedule_has(max_resource, eta, trials):
    from katib.experiments.examples import hyperband_example

    doc = hyperband_example(max_resource=max_resource, eta=eta, parallel=3)
    validate_experiment(doc)  # Katib refuses parallelTrialCount > maxTrialCount
    assert (doc["spec"]["maxTrialCount"], doc["spec"]["parallelTrialCount"]) == (trials, min(3, trials))


def test_darts_example_uses_katibs_genotype_filter_and_one_trial():
    spec = example_experiments()["darts"]()["spec"]
    assert spec["metricsCollectorSpec"]["source"]["filter"]["metricsFormat"] == [r"([\w-]+)=(Genotype.*)"]
    assert spec["objective"]["objectiveMetricName"] == "Best-Genotype"
    assert spec["maxTrialCount"] == spec["parallelTrialCount"] == 1
    command = primary_container(spec["trialTemplate"]["trialSpec"], "training-container")["command"]
    assert command[:3] == ["python", "-m", "katib.darts"] and "--num-layers" in command


def test_data_bindings_are_listed_and_resolved():
    doc = search_example("random")
    assert unbound(doc) == ["stats", "train", "validation"]
    bound = bind(doc, {"train": "gs://b/train.parquet", "validation": "gs://b/val.parquet",
                       "stats": "gs://b/stats.json"})  # fmt: skip
    assert unbound(bound) == [] and "gs://b/train.parquet" in experiment_to_yaml(bound)
    assert unbound(doc) == ["stats", "train", "validation"]  # the original is untouched


def test_unknown_search_example_is_an_error():
    with pytest.raises(ValueError, match="grid, random or tpe"):
        search_example("cmaes")


def test_write_examples_binds_data_and_refuses_to_overwrite(tmp_path):
    data = {"train": "/d/t.parquet", "validation": "/d/v.parquet", "stats": "/d/stats.json"}
    paths = write_examples(tmp_path, data=data)
    assert sorted(p.name for p in paths) == [f"experiment-{n}.yaml" for n in sorted(example_experiments())]
    doc = yaml.safe_load((tmp_path / "experiment-grid.yaml").read_text())
    assert unbound(doc) == [] and "/d/t.parquet" in str(doc)
    with pytest.raises(FileExistsError, match="overwrite"):
        write_examples(tmp_path)
    assert write_examples(tmp_path, overwrite=True)
