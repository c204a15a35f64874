"""Katib ``kubeflow.org/v1beta1`` Experiments as data: builders, validation, examples.

Build with :func:`build_experiment` from a :class:`~katib.space.SearchSpace`, an :class:`Objective`,
an :class:`Algorithm` and a trial template (:func:`job_template` / :func:`pytorchjob_template`);
serialise with :func:`experiment_to_yaml`; read with :func:`load_experiment`; check any Experiment
dictionary with :func:`validate_experiment` (Katib's webhook rules).
"""

from katib.experiments.bindings import UnboundDataError, bind, require_bound, unbound
from katib.experiments.builder import (
    API_VERSION,
    KIND,
    build_experiment,
    experiment_to_dict,
    experiment_to_yaml,
    load_experiment,
    nas_config,
)
from katib.experiments.errors import (
    ExperimentBuildError,
    ExperimentError,
    ExperimentLoadError,
    ExperimentValidationError,
    Issue,
)
from katib.experiments.examples import (
    darts_example,
    example_experiments,
    hyperband_example,
    mlp_space,
    search_example,
    write_examples,
)
from katib.experiments.model import HYPERBAND_ALGORITHM, Algorithm, Objective, TrialParameter, TrialTemplate
from katib.experiments.templates import (
    job_template,
    parameter_args,
    placeholder,
    pytorchjob_template,
    training_command,
)
from katib.experiments.validation import apply_defaults, experiment_issues, validate_experiment

__all__ = [
    "API_VERSION",
    "HYPERBAND_ALGORITHM",
    "KIND",
    "Algorithm",
    "ExperimentBuildError",
    "ExperimentError",
    "ExperimentLoadError",
    "ExperimentValidationError",
    "Issue",
    "Objective",
    "TrialParameter",
    "TrialTemplate",
    "UnboundDataError",
    "apply_defaults",
    "bind",
    "build_experiment",
    "darts_example",
    "example_experiments",
    "experiment_issues",
    "experiment_to_dict",
    "experiment_to_yaml",
    "hyperband_example",
    "job_template",
    "load_experiment",
    "mlp_space",
    "nas_config",
    "parameter_args",
    "placeholder",
    "pytorchjob_template",
    "require_bound",
    "search_example",
    "training_command",
    "unbound",
    "validate_experiment",
    "write_examples",
]
