"""Judging an answer against the contract, and the words of a failure (rule, expected, actual).

Needs no HTTP client: it reads an exchange.Answer, whose request names the operation; masks every secret.
"""

from __future__ import annotations

import json
from typing import Any

from contract_suite.engine.evidence import Failure
from contract_suite.engine.exchange import NOT_JSON, Answer
from contract_suite.engine.reproduce import reproduction
from contract_suite.http.transport import Response
from contract_suite.openapi.spec import Operation, is_integer
from contract_suite.secrets import Secrets

QUOTE_BYTES = 200


def nested_too_deep(body: bytes) -> bool:
    """Whether body is JSON nested too deeply to parse (a hostile answer); such a body is no envelope."""
    if not body or body.lstrip()[:1] not in (b"{", b"["):
        return False
    depth = deepest = 0
    for byte in body[: 1 << 20].translate(None, b' \t\r\n"0123456789,:.-abcdefghijklmnopqrstuvwxyz'):
        if byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > nested_too_deep.limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


nested_too_deep.limit = 200  # an envelope is 2 levels deep


def is_documented(operation: Operation, code: Any) -> bool:
    return is_integer(code) and code in operation.codes


def quote_body(response: Answer | Response, secrets: Secrets, limit: int = QUOTE_BYTES) -> str:
    """The first bytes of the body, secrets masked, for a message."""
    if not response.body:
        return "(empty body)"
    head = response.body[:limit].decode("utf-8", errors="replace")
    if response.truncated:
        more = f" ... (more than {len(response.body)} bytes; read no further)"
    else:
        more = f" ... ({len(response.body)} bytes in all)" if len(response.body) > limit else ""
    return secrets.mask(repr(head)) + more


def describe_answer(answer: Answer, secrets: Secrets) -> str:
    """One line: `HTTP 404 text/html: '<html>...'`, or the transport failure."""
    if answer.failure is not None:
        return secrets.mask(answer.failure.detail)
    media = answer.content_type.split(";")[0].strip() or "(no Content-Type)"
    line = f"HTTP {answer.status} {media}"
    location = answer.header("Location")
    if location:
        line += f" to {secrets.mask(location)!r}"
    return f"{line}: {quote_body(answer, secrets, 120)}"


def envelope_problem(answer: Answer, secrets: Secrets) -> str | None:
    """Why this answer breaks the envelope part of its operation's contract (status, type, JSON, schema), or None."""
    operation = answer.request.operation
    if answer.failure is not None:
        return secrets.mask(answer.failure.detail)
    if answer.status is not None and 300 <= answer.status < 400:
        location = answer.header("Location")
        return (
            f"HTTP {answer.status}, a redirect to {secrets.mask(location or '(no Location)')!r}: every outcome "
            f"must be HTTP {_statuses(operation)} with the envelope (the suite follows no redirect)"
        )
    if answer.status not in operation.statuses:
        return (
            f"HTTP {answer.status}: every outcome must be HTTP {_statuses(operation)} with the envelope in the "
            f"body; body: {quote_body(answer, secrets)}"
        )
    media = answer.content_type.split(";")[0].strip().lower()
    if media not in operation.media_types:
        return (
            f"Content-Type {answer.content_type or '(none)'!r}: expected {', '.join(operation.media_types)}; "
            f"body: {quote_body(answer, secrets)}"
        )
    if answer.truncated:
        return f"the body is over {len(answer.body)} bytes, not an envelope: {quote_body(answer, secrets)}"
    body = answer.json
    if body is NOT_JSON:
        return f"the body is not JSON: {quote_body(answer, secrets)}"
    errors = operation.envelope_errors(body)
    if errors:
        code = body.get("code") if isinstance(body, dict) else None
        lead = (
            ""
            if code is None or is_documented(operation, code)
            else f"code {json.dumps(code)} is not a documented code; "
        )
        broken = secrets.mask("; ".join(errors))
        return f"{lead}the envelope breaks the spec's schema: {broken}; body: {quote_body(answer, secrets)}"
    return None


def _statuses(operation: Operation) -> str:
    return " or ".join(map(str, sorted(operation.statuses)))


def judge(answer: Answer, expected: set[int], rule: str, secrets: Secrets) -> Failure | None:
    """The failure this answer is, or None when it is what its operation's contract expects."""
    operation = answer.request.operation
    problem = envelope_problem(answer, secrets)
    code = answer.code
    if problem is None and code in expected:
        return None
    errors = set(operation.codes) - {operation.success_code}
    if expected == errors:
        wanted = f"any documented code but {operation.success_code} (one of {', '.join(map(str, sorted(errors)))})"
    else:
        wanted = " or ".join(operation.describe(c) for c in sorted(expected))
    if problem is not None:
        actual = problem
    else:
        server_msg = json.dumps(answer.json.get("msg"), ensure_ascii=False)
        actual = f"{operation.describe(code)}, server msg {secrets.mask(server_msg)}"
    shown = reproduction(answer.request, secrets)
    codes = () if expected == errors else tuple(sorted(expected))
    return Failure(secrets.mask(rule), wanted, actual, expected_codes=codes, **shown.failure_fields())
