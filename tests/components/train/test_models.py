"""Registry, model config schema and the model directory round trip."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from components.train import models
from components.train.architectures import CNN, MLP
from components.train.errors import ModelError


@pytest.fixture
def scratch_registry(monkeypatch):
    """An isolated copy of the registry, so registrations in a test do not leak."""
    monkeypatch.setattr(models, "_REGISTRY", dict(models._REGISTRY))


def _config(architecture="mlp", options=None, n_features=8, classes=(0, 1, 2)):
    return models.make_config(
        architecture,
        options or {},
        classes=list(classes),
        feature_columns=[f"f{i}" for i in range(n_features)],
        label_column="label",
    )


def test_builtins_and_lazy_darts_entry_are_registered():
    assert {"mlp", "cnn", "darts"} <= set(models.registered_models())
    assert models._REGISTRY["darts"].builder == "katib.darts.network:build_network"


def test_unknown_model_lists_registered_names():
    with pytest.raises(ModelError, match=r"unknown model 'resnet'.*registered models: .*cnn.*mlp"):
        models.build_model({**_config(), "architecture": "resnet"})


def test_register_callable_gets_only_the_arguments_it_names(scratch_registry):
    seen = {}

    def linear(options, *, num_classes):
        seen.update(options=options, num_classes=num_classes)
        return nn.Linear(8, num_classes)

    models.register_model("linear", linear)
    model = models.build_model(_config("linear", {"bias": True}))
    assert isinstance(model, nn.Linear)
    assert seen == {"options": {"bias": True}, "num_classes": 3}


def test_register_lazy_string_imports_on_first_build(scratch_registry):
    models.register_model("lazy-linear", "torch.nn:Identity")
    assert isinstance(models.build_model(_config("lazy-linear")), nn.Identity)
    models.register_model("broken", "no_such_package.models:build")
    with pytest.raises(ModelError, match=r"cannot import 'no_such_package\.models'"):
        models.build_model(_config("broken"))


@pytest.mark.parametrize(
    ("name", "builder", "message"),
    [
        ("mlp", "x.y:z", "already registered"),
        ("new", "no-colon", "must look like 'package.module:function'"),
        ("new", 42, "must be callable"),
        ("", "a:b", "non-empty string"),
    ],
)
def test_register_rejects_bad_entries(scratch_registry, name, builder, message):
    with pytest.raises(ModelError, match=message):
        models.register_model(name, builder)


def test_mlp_options_shape_the_network():
    config = _config(
        "mlp", {"hidden_sizes": [16, 8], "dropout": 0.2, "activation": "gelu", "batch_norm": True}
    )
    model = models.build_model(config)
    assert isinstance(model, MLP)
    assert [b[0].out_features for b in model.blocks] == [16, 8]
    assert isinstance(model.blocks[0][2], nn.GELU)
    assert model(torch.randn(5, 8)).shape == (5, 3)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"hidden": [4]}, r"unknown option\(s\) \['hidden'\] for model 'mlp'; valid options: hidden_sizes"),
        ({"activation": "swish"}, "activation 'swish' is not supported; valid: relu, gelu, tanh, silu"),
        ({"dropout": 1.5}, r"dropout must be a number in \[0, 1\)"),
        ({"hidden_sizes": [0]}, "positive ints"),
    ],
)
def test_bad_model_options_are_named(options, message):
    with pytest.raises(ModelError, match=message):
        models.build_model(_config("mlp", options))


def test_cnn_infers_a_square_image_and_records_it():
    config = _config("cnn", {"channels": [4, 8]}, n_features=64, classes=list(range(10)))
    assert config["input_shape"] == [1, 8, 8]
    assert config["options"]["input_shape"] == [1, 8, 8]
    model = models.build_model(config)
    assert isinstance(model, CNN)
    assert model(torch.randn(3, 64)).shape == (3, 10)


def test_cnn_shape_must_match_feature_count():
    with pytest.raises(ModelError, match="not a perfect square"):
        _config("cnn", {}, n_features=10)
    with pytest.raises(ModelError, match=r"input_shape \[2, 2, 2\] holds 8 values but there are 10"):
        _config("cnn", {"input_shape": [2, 2, 2]}, n_features=10)


def test_config_schema_keys_and_validation():
    config = _config()
    assert list(config) == list(models.CONFIG_KEYS)
    assert config["format"] == "kwp.model" and config["version"] == 1 and config["input_shape"] is None
    with pytest.raises(ModelError, match=r"lacks key\(s\) \['classes'\]"):
        models.validate_config({k: v for k, v in config.items() if k != "classes"})
    with pytest.raises(ModelError, match="version 2"):
        models.validate_config({**config, "version": 2})


@pytest.mark.parametrize("architecture", ["mlp", "cnn"])
def test_save_and_load_rebuild_identical_outputs(tmp_path, architecture):
    torch.manual_seed(3)
    config = _config(architecture, {"dropout": 0.3}, n_features=16, classes=["a", "b"])
    model = models.build_model(config)
    with torch.no_grad():  # move batch-norm statistics away from their defaults
        model.train()(torch.randn(32, 16))
    models.save_model(model.state_dict(), config, tmp_path)
    loaded, loaded_config = models.load_model(tmp_path)
    assert loaded_config == config
    assert json.loads((tmp_path / "model_config.json").read_text()) == config
    x = torch.randn(7, 16)
    assert torch.equal(model.eval()(x), loaded(x))
    assert not loaded.training


def test_load_model_names_missing_files(tmp_path):
    with pytest.raises(ModelError, match=r"model_config\.json does not exist"):
        models.load_model(tmp_path)
    (tmp_path / "model_config.json").write_text(json.dumps(_config()))
    with pytest.raises(ModelError, match=r"model\.pt does not exist"):
        models.load_model(tmp_path)


def test_darts_network_builds_through_the_registry(tmp_path):
    """The lazy ``darts`` entry resolves to the DARTS package's builder and round-trips like the rest."""
    node = [["skip_connection", 0], ["max_pooling_3x3", 1]]
    genotype = {
        "normal": [node, node],
        "normal_concat": [2, 3],
        "reduce": [node, node],
        "reduce_concat": [2, 3],
    }
    options = {"genotype": genotype, "init_channels": 4, "num_layers": 2}
    config = _config("darts", options, n_features=64, classes=list(range(10)))
    assert config["input_shape"] == [1, 8, 8]
    model = models.build_model(config)
    models.save_model(model.state_dict(), config, tmp_path)
    loaded, _ = models.load_model(tmp_path)
    x = torch.randn(2, 64)
    assert torch.equal(model.eval()(x), loaded(x))
    assert loaded(x).shape == (2, 10)
