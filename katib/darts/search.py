"""The over-parameterised search network: every edge a softmax-weighted mix of all candidate operations.

The architecture parameters (``alpha_normal``, ``alpha_reduce``) live on the module so that ``.to(device)``
and ``state_dict`` carry them, but :meth:`SearchNetwork.weight_parameters` and
:meth:`SearchNetwork.arch_parameters` keep the two sets apart: each has its own optimiser, the weights
learn from the training loss and the alphas only from the validation loss (Liu et al. 2019, eq. 3-4).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from katib.darts.genotype import Genotype, derive_genotype, edge_count
from katib.darts.network import as_images, stem
from katib.darts.operations import NONE, FactorizedReduce, ReLUConvBN, make_operation
from katib.darts.search_space import DartsSearchSpace, reduction_layers

ALPHA_PREFIX = "alpha_"


class MixedOp(nn.Module):
    """``sum_o softmax(alpha)_o * o(x)`` over the candidate operations of one edge."""

    def __init__(self, channels: int, stride: int, primitives: Sequence[str]) -> None:
        super().__init__()
        # 'none' contributes weight * 0 = 0 to the sum and to every gradient, so it is not computed; its
        # alpha still takes part in the softmax that weights the other operations.
        self.columns = [i for i, name in enumerate(primitives) if name != NONE]
        self.ops = nn.ModuleList(
            make_operation(primitives[i], channels, stride, search=True) for i in self.columns
        )

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return sum(weights[i] * op(x) for i, op in zip(self.columns, self.ops, strict=True))


class SearchCell(nn.Module):
    """A cell of ``num_nodes`` nodes; node ``i`` mixes all ``i + 2`` earlier states."""

    def __init__(
        self,
        num_nodes: int,
        c_pp: int,
        c_p: int,
        c: int,
        primitives: Sequence[str],
        *,
        reduction_prev: bool,
        reduction: bool,
    ) -> None:
        super().__init__()
        self.reduction = reduction
        self.num_nodes = num_nodes
        self.preprocess0 = (
            FactorizedReduce(c_pp, c, affine=False) if reduction_prev else ReLUConvBN(c_pp, c, affine=False)
        )
        self.preprocess1 = ReLUConvBN(c_p, c, affine=False)
        # Edges in the row order of the alpha matrix: node 0's two inputs, node 1's three, ...
        self.edges = nn.ModuleList(
            MixedOp(c, 2 if reduction and j < 2 else 1, primitives)
            for i in range(num_nodes)
            for j in range(i + 2)
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        offset = 0
        for _ in range(self.num_nodes):
            node = sum(self.edges[offset + j](h, weights[offset + j]) for j, h in enumerate(states))
            offset += len(states)
            states.append(node)
        return torch.cat(states[2:], dim=1)


class SearchNetwork(nn.Module):
    """Stem, search cells laid out as in Katib's trial, global pooling and a linear classifier."""

    def __init__(
        self,
        space: DartsSearchSpace,
        *,
        input_shape: Sequence[int],
        num_classes: int,
        init_channels: int = 16,
        num_layers: int = 8,
        num_nodes: int = 4,
        stem_multiplier: int = 3,
    ) -> None:
        super().__init__()
        self.space = space
        self.primitives = space.primitives
        self.input_shape = tuple(input_shape)
        self.num_nodes = num_nodes
        reductions = reduction_layers(num_layers)
        c = stem_multiplier * init_channels
        self.stem = stem(self.input_shape[0], c)
        c_pp, c_p, c = c, c, init_channels
        self.cells = nn.ModuleList()
        reduction_prev = False
        for layer in range(num_layers):
            reduction = layer in reductions
            c = c * 2 if reduction else c
            self.cells.append(
                SearchCell(
                    num_nodes,
                    c_pp,
                    c_p,
                    c,
                    self.primitives,
                    reduction_prev=reduction_prev,
                    reduction=reduction,
                )
            )
            c_pp, c_p, reduction_prev = c_p, c * num_nodes, reduction
        self.classifier = nn.Linear(c_p, num_classes)
        shape = (edge_count(num_nodes), len(self.primitives))
        self.alpha_normal = nn.Parameter(1e-3 * torch.randn(shape))
        self.alpha_reduce = nn.Parameter(1e-3 * torch.randn(shape)) if reductions else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        normal = F.softmax(self.alpha_normal, dim=-1)
        reduce = F.softmax(self.alpha_reduce, dim=-1) if self.alpha_reduce is not None else None
        s0 = s1 = self.stem(as_images(x, self.input_shape))
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, reduce if cell.reduction else normal)
        return self.classifier(s1.mean(dim=(2, 3)))

    def arch_parameters(self) -> list[nn.Parameter]:
        """The architecture parameters (alphas), for the architecture optimiser only."""
        return [p for name, p in self.named_parameters() if name.startswith(ALPHA_PREFIX)]

    def weight_parameters(self) -> list[nn.Parameter]:
        """Every parameter except the alphas, for the weight optimiser only."""
        return [p for name, p in self.named_parameters() if not name.startswith(ALPHA_PREFIX)]

    def genotype(self, k: int = 2) -> Genotype:
        return derive_genotype(self.alpha_normal, self.alpha_reduce, self.primitives, self.num_nodes, k)

    def alpha_weights(self) -> dict[str, list[list[float]]]:
        """Softmax of each alpha matrix, rounded, for logs and the metrics file."""
        out = {"normal": F.softmax(self.alpha_normal.detach(), -1).cpu().tolist()}
        if self.alpha_reduce is not None:
            out["reduce"] = F.softmax(self.alpha_reduce.detach(), -1).cpu().tolist()
        return {name: [[round(v, 5) for v in row] for row in rows] for name, rows in out.items()}
