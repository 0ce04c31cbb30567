"""Values far outside the usual shape of a parameter (very long, non-ASCII, control characters, quotes,
markup), for the robustness rule: whatever a value holds, the answer is the envelope with a documented code.

The hand-written cases send UNUSUAL_VALUES; the generated layer's fuzzing draws them and more like them
once its schema goes through `with_unusual_values`.
"""

from __future__ import annotations

import bisect
import itertools
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

import schemathesis
from hypothesis import strategies as st

from contract_suite.openapi.spec import ASCII_WHITESPACE
from contract_suite.schemathesis_layer.checks import presence_of
from contract_suite.schemathesis_layer.unusual_values import UNUSUAL_VALUES

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


def request_line_bytes(method: str, url: str) -> int:
    """Bytes of the request line a server reads for this request: `METHOD /path?query HTTP/1.1` and CRLF."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return len(f"{method} {target} HTTP/1.1\r\n".encode())


def query_bytes(query: dict[str, Any]) -> int:
    """Bytes of the query string that carries these values, encoded as requests encodes them."""
    pairs = [
        (name, v)
        for name, value in query.items()
        for v in (value if isinstance(value, list) else [value])
        if v is not None
    ]
    return len(urlencode(pairs))


def _prefix_within(value: str, room: int) -> str:
    """The longest start of value that takes at most `room` bytes once encoded in a query."""
    sizes = list(itertools.accumulate(len(quote_plus(c)) for c in value))
    return value[: bisect.bisect_right(sizes, room)]


def fit_query(query: Any, budget: int) -> Any:
    """The query, its longest string values cut at the end, longest first, until it takes at most `budget` bytes
    encoded.

    A value is cut only where it stays what it was to the checks (sent, blank, or blank to some servers only),
    and never to nothing: a long value stays as long as the budget lets it. What still does not fit is left
    as it is (the generated layer then does not send it)."""
    if not isinstance(query, dict):
        return query
    over = query_bytes(query) - budget
    if over <= 0:
        return query
    shaped = dict(query)
    strings = sorted(
        (name for name, v in query.items() if isinstance(v, str)), key=lambda n: -len(quote_plus(query[n]))
    )
    for name in strings:
        value = shaped[name]
        size = len(quote_plus(value))
        # what this value cannot give up, the next one does: a value is cut at most to its first character
        kept = _prefix_within(value, max(size - over, len(quote_plus(value[:1]))))
        if kept and presence_of([kept]) is presence_of([value]):
            shaped[name] = kept
            over -= size - len(quote_plus(kept))
        if over <= 0:
            return shaped
    return query


def with_unusual_values(schema: schemathesis.BaseSchema, max_query_bytes: int | None = None) -> schemathesis.BaseSchema:
    """The schema, its generated queries steered so that some carry one unusual value (about a fifth
    of the positive cases at the default budget; the others are left as schemathesis drew them), and,
    given max_query_bytes, cut to fit it (fit_query).

    Schemathesis applies query hooks where it draws data with Hypothesis (the fuzzing phase); the
    examples and coverage phases send what the spec lays down, unchanged. Returns the schema it is given.
    """
    if max_query_bytes is None:
        schema.hook("flatmap_query")(_one_value_unusual)
    else:

        def one_value_unusual_within_budget(context: Any, query: Any) -> st.SearchStrategy:
            return _one_value_unusual(context, query).map(lambda drawn: fit_query(drawn, max_query_bytes))

        schema.hook("flatmap_query")(one_value_unusual_within_budget)
    return schema
