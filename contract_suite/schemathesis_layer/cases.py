"""The generated layer's engine: the spec loaded as schemathesis schemas (one per phase, with schemathesis.toml's
settings and the run's options), and each generated case sent through the run's bounded transport and judged by the
custom checks (contract_suite/schemathesis_layer/checks.py). contract_tests/test_generated.py only collects and runs the
tests, as schemathesis keeps its pytest glue apart from its engine."""

from __future__ import annotations

import copy
import tomllib
import warnings
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import requests
import schemathesis
from requests.structures import CaseInsensitiveDict
from schemathesis.core.failures import FailureGroup

from contract_suite.engine.evidence import CheckFailed, Failure
from contract_suite.engine.exchange import Answer, OperationRequest
from contract_suite.engine.judging import nested_too_deep
from contract_suite.engine.reproduce import reproduction
from contract_suite.engine.settings import Settings
from contract_suite.http.transport import RequestCapReached
from contract_suite.openapi.spec import PROJECT_ROOT
from contract_suite.outcomes import CannotJudge, CaseFailed, NotJudged
from contract_suite.schemathesis_layer import checks, generation  # importing checks registers the custom checks

SCHEMATHESIS_CONFIG = PROJECT_ROOT / "schemathesis.toml"
TOKEN_PLACEHOLDER = "the-run-s-valid-token"  # never sent: the run's valid token goes in its place
REQUEST_KEYS = ("method", "url", "headers", "params", "cookies", "data", "json", "files", "auth")
# A gateway's refusals of a request too large to take (413 body, 414 URI, 431 headers): its own limit, met before
# the endpoint saw the request. Judged as the endpoint's only when the answer is the envelope.
TOO_LARGE = {413: "body", 414: "URI", 431: "headers"}


class CaseNotJudged(UserWarning):
    """A generated case that was not sent, or whose answer was not the endpoint's, and why. One pytest item runs
    all of a phase's cases, so a skip would drop the rest of them: the case is left out with this warning."""


def query_budget(settings: Settings) -> int | None:
    """Bytes the fuzzing's query may take so that the request line of every operation fits --max-uri-bytes."""
    if settings.max_uri_bytes is None:
        return None
    prefix = urlsplit(settings.base_url or "").path
    fixed = max(len(f"{c.method} {prefix}{c.path}? HTTP/1.1\r\n".encode()) for c in settings.operations)
    return max(settings.max_uri_bytes - fixed, 0)


def spec_document(settings: Settings) -> dict:
    """The spec the run checks, as schemathesis reads it (its YAML rules), for the phases to share."""
    return schemathesis.openapi.from_path(settings.operation.spec_path, config=schemathesis.Config()).raw_schema


def phase_schema(settings: Settings, phase: str, document: dict) -> schemathesis.BaseSchema:
    """The spec the run checks (`document`, left as it is), with schemathesis.toml's settings, the run's options
    and token, and one phase."""
    data = tomllib.loads(SCHEMATHESIS_CONFIG.read_text(encoding="utf-8"))
    data.pop("parameters", None)  # `st run` reads the token from the environment; here it is the profile's
    config = schemathesis.Config.from_dict(data)
    if settings.generated_seed is not None:
        config.update(seed=settings.generated_seed, max_failures=None)
    schema = schemathesis.openapi.from_dict(copy.deepcopy(document), config=config)
    schema.location = Path(settings.operation.spec_path).absolute().as_uri()  # as from_path sets it
    headers = dict.fromkeys(c.token_header for c in settings.operations if c.token_header)
    schema.config.update(
        # fixed, so negative cases never drop or mangle it; the run's own token takes its place as each case is sent
        parameters={f"header.{header}": TOKEN_PLACEHOLDER for header in headers},
        request_timeout=settings.request_timeout,
        tls_verify=not settings.insecure,
    )
    if not settings.inferred_rules:  # -m "not inferred": the generated layer leaves them out too
        schema.config.checks.update(excluded_check_names=list(checks.INFERRED_CHECKS))
    schema.config.generation.update(max_examples=settings.generated_examples)
    schema.config.phases.update(phases=[phase])
    return schema


def _carries_secret(case: schemathesis.Case, target) -> bool:
    """Whether a generated query holds one of the run's secrets (a profile's SMS code, a token)."""
    values = []
    for value in (case.query or {}).values():
        values.extend(value if isinstance(value, list) else [value])
    return any(target.secrets.label(str(v)) for v in values)


def typed_request(case: schemathesis.Case, target) -> OperationRequest:
    """The generated case as the suite's typed request: its values, its other headers and its body as schemathesis
    made them, and the run's current valid token where the case sends a token (the one fixed in the schema is a
    placeholder: the token may have been fetched again since collection)."""
    operation = checks.operation_of_case(case)
    kwargs = case.as_transport_kwargs(base_url=target.base_url)
    prepared = requests.Request(**{k: v for k, v in kwargs.items() if k in REQUEST_KEYS and k != "params"}).prepare()
    token_headers = {target.run.token_header_of(operation).lower(), (operation.token_header or "").lower()}
    headers = {name: value for name, value in prepared.headers.items() if name.lower() not in token_headers}
    sends_token = len(headers) < len(prepared.headers)
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return OperationRequest(
        operation,
        target.base_url,
        kwargs.get("params") or {},
        token=target.run.tokens["valid"] if sends_token else None,
        token_header=target.run.token_header_of(operation),
        headers=headers,
        method=prepared.method,
        body=body,
    )


