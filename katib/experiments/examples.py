"""Example Experiments: Hyperband and DARTS on the digits data, plus random, grid and TPE.

Each trial runs one of our entry points (``components.train`` or ``katib.darts``), so the same YAML
runs on Katib and with ``kwp katib run FILE --local``. Data locations are ``${kwp.train}`` and
``${kwp.validation}`` bindings (see :mod:`katib.experiments.bindings`): the ``tune`` component or the
local runner's ``--data`` fills them in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from katib.experiments.bindings import bind
from katib.experiments.builder import build_experiment, experiment_to_dict, experiment_to_yaml, nas_config
from katib.experiments.errors import ExperimentError
from katib.experiments.model import Algorithm, Objective, trial_parameters
from katib.experiments.templates import job_template, pytorchjob_template, training_command
from katib.hyperband import brackets
from katib.space import SearchSpace, categorical, discrete, double, integer

TRAIN = "${kwp.train}"
VALIDATION = "${kwp.validation}"
STATS = "${kwp.stats}"
DARTS_OPERATIONS = (
    "separable_convolution_3x3", "separable_convolution_5x5", "dilated_convolution_3x3",
    "dilated_convolution_5x5", "avg_pooling_3x3", "max_pooling_3x3", "skip_connection",
)  # fmt: skip
DARTS_FILTER = r"([\w-]+)=(Genotype.*)"
WIDTHS = ("64", "128", "64,32", "128,64")
DARTS_SETTINGS: dict[str, object] = {
    "num_epochs": 10, "batch_size": 64, "num_workers": 0, "init_channels": 8, "print_step": 10,
    "num_nodes": 3, "stem_multiplier": 3,
}  # fmt: skip
# A trial only needs its metrics on stdout: no TensorBoard event files.
TRIAL_ARGS = ("--no-tensorboard",)
VALIDATION_OBJECTIVE = Objective(
    "val-loss", "minimize", additional_metrics=("val-accuracy", "loss", "accuracy")
)


def _images() -> tuple[str, str]:
    from components.runtime import DARTS_TRIAL_IMAGE, TRAINER_IMAGE

    return TRAINER_IMAGE, DARTS_TRIAL_IMAGE


def mlp_space(*, log_lr: bool = True) -> SearchSpace:
    """Learning rate, width and dropout of the digits MLP."""
    return SearchSpace.of([
        double("lr", 1e-4, 1e-1, log=log_lr),
        categorical("hidden-sizes", WIDTHS),
        double("dropout", 0.0, 0.5),
    ])  # fmt: skip


def hyperband_example(
    *, max_resource: int = 27, eta: int = 3, parallel: int = 3, workers: int = 0,
    train: str = TRAIN, validation: str = VALIDATION, name: str = "kwp-hyperband-digits",
) -> dict[str, Any]:  # fmt: skip
    """Hyperband over the MLP, resource = epochs (1..R), each trial a PyTorchJob: one full iteration.

    ``parallel`` is an upper bound: a schedule with fewer trials (R=1 has one) runs them all at once,
    since Katib refuses a parallelTrialCount above maxTrialCount.
    """
    trainer, _ = _images()
    space = SearchSpace.of([*mlp_space(), integer("epochs", 1, max_resource)])
    command = training_command(space, fixed_args=TRIAL_ARGS, train=train, validation=validation)
    total = sum(b.trial_count for b in brackets(max_resource, eta))
    experiment = build_experiment(
        name,
        objective=VALIDATION_OBJECTIVE,
        algorithm=Algorithm.hyperband("epochs", max_resource, eta),
        trial_template=pytorchjob_template(trainer, command, space.names, workers=workers),
        space=space,
        parallel_trial_count=min(parallel, total),
        max_trial_count=total,
        max_failed_trial_count=max(1, total // 10),
    )
    return experiment_to_dict(experiment)


def darts_example(
    *,
    num_layers: int = 3,
    settings: Mapping[str, object] | None = None,
    train: str = TRAIN,
    name: str = "kwp-darts-digits",
) -> dict[str, Any]:
    """One DARTS search on digits in one trial (Katib's DARTS settings, Best-Genotype collector filter).

    ``settings`` override the example's DARTS settings (sized for 8x8 digits on a few CPU cores).
    """
    _, darts_image = _images()
    names = {
        "algorithmSettings": "algorithm-settings",
        "searchSpace": "search-space",
        "numberLayers": "num-layers",
    }
    command = ["python", "-m", "katib.darts"]
    for flag, param in (
        ("--algorithm-settings", "algorithmSettings"),
        ("--search-space", "searchSpace"),
        ("--num-layers", "numberLayers"),
    ):
        command += [flag, "${trialParameters." + param + "}"]
    command += ["--data", train, "--stats", STATS]
    algorithm = Algorithm.darts(**(DARTS_SETTINGS | dict(settings or {})))
    experiment = build_experiment(
        name,
        objective=Objective("Best-Genotype", "maximize"),
        algorithm=algorithm,
        trial_template=job_template(darts_image, command, trial_parameters(names)),
        nas_config=nas_config(num_layers, DARTS_OPERATIONS),
        parallel_trial_count=1,
        max_trial_count=1,
        max_failed_trial_count=1,
        metrics_format=[DARTS_FILTER],
    )
    return experiment_to_dict(experiment)


def search_example(
    algorithm: str,
    *,
    epochs: int = 10,
    train: str = TRAIN,
    validation: str = VALIDATION,
    name: str | None = None,
) -> dict[str, Any]:
    """Random, grid or TPE over the MLP with a fixed number of epochs, each trial a batch/v1 Job."""
    trainer, _ = _images()
    if algorithm == "grid":
        space = SearchSpace.of([
            discrete("lr", [0.001, 0.003, 0.01, 0.03]), categorical("hidden-sizes", ["64", "128,64"]),
            discrete("dropout", [0.0, 0.2]),
        ])  # fmt: skip
        chosen, total, parallel = Algorithm.grid(), 16, 2
    elif algorithm == "random":
        space, chosen, total, parallel = mlp_space(), Algorithm.random(seed=1), 12, 3
    elif algorithm == "tpe":
        space, chosen, total, parallel = mlp_space(), Algorithm.tpe(seed=1), 24, 2
    else:
        raise ExperimentError(f"no search example for {algorithm!r}; choose grid, random or tpe")
    fixed = ["--epochs", str(epochs), *TRIAL_ARGS]
    command = training_command(space, torchrun=False, fixed_args=fixed, train=train, validation=validation)
    experiment = build_experiment(
        name or f"kwp-{algorithm}-digits",
        objective=VALIDATION_OBJECTIVE,
        algorithm=chosen,
        trial_template=job_template(trainer, command, space.names),
        space=space,
        parallel_trial_count=parallel,
        max_trial_count=total,
        max_failed_trial_count=3,
    )
    return experiment_to_dict(experiment)


def example_experiments() -> dict[str, Callable[[], dict[str, Any]]]:
    """Name -> builder of each example Experiment (plain camelCase dictionaries)."""
    return {
        "hyperband": hyperband_example,
        "darts": darts_example,
        "random": lambda: search_example("random"),
        "grid": lambda: search_example("grid"),
        "tpe": lambda: search_example("tpe"),
    }


def write_examples(
    out_dir: str | Path, *, data: Mapping[str, str] | None = None, overwrite: bool = False
) -> list[Path]:
    """Write ``experiment-<name>.yaml`` per example; ``data`` binds ``${kwp.*}`` (e.g. train=gs://...)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in example_experiments().items():
        path = out / f"experiment-{name}.yaml"
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
        doc = bind(build(), data) if data else build()
        path.write_text(experiment_to_yaml(doc))
        written.append(path)
    return written
