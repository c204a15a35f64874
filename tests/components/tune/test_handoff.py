import json

import pytest

from components.tune.handoff import HandoffError, darts_training_args, training_args_from_best

GENOTYPE = (
    "Genotype(normal=[[('max_pooling_3x3',0),('skip_connection',1)],[('separable_convolution_3x3',0),"
    "('skip_connection',2)]],normal_concat=range(2,4),reduce=[[('avg_pooling_3x3',0),"
    "('dilated_convolution_3x3',1)],[('max_pooling_3x3',2),('skip_connection',1)]],reduce_concat=range(2,4))"
)


def test_best_parameters_become_train_arguments_without_the_resource():
    best = json.dumps({"lr": "0.003", "hidden-sizes": "128,64", "dropout": "0.1", "epochs": "3"})
    lr, extra = training_args_from_best(best, resource_name="epochs", base='{"seed": 1, "dropout": 0.5}')
    assert lr == 0.003
    assert extra == {"seed": 1, "dropout": "0.1", "hidden_sizes": "128,64"}


def test_lr_stays_unset_when_the_search_did_not_tune_it():
    lr, extra = training_args_from_best({"dropout": "0.2"})
    assert lr is None and extra == {"dropout": "0.2"}


@pytest.mark.parametrize(
    ("best", "message"),
    [("{}", "no best parameters"), ("[1]", "must be a JSON object"), ("{oops", "is not JSON")],
)
def test_unusable_search_results_are_named(best, message):
    with pytest.raises(HandoffError, match=message):
        training_args_from_best(best)


def test_a_printed_genotype_becomes_darts_model_options():
    extra = darts_training_args(GENOTYPE, base='{"model_options": {"init_channels": 8}, "seed": 2}')
    assert extra["seed"] == 2
    options = extra["model_options"]
    assert options["init_channels"] == 8
    assert options["genotype"]["normal"][0] == [["max_pooling_3x3", 0], ["skip_connection", 1]]
    assert options["genotype"]["reduce_concat"] == [2, 3]


def test_an_empty_genotype_is_refused():
    with pytest.raises(HandoffError, match="no genotype"):
        darts_training_args("  ")
