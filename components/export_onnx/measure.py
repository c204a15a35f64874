"""Run the exported file in onnxruntime next to the PyTorch module: parity and latency.

Both runtimes get the same number of threads (``torch.set_num_threads`` and ORT's
``intra_op_num_threads``), so a latency ratio compares runtimes, not thread counts.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

LATENCY_BATCHES = (1, 256)


def ort_session(path: Path, threads: int) -> ort.InferenceSession:
    """A CPU session pinned to ``threads`` intra-op threads and one sequential inter-op thread."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Pin PyTorch's intra-op pool for the block and restore the previous setting afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def torch_predict(module: torch.nn.Module, features: np.ndarray) -> np.ndarray:
    """The module's output for a float32 batch, as NumPy (eval mode, no autograd)."""
    with torch.inference_mode():
        return module(torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))).numpy()


def ort_predict(session: ort.InferenceSession, feeds: Mapping[str, np.ndarray]) -> np.ndarray:
    """The first output of ``session`` for ``feeds``."""
    return session.run(None, dict(feeds))[0]


def max_abs_diff(expected: np.ndarray, actual: np.ndarray) -> float:
    """Largest absolute difference; NaN where only one side is NaN counts as infinitely far."""
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    if expected.shape != actual.shape:
        raise ValueError(f"outputs differ in shape: PyTorch {expected.shape}, onnxruntime {actual.shape}")
    if expected.size == 0:
        return 0.0
    both_nan = np.isnan(expected) & np.isnan(actual)
    diff = np.where(both_nan, 0.0, np.abs(expected - actual))
    return float(np.inf) if np.isnan(diff).any() else float(diff.max())


def tile_rows(batch: np.ndarray, rows: int) -> np.ndarray:
    """``rows`` rows made by repeating ``batch``'s rows in order (a realistic batch of any size)."""
    index = np.arange(rows) % batch.shape[0]
    return np.ascontiguousarray(batch[index])


def median_ms(call: Callable[[], object], repeats: int, warmup: int = 3) -> float:
    """Median wall time of ``call`` in milliseconds over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(max(repeats, 1)):
        start = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1e6


def latency_pair(
    module: torch.nn.Module,
    session: ort.InferenceSession,
    sample: np.ndarray,
    *,
    threads: int,
    repeats: int,
    batches: tuple[int, ...] = LATENCY_BATCHES,
) -> dict[str, dict[str, float]]:
    """``{"pytorch": {"batch_1": ms, ...}, "onnxruntime": {...}}`` on rows tiled from ``sample``."""
    input_name = session.get_inputs()[0].name
    result: dict[str, dict[str, float]] = {"pytorch": {}, "onnxruntime": {}}
    with torch_threads(threads), torch.inference_mode():
        for rows in batches:
            batch = tile_rows(np.ascontiguousarray(sample, dtype=np.float32), rows)
            tensor = torch.from_numpy(batch)
            feeds = {input_name: batch}
            result["pytorch"][f"batch_{rows}"] = median_ms(lambda t=tensor: module(t), repeats)
            result["onnxruntime"][f"batch_{rows}"] = median_ms(lambda f=feeds: session.run(None, f), repeats)
    return result


def feeds_latency(
    session: ort.InferenceSession,
    feeds: Mapping[str, np.ndarray],
    *,
    repeats: int,
    batches: tuple[int, ...] = LATENCY_BATCHES,
) -> dict[str, float]:
    """onnxruntime latency of a multi-input graph (the raw-input model) at each batch size."""
    result = {}
    for rows in batches:
        tiled = {name: tile_rows(value, rows) for name, value in feeds.items()}
        result[f"batch_{rows}"] = median_ms(lambda f=tiled: session.run(None, f), repeats)
    return result
