"""Run a Katib Experiment on this machine: the same YAML, trials as subprocesses.

``run_experiment(path_or_dict, out_dir)`` is the API; ``main(argv)`` backs ``kwp katib run X --local``.
"""

from katib.local.cli import main
from katib.local.experiment import LocalExperiment, LocalRunError, prepare
from katib.local.report import markdown_report, results_csv, write_results
from katib.local.results import (
    ExperimentFailedError,
    ExperimentResult,
    TrialOutcome,
    outcome_from_katib_trial,
)
from katib.local.runner import run_experiment

__all__ = [
    "ExperimentFailedError",
    "ExperimentResult",
    "LocalExperiment",
    "LocalRunError",
    "TrialOutcome",
    "main",
    "markdown_report",
    "outcome_from_katib_trial",
    "prepare",
    "results_csv",
    "run_experiment",
    "write_results",
]
