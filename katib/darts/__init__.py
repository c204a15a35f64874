"""DARTS (Liu et al., ICLR 2019) for Katib's DARTS suggestion: search, genotypes, derived networks.

Device-agnostic PyTorch; the trial command is ``python -m katib.darts`` (:mod:`katib.darts.cli`).
Importing this package imports torch; ``katib.darts.network:build_network`` is the ``darts``
architecture of the trainer's model registry.
"""

from katib.darts.architect import Architect, weight_step
from katib.darts.data import ImageTable, load_image_table, split_in_halves
from katib.darts.errors import DartsError, DataError, GenotypeError, SearchSpaceError, SettingsError
from katib.darts.genotype import (
    Genotype,
    coerce_genotype,
    derive_genotype,
    load_genotype,
    parse_genotype,
    sample_genotype,
    save_genotype,
)
from katib.darts.network import DartsNetwork, build_network
from katib.darts.operations import KATIB_OPERATIONS, NONE
from katib.darts.search import MixedOp, SearchCell, SearchNetwork
from katib.darts.search_space import DartsSearchSpace, reduction_layers
from katib.darts.settings import DartsSettings
from katib.darts.trial import SearchResult, run_search, write_outputs

__all__ = [
    "KATIB_OPERATIONS",
    "NONE",
    "Architect",
    "DartsError",
    "DartsNetwork",
    "DartsSearchSpace",
    "DartsSettings",
    "DataError",
    "Genotype",
    "GenotypeError",
    "ImageTable",
    "MixedOp",
    "SearchCell",
    "SearchNetwork",
    "SearchResult",
    "SearchSpaceError",
    "SettingsError",
    "build_network",
    "coerce_genotype",
    "derive_genotype",
    "load_genotype",
    "load_image_table",
    "parse_genotype",
    "reduction_layers",
    "run_search",
    "sample_genotype",
    "save_genotype",
    "split_in_halves",
    "weight_step",
    "write_outputs",
]
