"""The quiet view of kfp.local: task lines on the terminal, everything in the log file."""

import io
import itertools
import re
import sys

from pipelines.progress import FAILURE_TAIL, PROGRESS_WIDTH, ProgressLog, quiet_kfp_output


def _stream() -> tuple[ProgressLog, io.StringIO, io.StringIO]:
    log, out, ticks = io.StringIO(), io.StringIO(), itertools.count(0.0, 1.5)
    return ProgressLog(log, out, clock=lambda: next(ticks)), log, out


def test_only_task_starts_and_ends_reach_the_terminal_and_everything_the_log():
    stream, log, out = _stream()
    text = (
        "10:51:01.850 - INFO - Executing task \x1b[96m'preprocess'\x1b[0m\n"
        '    {"inputs": {"parameterValues": {"overwrite": false}}}\n'
        "10:51:02.547 - INFO - Task \x1b[96m'preprocess'\x1b[0m finished with status \x1b[92mSUCCESS\x1b[0m\n"
    )
    for piece in (text[:7], text[7:50], text[50:]):  # writes arrive in arbitrary pieces
        stream.write(piece)
    assert log.getvalue() == text
    assert out.getvalue() == "  preprocess ...\n  preprocess: success in 1.5 s\n"


def test_a_failed_task_shows_the_end_of_its_own_log_only():
    stream, _, out = _stream()
    stream.write("Executing task 'preprocess'\nfrom the first task\n")
    stream.write("Task 'preprocess' finished with status SUCCESS\n")
    stream.write("Executing task 'train'\n")
    stream.write("".join(f"line {i}\n" for i in range(FAILURE_TAIL + 5)))
    stream.write("ValueError: lr=-1 must be positive\n")
    stream.show_failure()
    shown = out.getvalue()
    assert "  train: failed after" in shown and "| ValueError: lr=-1 must be positive" in shown
    assert "from the first task" not in shown and "| line 5\n" not in shown  # only the last lines
    assert shown.count("| ") == FAILURE_TAIL


def test_quiet_output_diverts_stdout_and_stderr_into_the_file(tmp_path):
    out = io.StringIO()
    path = tmp_path / "kfp-local.log"
    with quiet_kfp_output(path, out):
        print("Executing task 'evaluate'")
        print("UserWarning: settings have no effect in the local runner", file=sys.stderr)
        print("Task 'evaluate' finished with status SUCCESS")
    assert re.fullmatch(r"  evaluate \.\.\.\n  evaluate: success in \d+\.\d s\n", out.getvalue())
    assert "UserWarning" in path.read_text() and "Executing task 'evaluate'" in path.read_text()


def test_a_retried_task_says_when_it_tries_again():
    stream, _, out = _stream()
    stream.write("Executing task 'preprocess'\nConnectionError: warehouse unreachable\n")
    stream.write("Task 'preprocess' finished with status FAILURE\n")
    stream.write("Task preprocess failed (attempt 1/3). Retrying in 30.0s...\n")
    stream.write("Executing task 'preprocess'\nTask 'preprocess' finished with status SUCCESS\n")
    assert out.getvalue().splitlines() == [
        "  preprocess ...",
        "  preprocess: failure in 1.5 s",
        "  last lines of preprocess's log:",
        "  | ConnectionError: warehouse unreachable",
        "  preprocess: retrying in 30 s (attempt 2 of 3)",
        "  preprocess ...",
        "  preprocess: success in 1.5 s",
    ]


def test_epochs_and_finished_trials_show_while_a_task_runs():
    stream, _, out = _stream()
    stream.write("Executing task 'tune'\n")
    stream.write('    {"inputs": {"epoch=1": "not a progress line, it is indented JSON"}}\n')
    stream.write("    [exp] trial 1/2 started exp-001: lr=0.1\n")
    trial = "[exp] trial 1/2 Succeeded exp-001: val-loss=0.5 [1.0 s] | best val-loss=0.5 (exp-001)"
    stream.write(f"    {trial}\n")
    stream.write("    epoch=1 loss=0.9 accuracy=0.5 val-loss=0.8 val-accuracy=0.6\n")
    ended = f"[exp] Succeeded (ExperimentMaxTrialsReached): {'x' * 300}"
    stream.write(f"    {ended}\n")
    stream.write("Task 'tune' finished with status SUCCESS\n")
    assert out.getvalue().splitlines() == [
        "  tune ...",
        f"    {trial}",
        "    epoch=1 loss=0.9 accuracy=0.5 val-loss=0.8 val-accuracy=0.6",
        f"    {ended[:PROGRESS_WIDTH - 3]}...",  # cut to the width
        "  tune: success in 1.5 s",
    ]


def test_kfp_local_retry_notices_reach_the_terminal_though_logged_at_info(tmp_path):
    """A real kfp.local run of a step that fails once: kfp.local logs the retry with logging.info on the
    root logger, silent by default, so the quiet view routes it (and nothing else at INFO)."""
    import logging

    from kfp import dsl, local

    @dsl.component
    def flaky(marker: str) -> str:
        from pathlib import Path

        path = Path(marker)
        if not path.exists():
            path.write_text("failed once")
            raise RuntimeError("first attempt fails")
        return "second attempt"

    @dsl.pipeline(name="retried")
    def retried(marker: str) -> str:
        task = flaky(marker=marker)
        task.set_retry(num_retries=1, backoff_duration="0s", backoff_factor=1.0)
        return task.output

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"))
    out, level = io.StringIO(), logging.getLogger().level
    with quiet_kfp_output(tmp_path / "log.txt", out):
        logging.getLogger("somelibrary").info("an INFO record of another library")
        assert retried(marker=str(tmp_path / "marker")).output == "second attempt"
    shown = out.getvalue()
    assert "  flaky: retrying in 0 s (attempt 2 of 2)\n" in shown
    assert shown.count("  flaky ...") == 2 and "another library" not in shown
    assert logging.getLogger().level == level


def test_the_error_that_ended_a_failed_task_is_kept_for_the_run_error():
    stream, _, _ = _stream()
    stream.write("Executing task 'train'\nTraceback (most recent call last):\n  File \"x.py\", line 1\n")
    stream.write("components.train.errors.LauncherConfigError: extra_args must be a JSON object, got '5'\n")
    stream.write("    \nTask 'train' finished with status FAILURE\n")
    assert stream.last_error == "LauncherConfigError: extra_args must be a JSON object, got '5'"
    stream.write("Executing task 'evaluate'\nno traceback\nTask 'evaluate' finished with status FAILURE\n")
    assert stream.last_error is None


def test_an_error_listing_its_problems_on_indented_lines_is_kept_whole():
    stream, _, _ = _stream()
    stream.write("Executing task 'hyperband-experiment'\n    Traceback (most recent call last):\n")
    stream.write("    katib.errors.ExperimentValidationError: Experiment 'x' is invalid (2 problem(s)):\n")
    stream.write("      - spec.parallelTrialCount: 3 should be <= spec.maxTrialCount (1)\n")
    stream.write("      - spec.b: c\n    \n")
    stream.write("Task 'hyperband-experiment' finished with status FAILURE\n")
    assert stream.last_error == (
        "ExperimentValidationError: Experiment 'x' is invalid (2 problem(s)): "
        "- spec.parallelTrialCount: 3 should be <= spec.maxTrialCount (1); - spec.b: c"
    )
