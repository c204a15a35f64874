"""The ``kwp`` command: help everywhere, argparse errors for bad choices, one-line errors for the rest,
and the files ``compile`` and ``manifests`` write."""

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from pipelines.cli import main
from pipelines.params import ParameterError
from pipelines.registry import COMPONENTS, PIPELINES

REPO = Path(__file__).resolve().parents[2]


def kwp(*args: str) -> subprocess.CompletedProcess:
    """The real console entry point in a fresh interpreter, as a user's shell would run it."""
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def parse_strictly(path: Path) -> tuple[Any, Any]:
    """The package as KFP's server reads it: unknown fields are errors, not ignored."""
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert 1 <= len(documents) <= 2, f"expected PipelineSpec [+ PlatformSpec], got {len(documents)} documents"
    spec = json_format.ParseDict(documents[0], pipeline_spec_pb2.PipelineSpec())
    if len(documents) == 1:
        return spec, None
    return spec, json_format.ParseDict(documents[1], pipeline_spec_pb2.PlatformSpec())


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# --- help -----------------------------------------------------------------------------------------


def test_console_script_help_lists_every_command():
    result = kwp("--help")
    assert result.returncode == 0, result.stderr
    for command in ("compile", "run", "upload", "submit", "manifests", "katib", "demo", "--debug"):
        assert command in result.stdout


@pytest.mark.parametrize(
    ("argv", "options"),
    [
        (["compile"], ["--out"]),
        (["run"], ["--local", "--param", "--workdir", "--verbose", "--retries", "warehouse-train"]),
        (["upload"], ["--host", "--namespace", "--version", "--description", "warehouse-train"]),
        (["submit"], ["--host", "--experiment", "--namespace", "--run-name", "--param", "--register",
                      "--version", "--description", "--wait", "warehouse-train"]),
        (["manifests"], ["--out", "--overwrite"]),
        (["katib"], ["run"]),
        (["katib", "run"], ["--local", "--out", "--max-parallel",
                            "--data", "--env", "--seed", "--overwrite"]),
        (["demo"], ["--workdir", "--dist", "--quick", "--verbose"]),
    ],
)
def test_every_command_has_help_listing_its_options(capsys, argv, options):
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert out.startswith(f"usage: kwp {' '.join(argv)}")
    for option in options:
        assert option in out


def test_kwp_katib_run_offers_every_option_of_the_local_katib_runner(capsys):
    from katib.local.cli import build_parser

    with pytest.raises(SystemExit):
        main(["katib", "run", "--help"])
    ours = set(re.findall(r"--[\w-]+", capsys.readouterr().out))
    assert set(re.findall(r"--[\w-]+", build_parser().format_help())) <= ours


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: kwp" in capsys.readouterr().out


# --- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [["run", "nope", "--local"], ["submit", "nope", "--host", "http://x"], ["upload", "nope", "--host", "http://x"]],
)
def test_unknown_pipeline_is_an_argparse_error_listing_the_choices(capsys, command):
    with pytest.raises(SystemExit) as exit_info:
        main(command)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert "invalid choice: 'nope'" in err and "warehouse-train" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "warehouse-train"], "the following arguments are required: --local"),
        (["katib", "run", "x.yaml"], "the following arguments are required: --local"),
        (["katib"], "the following arguments are required: COMMAND"),
        (["submit", "warehouse-train"], "the following arguments are required: --host"),
        (["upload", "warehouse-train"], "the following arguments are required: --host"),
    ],
)
def test_missing_required_arguments_are_argparse_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_param_of_a_local_run_is_one_line_and_starts_nothing(capsys, tmp_path):
    workdir = tmp_path / "runs"
    code = main(["run", "warehouse-train", "--local", "--param", "epochs=lots", "--workdir", str(workdir)])
    line = one_error_line(capsys.readouterr().err)
    assert code == 1
    assert line.startswith("kwp: error: --param epochs='lots' is not an integer, e.g. epochs=5")
    assert not workdir.exists()


def test_debug_shows_the_traceback_instead(tmp_path):
    with pytest.raises(ParameterError, match="unknown parameter 'epoch'"):
        main(["--debug", "run", "warehouse-train", "--local", "--param", "epoch=1",
              "--workdir", str(tmp_path)])


def test_console_script_error_is_one_line_without_traceback_and_debug_adds_it(tmp_path):
    not_a_directory = tmp_path / "dist"
    not_a_directory.write_text("a file where the output directory should be")
    result = kwp("compile", "--out", str(not_a_directory))
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert line.startswith("kwp: error: ") and str(not_a_directory) in line
    debug = kwp("--debug", "compile", "--out", str(not_a_directory))
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr


