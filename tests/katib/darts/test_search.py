import pytest
import torch
import torch.nn.functional as F

from katib.darts.operations import make_operation
from katib.darts.search import MixedOp, SearchNetwork


def make_network(space, layers=3, nodes=2, shape=(1, 8, 8)):
    torch.manual_seed(0)
    return SearchNetwork(
        space, input_shape=shape, num_classes=3, init_channels=4, num_layers=layers, num_nodes=nodes
    )


def test_alphas_and_weights_are_disjoint_and_cover_every_parameter(small_space):
    net = make_network(small_space)
    alphas, weights = net.arch_parameters(), net.weight_parameters()
    assert [a.shape for a in alphas] == [(5, 4), (5, 4)]  # 2 + 3 edges, 3 operations + none
    assert {id(p) for p in alphas}.isdisjoint(id(p) for p in weights)
    assert len(alphas) + len(weights) == len(list(net.parameters()))


def test_one_layer_network_has_no_reduction_alphas_and_an_empty_reduce_genotype(small_space):
    net = make_network(small_space, layers=1)
    assert net.alpha_reduce is None and len(net.arch_parameters()) == 1
    assert net.genotype().reduce == ()


def test_mixed_op_is_the_softmax_weighted_sum_of_all_candidates_including_none(small_space):
    torch.manual_seed(0)
    mixed = MixedOp(4, 1, small_space.primitives).eval()
    x = torch.randn(2, 4, 8, 8)
    weights = F.softmax(torch.randn(len(small_space.primitives)), dim=-1)
    ops = [make_operation(p, 4, 1, search=True).eval() for p in small_space.primitives]
    for op, built in zip(ops, [*mixed.ops, None], strict=True):
        if built is not None:
            op.load_state_dict(built.state_dict())
    expected = sum(w * op(x) for w, op in zip(weights, ops, strict=True))
    torch.testing.assert_close(mixed(x, weights), expected)


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 7, 7), (3, 4, 4)])
def test_network_takes_flat_features_or_images(small_space, shape):
    net = make_network(small_space, shape=shape).eval()
    images = torch.randn(5, *shape)
    flat = images.reshape(5, -1)
    assert net(flat).shape == (5, 3)
    torch.testing.assert_close(net(flat), net(images))


def test_reduction_cells_double_channels_and_halve_the_image(small_space):
    net = make_network(small_space, layers=3, nodes=2)
    assert [cell.reduction for cell in net.cells] == [False, True, True]
    assert net.classifier.in_features == 4 * 4 * 2  # init 4, doubled twice, 2 nodes concatenated


def test_alpha_weights_are_row_softmaxes(small_space):
    net = make_network(small_space)
    rows = net.alpha_weights()["normal"]
    assert len(rows) == 5 and all(abs(sum(r) - 1) < 1e-3 for r in rows)
