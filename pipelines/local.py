"""``kwp run PIPELINE --local``: the same pipeline through ``kfp.local`` on this machine.

Each run gets its own directory under ``--workdir`` holding an embedded DuckDB warehouse seeded with
scikit-learn's digits (unless ``warehouse_url`` is given) and every task's outputs, so runs never
overwrite each other's tables or artifacts.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pipelines.params import check_values, parse_params, pipeline_parameter_types
from pipelines.progress import ANSI_ESCAPE, quiet_kfp_output, retry_messages
from pipelines.registry import load_pipeline

#: Parameters a local run sets unless the user does: everything runs as local processes on one node.
LOCAL_DEFAULTS = {"train_backend": "local", "tune_mode": "local", "search_mode": "local", "num_nodes": 1}
DEFAULT_DATASET = "digits"
#: Metric values shown per artifact in the closing summary; all of them go to summary.json.
MAX_SHOWN = 12
#: Markdown outputs of the components (HTML ones are recognised by their content).
MARKDOWN_OUTPUTS = frozenset({"summary", "trials_report"})
#: kfp.local's complete output of a run, inside the run directory.
LOG_NAME = "kfp-local.log"


@dataclass
class TaskSummary:
    """What one finished task produced: its artifacts (name -> URI) and their metric values."""

    name: str
    artifacts: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunSummary:
    pipeline: str
    run_dir: Path
    arguments: dict[str, Any]
    tasks: list[TaskSummary]
    seconds: float

    def task(self, name: str) -> TaskSummary:
        for t in self.tasks:
            if t.name == name:
                return t
        raise KeyError(f"no task {name!r}; tasks: {[t.name for t in self.tasks]}")


def run_local(
    name: str,
    params: Sequence[str] | Mapping[str, Any] = (),
    *,
    workdir: str | Path = ".kwp",
    out: TextIO | None = None,
    verbose: bool = False,
    retries: bool = False,
) -> RunSummary:
    """Run pipeline ``name`` locally; ``params`` are ``KEY=VALUE`` strings or an already typed mapping.

    ``out`` gets one line per task and the closing summary; kfp.local's own output (every task's
    inputs, streamed logs and outputs) goes to ``<run>/kfp-local.log``, or to ``out`` with ``verbose``.
    ``retries`` keeps the steps' cluster retry policies (see :func:`without_retries`).
    """
    from kfp import local

    out = out or sys.stdout
    pipeline = load_pipeline(name)
    types = pipeline_parameter_types(pipeline)
    arguments = dict(params) if isinstance(params, Mapping) else parse_params(params, types)
    run_dir = _new_run_dir(Path(workdir), name)
    for key, value in LOCAL_DEFAULTS.items():
        if key in types:
            arguments.setdefault(key, value)
    check_values(arguments)
    if "warehouse_url" in types and "warehouse_url" not in arguments:
        arguments["warehouse_url"] = seed_local_warehouse(run_dir / "warehouse.duckdb")
    log_note = "" if verbose else f" (kfp.local's log: {run_dir / LOG_NAME})"
    print(f"kwp: running {name} locally in {run_dir}{log_note}", file=out, flush=True)
    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(run_dir / "outputs"),
        raise_on_error=True,
    )
    started = time.perf_counter()
    log_path = run_dir / LOG_NAME
    # verbose: kfp.local's output as it comes, plus the retry notices it logs at INFO
    output = retry_messages(out) if verbose else quiet_kfp_output(log_path, out)
    policies = contextlib.nullcontext() if retries else without_retries(pipeline)
    with policies, output as progress:
        try:
            pipeline(**arguments)
        except RuntimeError as error:  # kfp.local's "Task 'x' finished with status FAILURE"
            if progress is not None:
                progress.show_failure()
            plain = ANSI_ESCAPE.sub("", str(error)).rstrip(".")
            cause = f" ({progress.last_error})" if progress is not None and progress.last_error else ""
            where = "above" if verbose else f"in {log_path}"
            raise LocalRunError(
                f"{plain}{cause}. Its log is {where}; outputs so far are in {run_dir}"
            ) from None
    summary = RunSummary(name, run_dir, arguments, collect_tasks(run_dir / "outputs"),
                         time.perf_counter() - started)
    copy_pictures(summary)
    print(format_summary(summary), file=out, flush=True)
    (run_dir / "summary.json").write_text(json.dumps(_as_json(summary), indent=2, default=str))
    return summary


class LocalRunError(RuntimeError):
    """A step of a local pipeline run failed."""


@contextlib.contextmanager
def without_retries(pipeline: Any) -> Iterator[int]:
    """Clear every task's retry policy for the duration, and yield how many there were.

    The retries are for a cluster's transient failures (a preempted node, a warehouse hiccup). kfp.local
    honours them with their back-off, so a run with a missing table would wait 30 s and 60 s before
    saying so; on one machine a failure is nearly always the input's, so it is reported at once.
    The pipeline's spec is restored afterwards: compiling it later still gives the cluster policies.
    """
    spec = pipeline.pipeline_spec
    saved = type(spec)()
    saved.CopyFrom(spec)
    dags = [spec.root.dag, *(c.dag for c in spec.components.values() if c.HasField("dag"))]
    tasks = [task for dag in dags for task in dag.tasks.values() if task.HasField("retry_policy")]
    for task in tasks:
        task.ClearField("retry_policy")
    try:
        yield len(tasks)
    finally:
        spec.CopyFrom(saved)


def copy_pictures(summary: RunSummary) -> list[Path]:
    """Copy every HTML and Markdown output to ``<run>/pictures/<task>-<output>.html|.md`` for browsing."""
    pictures = summary.run_dir / "pictures"
    copied = []
    for task in summary.tasks:
        for artifact, uri in task.artifacts.items():
            path = Path(uri)
            if not path.is_file():
                continue
            head = path.read_text(errors="replace")[:64].lstrip().lower()
            suffix = ".html" if head.startswith(("<!doctype html", "<html")) else None
            suffix = suffix or (".md" if artifact in MARKDOWN_OUTPUTS else None)
            if suffix:
                pictures.mkdir(exist_ok=True)
                copied.append(Path(shutil.copyfile(path, pictures / f"{task.name}-{artifact}{suffix}")))
    if copied:
        task = TaskSummary("pictures", artifacts={p.stem: str(p) for p in copied})
        summary.tasks.append(task)
    return copied


def seed_local_warehouse(path: Path, dataset: str = DEFAULT_DATASET) -> str:
    """Create the embedded DuckDB warehouse with a dataset that ships with scikit-learn."""
    from components.preprocess.datasets import seed_duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    seed_duckdb(str(path), dataset)
    return f"duckdb:///{path.resolve()}"


def collect_tasks(pipeline_root: Path) -> list[TaskSummary]:
    """Read every task's ``executor_output.json`` that kfp.local left under the pipeline root."""
    tasks = []
    for output in sorted(pipeline_root.rglob("executor_output.json"), key=lambda p: p.stat().st_mtime):
        data = json.loads(output.read_text())
        task = TaskSummary(output.parent.name, parameters=data.get("parameterValues", {}))
        for artifact_name, entry in data.get("artifacts", {}).items():
            artifact = entry["artifacts"][0]
            task.artifacts[artifact_name] = artifact.get("uri", "")
            scalars = {k: v for k, v in artifact.get("metadata", {}).items() if isinstance(v, int | float)}
            if scalars:
                task.metrics[artifact_name] = scalars
        tasks.append(task)
    return tasks


