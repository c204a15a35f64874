import pytest
from kfp import dsl

from pipelines.params import ParameterError, parse_params, pipeline_parameter_types


@dsl.component
def _echo(text: str) -> str:
    return text


@dsl.pipeline(name="typed")
def typed(name: str = "a", epochs: int = 1, lr: float = 0.1, flag: bool = False, opts: dict = {}):  # noqa: B006
    _echo(text=name)


def test_types_come_from_the_pipeline_interface():
    assert pipeline_parameter_types(typed) == {
        "name": "STRING",
        "epochs": "NUMBER_INTEGER",
        "lr": "NUMBER_DOUBLE",
        "flag": "BOOLEAN",
        "opts": "STRUCT",
    }


def test_values_are_parsed_to_their_types():
    types = pipeline_parameter_types(typed)
    values = parse_params(["epochs=5", "lr=1e-3", "flag=true", 'opts={"a": [1]}', "name=x=y"], types)
    assert values == {"epochs": 5, "lr": 0.001, "flag": True, "opts": {"a": [1]}, "name": "x=y"}


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("epochs", "is not KEY=VALUE"),
        ("=3", "is not KEY=VALUE"),
        ("epoch=3", "unknown parameter 'epoch'; this pipeline takes: epochs, flag, lr, name, opts"),
        ("epochs=five", "epochs='five' is not a valid number integer"),
        ("flag=maybe", "expected true or false"),
        ("opts={bad", "opts='{bad' is not a valid struct"),
    ],
)
def test_bad_params_name_the_value_and_what_is_valid(pair, message):
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_params([pair], pipeline_parameter_types(typed))