def test_multi_line_errors_are_folded_into_one_line(monkeypatch, capsys, tmp_path):
    import pipelines.compile

    def broken(out_dir):
        raise ValueError("first line\nsecond line")

    monkeypatch.setattr(pipelines.compile, "compile_all", broken)
    assert main(["compile", "--out", str(tmp_path)]) == 1
    assert one_error_line(capsys.readouterr().err) == "kwp: error: first line second line"


def test_katib_run_of_a_missing_file_is_one_line_naming_it(capsys, tmp_path):
    missing = tmp_path / "missing.yaml"
    code = main(["katib", "run", str(missing), "--local", "--out", str(tmp_path / "out")])
    line = one_error_line(capsys.readouterr().err)
    assert code != 0
    assert re.match(r"(kwp: )?error: ", line) and str(missing) in line
    assert not (tmp_path / "out").exists()


def test_katib_run_forwards_its_options_to_the_local_runner(monkeypatch, tmp_path):
    import katib.local

    received = []
    monkeypatch.setattr(katib.local, "main", lambda argv: received.append(argv) or 0)
    argv = ["katib", "run", "e.yaml", "--local", "--out", "o", "--max-parallel", "0",
            "--data", "train=t.parquet", "--data", "validation=v.parquet", "--env", "A=1", "--seed", "7",
            "--overwrite"]  # fmt: skip
    assert main(argv) == 0
    assert received == [["e.yaml", "--local", "--seed", "7", "--out", "o", "--max-parallel", "0",
                         "--data", "train=t.parquet", "--data", "validation=v.parquet", "--env", "A=1",
                         "--overwrite"]]  # fmt: skip
    # And the local runner's own parser accepts exactly that.
    from katib.local.cli import build_parser

    args = build_parser().parse_args(received[0])
    assert (args.seed, args.data, args.overwrite) == (7, ["train=t.parquet", "validation=v.parquet"], True)


# --- compile and manifests ------------------------------------------------------------------------


def test_compile_writes_every_pipeline_deterministically_and_strictly(capsys, tmp_path):
    assert main(["compile", "--out", str(tmp_path / "a")]) == 0
    printed = capsys.readouterr().out.split()
    assert main(["compile", "--out", str(tmp_path / "b")]) == 0
    assert sorted(p.name for p in (tmp_path / "a").glob("*.yaml")) == sorted(f"{n}.yaml" for n in PIPELINES)
    components = tmp_path / "a" / "components"
    assert printed == [str(tmp_path / "a" / f"{name}.yaml") for name in PIPELINES] + [
        str(components / f"{name}.yaml") for name in COMPONENTS
    ]
    for name in PIPELINES:
        first, second = tmp_path / "a" / f"{name}.yaml", tmp_path / "b" / f"{name}.yaml"
        assert first.read_bytes() == second.read_bytes(), f"{name} does not compile deterministically"
        spec, platform = parse_strictly(first)
        assert spec.pipeline_info.name == name
        # Cluster settings (secrets, PVC, accelerators) travel in the kfp-kubernetes PlatformSpec.
        assert platform is not None and "kubernetes" in platform.platforms, f"{name} has no PlatformSpec"


def test_manifests_writes_the_generated_tree(capsys, tmp_path):
    from pipelines.manifests import render_tree

    assert main(["manifests", "--out", str(tmp_path)]) == 0
    written = {str(p.relative_to(tmp_path)): p.read_text() for p in tmp_path.rglob("*") if p.is_file()}
    assert written == render_tree()
    assert len(capsys.readouterr().out.splitlines()) == len(written)
    assert main(["manifests", "--out", str(tmp_path)]) == 0  # the same files again: nothing to lose


def test_manifests_refuse_to_replace_an_edited_file_unless_told(capsys, tmp_path):
    assert main(["manifests", "--out", str(tmp_path)]) == 0
    edited, untouched = tmp_path / "base" / "namespace.yaml", tmp_path / "kustomization.yaml"
    edited.write_text(edited.read_text() + "# mine\n")
    untouched.unlink()
    capsys.readouterr()
    assert main(["manifests", "--out", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert f"{edited} differs from the generated manifests; nothing was written" in error
    assert "--overwrite" in error and error.count("\n") == 1
    assert edited.read_text().endswith("# mine\n") and not untouched.exists()
    assert main(["manifests", "--out", str(tmp_path), "--overwrite"]) == 0
    assert not edited.read_text().endswith("# mine\n") and untouched.exists()
