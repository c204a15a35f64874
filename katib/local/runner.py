"""Run an Experiment on this machine: Katib's controller loop with subprocesses for trials.

Like Katib, the loop asks the algorithm for ``parallel - active`` trials (never more than
``maxTrialCount`` in total), and ends the experiment in Katib's order of checks: objective goal
reached, ``maxFailedTrialCount`` failed trials (MetricsUnavailable counts as failed), ``maxTrialCount``
trials completed, or the algorithm has nothing more to suggest. Running trials are killed when the
experiment ends early; Ctrl-C (or SIGTERM) kills them too and still writes the results.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from katib.algorithms import FAILED, KILLED, METRICS_UNAVAILABLE, SUCCEEDED, Suggestion, Trial
from katib.experiments import experiment_to_yaml
from katib.local.command import substitute, substitution_values, trial_command
from katib.local.experiment import LocalExperiment, LocalRunError, prepare
from katib.local.process import TrialProcess
from katib.local.report import RESULT_FILES, write_results
from katib.local.results import (
    FAILED_EXPERIMENT,
    GOAL_REACHED,
    INTERRUPTED,
    KILLED_EXPERIMENT,
    MAX_FAILED_REACHED,
    MAX_TRIALS_REACHED,
    SUCCEEDED_EXPERIMENT,
    SUGGESTION_END_REACHED,
    ExperimentResult,
    TrialOutcome,
    best_trial,
)
from katib.metrics import goal_reached
from katib.space import format_value

Log = Callable[[str], None]


def run_experiment(
    source: str | Path | Mapping[str, Any],
    out_dir: str | Path,
    *,
    max_parallel: int | None = None,
    env: Mapping[str, str] | None = None,
    data: Mapping[str, str] | None = None,
    seed: int = 0,
    overwrite: bool = False,
    poll_interval_s: float = 0.05,
    log: Log | None = None,
) -> ExperimentResult:
    """Run the Experiment (path, YAML text or dict) locally and write results under ``out_dir``.

    ``data`` binds ``${kwp.<name>}`` placeholders; ``env`` is added to every trial's environment;
    ``max_parallel`` further caps ``parallelTrialCount`` (which is also capped by the CPU count).
    Returns the result also when the experiment failed (check ``result.status`` or call
    ``result.raise_for_status()``); raises for an Experiment that cannot run at all.
    """
    if max_parallel is not None and max_parallel < 0:
        raise LocalRunError(f"max_parallel must be >= 0 (0 = no extra cap), got {max_parallel}")
    experiment = prepare(source, data)
    out = _claim(Path(out_dir), overwrite)
    (out / "experiment.yaml").write_text(experiment_to_yaml(experiment.document))
    parallel = min(experiment.parallel, os.cpu_count() or 1, max_parallel or experiment.parallel)
    loop = _Loop(experiment, out, max(parallel, 1), dict(env or {}), seed, poll_interval_s, log or _print)
    try:
        with _sigterm_as_interrupt():
            result = loop.run()
    except KeyboardInterrupt:
        loop.stop_all("interrupted")
        result = loop.result(
            KILLED_EXPERIMENT, INTERRUPTED, "interrupted (Ctrl-C or SIGTERM); running trials killed"
        )
        result.files = write_results(result, out)
        raise
    result.files = write_results(result, out)
    loop.say(f"{result.status} ({result.reason}): {result.message}")
    return result


class _Loop:
    def __init__(
        self, experiment: LocalExperiment, out: Path, parallel: int, env: dict[str, str], seed: int,
        poll_interval_s: float, log: Log,
    ) -> None:  # fmt: skip
        self.x = experiment
        self.out = out
        self.parallel = parallel
        self.env = env
        self.seed = seed
        self.poll_interval_s = poll_interval_s
        self.say = lambda text: log(f"[{experiment.name}] {text}")
        self.trials: list[TrialOutcome] = []
        self.active: dict[str, TrialProcess] = {}
        self.exhausted = False
        self.width = max(3, len(str(experiment.max_trials or 0)))

    def run(self) -> ExperimentResult:
        self.say(
            f"{self.x.algorithm_name}: up to {self.x.max_trials or 'all'} trials, {self.parallel} at a time"
        )
        while True:
            self._reap()
            verdict = self._verdict()
            if verdict is not None:
                self.stop_all(verdict[1])
                return self.result(*verdict)
            self._launch()
            if self.active:
                time.sleep(self.poll_interval_s)

    def result(self, status: str, reason: str, message: str) -> ExperimentResult:
        return ExperimentResult(
            name=self.x.name,
            status=status,
            reason=reason,
            message=message,
            objective_metric=self.x.objective_metric,
            minimize=self.x.minimize,
            trials=list(self.trials),
            strategy=self.x.strategies[self.x.objective_metric],
            goal=self.x.goal,
            out_dir=self.out,
        )

    def stop_all(self, why: str) -> None:
        for name, process in list(self.active.items()):
            code = process.stop()
            self._finish(name, process, code, killed=why)

    def _verdict(self) -> tuple[str, str, str] | None:
        best = best_trial(self.trials, self.x.minimize)
        if best is not None and goal_reached(best.objective, self.x.goal, self.x.minimize):
            return (
                SUCCEEDED_EXPERIMENT,
                GOAL_REACHED,
                f"goal {self.x.goal} reached by {best.name} ({best.objective})",
            )
        failed = [t for t in self.trials if t.failed]
        if self.x.max_failed is not None and failed and len(failed) >= self.x.max_failed:
            last = failed[-1]
            return (
                FAILED_EXPERIMENT,
                MAX_FAILED_REACHED,
                (
                    f"{len(failed)} trial(s) failed, maxFailedTrialCount is {self.x.max_failed}; "
                    f"last: {last.name}: {last.message} (log: {Path(last.workdir or '') / 'trial.log'})"
                ),
            )
        completed = sum(t.completed for t in self.trials)
        if self.x.max_trials is not None and completed >= self.x.max_trials:
            return SUCCEEDED_EXPERIMENT, MAX_TRIALS_REACHED, f"{completed} trials completed (maxTrialCount)"
        if self.exhausted and not self.active:
            return (
                SUCCEEDED_EXPERIMENT,
                SUGGESTION_END_REACHED,
                f"{self.x.algorithm_name} has no more suggestions",
            )
        return None

    def _launch(self) -> None:
        want = self.parallel - len(self.active)
        if self.x.max_trials is not None:
            want = min(want, self.x.max_trials - len(self.trials))
        if want <= 0 or self.exhausted:
            return
        seen = [Trial(t.name, t.parameters, t.status, _numeric(t.objective), t.labels) for t in self.trials]
        suggestions = self.x.algorithm.suggest(self.x.space, seen, want, self.x.minimize, self.seed)  # type: ignore[arg-type]
        if len(suggestions) < want:
            self.exhausted = True
        for suggestion in suggestions:
            self._start(suggestion)

    def _start(self, suggestion: Suggestion) -> None:
        name = f"{self.x.name}-{len(self.trials) + 1:0{self.width}d}"
        outcome = TrialOutcome(name, dict(suggestion.parameters), dict(suggestion.labels))
        outcome.workdir = str(self.out / "trials" / name)
        workdir = Path(outcome.workdir)
        workdir.mkdir(parents=True)
        self.trials.append(outcome)
        template = self.x.trial_template
        text = {k: format_value(v) for k, v in suggestion.parameters.items()}
        trial_spec = substitute(
            template["trialSpec"], substitution_values(template, text, name, outcome.labels)
        )
        command = trial_command(template, trial_spec)
        (workdir / "command.txt").write_text(" ".join(_quote(a) for a in command.argv) + "\n")
        try:
            process = TrialProcess(command.argv, cwd=workdir, env=self._env(command.env, name, workdir),
                                   log_path=workdir / "trial.log", deadline_s=command.deadline_s)  # fmt: skip
        except OSError as err:
            outcome.status, outcome.message = FAILED, f"could not start {command.argv[0]!r}: {err}"
            self.say(f"trial {name} {FAILED}: {outcome.message}")
            return
        self.active[name] = process
        shown = " ".join(f"{k}={v}" for k, v in text.items())
        self.say(f"trial {len(self.trials)}/{self.x.max_trials or '?'} started {name}: {shown}")

    def _env(self, container_env: Mapping[str, str], name: str, workdir: Path) -> dict[str, str]:
        env = {
            **os.environ,
            **self.env,
            **container_env,
            "KWP_TRIAL_NAME": name,
            "KWP_TRIAL_DIR": str(workdir),
        }
        # Trials run in their own directory; keep the caller's directory importable (python -m ...).
        env["PYTHONPATH"] = os.pathsep.join(p for p in (os.getcwd(), env.get("PYTHONPATH", "")) if p)
        return env

    def _reap(self) -> None:
        for name, process in list(self.active.items()):
            code = process.poll()
            if code is not None:
                self._finish(name, process, code)

    def _finish(self, name: str, process: TrialProcess, code: int, killed: str = "") -> None:
        del self.active[name]
        outcome = next(t for t in self.trials if t.name == name)
        text = process.output()
        process.close()
        observation = self.x.collector.parse(text)
        outcome.exit_code, outcome.duration_s = code, process.elapsed_s
        outcome.observation = observation.to_dict()
        outcome.metrics = {
            m: s.extract(self.x.strategies.get(m, "latest")) for m, s in observation.metrics.items()
        }
        outcome.objective = outcome.metrics.get(self.x.objective_metric)
        outcome.status, outcome.message = self._status(outcome, process, code, killed, text)
        self._report(outcome)

    def _status(
        self, outcome: TrialOutcome, process: TrialProcess, code: int, killed: str, text: str
    ) -> tuple[str, str]:
        if killed:
            return KILLED, f"killed: {killed}"
        if process.timed_out:
            return FAILED, f"exceeded activeDeadlineSeconds ({process.deadline_s:g} s)"
        if code != 0:
            return FAILED, f"exit code {code}: {_last_line(text)}"
        if outcome.objective is None:
            return (
                METRICS_UNAVAILABLE,
                f"objective metric {self.x.objective_metric!r} not found in the output",
            )
        return SUCCEEDED, ""

    def _report(self, t: TrialOutcome) -> None:
        metric = self.x.objective_metric
        value = f"{metric}={_fmt(t.objective)}" if t.objective is not None else t.message
        best = best_trial(self.trials, self.x.minimize)
        running = f" | best {metric}={_fmt(best.objective)} ({best.name})" if best else ""
        done = sum(x.completed for x in self.trials)
        total = self.x.max_trials or "?"
        self.say(f"trial {done}/{total} {t.status} {t.name}: {value} [{t.duration_s:.1f} s]{running}")


def _claim(out: Path, overwrite: bool) -> Path:
    """Create ``out``; refuse to mix with an earlier run unless ``overwrite``."""
    earlier = [out / name for name in (*RESULT_FILES, "trials", "experiment.yaml") if (out / name).exists()]
    if earlier and not overwrite:
        raise FileExistsError(
            f"{out} already holds results ({earlier[0].name}); nothing was changed: use another directory, "
            "or --overwrite (overwrite=True) to replace them"
        )
    for path in earlier:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return out


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM (a pod being stopped) like Ctrl-C, so trials are not left running."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _numeric(value: float | str | None) -> float | None:
    return value if isinstance(value, float | int) and not isinstance(value, bool) else None


def _fmt(value: object) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][-300:] if lines else "(no output)"


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def _print(text: str) -> None:
    print(text, file=sys.stdout, flush=True)
