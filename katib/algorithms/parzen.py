"""Parzen estimators for TPE: truncated-Gaussian mixtures for ranges, smoothed counts for choices.

The numeric estimator follows Bergstra et al. (2011, section 4.1) and hyperopt's
``adaptive_parzen_normal``: one Gaussian per observation plus a broad prior Gaussian at the centre of
the range; each observation's bandwidth is the larger distance to its sorted neighbours (the range
bounds act as outer neighbours), clipped to [range / min(100, n + 1), range]. Everything is truncated
to the feasible range and, for ``scale="log"``, lives in log space. Integers and stepped ranges widen
the range by half a step so the end values get their fair share of mass.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Sequence
from statistics import NormalDist

from katib.space import Parameter, Value

_STD = NormalDist()
_EPS = 1e-12


class NumericParzen:
    """A truncated Gaussian mixture over a ``double``/``int`` parameter's range."""

    def __init__(self, parameter: Parameter, observations: Sequence[float], prior_weight: float) -> None:
        assert parameter.low is not None and parameter.high is not None
        self.parameter = parameter
        self.log = parameter.scale == "log"
        half = 0.0 if self.log else _half_step(parameter)
        self.low = self._forward(parameter.low) - half
        self.high = self._forward(parameter.high) + half
        points = [min(max(self._forward(v), self.low), self.high) for v in observations]
        self.mus, self.sigmas, self.weights = _mixture(points, self.low, self.high, prior_weight)
        self._masses = [self._mass(m, s) for m, s in zip(self.mus, self.sigmas, strict=True)]
        self._cumulative = _cumsum(self.weights)

    def _forward(self, value: float) -> float:
        return math.log(value) if self.log else float(value)

    def _mass(self, mu: float, sigma: float) -> float:
        return max(_STD.cdf((self.high - mu) / sigma) - _STD.cdf((self.low - mu) / sigma), _EPS)

    def sample(self, rng: random.Random) -> float:
        if self.high <= self.low:
            return self.low
        k = min(bisect.bisect_left(self._cumulative, rng.random() * self._cumulative[-1]), len(self.mus) - 1)
        mu, sigma = self.mus[k], self.sigmas[k]
        lo, hi = _STD.cdf((self.low - mu) / sigma), _STD.cdf((self.high - mu) / sigma)
        u = min(max(lo + rng.random() * (hi - lo), _EPS), 1 - _EPS)
        return min(max(mu + sigma * _STD.inv_cdf(u), self.low), self.high)

    def log_pdf(self, x: float) -> float:
        if self.high <= self.low:
            return 0.0
        terms = [
            math.log(w) - math.log(s) - 0.5 * ((x - m) / s) ** 2 - math.log(z)
            for m, s, w, z in zip(self.mus, self.sigmas, self.weights, self._masses, strict=True)
        ]
        return _logsumexp(terms) - 0.5 * math.log(2 * math.pi)

    def to_value(self, x: float) -> Value:
        return self.parameter.snap(math.exp(x) if self.log else x)


class CategoricalParzen:
    """Smoothed frequencies over a ``categorical``/``discrete`` parameter's values."""

    def __init__(self, parameter: Parameter, observations: Sequence[Value], prior_weight: float) -> None:
        self.parameter = parameter
        self.labels = [str(v) for v in parameter.values]
        counts = [prior_weight] * len(self.labels)
        for value in observations:
            counts[self.labels.index(str(value))] += 1.0
        total = sum(counts)
        self.probabilities = [c / total for c in counts]
        self._cumulative = _cumsum(self.probabilities)

    def sample(self, rng: random.Random) -> int:
        index = bisect.bisect_left(self._cumulative, rng.random() * self._cumulative[-1])
        return min(index, len(self.labels) - 1)

    def log_pdf(self, index: int) -> float:
        return math.log(self.probabilities[index])

    def to_value(self, index: int) -> Value:
        return self.parameter.values[index]


def _mixture(
    points: Sequence[float], low: float, high: float, prior_weight: float
) -> tuple[list[float], list[float], list[float]]:
    """Centres, bandwidths and normalised weights: observations plus the prior at the centre."""
    width = max(high - low, _EPS)
    prior_mu = 0.5 * (low + high)
    entries = sorted([(p, 1.0, False) for p in points] + [(prior_mu, prior_weight, True)])
    mus = [e[0] for e in entries]
    min_sigma = width / min(100.0, len(entries))
    sigmas = []
    for i, (mu, _, is_prior) in enumerate(entries):
        if is_prior:
            sigmas.append(width)
            continue
        left = mus[i - 1] if i > 0 else low
        right = mus[i + 1] if i + 1 < len(mus) else high
        sigmas.append(min(max(mu - left, right - mu, min_sigma), width))
    total = sum(e[1] for e in entries)
    return mus, sigmas, [e[1] / total for e in entries]


def _half_step(parameter: Parameter) -> float:
    if parameter.step:
        return parameter.step / 2
    return 0.5 if parameter.type == "int" else 0.0


def _cumsum(values: Sequence[float]) -> list[float]:
    out, acc = [], 0.0
    for v in values:
        acc += v
        out.append(acc)
    return out


def _logsumexp(terms: Sequence[float]) -> float:
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))
