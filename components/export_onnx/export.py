"""``export_onnx``: a trained model directory -> a checked, measured, self-describing ONNX file.

Steps, in order, all inside a staging directory beside the output so that a failure leaves nothing
half-written: export (dynamo, dynamic batch) -> ``onnx.checker`` (full check) -> parity with PyTorch on a
held-out batch (error above ``tolerance``) -> latency at batch 1 and 256 for both runtimes with pinned
threads -> metadata into the model -> move into place and write the JSON report.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import torch

from components.export_onnx import embed, exporter, measure
from components.export_onnx.errors import ModelDirError, ModelNotFoundError, OutputExistsError, ParityError
from components.export_onnx.report import ExportReport, metadata_props, write_metadata

DEFAULT_OPSET = 20
DEFAULT_TOLERANCE = 1e-4
#: Rows of the seeded random batch used when no held-out sample is given.
RANDOM_SAMPLE_ROWS = 64
SEED = 20261122


def export_onnx(
    model_dir: str | Path,
    output_path: str | Path,
    *,
    opset: int = DEFAULT_OPSET,
    sample: np.ndarray | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    embed_preprocessing: bool = False,
    stats: Mapping[str, Any] | str | Path | None = None,
    raw_rows: Sequence[Mapping[str, Any]] | None = None,
    overwrite: bool = False,
    threads: int = 1,
    latency_repeats: int = 100,
    report_path: str | Path | None = None,
) -> ExportReport:
    """Export the model saved in ``model_dir`` (see ``components.train.models``) to ``output_path``.

    ``sample`` holds preprocessed feature rows (the held-out batch); without it a seeded random batch
    is used. With ``embed_preprocessing`` the fitted ``stats`` (a dict or a JSON path; default: the
    model config's ``stats_uri``) become part of the graph, which then takes raw values; ``raw_rows``
    (dicts of raw column values) add real rows to the raw-input equivalence check.
    """
    module, config = load_trained_model(model_dir)
    return export_trained_module(
        module,
        config,
        output_path,
        opset=opset,
        sample=sample,
        tolerance=tolerance,
        embed_preprocessing=embed_preprocessing,
        stats=stats,
        raw_rows=raw_rows,
        overwrite=overwrite,
        threads=threads,
        latency_repeats=latency_repeats,
        report_path=report_path,
    )


def load_trained_model(model_dir: str | Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The module and config of a model directory, or ModelDirError saying what is missing or wrong."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelNotFoundError(f"model directory {str(model_dir)!r} does not exist or is not a directory")
    for name in ("model_config.json", "model.pt"):
        if not (model_dir / name).is_file():
            raise ModelNotFoundError(f"model directory {str(model_dir)!r} has no {name} "
                                     "(a trained model directory holds model.pt and model_config.json)")
    from components.train import models  # the registry: imported late so this module loads without it

    try:
        module, config = models.load_model(model_dir)
    except (KeyError, ValueError, TypeError, RuntimeError, json.JSONDecodeError) as exc:
        raise ModelDirError(f"cannot rebuild the model in {str(model_dir)!r}: {exc}") from exc
    return module.eval(), dict(config)


def export_trained_module(
    module: torch.nn.Module,
    config: Mapping[str, Any],
    output_path: str | Path,
    *,
    opset: int = DEFAULT_OPSET,
    sample: np.ndarray | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    embed_preprocessing: bool = False,
    stats: Mapping[str, Any] | str | Path | None = None,
    raw_rows: Sequence[Mapping[str, Any]] | None = None,
    overwrite: bool = False,
    threads: int = 1,
    latency_repeats: int = 100,
    report_path: str | Path | None = None,
) -> ExportReport:
    """``export_onnx`` for a module already in memory; ``config`` is its ``model_config.json`` content."""
    opset = exporter.validate_opset(opset)
    _check_positive("tolerance", tolerance)
    _check_positive("threads", threads)
    _check_positive("latency_repeats", latency_repeats)
    output_path = Path(output_path)
    report_path = Path(report_path) if report_path else output_path.with_suffix(".report.json")
    _refuse_existing([output_path, report_path], overwrite)
    input_shape = model_input_shape(config)
    features = held_out_batch(sample, input_shape)
    module = module.eval()
    prepared = None
    if embed_preprocessing:  # before the export: bad statistics fail in milliseconds, not seconds
        prepared = embed.prepare(stats, config, opset)

    output_path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_path.name}.", dir=output_path.parent))
    try:
        return _export_in(staging, module, config, features, output_path, report_path, opset=opset,
                          tolerance=tolerance, prepared=prepared, raw_rows=raw_rows, threads=threads,
                          latency_repeats=latency_repeats)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _export_in(
    staging: Path,
    module: torch.nn.Module,
    config: Mapping[str, Any],
    features: np.ndarray,
    output_path: Path,
    report_path: Path,
    *,
    opset: int,
    tolerance: float,
    prepared: embed.Preprocessing | None,
    raw_rows: Sequence[Mapping[str, Any]] | None,
    threads: int,
    latency_repeats: int,
) -> ExportReport:
    embed_preprocessing = prepared is not None
    external = exporter.weight_bytes(module) > exporter.EXTERNAL_DATA_THRESHOLD
    with measure.torch_threads(threads):
        proto = exporter.export_module(module, torch.from_numpy(measure.tile_rows(features, 2)), opset)
    bare_path = staging / ("features.onnx" if embed_preprocessing else output_path.name)
    exporter.save_model(proto, bare_path, external_data=external)
    exporter.check_model(bare_path)

    session = measure.ort_session(bare_path, threads)
    parity = parity_check(module, session, features, tolerance, threads)
    latency = measure.latency_pair(module, session, features, threads=threads, repeats=latency_repeats)

    served_path, embedded = bare_path, None
    if prepared is not None:
        embedded = embed.embed_and_verify(
            prepared, proto, module, staging / output_path.name, raw_rows=raw_rows,
            tolerance=tolerance, threads=threads, latency_repeats=latency_repeats, external_data=external,
        )
        served_path = staging / output_path.name
        latency["onnxruntime_raw_inputs"] = embedded.latency_ms

    served = onnx.load(str(served_path), load_external_data=False)
    report = ExportReport(
        onnx_path=str(output_path),
        report_path=str(report_path),
        opset=opset,
        inputs=exporter.describe_values(list(served.graph.input)),
        outputs=exporter.describe_values(list(served.graph.output)),
        parity_max_abs_diff=parity,
        parity_rows=int(features.shape[0]),
        tolerance=tolerance,
        latency_ms=latency,
        threads=threads,
        embed_preprocessing=embed_preprocessing,
        external_data=external,
        size_bytes=_size_on_disk(served_path),
        **_model_fields(config),
        **_embedded_fields(embedded),
        versions=_versions(),
    )
    write_metadata(served_path, metadata_props(report))
    exporter.check_model(served_path)
    _move_into_place(served_path, output_path, external)
    _write_atomic(report_path, report.to_json())
    return report


def parity_check(
    module: torch.nn.Module, session: onnxruntime.InferenceSession, features: np.ndarray,
    tolerance: float, threads: int,
) -> float:
    """Max |PyTorch - onnxruntime| over the batch and its first row alone; ParityError above tolerance."""
    name = session.get_inputs()[0].name
    worst = 0.0
    with measure.torch_threads(threads):
        for batch in (features, features[:1]):
            expected = measure.torch_predict(module, batch)
            actual = measure.ort_predict(session, {name: batch})
            worst = max(worst, measure.max_abs_diff(expected, actual))
    if not worst <= tolerance:
        raise ParityError(f"onnxruntime differs from PyTorch by {worst:.3g} on {features.shape[0]} held-out "
                          f"rows, above the tolerance {tolerance:g}; nothing was written")
    return worst


def model_input_shape(config: Mapping[str, Any]) -> tuple[int, ...]:
    """Per-row input shape of the module: ``(input_dim,)``.

    Every registered architecture takes flat feature rows, as Parquet holds them; image models (cnn,
    darts) reshape to ``input_shape`` inside ``forward``, so the ONNX input stays flat as well.
    """
    dim = config.get("input_dim")
    if isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0:
        raise ModelDirError(f"model config has no usable input_dim: {dim!r} (expected a positive int)")
    return (dim,)


def held_out_batch(sample: np.ndarray | None, input_shape: tuple[int, ...]) -> np.ndarray:
    """``sample`` as float32 rows of ``input_shape`` (flat rows are reshaped); seeded noise if None."""
    if sample is None:
        rng = np.random.default_rng(SEED)
        return rng.standard_normal((RANDOM_SAMPLE_ROWS, *input_shape)).astype(np.float32)
    batch = np.asarray(sample, dtype=np.float32)
    width = math.prod(input_shape)
    if batch.ndim < 2 or batch.shape[0] == 0 or math.prod(batch.shape[1:]) != width:
        raise ValueError(f"sample must have rows of shape {list(input_shape)} (or {width} flat values); "
                         f"got an array of shape {list(batch.shape)}")
    return np.ascontiguousarray(batch.reshape(batch.shape[0], *input_shape))


def _model_fields(config: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "architecture": str(config.get("architecture", "")),
        "classes": list(config.get("classes") or []),
        "feature_columns": list(config.get("feature_columns") or []),
        "image_shape": config.get("input_shape"),
    }


def _embedded_fields(embedded: embed.Embedded | None) -> dict[str, Any]:
    if embedded is None:
        return {}
    return {
        "preprocessing_max_abs_diff": embedded.max_abs_diff,
        "raw_numeric_columns": embedded.numeric_columns,
        "raw_categorical_columns": embedded.categorical_columns,
    }


def _versions() -> dict[str, str]:
    return {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__}


def _check_positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or math.isinf(value):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")


def _refuse_existing(paths: list[Path], overwrite: bool) -> None:
    existing = [str(p) for p in paths if p.exists()]
    if existing and not overwrite:
        raise OutputExistsError(f"{', '.join(existing)} already exist(s); pass overwrite=True to replace")


def _size_on_disk(path: Path) -> int:
    data = path.with_name(f"{path.name}.data")
    return path.stat().st_size + (data.stat().st_size if data.exists() else 0)


def _move_into_place(staged: Path, output_path: Path, external: bool) -> None:
    """Weights first, then the graph that references them; a stale weights file is removed."""
    data_target = output_path.with_name(f"{output_path.name}.data")
    if external:
        os.replace(staged.with_name(f"{staged.name}.data"), data_target)
    elif data_target.exists():
        data_target.unlink()
    os.replace(staged, output_path)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)
