import random
import re

import pytest
import torch

from katib.darts.errors import GenotypeError
from katib.darts.genotype import (
    Genotype,
    coerce_genotype,
    derive_cell,
    derive_genotype,
    edge_count,
    load_genotype,
    parse_genotype,
    sample_genotype,
    save_genotype,
)
from katib.darts.network import build_network
from katib.darts.search import SearchNetwork

KATIB_FILTER = re.compile(r"([\w-]+)=(Genotype.*)")
PRIMITIVES = ("separable_convolution_3x3", "max_pooling_3x3", "skip_connection", "none")

EXAMPLE = Genotype(
    normal=[
        [("separable_convolution_3x3", 0), ("skip_connection", 1)],
        [("max_pooling_3x3", 2), ("skip_connection", 0)],
    ],
    normal_concat=range(2, 4),
    reduce=[
        [("max_pooling_3x3", 1), ("max_pooling_3x3", 0)],
        [("skip_connection", 2), ("max_pooling_3x3", 1)],
    ],
    reduce_concat=range(2, 4),
)
# What namedtuple('Genotype', 'normal normal_concat reduce reduce_concat') prints in Katib's trial.
EXAMPLE_TEXT = (
    "Genotype(normal=[[('separable_convolution_3x3', 0), ('skip_connection', 1)], "
    "[('max_pooling_3x3', 2), ('skip_connection', 0)]], normal_concat=range(2, 4), "
    "reduce=[[('max_pooling_3x3', 1), ('max_pooling_3x3', 0)], "
    "[('skip_connection', 2), ('max_pooling_3x3', 1)]], reduce_concat=range(2, 4))"
)


def test_genotype_prints_exactly_like_katibs_namedtuple():
    assert str(EXAMPLE) == EXAMPLE_TEXT
    assert EXAMPLE.compact() == EXAMPLE_TEXT.replace(" ", "")


def test_the_best_genotype_line_matches_katibs_collector_filter_and_parses_back():
    line = f"Best-Genotype={EXAMPLE.compact()}"
    name, value = KATIB_FILTER.fullmatch(line).groups()
    assert name == "Best-Genotype"
    assert parse_genotype(value) == EXAMPLE
    assert parse_genotype(line) == EXAMPLE
    assert parse_genotype(str(EXAMPLE)) == EXAMPLE


def test_printed_genotype_builds_the_same_network():
    parsed = parse_genotype(EXAMPLE.compact())
    options = {"init_channels": 4, "num_layers": 3}
    torch.manual_seed(0)
    a = build_network({**options, "genotype": EXAMPLE.to_dict()}, input_dim=64, num_classes=3)
    torch.manual_seed(0)
    b = build_network({**options, "genotype": EXAMPLE.compact()}, input_dim=64, num_classes=3)
    assert parsed == EXAMPLE
    assert [(k, v.shape) for k, v in a.state_dict().items()] == [
        (k, v.shape) for k, v in b.state_dict().items()
    ]
    assert sum(p.numel() for p in a.parameters()) == sum(p.numel() for p in b.parameters())
    x = torch.randn(4, 64)
    torch.testing.assert_close(a.eval()(x), b.eval()(x))


def test_json_round_trip_and_no_silent_overwrite(tmp_path):
    path = save_genotype(EXAMPLE, tmp_path / "g.json")
    assert load_genotype(path) == EXAMPLE
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_genotype(EXAMPLE, path)
    save_genotype(EXAMPLE, path, overwrite=True)
    assert coerce_genotype(path.read_text()) == EXAMPLE
    assert coerce_genotype(EXAMPLE.to_dict()) == EXAMPLE


def test_derivation_keeps_the_two_strongest_non_none_edges_per_node():
    alpha = torch.zeros(edge_count(2), len(PRIMITIVES))
    alpha[:, 3] = 10.0  # 'none' dominates every edge and must still never be chosen
    alpha[0, 1] = 5.0  # node 0, input 0: max pooling
    alpha[1, 0] = 4.0  # node 0, input 1: separable convolution
    alpha[4, 2] = 6.0  # node 1, input 2: skip
    alpha[3, 0] = 3.0  # node 1, input 1: separable convolution
    alpha[2, 1] = 1.0  # node 1, input 0: weaker than the other two
    nodes = derive_cell(alpha, PRIMITIVES, num_nodes=2)
    assert nodes == (
        (("max_pooling_3x3", 0), ("separable_convolution_3x3", 1)),
        (("skip_connection", 2), ("separable_convolution_3x3", 1)),
    )


def test_derived_genotypes_of_random_alphas_are_valid(small_space):
    torch.manual_seed(3)
    net = SearchNetwork(
        small_space, input_shape=(1, 8, 8), num_classes=3, init_channels=4, num_layers=3, num_nodes=4
    )
    with torch.no_grad():
        for alpha in net.arch_parameters():
            alpha.normal_()
    genotype = net.genotype()
    for cell in (genotype.normal, genotype.reduce):
        assert len(cell) == 4
        for i, node in enumerate(cell):
            assert len(node) == 2 and len({j for _, j in node}) == 2
            assert all(op != "none" and 0 <= j < i + 2 for op, j in node)
    assert genotype.normal_concat == (2, 3, 4, 5)


def test_derivation_checks_the_alpha_shape():
    with pytest.raises(GenotypeError, match="needs \\(5, 4\\)"):
        derive_genotype(torch.zeros(4, 4), None, PRIMITIVES, num_nodes=2)


def test_sampled_genotypes_are_seeded_and_valid(small_space):
    a = sample_genotype(small_space, 4, random.Random(7))
    assert a == sample_genotype(small_space, 4, random.Random(7))
    assert a != sample_genotype(small_space, 4, random.Random(8))
    assert all(len({j for _, j in node}) == 2 for node in a.normal + a.reduce)


@pytest.mark.parametrize(
    "text, message",
    [
        ("Genotype(normal=__import__('os').system('true'), normal_concat=[2])", "not a literal"),
        ("print('x')", "looks like Genotype"),
        ("Genotype(normal=[[('none', 0)]], normal_concat=[2])", "uses 'none'"),
        ("Genotype(normal=[[('skip_connection', 2)]], normal_concat=[2])", "valid inputs are 0..1"),
        ("Genotype(normal=[[('conv', 0)]], normal_concat=[2])", "unknown operation 'conv'"),
        ("Genotype(normal=[[('skip_connection', 0)]], normal_concat=[5])", "distinct states among 0..2"),
        ("Genotype(normal=[[('skip_connection', 0)]])", "missing keys \\['normal_concat'\\]"),
        (
            "Genotype(normal=[[('skip_connection', 0)]], normal_concat=[2], extra=1)",
            "unknown keys \\['extra'\\]",
        ),
        ("Genotype([[('skip_connection', 0)]], [2])", "as keywords"),
        ("Genotype(normal=[[('skip_connection', 0)]", "not a genotype"),
    ],
)
def test_bad_genotype_text_is_rejected_without_evaluating_it(text, message):
    with pytest.raises(GenotypeError, match=message):
        parse_genotype(text)
