"""Model directories written through the real registry (components.train.models), shared per module."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from components.train import models

PIXELS = [f"px{i}" for i in range(64)]
TABULAR = [f"f{i}" for i in range(12)]


def write_model_dir(root: Path, architecture: str, options: dict, feature_columns: list[str],
                    classes: list, seed: int = 0) -> Path:
    """A model directory as training leaves it, with seeded random weights and fitted-looking BN stats."""
    torch.manual_seed(seed)
    config = models.make_config(architecture, options, classes=classes, feature_columns=feature_columns,
                                label_column="label")
    module = models.build_model(config)
    for sub in module.modules():  # non-trivial running statistics so eval-mode BatchNorm is exercised
        if isinstance(sub, torch.nn.modules.batchnorm._BatchNorm):
            sub.running_mean.uniform_(-0.5, 0.5)
            sub.running_var.uniform_(0.5, 2.0)
    model_dir = root / architecture
    models.save_model(module.state_dict(), config, model_dir)
    return model_dir


@pytest.fixture(scope="module")
def mlp_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mlp")
    return write_model_dir(root, "mlp", {"hidden_sizes": [32, 16], "batch_norm": True, "dropout": 0.1},
                           TABULAR, ["no", "yes", "maybe"])


@pytest.fixture(scope="module")
def cnn_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cnn")
    return write_model_dir(root, "cnn", {"channels": [4, 8]}, PIXELS, list(range(10)))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    torch.set_num_threads(1)
