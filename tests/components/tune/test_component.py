"""The ``tune`` component: compiles, and runs a tiny Experiment end to end through ``kfp.local``.

No ``from __future__ import annotations`` here: KFP reads the helper component's annotations.
"""

import json
from pathlib import Path

from kfp import compiler, dsl

from components.tune.component import tune
from katib.experiments import experiment_to_yaml


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def _write_rows(rows: int, data: dsl.Output[dsl.Dataset]):
    with open(data.path, "w") as handle:
        handle.write(" ".join(str(i) for i in range(rows)))


def test_component_compiles_with_its_interface(tmp_path):
    path = tmp_path / "tune.yaml"
    compiler.Compiler().compile(tune, str(path))
    text = path.read_text()
    for name in (
        "experiment_spec",
        "train",
        "validation",
        "mode",
        "delete_after",
        "best_parameters",
        "trials_report",
        "s3_endpoint",
        "secret_env",
    ):
        assert name in text


def test_local_mode_through_kfp_local(kfp_local, small_experiment):
    @dsl.pipeline
    def tune_pipeline(spec: str) -> str:
        rows = _write_rows(rows=5)
        step = tune(
            experiment_spec=spec,
            train=rows.outputs["data"],
            mode="local",
            run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
            task_id=dsl.PIPELINE_TASK_ID_PLACEHOLDER,
        )
        return step.outputs["best_parameters"]

    run = tune_pipeline(spec=experiment_to_yaml(small_experiment))
    assert json.loads(run.output) == {"lr": "0.1"}
    reports = list(Path(kfp_local).rglob("trials_report"))
    assert len(reports) == 1
    report = reports[0].read_text()
    assert "**Succeeded** (ExperimentMaxTrialsReached)" in report and "| 0.1 | 0.5 | 5 |" in report
    best = json.loads(next(Path(kfp_local).rglob("best_trial")).read_text())
    assert best["objective"]["value"] == 0.5 and best["metrics"]["rows"]["latest"] == "5"


def test_single_task_outputs(kfp_local, small_experiment, tmp_path):
    data = tmp_path / "rows.txt"
    data.write_text("1 2 3")
    task = tune(
        experiment_spec=json.dumps(small_experiment),
        mode="local",
        extra_data=json.dumps({"train": str(data)}),
    )
    assert json.loads(task.outputs["best_parameters"]) == {"lr": "0.1"}
    assert task.outputs["best_objective"] == "0.5"
    assert task.outputs["experiment_name"] == "small-tune"
    assert task.outputs["metrics"].metadata["loss"] == 0.5
    assert task.outputs["metrics"].metadata["trials_succeeded"] == 3.0
    assert task.outputs["best_trial"].metadata["parameters"] == {"lr": "0.1"}