def send_and_judge(case: schemathesis.Case, target) -> None:
    """Send one generated case through the run's sending stack (never one carrying a real secret, never one whose
    request line is past --max-uri-bytes) and judge its answer with the checks; a failure fails the test in the
    suite's words, an answer that is not the endpoint's is left out with a CaseNotJudged warning."""
    if _carries_secret(case, target):
        return  # never send a real SMS code (or token) in a generated case
    request = typed_request(case, target)
    wire = request.wire()
    line = generation.request_line_bytes(wire.method, wire.url)
    budget = target.run.settings.max_uri_bytes
    if budget is not None and line > budget:
        warnings.warn(
            CaseNotJudged(
                f"not sent: its request line takes {line} bytes, past --max-uri-bytes {budget} (gateways refuse "
                "longer ones before the endpoint sees them)"
            ),
            stacklevel=1,
        )
        return
    try:
        answer = target.sender.send(request)  # an expired token: fetched again, and the request sent again with it
    except RequestCapReached as exc:
        raise NotJudged(f"not judged: {exc}", needs="a higher --max-requests") from None
    if answer.failure is not None:
        raise CannotJudge(f"cannot judge this generated case: {target.secrets.mask(answer.failure.detail)}")
    if answer.status in TOO_LARGE and not answer.speaks_envelope:
        target.run.ledger.gateway.too_large[answer.status] += 1
        warnings.warn(
            CaseNotJudged(
                f"not judged: a gateway refused the request as too large (HTTP {answer.status} {answer.reason}: "
                f"its {TOO_LARGE[answer.status]} past the gateway's limit; request line {line} bytes)"
                + ("; set --max-uri-bytes to that gateway's limit" if answer.status == 414 else "")
            ),
            stacklevel=1,
        )
        return
    target.environment.endpoint_spoke(answer)  # CannotJudge when the environment changed, not the contract
    if nested_too_deep(answer.body):
        raise CaseFailed(
            [
                Failure(
                    f"the answer is not an envelope: a JSON body nested past {nested_too_deep.limit} levels; "
                    f"answered to: {case.method} {target.secrets.mask(answer.response.request.url)}"
                )
            ]
        )
    response = schemathesis.Response(
        status_code=answer.status,
        headers=_header_lists(answer.headers),
        content=answer.body,
        request=_prepared(answer),
        elapsed=answer.elapsed,
        verify=not target.run.settings.insecure,
        message=answer.reason,
        content_size=len(answer.body) + (1 if answer.truncated else 0),
    )
    try:
        case.validate_response(response)
    except FailureGroup as found:  # said in the suite's words, with its own reproduce line
        failures = [_failure_of(failure, answer, target) for failure in found.exceptions]
    else:
        return
    target.run.ledger.failed(*failures)
    raise CaseFailed(failures)  # outside the except: no exception chain to print


def _prepared(answer: Answer) -> requests.PreparedRequest:
    """The request as sent, in the form schemathesis' checks read (the answer's request carries the token it was
    sent with: a fresh one when the token was fetched again)."""
    wire = answer.response.request
    prepared = requests.PreparedRequest()
    prepared.method, prepared.url, prepared.body = wire.method, wire.url, wire.body
    prepared.headers = CaseInsensitiveDict(wire.headers)
    return prepared


def _failure_of(failure: AssertionError, answer: Answer, target) -> Failure:
    """A schemathesis failure as a Failure of the suite: a custom check's own, or a built-in check's title and
    message; with the suite's curl line (masked values as shell variables, never "[Filtered]")."""
    shown = reproduction(answer.request, target.secrets)
    exception = getattr(failure, "exception", None)
    if isinstance(exception, CheckFailed):
        return replace(exception.failure, **shown.failure_fields())
    code = getattr(failure, "code", "")
    rule, actual = target.secrets.mask(failure.title), target.secrets.mask(failure.message.strip())
    return Failure(rule, actual=actual, check=f"{code} (schemathesis)".strip(), **shown.failure_fields())


def _header_lists(headers: list[tuple[str, str]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in headers:
        found.setdefault(name, []).append(value)
    return found


def phase_schemas(settings: Settings) -> dict[str, schemathesis.BaseSchema]:
    """The three phases' schemas: the spec's examples, its coverage cases, and fuzzing with unusual values within
    the request-line budget. The spec is read once for the three (schemathesis's YAML reading is a tenth of a
    second)."""
    document = spec_document(settings)
    return {
        "examples": phase_schema(settings, "examples", document),
        "coverage": phase_schema(settings, "coverage", document),
        "fuzzing": generation.with_unusual_values(phase_schema(settings, "fuzzing", document), query_budget(settings)),
    }