def format_summary(summary: RunSummary) -> str:
    """A readable closing report: every step, its metrics and where its outputs are."""
    lines = [f"\n{summary.pipeline} finished in {summary.seconds:.1f} s; outputs under {summary.run_dir}"]
    for task in summary.tasks:
        lines.append(f"  [{task.name}]")
        for artifact, values in task.metrics.items():
            items = sorted(values.items())
            shown = ", ".join(f"{k}={_fmt(v)}" for k, v in items[:MAX_SHOWN])
            more = f" (+{len(items) - MAX_SHOWN} more in summary.json)" if len(items) > MAX_SHOWN else ""
            lines.append(f"    {artifact}: {shown}{more}")
        for key, value in task.parameters.items():
            lines.append(f"    {key} = {_fmt(value)}")
        for artifact, uri in task.artifacts.items():
            if artifact not in task.metrics:
                lines.append(f"    {artifact}: {uri}")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    """One line: floats to 4 significant digits, long or multi-line text cut (summary.json has it all)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    lines = str(value).splitlines() or [""]
    text = lines[0] + (f" ... ({len(lines)} lines)" if len(lines) > 1 else "")
    return text if len(text) <= 200 else text[:197] + "..."


def _new_run_dir(workdir: Path, name: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    for attempt in range(1000):
        run_dir = workdir / "runs" / (f"{name}-{stamp}" + (f"-{attempt}" if attempt else ""))
        try:
            run_dir.mkdir(parents=True)
            return run_dir.resolve()
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a fresh run directory under {workdir}")


def _as_json(summary: RunSummary) -> dict[str, Any]:
    return {
        "pipeline": summary.pipeline,
        "run_dir": str(summary.run_dir),
        "arguments": summary.arguments,
        "seconds": summary.seconds,
        "tasks": [vars(t) for t in summary.tasks],
    }
