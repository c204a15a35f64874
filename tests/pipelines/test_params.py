import re

import pytest
from kfp import dsl

from pipelines.params import ParameterError, check_values, choices, parse_params, pipeline_parameter_types


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
        ("epochs=five", "epochs='five' is not an integer, e.g. epochs=5"),
        ("lr=fast", "lr='fast' is not a number, e.g. lr=0.01"),
        ("flag=maybe", "flag='maybe' is not true or false, e.g. flag=true"),
        ("opts={bad", "opts='{bad' is not a JSON object (Expecting property name"),
        ("opts=[1]", "opts='[1]' is not a JSON object (it is a JSON list)"),
    ],
)
def test_bad_params_name_the_value_and_what_is_valid(pair, message):
    with pytest.raises(ParameterError, match=re.escape(message)):
        parse_params([pair], pipeline_parameter_types(typed))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"train_options": "5"}, "train_options='5' is not a JSON object (it is a JSON number)"),
        ({"tolerations": "{}"}, "tolerations='{}' is not a JSON list (it is a JSON object)"),
        ({"node_selector": "{bad"}, "node_selector='{bad' is not a JSON object (Expecting property name"),
        ({"job_kind": "tfjob"}, "job_kind='tfjob' is not one of: pytorchjob, trainjob"),
        ({"precision": "fp8"}, "precision='fp8' is not one of: fp32, bf16, fp16"),
        ({"search_mode": "cluster"}, "search_mode='cluster' is not one of: kubernetes, local"),
    ],
)
def test_json_text_and_choices_are_refused_before_a_run_names_the_value_and_what_is_valid(arguments, message):
    with pytest.raises(ParameterError, match=re.escape(message)):
        check_values(arguments)


def test_good_values_pass_and_every_choice_is_a_parameter_of_some_pipeline():
    from pipelines.registry import PIPELINES, load_pipeline

    check_values({"train_options": "{}", "tolerations": "[]", "train_backend": "local",
                  "tune_mode": "kubernetes", "job_kind": "trainjob", "precision": "bf16",
                  "warehouse_url": "duckdb:///w.duckdb"})
    parameters = {p for name in PIPELINES for p in pipeline_parameter_types(load_pipeline(name))}
    assert set(choices()) <= parameters


def test_choices_come_from_light_modules():
    """check_values runs before every kwp run and submit: reading the choices must not import the
    Kubernetes client, the Katib API models or torch (a second of start-up)."""
    import subprocess
    import sys

    probe = ("import sys; from pipelines.params import choices; choices(); "
             "print(sorted(m for m in ('kubernetes', 'kubeflow_katib_api', 'torch') if m in sys.modules))")
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "[]"
