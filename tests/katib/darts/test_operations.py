import pytest
import torch

from katib.darts.errors import SearchSpaceError
from katib.darts.operations import (
    KATIB_OPERATIONS,
    NONE,
    FactorizedReduce,
    make_operation,
    parse_operation,
)


@pytest.mark.parametrize("name", [*KATIB_OPERATIONS, NONE, "separable_convolution_7x7", "max_pooling_5x5"])
@pytest.mark.parametrize("search", [True, False])
@pytest.mark.parametrize("size", [8, 7])
def test_operations_keep_size_at_stride_1_and_halve_it_rounding_up_at_stride_2(name, search, size):
    x = torch.randn(2, 4, size, size)
    assert make_operation(name, 4, 1, search=search)(x).shape == (2, 4, size, size)
    half = (size + 1) // 2
    assert make_operation(name, 4, 2, search=search)(x).shape == (2, 4, half, half)


def test_search_variant_has_no_affine_batch_norm_and_normalises_pooling():
    search = make_operation("avg_pooling_3x3", 4, 1, search=True)
    fixed = make_operation("avg_pooling_3x3", 4, 1, search=False)
    assert any(isinstance(m, torch.nn.BatchNorm2d) and not m.affine for m in search.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fixed.modules())
    conv = make_operation("separable_convolution_3x3", 4, 1, search=False)
    assert all(m.affine for m in conv.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_none_is_zero_and_skip_is_identity_at_stride_1():
    x = torch.randn(1, 3, 8, 8)
    assert torch.equal(make_operation(NONE, 3, 1, search=True)(x), torch.zeros_like(x))
    assert torch.equal(make_operation("skip_connection", 3, 1, search=True)(x), x)
    assert isinstance(make_operation("skip_connection", 3, 2, search=True), FactorizedReduce)


def test_factorized_reduce_handles_odd_channels():
    out = FactorizedReduce(4, 5, affine=True)(torch.randn(2, 4, 7, 7))
    assert out.shape == (2, 5, 4, 4)


def test_operation_names_are_parsed_like_katib_builds_them():
    assert parse_operation("dilated_convolution_5x5") == ("dilated_convolution", 5)
    assert parse_operation("skip_connection") == ("skip_connection", 0)


@pytest.mark.parametrize(
    "bad, message",
    [
        ("sep_conv_3x3", "unknown operation 'sep_conv_3x3'"),
        ("convolution_3x3", "valid: separable_convolution_3x3"),
        ("max_pooling_4x4", "odd filter size"),
        ("avg_pooling_3x5", "square"),
        ("separable_convolution_1x1", ">= 3"),
    ],
)
def test_unknown_or_malformed_operations_are_rejected_with_the_valid_names(bad, message):
    with pytest.raises(SearchSpaceError, match=message):
        parse_operation(bad)
