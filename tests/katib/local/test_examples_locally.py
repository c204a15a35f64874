"""The example Experiments run unchanged on this machine with the real training entry point (slow)."""

from __future__ import annotations

import pytest

from katib.experiments import darts_example, hyperband_example, search_example
from katib.local import run_experiment


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """300 digits images (shipped with scikit-learn) as train/validation Parquet files + statistics."""
    import json

    import pandas as pd
    from sklearn.datasets import load_digits

    bunch = load_digits()
    frame = pd.DataFrame(bunch.data[:300] / 16.0, columns=[f"pixel_{i}" for i in range(64)])
    features = list(frame.columns)
    frame["label"] = bunch.target[:300]
    frame["id"] = range(300)  # a key column: the statistics keep it out of the features
    folder = tmp_path_factory.mktemp("digits")
    frame.iloc[:200].to_parquet(folder / "train.parquet")
    frame.iloc[200:].to_parquet(folder / "validation.parquet")
    stats = {"key_column": "id", "label_column": "label", "feature_columns": features}
    (folder / "stats.json").write_text(json.dumps(stats))
    return {name: str(folder / f"{name}.{ext}")
            for name, ext in (("train", "parquet"), ("validation", "parquet"), ("stats", "json"))}


def _shrink(experiment: dict, trials: int) -> dict:
    spec = experiment["spec"]
    spec.update(maxTrialCount=trials, parallelTrialCount=min(trials, 2), maxFailedTrialCount=1)
    return experiment


@pytest.mark.slow
def test_random_example_trains_mlps_as_job_trials(digits, tmp_path):
    experiment = _shrink(search_example("random", epochs=1), trials=2)
    result = run_experiment(experiment, tmp_path, data=digits, env={"OMP_NUM_THREADS": "1"}, log=print)
    assert result.succeeded, [t.message for t in result.trials]
    for trial in result.trials:
        assert 0.0 < trial.objective < 5.0 and 0.0 <= trial.metrics["val-accuracy"] <= 1.0
        assert set(trial.metrics) == {"val-loss", "val-accuracy", "loss", "accuracy"}
        assert (tmp_path / "trials" / trial.name / "model" / "model.pt").exists()


@pytest.mark.slow
def test_hyperband_example_runs_its_pytorchjob_master_under_local_torchrun(digits, tmp_path):
    experiment = _shrink(hyperband_example(max_resource=3), trials=1)
    result = run_experiment(experiment, tmp_path, data=digits, env={"OMP_NUM_THREADS": "1"}, log=print)
    assert result.succeeded, [t.message for t in result.trials]
    (trial,) = result.trials
    command = (tmp_path / "trials" / trial.name / "command.txt").read_text()
    assert "torch.distributed.run --standalone --nnodes=1 --nproc-per-node=1 -m components.train" in command
    assert trial.parameters["epochs"] == 1 and trial.labels["kwp.hyperband/rung"] == "0"
    assert trial.objective == trial.observation["val-loss"]["min"]


@pytest.mark.slow
def test_darts_example_runs_katibs_suggestion_and_collects_the_genotype(digits, tmp_path):
    tiny = {"num_epochs": 1, "init_channels": 2, "num_nodes": 1, "batch_size": 50, "stem_multiplier": 1}
    experiment = darts_example(num_layers=1, settings=tiny)
    data = {"train": digits["train"], "stats": digits["stats"]}
    result = run_experiment(experiment, tmp_path, data=data, env={"OMP_NUM_THREADS": "1"})
    assert result.succeeded, [t.message for t in result.trials]
    (trial,) = result.trials
    assert trial.objective.startswith("Genotype(normal=[[") and " " not in trial.objective
    assert (
        trial.parameters["num-layers"] == "1"
        and "'num_epochs': '1'" in trial.parameters["algorithm-settings"]
    )
    assert (tmp_path / "trials" / trial.name / "darts-output" / "genotype.json").exists()
    assert result.best is trial
