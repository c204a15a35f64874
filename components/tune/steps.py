"""Small KFP components around ``tune``: build an Experiment, hand its result to training.

They run in seconds, so they keep the pipelines' search settings (max epochs, eta, DARTS layers) as
ordinary pipeline parameters instead of hard-coding an Experiment at compile time.
"""

from typing import NamedTuple

from kfp import dsl

from components.runtime import RUNTIME_IMAGE


@dsl.component(base_image=RUNTIME_IMAGE, install_kfp_package=False)
def hyperband_experiment(
    max_epochs: int = 27, eta: int = 3, parallel_trials: int = 3, workers: int = 0
) -> str:
    """A Katib Experiment (YAML) running kwp-hyperband over the digits MLP; resource = epochs."""
    from katib.experiments.builder import experiment_to_yaml
    from katib.experiments.examples import hyperband_example

    return experiment_to_yaml(
        hyperband_example(max_resource=max_epochs, eta=eta, parallel=parallel_trials, workers=workers)
    )


@dsl.component(base_image=RUNTIME_IMAGE, install_kfp_package=False)
def darts_experiment(num_layers: int = 3, settings: str = "{}") -> str:
    """A Katib DARTS Experiment (YAML); ``settings`` is a JSON object overriding DARTS settings."""
    import json

    from katib.experiments.builder import experiment_to_yaml
    from katib.experiments.examples import darts_example

    return experiment_to_yaml(darts_example(num_layers=num_layers, settings=json.loads(settings or "{}")))


@dsl.component(base_image=RUNTIME_IMAGE, install_kfp_package=False)
def best_training_args(
    best_parameters: str,
    resource_name: str = "epochs",
    base_extra_args: str = "{}",
    default_lr: float = 0.001,
) -> NamedTuple("TrainingArgs", lr=float, extra_args=str):
    """Turn the best trial's parameters into ``lr`` and ``extra_args`` of the train component."""
    import collections
    import json

    from components.tune.handoff import training_args_from_best

    lr, extra = training_args_from_best(best_parameters, resource_name=resource_name, base=base_extra_args)
    outputs = collections.namedtuple("TrainingArgs", ["lr", "extra_args"])
    return outputs(default_lr if lr is None else lr, json.dumps(extra, sort_keys=True))


@dsl.component(base_image=RUNTIME_IMAGE, install_kfp_package=False)
def genotype_training_args(genotype: str, cells: dsl.Output[dsl.HTML], base_extra_args: str = "{}") -> str:
    """``extra_args`` that train the searched genotype, and a drawing of its normal and reduction cells."""
    import json
    from pathlib import Path

    from components.tune.handoff import darts_training_args
    from katib.darts.drawing import genotype_html

    extra = darts_training_args(genotype, base_extra_args)
    Path(cells.path).write_text(genotype_html(extra["model_options"]["genotype"]))
    return json.dumps(extra, sort_keys=True)
