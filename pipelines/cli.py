"""The ``kwp`` command: compile, run locally, upload, submit, write manifests, run Katib experiments locally.

Every sub-command imports its machinery on demand, and every user error is printed as one line naming
the bad value (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pipelines.registry import PIPELINES

if TYPE_CHECKING:
    from pipelines.upload import RegisteredPipeline


VERBOSE_HELP = "print kfp.local's full output, not one line per step (it is always in <run>/kfp-local.log)"


class CommandError(Exception):
    """An error already phrased for the user."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("kwp: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # one line for the user; the traceback only on request
        if args.debug:
            raise
        print(f"kwp: error: {_one_line(error)}", file=sys.stderr)
        return 1


def _one_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return " ".join(text.split("\n")[:3])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kwp",
        description="Kubeflow warehouse pipelines: warehouse preprocessing, PyTorch training, "
        "Katib search and ONNX export as KFP pipelines.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("compile", help="compile pipelines to DIR/<name>.yaml, components to DIR/components/")
    p.add_argument("--out", default="dist", help="output directory (default: dist)")
    p.set_defaults(handler=_compile)

    p = sub.add_parser("run", help="run a pipeline on this machine through kfp.local")
    p.add_argument("pipeline", choices=sorted(PIPELINES))
    p.add_argument("--local", action="store_true", required=True, help="run locally (the only mode)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="pipeline argument")
    p.add_argument("--workdir", default=".kwp", help="where the warehouse and run outputs go (default: .kwp)")
    p.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    p.add_argument("--retries", action="store_true",
                   help="keep the steps' cluster retry policies (default: a failure ends the run at once)")
    p.set_defaults(handler=_run)

    p = sub.add_parser("upload", help="register a pipeline, or a new version of it, in the KFP UI")
    p.add_argument("pipeline", choices=sorted(PIPELINES))
    p.add_argument("--host", required=True, help="KFP API endpoint, e.g. https://kubeflow.example.com/pipeline")
    p.add_argument("--namespace", default=None,
                   help="Kubeflow profile namespace: a private pipeline there (default: a shared pipeline)")
    _version_options(p)
    p.set_defaults(handler=_upload)

    p = sub.add_parser("submit", help="upload a pipeline to a KFP server and start a run")
    p.add_argument("pipeline", choices=sorted(PIPELINES))
    p.add_argument("--host", required=True, help="KFP API endpoint, e.g. https://kubeflow.example.com/pipeline")
    p.add_argument("--experiment", default="kwp", help="KFP experiment name (default: kwp)")
    p.add_argument("--namespace", default=None, help="Kubeflow profile namespace (multi-user installs)")
    p.add_argument("--run-name", default=None)
    p.add_argument(
        "--service-account",
        default=None,
        help="service account of the run's pods, e.g. kwp-launcher (may create training jobs)",
    )
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="pipeline argument")
    p.add_argument("--register", action="store_true",
                   help="register the pipeline version first (as `kwp upload`) and run that version")
    _version_options(p, note=" (with --register)")
    p.add_argument("--wait", type=int, default=None, metavar="SECONDS",
                   help="wait up to SECONDS for the run to end; exit 0 only if it succeeded (for CI)")
    p.set_defaults(handler=_submit)

    p = sub.add_parser("manifests", help="write PyTorchJob, TrainJob, Katib and kustomize manifests")
    p.add_argument("--out", default="manifests", help="output directory (default: manifests)")
    p.add_argument("--overwrite", action="store_true", help="replace files that differ from the generated")
    p.set_defaults(handler=_manifests)

    p = sub.add_parser("katib", help="Katib experiments")
    katib_sub = p.add_subparsers(title="katib commands", metavar="COMMAND")
    katib_sub.required = True
    k = katib_sub.add_parser("run", help="run a Katib Experiment YAML on this machine")
    k.add_argument("experiment", help="path to an Experiment YAML (kubeflow.org/v1beta1)")
    k.add_argument("--local", action="store_true", required=True, help="run trials as local processes")
    k.add_argument("--out", default=None, help="results directory (default: .kwp/katib/<experiment name>)")
    k.add_argument("--max-parallel", type=int, default=None, help="cap on concurrent trials")
    k.add_argument("--data", action="append", default=[], metavar="NAME=PATH",
                   help="bind ${kwp.NAME} in the trial template, e.g. --data train=train.parquet")
    k.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra trial environment")
    k.add_argument("--seed", type=int, default=0, help="seed of the search algorithm (default: 0)")
    k.add_argument("--overwrite", action="store_true", help="replace the results of an earlier run")
    k.set_defaults(handler=_katib_run)

    p = sub.add_parser("demo", help="the full local demo: seed DuckDB, run pipelines, compile, summarise")
    p.add_argument("--workdir", default=".kwp/demo", help="where the demo writes (default: .kwp/demo)")
    p.add_argument("--dist", default="dist", help="where compiled pipelines go (default: dist)")
    p.add_argument("--quick", action="store_true", help="smaller settings, for tests")
    p.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    p.set_defaults(handler=_demo)
    return parser


