"""The DARTS suggestion reproduces what Katib's DARTS service hands a trial."""

from __future__ import annotations

import json

import pytest

from katib.algorithms import AlgorithmError, make_algorithm
from katib.experiments import nas_config

OPS = ["separable_convolution_3x3", "dilated_convolution_5x5", "max_pooling_3x3", "skip_connection"]


def test_assignment_has_katib_settings_search_space_and_layers():
    algorithm = make_algorithm(
        "darts", [("num_epochs", "2"), ("batch_size", "None")], nas_config=nas_config(3, OPS)
    )
    (suggestion,) = algorithm.suggest(None, [], 1, minimize=False)
    settings = json.loads(suggestion.parameters["algorithm-settings"].replace("'", '"'))
    assert settings["num_epochs"] == "2"  # given settings stay strings, as Katib passes them
    assert settings["w_lr"] == 0.025 and settings["stem_multiplier"] == 3  # the rest keep Katib's defaults
    assert settings["batch_size"] is None
    assert '"' not in suggestion.parameters["algorithm-settings"]
    assert json.loads(suggestion.parameters["search-space"].replace("'", '"')) == OPS
    assert suggestion.parameters["num-layers"] == "3"


def test_every_requested_trial_gets_the_same_assignment_like_katib():
    algorithm = make_algorithm("darts", [], nas_config=nas_config(2, OPS))
    first, second = algorithm.suggest(None, [], 2, minimize=False)
    assert first == second


def test_missing_layers_is_an_error():
    with pytest.raises(AlgorithmError, match="numLayers"):
        make_algorithm("darts", [], nas_config={"operations": [{"operationType": "skip_connection"}]})
