"""The ``preprocess`` KFP component: a thin wrapper over ``run.run_preprocess``.

Credentials never travel as parameters: the warehouse URL names the project/account, and the engine
adapters read credentials from the environment (ADC / Workload Identity, or a Kubernetes Secret
mounted as environment variables).
"""

from kfp import dsl

from components.runtime import RUNTIME_IMAGE


@dsl.component(base_image=RUNTIME_IMAGE, install_kfp_package=False)
def preprocess(
    spec_json: str,
    warehouse_url: str,
    train: dsl.Output[dsl.Dataset],
    validation: dsl.Output[dsl.Dataset],
    test: dsl.Output[dsl.Dataset],
    stats: dsl.Output[dsl.Artifact],
    metrics: dsl.Output[dsl.Metrics],
    summary: dsl.Output[dsl.Markdown],
    overwrite: bool = False,
):
    """Split, fit (on train only) and transform a warehouse table in the warehouse, then export Parquet.

    spec_json: a PreprocessSpec as JSON (components/preprocess/spec.py).
    warehouse_url: duckdb:///path.duckdb, bigquery://PROJECT/DATASET or snowflake://ACCOUNT/DB/SCHEMA.
    overwrite: replace existing destination tables and outputs instead of refusing.
    """
    from components.preprocess.report import publish
    from components.preprocess.run import OutputPaths, run_preprocess

    paths = OutputPaths(train.path, validation.path, test.path, stats.path)
    result = run_preprocess(spec_json, warehouse_url, paths, overwrite=overwrite)
    publish(result, {"train": train, "validation": validation, "test": test}, stats, metrics, summary)
