"""PyTorch module -> ONNX file, through the dynamo exporter (``torch.export``), then the ONNX checker.

The batch dimension is exported as a symbol, so one file serves batch 1 (online) and large batches
(offline). Weights stay inside the ``.onnx`` file unless protobuf's 2 GiB limit forces external data.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path

import onnx
import torch

from components.export_onnx.errors import ExportError

INPUT_NAME = "features"
OUTPUT_NAME = "logits"
BATCH_DIM = "batch"
MIN_OPSET = 18
#: Above this many bytes of weights the file is written with external data: protobuf refuses
#: messages over 2 GiB, and the graph itself needs some room beside the weights.
EXTERNAL_DATA_THRESHOLD = 1_800 * 1024**2


def max_opset() -> int:
    """The newest default-domain opset this onnx release knows."""
    return onnx.defs.onnx_opset_version()


def validate_opset(opset: int) -> int:
    """``opset`` as an int, or a ValueError naming the supported range."""
    high = max_opset()
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= high:
        raise ValueError(f"opset must be an integer in [{MIN_OPSET}, {high}], got {opset!r}")
    return opset


def weight_bytes(module: torch.nn.Module) -> int:
    """Bytes of parameters and buffers: what decides whether external data is needed."""
    return sum(t.numel() * t.element_size() for t in module.state_dict().values())


def export_module(module: torch.nn.Module, example: torch.Tensor, opset: int) -> onnx.ModelProto:
    """Trace ``module`` with ``torch.export`` and translate it to an ONNX model with a dynamic batch.

    ``example`` must have at least two rows: with one row ``torch.export`` would specialise the batch
    dimension to 1.
    """
    if example.shape[0] < 2:
        raise ValueError(f"the example batch needs >= 2 rows for a dynamic batch, got {example.shape[0]}")
    module = module.eval()
    batch = torch.export.Dim(BATCH_DIM, min=1)
    try:
        with _quiet_exporter():
            program = torch.onnx.export(
                module,
                (example,),
                dynamo=True,
                dynamic_shapes=({0: batch},),
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                external_data=False,
                optimize=True,
                verbose=False,
            )
    except Exception as exc:  # the exporter raises many unrelated types; re-raise one, with the cause
        raise ExportError(f"torch.onnx.export (dynamo) failed for {type(module).__name__}: {exc}") from exc
    if program is None:
        raise ExportError("torch.onnx.export returned no program")
    return program.model_proto


def save_model(model: onnx.ModelProto, path: Path, *, external_data: bool) -> None:
    """Write ``model`` to ``path``; with ``external_data`` the weights go to ``<name>.data`` beside it."""
    if external_data:
        onnx.save_model(
            model,
            str(path),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=f"{path.name}.data",
            size_threshold=1024,
        )
    else:
        onnx.save_model(model, str(path))


def check_model(path: Path) -> None:
    """Run the ONNX checker with strict shape inference (``full_check``) on the written file.

    Checking the path rather than the proto also validates external-data references.
    """
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise ExportError(f"onnx.checker rejected {path.name}: {exc}") from exc


def describe_values(values: list[onnx.ValueInfoProto]) -> list[dict[str, object]]:
    """Name, element type and shape (``"batch"`` for symbolic dims) of graph inputs or outputs."""
    described = []
    for value in values:
        tensor = value.type.tensor_type
        shape: list[object] = [
            d.dim_param if d.HasField("dim_param") else (d.dim_value if d.HasField("dim_value") else None)
            for d in tensor.shape.dim
        ]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        described.append({"name": value.name, "dtype": dtype.name, "shape": shape})
    return described


@contextlib.contextmanager
def _quiet_exporter():
    """Keep the exporter's progress prints and registration warnings out of component logs."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        logger.setLevel(level)
