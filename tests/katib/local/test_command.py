"""Pod commands made local: substitution as Katib does it, python and torchrun translated."""

from __future__ import annotations

import sys

import pytest

from katib.experiments import pytorchjob_template
from katib.local.command import localize, substitute, substitution_values, trial_command

PY = "/venv/bin/python"


def test_python_becomes_this_interpreter():
    assert localize(["python3", "-m", "x", "--a", "1"], python=PY) == [PY, "-m", "x", "--a", "1"]
    assert localize(["/usr/bin/python", "t.py"], python=PY) == [PY, "t.py"]
    assert localize(["bash", "-c", "echo"], python=PY) == ["bash", "-c", "echo"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["torchrun", "-m", "components.train", "--lr", "0.1"],
            ["--standalone", "--nnodes=1", "--nproc-per-node=2", "-m", "components.train", "--lr", "0.1"],
        ),
        (
            [
                "torchrun",
                "--nnodes=4",
                "--node_rank",
                "2",
                "--master-addr",
                "h",
                "--nproc-per-node",
                "3",
                "--max-restarts=1",
                "train.py",
                "--nnodes",
                "9",
            ],
            [
                "--standalone",
                "--nnodes=1",
                "--nproc-per-node",
                "3",
                "--max-restarts=1",
                "train.py",
                "--nnodes",
                "9",
            ],
        ),
        (
            [
                "torchrun",
                "--rdzv-backend=c10d",
                "--rdzv-endpoint",
                "h:1",
                "--standalone",
                "--no-python",
                "echo",
            ],
            ["--standalone", "--nnodes=1", "--nproc-per-node=2", "--no-python", "echo"],
        ),
    ],
)
def test_torchrun_runs_standalone_on_one_node(argv, expected):
    # Options of the training program (after the script) are never touched.
    assert localize(argv, nproc_per_node=2, python=PY) == [PY, "-m", "torch.distributed.run", *expected]


def test_pytorchjob_master_command_with_nproc_from_the_spec():
    template = (
        pytorchjob_template(
            "img",
            ["torchrun", "-m", "m", "--lr", "${trialParameters.lr}"],
            ["lr"],
            workers=1,
            nproc_per_node=2,
        )
        .to_model()
        .to_dict()
    )
    trial_spec = substitute(template["trialSpec"], {"lr": "0.5"})
    command = trial_command(template, trial_spec)
    assert command.argv == [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nnodes=1",
        "--nproc-per-node=2",
        "-m",
        "m",
        "--lr",
        "0.5",
    ]
    assert command.deadline_s is None


def test_substitution_is_textual_and_json_safe():
    spec = {"a": ["--s", "${trialParameters.s}", "x${trialParameters.n}y"], "env": "${trialParameters.n}"}
    assert substitute(spec, {"s": "{'k': \"v\"}", "n": "3"}) == {
        "a": ["--s", "{'k': \"v\"}", "x3y"],
        "env": "3",
    }
    with pytest.raises(KeyError, match="'m'"):
        substitute({"a": "${trialParameters.m}"}, {})


def test_values_come_from_references_and_trial_metadata():
    template = {
        "trialSpec": {"kind": "Job", "apiVersion": "batch/v1", "metadata": {"annotations": {"team": "ml"}}},
        "trialParameters": [
            {"name": "learningRate", "reference": "lr"},
            {"name": "n", "reference": "${trialSpec.Name}"},
            {"name": "k", "reference": "${trialSpec.Kind}"},
            {"name": "r", "reference": "${trialSpec.Labels[rung]}"},
            {"name": "t", "reference": "${trialSpec.Annotations[team]}"},
        ],
    }
    values = substitution_values(template, {"lr": "0.01"}, "exp-001", {"rung": "2"})
    assert values == {"learningRate": "0.01", "n": "exp-001", "k": "Job", "r": "2", "t": "ml"}
    with pytest.raises(KeyError, match="lr"):
        substitution_values(template, {}, "exp-001", {})
