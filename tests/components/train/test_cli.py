"""The command line: Katib-style flags, and a clear one-line error with exit status 2 for bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from components.train.cli import build_parser, main, options_from_args
from components.train.errors import OptionError

REPO_ROOT = Path(__file__).resolve().parents[3]


def _options(*argv: str):
    return options_from_args(
        build_parser().parse_args(["--train", "t", "--validation", "v", "--model-dir", "m", *argv])
    )


def test_katib_style_flags_map_onto_options():
    options = _options(
        "--lr=0.05",
        "--hidden-sizes=32,16",
        "--dropout=0.1",
        "--activation=gelu",
        "--batch-norm=true",
        "--fsdp=false",
        "--activation-checkpointing",
        "--model-options",
        '{"hidden_sizes": [4], "batch_norm": false}',
        "--feature-columns=a,b",
        "--optimizer=sgd",
        "--precision=bf16",
    )
    assert options.lr == 0.05 and options.optimizer == "sgd" and options.precision == "bf16"
    assert options.model_options == {
        "hidden_sizes": [32, 16],
        "batch_norm": True,
        "dropout": 0.1,
        "activation": "gelu",
    }
    assert options.fsdp is False and options.activation_checkpointing is True
    assert options.feature_columns == ["a", "b"] and options.tensorboard is True
    assert (
        _options("--tensorboard", "false").tensorboard is False
        and _options("--no-tensorboard").tensorboard is False
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model-options", "[1]"], "must be a JSON object"),
        (["--model-options", "{bad"], "not valid JSON"),
        (["--epochs=0"], "epochs must be an int >= 1, got 0"),
        (["--lr=-1"], "lr must be > 0"),
        (["--grad-accum-steps=0"], "grad_accum_steps must be an int >= 1"),
    ],
)
def test_bad_option_values(argv, message):
    with pytest.raises(OptionError, match=message):
        _options(*argv)


def _fails(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err, err
    return err


def test_unknown_model_name(cli_args, tmp_path, capsys):
    _fails(
        capsys, cli_args(tmp_path / "m", "--model=resnet"), "unknown model 'resnet'; registered models: cnn"
    )


def test_missing_columns(cli_args, tmp_path, capsys):
    _fails(capsys, cli_args(tmp_path / "m", "--label-column=target"), "['target'] not found in the data")
    _fails(capsys, cli_args(tmp_path / "m", "--feature-columns=f0,zz"), "['zz'] not found in the data")


def test_label_with_one_class(cli_args, splits, tmp_path, capsys, write_split):
    write_split(splits.train, 50, seed=9, classes=1)
    _fails(
        capsys, cli_args(tmp_path / "m"), "training split has 1 distinct label value(s) [0]; need at least 2"
    )


def test_empty_split(cli_args, splits, tmp_path, capsys):
    pq.write_table(pq.read_table(splits.validation).slice(0, 0), splits.validation)
    _fails(capsys, cli_args(tmp_path / "m"), "is empty (0 rows)")


def test_unwritable_model_dir_is_caught_before_reading_data(cli_args, splits, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    splits.train.unlink()  # data problems would surface later: the model dir is checked first
    _fails(capsys, cli_args(blocker / "model"), f"cannot write to '{blocker / 'model'}'")


def test_existing_model_needs_overwrite(cli_args, tmp_path, capsys):
    model_dir = tmp_path / "m"
    assert main(cli_args(model_dir, "--epochs=1", "--no-tensorboard")) == 0
    capsys.readouterr()
    before = (model_dir / "model.pt").read_bytes()
    _fails(capsys, cli_args(model_dir, "--epochs=1"), "model.pt already exists; pass --overwrite")
    assert (model_dir / "model.pt").read_bytes() == before
    assert main(cli_args(model_dir, "--epochs=1", "--overwrite", "--seed=3")) == 0
    assert (model_dir / "model.pt").read_bytes() != before


def test_command_exit_status_and_stderr(cli_args, tmp_path):
    """Real ``python -m components.train`` processes (two side by side): status 2, message on stderr,
    nothing written."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    commands = [
        [sys.executable, "-m", "components.train", *cli_args(tmp_path / "m", "--model=nope")],
        [sys.executable, "-m", "components.train", "--epochs=3"],
    ]
    started = [
        subprocess.Popen(
            cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for cmd in commands
    ]
    bad_err, usage_err = (p.communicate(timeout=120)[1] for p in started)
    bad_status, usage_status = (p.returncode for p in started)
    assert bad_status == 2
    assert "error: unknown model 'nope'" in bad_err and "Traceback" not in bad_err
    assert not (tmp_path / "m" / "model.pt").exists()
    assert usage_status == 2 and "the following arguments are required: --train" in usage_err
