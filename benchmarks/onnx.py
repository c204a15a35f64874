"""onnxruntime against PyTorch eager: latency of the exported model at batch 1 and 256.

The model is the registry's tabular MLP (``components.train.models``, default widths 128-64) over
``--features`` inputs, exported through ``export_onnx`` exactly as the pipeline does (dynamo exporter,
dynamic batch, parity checked). Both runtimes get the same threads (``torch.set_num_threads`` and ORT
``intra_op_num_threads``); PyTorch runs under ``torch.inference_mode`` (its fastest eager mode). Each
runtime is timed in alternating rounds and the median call time is reported, so drift on a shared
machine hits both alike. Prints ``name=value`` lines, e.g. ``onnx_speedup_batch1=3.4``.

    python benchmarks/onnx.py                       # tabular MLP, 1 thread
    python benchmarks/onnx.py --threads 2 --rounds 3 --with-cnn
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
# This file is named onnx.py: drop its own folder from the path or it would shadow the onnx package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from components.export_onnx import measure  # noqa: E402
from components.export_onnx.export import export_onnx  # noqa: E402
from components.train import models  # noqa: E402

BATCHES = (1, 256)


def write_model(root: Path, architecture: str, options: dict, features: int, classes: int) -> Path:
    torch.manual_seed(0)
    config = models.make_config(architecture, options, classes=list(range(classes)),
                                feature_columns=[f"x{i}" for i in range(features)], label_column="y")
    module = models.build_model(config)
    models.save_model(module.state_dict(), config, root / architecture)
    return root / architecture


def time_runtimes(model_dir: Path, onnx_path: Path, sample: np.ndarray, threads: int, rounds: int,
                  calls: dict[int, int]) -> dict[str, dict[int, float]]:
    """Median ms per call for each runtime and batch size, over alternating rounds."""
    module, _ = models.load_model(model_dir)
    session = measure.ort_session(onnx_path, threads)
    name = session.get_inputs()[0].name
    samples: dict[str, dict[int, list[float]]] = {"pytorch": {}, "onnxruntime": {}}
    with measure.torch_threads(threads), torch.inference_mode():
        for rows in BATCHES:
            batch = measure.tile_rows(sample, rows)
            tensor, feeds = torch.from_numpy(batch), {name: batch}
            runners = {"pytorch": lambda t=tensor: module(t),
                       "onnxruntime": lambda f=feeds: session.run(None, f)}
            for r in range(rounds):
                order = list(runners) if r % 2 == 0 else list(reversed(runners))
                for runtime in order:
                    ms = measure.median_ms(runners[runtime], calls[rows], warmup=max(calls[rows] // 10, 3))
                    samples[runtime].setdefault(rows, []).append(ms)
    return {rt: {rows: statistics.median(v) for rows, v in by.items()} for rt, by in samples.items()}


def bench(label: str, architecture: str, options: dict, args: argparse.Namespace, workdir: Path) -> None:
    features = 64 if architecture == "cnn" else args.features
    model_dir = write_model(workdir, architecture, options, features, args.classes)
    sample = np.random.default_rng(0).normal(size=(256, features)).astype(np.float32)
    report = export_onnx(model_dir, workdir / f"{architecture}.onnx", sample=sample, threads=args.threads,
                         latency_repeats=5)
    calls = {1: args.calls, 256: max(args.calls // 10, 20)}
    result = time_runtimes(model_dir, Path(report.onnx_path), sample, args.threads, args.rounds, calls)
    prefix = "onnx" if label == "" else f"onnx_{label}"
    print(f"# {architecture} {options or ''} features={features} threads={args.threads} "
          f"parity_max_abs_diff={report.parity_max_abs_diff:.3g}")
    for rows in BATCHES:
        pt, ort_ms = result["pytorch"][rows], result["onnxruntime"][rows]
        print(f"{prefix}_pytorch_ms_batch{rows}={pt:.4f}")
        print(f"{prefix}_onnxruntime_ms_batch{rows}={ort_ms:.4f}")
        print(f"{prefix}_speedup_batch{rows}={pt / ort_ms:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=30, help="tabular feature columns (default 30)")
    parser.add_argument("--classes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="threads for BOTH runtimes (default 1)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating timing rounds per runtime")
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per round at batch 1")
    parser.add_argument("--with-cnn", action="store_true", help="also time the digits-sized CNN")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory(prefix="kwp-onnx-bench-") as tmp:
        bench("", "mlp", {}, args, Path(tmp))
        if args.with_cnn:
            bench("cnn", "cnn", {}, args, Path(tmp))


if __name__ == "__main__":
    main()
