"""The contract's rules as schemathesis checks, written once: the pytest layer and `st run` judge alike.

Importing the module registers the checks. contract_suite/schemathesis_layer/cases.py imports it; `st run` loads
it through `hooks = "contract_suite.checks"` in schemathesis.toml (or SCHEMATHESIS_HOOKS=contract_suite.checks),
which imports this module.
Every expectation comes from the spec through contract_suite.openapi.spec; the requests are judged by what was
sent (the prepared request), not by the case that schemathesis meant to send.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from urllib.request import url2pathname

import schemathesis
from schemathesis.generation.meta import REQUEST_SHAPE_PROBES, CoverageScenario, coverage_scenario

from contract_suite.engine.evidence import CheckFailed, Failure
from contract_suite.engine.exchange import Answer, OperationRequest, parse_json
from contract_suite.engine.judging import envelope_problem, is_documented
from contract_suite.http.transport import Request, Response
from contract_suite.openapi import spec
from contract_suite.secrets import Secrets

# Blank beyond doubt: empty, or nothing but ASCII whitespace (defined with the spec's loader, which the
# lint holds the parameter schemas to).
ASCII_WHITESPACE = spec.ASCII_WHITESPACE
# The check that judges blank values: an inferred rule, left out of the pytest layer under -m "not inferred".
INFERRED_CHECKS = ("blank_parameter_gets_its_code",)


class Presence(Enum):
    SENT = "sent"
    LACKING = "absent or blank"
    UNCLEAR = "whitespace to some servers only"


def operation_of_case(case: schemathesis.Case) -> spec.Operation:
    """The contract of the case's operation in the spec schemathesis loaded, when it is a file; else in
    spec.load_all()'s default (its primary operation when the default spec lacks the case's operation)."""
    location = case.operation.schema.location or ""
    parts = urlsplit(location)
    if parts.scheme == "file":
        path: Path | None = Path(url2pathname(parts.path))
    elif location and not parts.netloc:
        path = Path(location)
    else:
        path = None
    loaded = spec.load_all(path if path is not None and path.is_file() else None)
    return loaded.operation(case.operation.method, case.operation.path) or loaded.primary


def about_operation(operation: spec.Operation, response: schemathesis.Response) -> bool:
    """Whether the request sent was the contract's operation (the coverage phase also tries other methods)."""
    request = response.request
    return (request.method or "").upper() == operation.method and urlsplit(request.url).path.endswith(operation.path)


def answer_code(response: schemathesis.Response) -> Any:
    """The envelope's `code` as it came, or None when the body is not a JSON object (judging's reading)."""
    body = parse_json(response.content)
    return body.get("code") if isinstance(body, dict) else None


def _value_presence(value: str) -> Presence:
    if all(c in ASCII_WHITESPACE for c in value):
        return Presence.LACKING
    if all(c.isspace() for c in value):
        return Presence.UNCLEAR
    return Presence.SENT


def presence_of(values: Iterable[str]) -> Presence:
    """Whether a parameter sent with these values (none: absent) was sent, lacking, or blank only to some servers."""
    found = {_value_presence(v) for v in values}
    if not found or found == {Presence.LACKING}:
        return Presence.LACKING
    if found == {Presence.SENT}:
        return Presence.SENT
    return Presence.UNCLEAR  # whitespace of the doubtful kind, or a repeated parameter blank in some copies


def sent_values(operation: spec.Operation, response: schemathesis.Response) -> dict[str, list[str]]:
    """Each required parameter's values as the request carried them (decoded; none when absent)."""
    request = response.request
    query = parse_qs(urlsplit(request.url).query, keep_blank_values=True, errors="replace")
    body = _json_body(request.body) if operation.has_body else None
    values = {}
    for p in operation.required_parameters:
        if p.location == "query":
            values[p.name] = query.get(p.name, [])
        elif p.location == "header":
            header = request.headers.get(p.name)
            values[p.name] = [] if header is None else [header]
        elif p.location == spec.BODY and isinstance(body, dict):
            values[p.name] = _in_body(body, p.name)
    return values


def _json_body(raw: Any) -> Any:
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "replace")
    try:
        return json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _in_body(body: dict, dotted: str) -> list[str]:
    """A body property's value as sent, as text ([] when it, or an object above it, is absent or null)."""
    node: Any = body
    for part in dotted.split("."):
        if not isinstance(node, dict) or node.get(part) is None:
            return []
        node = node[part]
    return [node if isinstance(node, str) else json.dumps(node)]


def presence(operation: spec.Operation, response: schemathesis.Response) -> dict[str, Presence]:
    return {name: presence_of(values) for name, values in sent_values(operation, response).items()}


