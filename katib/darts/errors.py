"""Exceptions raised for input DARTS cannot use; each message names the bad value and what is valid."""

from __future__ import annotations


class DartsError(ValueError):
    """Base class: anything wrong with a DARTS search space, setting, genotype or data set."""


class SearchSpaceError(DartsError):
    """An operation name that the search space does not know, or an unusable list of operations."""


class SettingsError(DartsError):
    """An algorithm setting that is unknown or has an invalid value."""


class GenotypeError(DartsError):
    """A genotype that cannot be parsed or does not fit the network asked for."""


class DataError(DartsError):
    """A training table without the columns, rows or shape a search needs."""
