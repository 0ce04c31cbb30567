"""Values far outside the usual shape of a parameter (very long, non-ASCII, control characters, quotes,
markup), for the robustness rule: whatever a value holds, the answer is the envelope with a documented code.

The hand-written cases send UNUSUAL_VALUES; the generated layer's fuzzing draws them and more like them
once its schema goes through `with_unusual_values`.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import strategies as st

from contract_suite.spec import ASCII_WHITESPACE
from contract_suite.unusual_values import UNUSUAL_VALUES

# Bits of syntax that interpreters of SQL, HTML, templates and shells give meaning to.
_SYNTAX = ("'", '"', "`", "\\", ";", "--", "/*", "<", ">", "</", "&", "%", "{{", "}}", "${", "$(", "\x00")
_LONG = (256, 2048)  # lengths of the long values drawn


def _not_blank(value: str) -> bool:
    return any(c not in ASCII_WHITESPACE for c in value)


def unusual_values() -> st.SearchStrategy[str]:
    """UNUSUAL_VALUES and values like them: long runs, non-ASCII and control characters, syntax."""
    short = st.text(st.characters(codec="utf-8"), min_size=1, max_size=8).filter(_not_blank)
    return st.one_of(
        st.sampled_from(list(UNUSUAL_VALUES.values())),
        st.builds(lambda unit, size: (unit * size)[:size], short, st.integers(*_LONG)),
        st.text(
            st.characters(codec="utf-8", categories=("Cc", "Cf", "Lo", "Mn", "So", "Zs")), min_size=1, max_size=24
        ).filter(_not_blank),
        st.lists(st.one_of(st.sampled_from(_SYNTAX), short), min_size=1, max_size=12).map("".join).filter(_not_blank),
    )


def _one_value_unusual(context: Any, query: Any) -> st.SearchStrategy:
    """The generated query as it is, or with one of its present values replaced by an unusual one.

    Absent, blank and non-string values are left alone: in a negative case they are what breaks the
    schema, and the checks judge them as the fault they are."""
    if not isinstance(query, dict):
        return st.just(query)
    names = sorted(name for name, value in query.items() if isinstance(value, str) and _not_blank(value))
    if not names:
        return st.just(query)
    replaced = st.builds(lambda name, value: {**query, name: value}, st.sampled_from(names), unusual_values())
    return st.one_of(st.just(query), replaced)


def with_unusual_values(schema: schemathesis.BaseSchema) -> schemathesis.BaseSchema:
    """The schema, its generated queries steered so that some carry one unusual value (about a fifth
    of the positive cases at the default budget; the others are left as schemathesis drew them).

    Schemathesis applies query hooks where it draws data with Hypothesis (the fuzzing phase); the
    examples and coverage phases send what the spec lays down, unchanged. Returns the schema it is given.
    """
    schema.hook("flatmap_query")(_one_value_unusual)
    return schema
