"""KFP component ``tune``: run a Katib Experiment on the cluster or locally; output the best parameters."""

from typing import NamedTuple

from kfp import dsl

from components.runtime import RUNTIME_IMAGE


@dsl.component(base_image=RUNTIME_IMAGE, install_kfp_package=False)
def tune(
    experiment_spec: str,
    metrics: dsl.Output[dsl.Metrics],
    trials_report: dsl.Output[dsl.Markdown],
    best_trial: dsl.Output[dsl.Artifact],
    schedule: dsl.Output[dsl.HTML],
    train: dsl.Input[dsl.Dataset] = None,
    validation: dsl.Input[dsl.Dataset] = None,
    stats: dsl.Input[dsl.Artifact] = None,
    mode: str = "kubernetes",
    namespace: str = "",
    timeout_s: int = 86400,
    delete_after: str = "on_success",
    extra_data: str = "{}",
    run_id: str = "",
    task_id: str = "",
    poll_s: int = 30,
    max_parallel: int = 0,
    s3_endpoint: str = "",
    secret_env: str = "{}",
) -> NamedTuple("TuneOutputs", best_parameters=str, best_objective=str, experiment_name=str):
    """Tune hyperparameters (or search an architecture) with a Katib Experiment.

    experiment_spec: the Experiment as YAML or JSON; ``${kwp.train}`` / ``${kwp.validation}`` /
    ``${kwp.stats}`` in its trial template become the ``train`` / ``validation`` / ``stats`` inputs
    (their URIs on a cluster, their paths locally); extra_data: JSON {"name": "uri"} for more
    ``${kwp.name}`` placeholders.
    mode="kubernetes" creates the Experiment (named from run_id/task_id: pass
    dsl.PIPELINE_JOB_ID_PLACEHOLDER and dsl.PIPELINE_TASK_ID_PLACEHOLDER so a restarted step re-attaches),
    waits up to timeout_s, then deletes it per delete_after (never, on_success, always).
    mode="local" runs the trials here as processes (max_parallel 0 = the Experiment's own limit).
    s3_endpoint: http(s)://host:port of MinIO or another S3-compatible store (e.g.
    'http://minio-service.kubeflow:9000'): minio:// artifact URIs become s3:// and the trial containers
    get AWS_ENDPOINT_URL; secret_env: JSON {"VAR": "secret-name/key"} for the trial containers (e.g. the
    MinIO keys as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
    """
    import collections
    import os

    from components.tune.outputs import publish
    from components.tune.run import TuneRequest, data_bindings, json_mapping, run_tune

    inputs = {"train": train, "validation": validation, "stats": stats}
    data = data_bindings(mode, inputs, extra_data, s3_endpoint)
    request = TuneRequest(
        experiment_spec, mode=mode, data=data, s3_endpoint=s3_endpoint,
        secret_env=json_mapping("secret_env", secret_env, "VAR -> 'secret-name/key'"),
        namespace=namespace, timeout_s=timeout_s, delete_after=delete_after, task_id=task_id, poll_s=poll_s,
        run_id=run_id or os.path.dirname(metrics.uri), max_parallel=max_parallel or None,
        workdir=os.path.join(os.path.dirname(metrics.path), "trials"),
    )  # fmt: skip
    result = run_tune(request)
    values = publish(result, metrics, trials_report, best_trial, schedule)
    result.raise_for_status()
    outputs = collections.namedtuple("TuneOutputs", ["best_parameters", "best_objective", "experiment_name"])
    return outputs(*values)
