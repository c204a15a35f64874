import io
import re
from pathlib import Path

import pytest

from components.preprocess.engines import WarehouseUrlError
from components.preprocess.spec import SpecError
from pipelines.local import (
    LocalRunError,
    RunSummary,
    TaskSummary,
    copy_pictures,
    format_summary,
    run_local,
    without_retries,
)
from pipelines.registry import load_pipeline


@pytest.mark.parametrize(
    ("param", "error", "message"),
    [
        ("warehouse_url=foo://bar", WarehouseUrlError, "foo://bar"),
        ('spec_json={"source_table": "t"}', SpecError, "key_column"),
    ],
)
def test_bad_arguments_are_refused_before_any_step_runs(tmp_path, param, error, message):
    with pytest.raises(error, match=message):
        run_local("warehouse-train", [param], workdir=tmp_path)
    assert not list(tmp_path.rglob("executor_output.json"))


def test_html_and_markdown_outputs_are_copied_with_extensions(tmp_path):
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    (outputs / "curves").write_text("<!DOCTYPE html><html><body>x</body></html>")
    (outputs / "summary").write_text("| a | b |")
    (outputs / "model").mkdir()
    (outputs / "stats").write_text("{}")
    task = TaskSummary("train", artifacts={
        "learning_curves": str(outputs / "curves"), "summary": str(outputs / "summary"),
        "model": str(outputs / "model"), "stats": str(outputs / "stats"),
    })  # fmt: skip
    summary = RunSummary("p", tmp_path, {}, [task], 1.0)
    copied = copy_pictures(summary)
    assert sorted(p.name for p in copied) == ["train-learning_curves.html", "train-summary.md"]
    assert (tmp_path / "pictures" / "train-learning_curves.html").read_text().startswith("<!DOCTYPE")
    assert "train-learning_curves" in format_summary(summary)


def test_a_run_directory_is_never_reused(tmp_path):
    from pipelines.local import _new_run_dir

    first, second = _new_run_dir(tmp_path, "p"), _new_run_dir(tmp_path, "p")
    assert first != second and first.is_dir() and second.is_dir()
    assert Path(first).parent == Path(second).parent


def test_a_failing_step_is_reported_with_the_end_of_its_log(tmp_path):
    """A real kfp.local run whose second step refuses ``eta=1`` (it has no retries, so it stops at once)."""
    out = io.StringIO()
    refused = (r"'hyperband-experiment' \(ScheduleError: eta must be greater than 1, got 1\)\. "
               r"Its log is in .*kfp-local\.log")
    with pytest.raises(LocalRunError, match=refused) as failure:
        run_local("hyperband-tune", ["eta=1"], workdir=tmp_path, out=out)
    shown = out.getvalue()
    assert re.search(r"\n  hyperband-experiment \.\.\.\n  hyperband-experiment: failure in [\d.]+ s\n", shown)
    assert "| " in shown and "ScheduleError: eta must be greater than 1, got 1" in shown  # the task's error
    assert "Streamed logs" not in shown  # kfp.local's own detail stays in the log file
    log = next(tmp_path.rglob("kfp-local.log"))
    assert str(log) in str(failure.value) and "Streamed logs" in log.read_text()


def _retry_policies(pipeline) -> dict[str, int]:
    spec = pipeline.pipeline_spec
    dags = [spec.root.dag, *(c.dag for c in spec.components.values() if c.HasField("dag"))]
    return {name: task.retry_policy.max_retry_count
            for dag in dags for name, task in dag.tasks.items() if task.HasField("retry_policy")}


def test_retry_policies_are_cleared_for_a_local_run_and_restored_after_it():
    pipeline = load_pipeline("warehouse-train")
    policies = _retry_policies(pipeline)
    assert policies and set(policies.values()) == {2}  # preprocess and both train branches
    with without_retries(pipeline) as cleared:
        assert cleared == len(policies)
        assert _retry_policies(pipeline) == {}
    assert _retry_policies(pipeline) == policies


def test_a_step_failing_on_its_input_fails_the_run_at_once_not_after_retries(tmp_path):
    """A real run against a warehouse without the source table: preprocess is refused once, not thrice."""
    import duckdb

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    out = io.StringIO()
    missing = r"'preprocess' \(TableNotFoundError: table digits does not exist"
    with pytest.raises(LocalRunError, match=missing):
        run_local("warehouse-train", [f"warehouse_url=duckdb:///{empty}"], workdir=tmp_path, out=out)
    log = next(tmp_path.rglob("kfp-local.log")).read_text()
    assert "does not exist" in out.getvalue()  # the table error itself, from the step's log
    assert "Retrying in" not in log and "retrying" not in out.getvalue()
    assert _retry_policies(load_pipeline("warehouse-train"))  # the pipeline keeps them for compiling
