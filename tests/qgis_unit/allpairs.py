"""A deterministic all-pairs (pairwise) covering set of parameter values, for tests.

Every value of any parameter appears together with every value of any other parameter in at
least one returned case, with far fewer cases than the full product (9-12 instead of 432-864 for
the plugin's argv options). Greedy over the full product, so for small products only.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

Pair = tuple[tuple[int, int], tuple[int, int]]  # ((parameter, value index), (parameter, value index))


def _pairs_of(case: Sequence[int]) -> set[Pair]:
    """The (parameter, value index) pairs that one case (a tuple of value indices) covers."""
    return set(itertools.combinations(enumerate(case), 2))


def all_pairs(*parameters: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Cases (one value per parameter, in parameter order) that cover every pair of values.

    Greedy: repeatedly takes the first case of the full product (in ``itertools.product``
    order) that covers the most pairs not covered yet, so the result is the same on every run.
    Values are told apart by position, never by equality (``0`` and ``False`` stay distinct).
    """
    candidates = list(itertools.product(*(range(len(values)) for values in parameters)))
    uncovered = set().union(*(_pairs_of(case) for case in candidates))
    chosen: list[tuple[int, ...]] = []
    while uncovered:
        best = max(candidates, key=lambda case: len(_pairs_of(case) & uncovered))
        chosen.append(best)
        uncovered -= _pairs_of(best)
    return [tuple(values[i] for values, i in zip(parameters, case, strict=True)) for case in chosen]


def uncovered_pairs(cases: Sequence[Sequence[Any]], *parameters: Sequence[Any]) -> set[Pair]:
    """The value pairs (as indices) of ``parameters`` that no case of ``cases`` covers: empty for a covering set."""
    def index(values: Sequence[Any], value: Any) -> int:
        return next(i for i, v in enumerate(values) if v is value or (type(v) is type(value) and v == value))

    every = set().union(*(_pairs_of(case) for case in itertools.product(*(range(len(v)) for v in parameters))))
    seen = set().union(*(_pairs_of([index(values, value) for values, value in zip(parameters, case, strict=True)])
                         for case in cases))
    return every - seen
