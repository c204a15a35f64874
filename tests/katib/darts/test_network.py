import numpy as np
import pytest
import torch
import torch.nn.functional as F

from katib.darts.errors import DartsError, GenotypeError
from katib.darts.genotype import Genotype
from katib.darts.network import DartsNetwork, build_network, infer_image_shape

# Every Katib operation appears at least once across the two cells.
ALL_OPS = Genotype(
    normal=[
        [("separable_convolution_3x3", 0), ("dilated_convolution_3x3", 1)],
        [("skip_connection", 0), ("avg_pooling_3x3", 2)],
    ],
    normal_concat=[2, 3],
    reduce=[
        [("separable_convolution_5x5", 0), ("max_pooling_3x3", 1)],
        [("dilated_convolution_5x5", 2), ("skip_connection", 1)],
    ],
    reduce_concat=[2, 3],
)
OPTIONS = {"genotype": ALL_OPS.to_dict(), "init_channels": 4, "num_layers": 3}


def test_registry_call_and_whole_config_build_the_same_network():
    torch.manual_seed(0)
    a = build_network(OPTIONS, input_dim=64, input_shape=[1, 8, 8], num_classes=3).eval()
    torch.manual_seed(0)
    b = build_network({"architecture": "darts", "options": OPTIONS, "num_classes": 3, "input_dim": 64}).eval()
    x = torch.randn(6, 64)
    assert isinstance(a, DartsNetwork) and a(x).shape == (6, 3)
    torch.testing.assert_close(a(x), b(x))


def test_network_trains_from_scratch_on_flat_features():
    torch.manual_seed(0)
    net = build_network({**OPTIONS, "input_shape": [1, 7, 7]}, input_dim=49, num_classes=3)
    x, y = torch.randn(24, 49), torch.arange(24) % 3
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_one_layer_network_needs_no_reduce_cell():
    genotype = Genotype(normal=ALL_OPS.normal, normal_concat=[2, 3])
    net = build_network(
        {"genotype": genotype.to_dict(), "num_layers": 1, "init_channels": 4}, input_dim=64, num_classes=2
    )
    assert net(torch.randn(2, 64)).shape == (2, 2)
    with pytest.raises(GenotypeError, match="3 layers need a reduction cell"):
        build_network({"genotype": genotype.to_dict(), "num_layers": 3}, input_dim=64, num_classes=2)


@pytest.mark.parametrize(
    "options, kwargs, message",
    [
        (
            {**OPTIONS, "dropout": 0.1},
            {},
            "unknown darts model options \\['dropout'\\]; valid options: genotype",
        ),
        ({"init_channels": 4}, {}, "needs the option 'genotype'"),
        (OPTIONS, {"input_dim": 60}, "60 features are not a square image"),
        (OPTIONS, {"input_shape": [1, 4, 4]}, "holds 16 values, input_dim is 64"),
        ({**OPTIONS, "input_shape": [1, 8, 8]}, {"input_shape": [64, 1, 1]}, "disagree"),
        ({**OPTIONS, "num_layers": 0}, {}, "num_layers must be a positive integer, got 0"),
        ({**OPTIONS, "init_channels": "x"}, {}, "init_channels must be a positive integer"),
        (OPTIONS, {"num_classes": None}, "num_classes must be a positive integer"),
    ],
)
def test_bad_options_are_rejected_with_what_is_valid(options, kwargs, message):
    call = {"input_dim": 64, "num_classes": 3, **kwargs}
    with pytest.raises(DartsError, match=message):
        build_network(options, **call)


def test_reduction_cell_cannot_concatenate_unreduced_inputs():
    bad = Genotype(
        normal=ALL_OPS.normal, normal_concat=[2, 3], reduce=ALL_OPS.reduce, reduce_concat=[1, 2, 3]
    )
    with pytest.raises(GenotypeError, match="reduction cell can only concatenate its nodes"):
        build_network({"genotype": bad.to_dict(), "num_layers": 3}, input_dim=64, num_classes=3)


def test_image_shapes_are_inferred_from_the_feature_count():
    assert infer_image_shape(64) == (1, 8, 8)
    assert infer_image_shape(3 * 32 * 32) == (3, 32, 32)


@pytest.mark.slow
def test_network_exports_to_onnx_with_a_dynamic_batch(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    net = build_network(OPTIONS, input_dim=64, num_classes=3).eval()
    path = tmp_path / "darts.onnx"
    batch = torch.export.Dim("batch", min=1)
    torch.onnx.export(
        net, (torch.randn(4, 64),), str(path), dynamic_shapes=({0: batch},), external_data=False
    )
    session = onnxruntime.InferenceSession(str(path))
    name = session.get_inputs()[0].name
    for rows in (1, 7):
        x = torch.randn(rows, 64)
        (out,) = session.run(None, {name: x.numpy()})
        np.testing.assert_allclose(out, net(x).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_trainers_model_registry_builds_and_reloads_the_darts_network(tmp_path):
    from components.train.models import build_model, load_model, make_config, save_model

    config = make_config(
        "darts",
        {"genotype": ALL_OPS.compact(), "init_channels": 4, "num_layers": 3},
        classes=[0, 1, 2],
        feature_columns=[f"pixel_{i}" for i in range(64)],
        label_column="label",
    )
    assert config["input_shape"] == [1, 8, 8]
    torch.manual_seed(0)
    net = build_model(config).eval()
    save_model(net.state_dict(), config, tmp_path)
    reloaded, _ = load_model(tmp_path)
    x = torch.randn(3, 64)
    torch.testing.assert_close(reloaded(x), net(x))