def _shown(name: str, values: list[str]) -> str:
    return f"{name} absent" if not values else " and ".join(f"{name}={v!r}" for v in values)


def _secrets(operation: spec.Operation, response: schemathesis.Response) -> Secrets:
    """The token the request carried (the pytest layer also masks every report with the run's secrets)."""
    secrets = Secrets()
    secrets.add(response.request.headers.get(operation.token_header), "token")
    return secrets


def _applies(case: schemathesis.Case, operation: spec.Operation, response: schemathesis.Response) -> bool:
    # Requests malformed on purpose (another method, a broken Content-Type) are outside the contract;
    # schemathesis' not_a_server_error still judges them.
    return (
        operation.documents_codes
        and coverage_scenario(case) not in REQUEST_SHAPE_PROBES
        and about_operation(operation, response)
    )


def _is_negative(case: schemathesis.Case) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_negative


def _case_label(case: schemathesis.Case) -> str:
    meta = case.meta
    if meta is None:
        return "case"
    description = getattr(meta.phase.data, "description", "") or ""
    label = f"{meta.generation.mode.value} case of the {meta.phase.name.value} phase"
    if not description or description.lower() == f"{meta.generation.mode.value} test case":
        return label
    return f"{label} ({description})"


@schemathesis.check
def envelope_conforms_to_spec(ctx, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """Every answer is one of the spec's HTTP statuses with a JSON envelope that fits its schema and
    carries a documented code."""
    operation = operation_of_case(case)
    if not _applies(case, operation, response):
        return True
    sent = Request(response.request.method or "", response.request.url or "")
    answer = Answer(
        OperationRequest(operation, ""),
        Response(
            sent,
            status=response.status_code,
            headers=[(name, value) for name, values in response.headers.items() for value in values],
            body=response.content,
            truncated=response.content_size > len(response.content),
        ),
    )
    problem = envelope_problem(answer, _secrets(operation, response))
    if problem:
        raise CheckFailed(
            Failure(
                "every answer is the envelope the spec defines",
                expected=f"HTTP {' or '.join(map(str, sorted(operation.statuses)))} with the envelope: an integer code "
                "the spec documents, msg, data, extMsg",
                actual=problem,
                check="envelope_conforms_to_spec",
            )
        )
    return None


def _lacking_parameters_get_their_code(
    response: schemathesis.Response, case: schemathesis.Case, judge_blank_only: bool, check: str
) -> bool | None:
    operation = operation_of_case(case)
    if not _applies(case, operation, response):
        return True
    if response.request.headers.get(operation.token_header) is None:
        return True  # the token is judged first; the hand-written token cases cover that
    state = presence(operation, response)
    values = sent_values(operation, response)
    lacking = [p for p in operation.required_parameters if state.get(p.name) is Presence.LACKING]
    absent = [p for p in lacking if not values[p.name]]
    if not lacking or bool(absent) == judge_blank_only:
        return True  # absent parameters: missing_parameter_gets_its_code; only blank ones: the blank check
    code = answer_code(response)
    if code is None:
        return True  # not an envelope: envelope_conforms_to_spec says so
    unclear = [p for p in operation.required_parameters if state.get(p.name) is Presence.UNCLEAR]
    expected = {p.missing_code for p in lacking + unclear if p.missing_code is not None}
    if spec.is_integer(code) and code in expected:
        return None
    names = ", ".join(p.name for p in lacking)
    whose = "its missing-code" if len(expected) == 1 else "one of their missing-codes"
    mask = _secrets(operation, response).mask
    more = ["sent:     " + "; ".join(_shown(p.name, values[p.name]) for p in lacking + unclear)]
    if unclear:
        their = "its code is" if len(unclear) == 1 else "their codes are"
        more.append(f"({', '.join(p.name for p in unclear)}: whitespace to some servers only, so {their} accepted too)")
    raise CheckFailed(
        Failure(
            f"the request sent lacks or blanks required parameter{'s' if len(lacking) > 1 else ''} {names}",
            expected=f"{whose} {' or '.join(operation.describe(c) for c in sorted(expected))}",
            actual=operation.describe(code),
            more=tuple(mask(line) for line in more),
            expected_codes=tuple(sorted(expected)),
            check=check,
        )
    )


@schemathesis.check
def missing_parameter_gets_its_code(ctx, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """A request that leaves out required parameters gets the missing-code of one of them."""
    return _lacking_parameters_get_their_code(response, case, False, "missing_parameter_gets_its_code")


@schemathesis.check
def blank_parameter_gets_its_code(ctx, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """Inferred: a request that sends required parameters blank (empty or ASCII whitespace), none absent,
    gets the missing-code of one of them, as if they were absent."""
    return _lacking_parameters_get_their_code(response, case, True, "blank_parameter_gets_its_code")


@schemathesis.check
def negative_case_never_succeeds(ctx, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """A request generated to break the spec never gets the success code."""
    operation = operation_of_case(case)
    if not _applies(case, operation, response) or not _is_negative(case):
        return True
    if operation.has_body and isinstance(_json_body(response.request.body), dict):
        return True  # a JSON value of another type than the schema's: a server may take it (docs/generated-layer.md)
    code = answer_code(response)
    if spec.is_integer(code) and code == operation.success_code:
        raise CheckFailed(
            Failure(
                f"a {_case_label(case)} never gets success: the spec rejects the request",
                expected=f"any documented code but {operation.success_code}",
                actual=f"{operation.describe(code)}: the target accepted it, and may have changed the account's phone",
                check="negative_case_never_succeeds",
            )
        )
    return None


@schemathesis.check
def positive_case_never_gets_missing_code(ctx, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """A spec-conforming request that sends every required parameter non-blank never gets a missing-code."""
    operation = operation_of_case(case)
    if not _applies(case, operation, response) or _is_negative(case):
        return True
    state = presence(operation, response)
    if any(s is not Presence.SENT for s in state.values()):
        return True  # something is absent or blank: missing_parameter_gets_its_code judges it
    code = answer_code(response)
    missing = {c: name for name, c in operation.missing_codes.items()}
    if spec.is_integer(code) and code in missing:
        name = missing[code]
        sent = _shown(name, sent_values(operation, response).get(name, []))
        raise CheckFailed(
            Failure(
                f"a {_case_label(case)} sent every required parameter, none blank: it never gets a missing-code",
                expected="no code of a missing or blank parameter",
                actual=f"{operation.describe(code)}, the code for {name} absent or blank",
                more=(_secrets(operation, response).mask(f"sent:     {sent}"),),
                check="positive_case_never_gets_missing_code",
            )
        )
    return None


@schemathesis.check
def undeclared_method_is_never_served(ctx, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """A method the spec does not declare on the operation's path is never served as the operation: its answer
    never carries one of the operation's documented codes (success least of all).

    Stands for schemathesis' unsupported_method (ST204, off in schemathesis.toml): how the refusal looks (405 or
    not, an Allow header or not) is the business of whatever answers first, a gateway included; running the
    operation for it is the endpoint's fault, and a GET that changes the phone can be set off by a link."""
    operation = operation_of_case(case)
    request = response.request
    method = (request.method or "").upper()
    if (
        not operation.documents_codes
        or coverage_scenario(case) != CoverageScenario.UNSPECIFIED_HTTP_METHOD
        or method == operation.method
        or not urlsplit(request.url).path.endswith(operation.path)
    ):
        return True
    code = answer_code(response)
    if not is_documented(operation, code):
        return None  # refused (by the endpoint or a gateway, in whatever words), or not an envelope at all
    changed = ": the target may have changed the account's phone" if code == operation.success_code else ""
    raise CheckFailed(
        Failure(
            f"{method} {operation.path} was served as the operation ({operation.method} is the only method the spec "
            "declares)",
            expected="refused (HTTP 405 with an Allow header, as RFC 9110 says), never run as the operation",
            actual=f"HTTP {response.status_code} with {operation.describe(code)}{changed}",
            check="undeclared_method_is_never_served",
        )
    )


# 501 Not Implemented is a fair answer to a method the target does not know; 502-504 are a gateway's, waited out
# and re-checked by the run before any check sees them.
NOT_SERVER_ERRORS = frozenset({501, 502, 503, 504})


@schemathesis.check
def malformed_request_never_breaks_the_server(
    ctx, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """A request malformed on purpose (an undeclared method, a broken or undeclared Content-Type) may be refused
    as the target likes, but never with a server error. The suite's own stand-in for schemathesis'
    not_a_server_error, which sends a control request of its own outside the run's bounded transport."""
    operation = operation_of_case(case)
    if _applies(case, operation, response) or not operation.documents_codes:
        return True  # a request of the operation's own shape: envelope_conforms_to_spec judges its status
    status = response.status_code
    if status < 500 or status in NOT_SERVER_ERRORS:
        return None
    scenario = coverage_scenario(case)
    what = scenario.value.replace("_", " ") if scenario is not None else "a malformed request"
    raise CheckFailed(
        Failure(
            f"a request malformed on purpose ({what}) never gets a server error",
            expected="any refusal but a server error (a 4xx, or HTTP 200 with the envelope)",
            actual=f"HTTP {status}",
            check="malformed_request_never_breaks_the_server",
        )
    )