def _compile(args: argparse.Namespace) -> int:
    from pipelines.compile import compile_all

    for path in compile_all(args.out):
        print(path)
    return 0


def _run(args: argparse.Namespace) -> int:
    from pipelines.local import run_local

    run_local(args.pipeline, args.param, workdir=args.workdir, verbose=args.verbose, retries=args.retries)
    return 0


def _submit(args: argparse.Namespace) -> int:
    from pipelines.params import parse_params, pipeline_parameter_types
    from pipelines.registry import load_pipeline
    from pipelines.submit import submit

    arguments = parse_params(args.param, pipeline_parameter_types(load_pipeline(args.pipeline)))
    run = submit(
        args.pipeline,
        args.host,
        arguments,
        experiment=args.experiment,
        namespace=args.namespace,
        run_name=args.run_name,
        service_account=args.service_account,
        register=args.register,
        version=args.version,
        description=args.description,
        wait_s=args.wait,
    )
    if run.registered is not None:
        _print_registered(run.registered)
    print(f"started run {run.run_id}: {run.url}")
    if run.state is None:
        return 0
    print(f"run {run.run_id} ended: {run.state}")
    return 0 if run.succeeded else 1


def _version_options(parser: argparse.ArgumentParser, note: str = "") -> None:
    parser.add_argument("--version", default=None,
                        help="pipeline version name (default: kwp's version + the package's sha256, so an "
                        "unchanged package reuses its version; KFP names a new pipeline's first version "
                        f"after the pipeline){note}")
    parser.add_argument("--description", default=None,
                        help="description of a new pipeline or version (default: the pipeline's own, "
                        f"and the package's sha256 for a version){note}")


def _upload(args: argparse.Namespace) -> int:
    from pipelines.submit import upload

    _print_registered(
        upload(args.pipeline, args.host, namespace=args.namespace, version=args.version,
               description=args.description)
    )
    return 0


def _print_registered(registered: RegisteredPipeline) -> None:
    pipeline = "created" if registered.pipeline_created else "found"
    print(f"{pipeline} pipeline {registered.pipeline_name}: {registered.pipeline_id}")
    if registered.version_created:
        print(f"created version {registered.version_name}: {registered.version_id}")
    else:
        print(f"reused version {registered.version_name} (the server already has this exact package): "
              f"{registered.version_id}")
    print(registered.url)


def _manifests(args: argparse.Namespace) -> int:
    from pipelines.manifests import write_manifests

    for path in write_manifests(args.out, overwrite=args.overwrite):
        print(path)
    return 0


def _katib_run(args: argparse.Namespace) -> int:
    """Forward to ``katib.local``'s command, which owns the options' meaning and the exit codes."""
    from katib.local import main as katib_main

    argv = [args.experiment, "--local", "--seed", str(args.seed)]
    if args.out:
        argv += ["--out", args.out]
    if args.max_parallel is not None:
        argv += ["--max-parallel", str(args.max_parallel)]
    for flag, items in (("--data", args.data), ("--env", args.env)):
        for item in items:
            argv += [flag, item]
    if args.overwrite:
        argv.append("--overwrite")
    return int(katib_main(argv) or 0)


def _demo(args: argparse.Namespace) -> int:
    from pipelines.demo import run_demo

    run_demo(args.workdir, dist_dir=args.dist, quick=args.quick, verbose=args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
