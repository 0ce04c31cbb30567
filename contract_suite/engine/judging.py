"""Judging an answer against the contract, and the words of a failure (rule, expected, actual, reproduce).

Needs no HTTP client: it reads a transport.Answer (or anything with the same fields), masks every secret.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from contract_suite.engine.evidence import Failure
from contract_suite.http.transport import Answer, Request
from contract_suite.openapi.spec import Operation, is_integer
from contract_suite.secrets import Secrets
from contract_suite.testdata.profile import ENV_OVERRIDES

QUOTE_BYTES = 200
# Headers a reproduction leaves out: curl makes its own, and a generated case's tool name and case id say nothing.
TRANSPORT_HEADERS = frozenset(
    ("content-length", "user-agent", "accept", "accept-encoding", "connection", "x-schemathesis-testcaseid")
)
NOT_JSON = object()
# Shell variables a reproduction line names for masked values, by the secret's label.
# a masked token shows as its role's variable: the label of a token is "<role>-token" (contract_suite.plugin)
TOKEN_VARIABLES = {f"{role}-token": variable for role, variable in ENV_OVERRIDES.items()}


def parse_json(body: bytes) -> Any:
    """The JSON value of body, or NOT_JSON (not UTF-8, not JSON, or nested past Python's recursion limit)."""
    if not body:
        return NOT_JSON
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return NOT_JSON


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


def envelope_code(answer: Answer) -> Any:
    """The envelope's `code` as it came, or None when the body is not a JSON object."""
    body = parse_json(answer.body)
    return body.get("code") if isinstance(body, dict) else None


def speaks_envelope(answer: Answer) -> bool:
    """Whether the answer is a JSON object with a `code`: this API's envelope, right or wrong in its details."""
    body = parse_json(answer.body)
    return isinstance(body, dict) and "code" in body


def looks_like_envelope(answer: Answer, operation: Operation) -> bool:
    """Whether the endpoint is speaking, rightly or wrongly: a JSON object with `code`, or with two of the
    envelope's other fields (a broken envelope is still the endpoint's). An HTML page, someone else's JSON, an
    empty body or no answer at all may be a gateway, a maintenance page or another service."""
    if answer.failure is not None:
        return False
    body = parse_json(answer.body)
    if not isinstance(body, dict):
        return False
    fields = set((operation.envelope_schema.get("properties") or {}).keys()) or {"code", "msg", "data", "extMsg"}
    return "code" in body or len(fields.intersection(body) - {"code"}) >= 2


def is_documented(operation: Operation, code: Any) -> bool:
    return is_integer(code) and code in operation.codes


def quote_body(answer: Answer, secrets: Secrets, limit: int = QUOTE_BYTES) -> str:
    """The first bytes of the body, secrets masked, for a message."""
    if not answer.body:
        return "(empty body)"
    head = answer.body[:limit].decode("utf-8", errors="replace")
    if answer.truncated:
        more = f" ... (more than {len(answer.body)} bytes; read no further)"
    else:
        more = f" ... ({len(answer.body)} bytes in all)" if len(answer.body) > limit else ""
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


def envelope_problem(answer: Answer, operation: Operation, secrets: Secrets) -> str | None:
    """Why this answer breaks the envelope part of the contract (status, type, JSON, schema), or None."""
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
    body = parse_json(answer.body)
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


def judge(answer: Answer, operation: Operation, expected: set[int], rule: str, secrets: Secrets) -> Failure | None:
    """The failure this answer is, or None when it is what the contract expects."""
    problem = envelope_problem(answer, operation, secrets)
    code = envelope_code(answer)
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
        server_msg = json.dumps(parse_json(answer.body).get("msg"), ensure_ascii=False)
        actual = f"{operation.describe(code)}, server msg {secrets.mask(server_msg)}"
    command, masked = reproduction(answer.request, secrets)
    codes = () if expected == errors else tuple(sorted(expected))
    return Failure(secrets.mask(rule), wanted, actual, command, masked, expected_codes=codes)


def variable_for(parameter: str) -> str:
    """oldPhoneCode -> OLD_PHONE_CODE"""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", parameter).upper()


def _double_quoted(text: str) -> str:
    return re.sub(r'(["\\$`])', r"\\\1", text)


def reproduce_lines(request: Request, secrets: Secrets) -> list[str]:
    """A curl line that sends the request again, with every secret replaced by a shell variable it names,
    and the line saying which variables to set."""
    command, masked = reproduction(request, secrets)
    return [f"  reproduce: {command}"] + ([f"  {masked}"] if masked else [])


def reproduction(request: Request, secrets: Secrets) -> tuple[str, str]:
    """A curl command that sends the request again, every secret replaced by a shell variable it names, written so
    that bash stops with a message naming what to set when the variable is unset (`${OLD_PHONE_CODE:?...}`); and the
    note saying which variables to set ("" when none)."""
    parts = urlsplit(request.url)
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    params = parse_qsl(parts.query, keep_blank_values=True)
    variables: list[str] = []

    def shown(name: str, value: str) -> str:
        if secrets.label(value) is None:
            return _double_quoted(quote(value, safe=""))
        variable = variable_for(name)
        variables.append(variable)
        return "${" + variable + ":?" + _code_hint(name, dict(params), secrets) + "}"

    query = "&".join(f"{_double_quoted(quote(name, safe=''))}={shown(name, value)}" for name, value in params)
    url = f'"{_double_quoted(base)}{"?" + query if query else ""}"'
    command = f"curl -sS -X {shlex.quote(request.method)} {url}"
    for name, value in request.headers.items():
        if name.lower() in TRANSPORT_HEADERS:
            continue  # curl sends its own; they say nothing about the case
        label = secrets.label(value)
        if label is None:
            command += " -H " + shlex.quote(f"{name}: {secrets.mask(value)}")
        else:
            variable = TOKEN_VARIABLES.get(label, variable_for(name.replace("-", "")))
            variables.append(variable)
            hint = f"the whole {_shell_safe(name)} header value, Bearer and the token"
            command += f' -H "{_double_quoted(name)}: ${{{variable}:?{hint}}}"'
    if not variables:
        return command, ""
    names = ", ".join(dict.fromkeys(variables))
    sms = any(name not in TOKEN_VARIABLES.values() for name in variables)
    codes = "; SMS codes must be fresh ones, from the profile's [codes] command (or the SMS)" if sms else ""
    return command, f"(masked: set {names} in your shell first{codes}; an unset one stops the command, naming it)"


def _code_hint(name: str, params: dict[str, str], secrets: Secrets) -> str:
    """What a masked query value is, for bash's message when its variable is unset: a fresh SMS code for the number
    beside it (oldPhoneCode: oldInternationalCode-oldPhone), else a fresh SMS code."""
    prefix = name[: -len("PhoneCode")] if name.endswith("PhoneCode") else name[: -len("Code")]
    ic, phone = params.get(f"{prefix}InternationalCode"), params.get(f"{prefix}Phone")
    number = f" for {ic}-{phone}" if ic and phone and not secrets.label(ic) and not secrets.label(phone) else ""
    return _shell_safe(f"a fresh SMS code{number}, from the [codes] command of the profile")


def _shell_safe(text: str) -> str:
    """Text for inside ${VAR:?...} in double quotes: none of the characters that would end or expand it."""
    return re.sub(r"[^A-Za-z0-9 .,;\[\]_+=/@-]", "", text)


EVIDENCE_BODY_BYTES = 2048


def exchange_text(answer: Answer, secrets: Secrets) -> str:
    """The request and what came back, as evidence for a report: secrets masked, the body cut short."""
    request = answer.request
    lines = [f"{request.method} {request.url}"]
    lines += [f"{name}: {value}" for name, value in request.headers.items() if name.lower() != "content-length"]
    lines.append("")
    if answer.failure is not None:
        lines.append(f"(no whole answer: {answer.failure.detail})")
    else:
        lines.append(f"HTTP {answer.status} {answer.reason}")
        lines += [f"{name}: {value}" for name, value in answer.headers]
        lines.append("")
        body = answer.body[:EVIDENCE_BODY_BYTES].decode("utf-8", errors="replace")
        more = len(answer.body) > EVIDENCE_BODY_BYTES or answer.truncated
        lines.append(body + (f"\n... (cut at {EVIDENCE_BODY_BYTES} bytes)" if more else ""))
    return secrets.mask("\n".join(lines))
