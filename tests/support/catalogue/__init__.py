"""The catalogue of servers the contract suite is run against (tests/test_variants.py): the reference app plus one
small named defect each, and the verdict the suite must reach on it; one module for each thing a server breaks."""

from __future__ import annotations

from tests.support.catalogue import (
    business,
    change,
    correct,
    envelope,
    environment,
    once_escaped,
    required,
    robustness,
    state,
    token,
)
from tests.support.catalogue.kinds import Broken, Correct, Escape, Unjudgeable, Variant

BROKEN: list[Broken] = [
    *envelope.BROKEN,
    *required.BROKEN,
    *token.BROKEN,
    *business.BROKEN,
    *change.BROKEN,
    *once_escaped.BROKEN,
    *robustness.BROKEN,
    *state.BROKEN,
    *environment.BROKEN,
]

# Environments that fail part-way: the suite must say it cannot judge (exit 2), never blame the contract.
UNJUDGEABLE: list[Unjudgeable] = [*environment.UNJUDGEABLE]

CORRECT: list[Correct] = [*correct.CORRECT, *environment.CORRECT]

# Contract breaks the suite does not catch yet: each a gap to close (none known now).
ESCAPES: list[Escape] = []


def sole_catchers(broken: list[Broken] = BROKEN) -> dict[str, list[str]]:
    """Each hand-written case to the broken variants that only it catches, as the catalogue states."""
    mapping: dict[str, list[str]] = {}
    for variant in broken:
        if variant.sole:
            (case,) = variant.cases
            mapping.setdefault(case, []).append(variant.name)
    return mapping


SOLE_CATCHERS = sole_catchers()


__all__ = [
    "BROKEN",
    "CORRECT",
    "ESCAPES",
    "SOLE_CATCHERS",
    "UNJUDGEABLE",
    "Broken",
    "Correct",
    "Escape",
    "Unjudgeable",
    "Variant",
]
