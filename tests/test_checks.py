"""Each custom check of the generated layer (contract_suite/schemathesis_layer/checks.py) judged alone, on crafted
answers: the right answer passes, each wrong one fails with its message, and a case that is another check's business is
left alone.

No request is sent and schemathesis' own checks never run: a check that stopped catching its defect would
otherwise go unnoticed whenever a built-in check happened to fail the same answer first."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests
import schemathesis
import yaml
from schemathesis.generation import GenerationMode
from schemathesis.generation.meta import (
    CaseMetadata,
    CoverageScenario,
    GenerationInfo,
    PhaseInfo,
    TestPhase,
    build_phase_data,
)

from contract_suite.engine.evidence import CheckFailed, Failure
from contract_suite.openapi import spec
from contract_suite.schemathesis_layer import checks

pytestmark = pytest.mark.selftest

CONTRACT = spec.load(spec.DEFAULT_SPEC)
# An empty configuration: the project's schemathesis.toml needs CONTRACT_TOKEN, and nothing here is sent.
OPERATION = schemathesis.openapi.from_path(spec.DEFAULT_SPEC, config=schemathesis.Config())[CONTRACT.path][
    CONTRACT.method
]
BASE_URL = "http://127.0.0.1:9"  # never contacted: the answers are made here
TOKEN = "Bearer crafted-token-7e1d"
EXAMPLE_QUERY = {p.name: p.example for p in CONTRACT.parameters if p.location == "query"}
OLD_PHONE = CONTRACT.parameter_with_role("old.phone")
NEW_PHONE = CONTRACT.parameter_with_role("new.phone")
NEW_CODE = CONTRACT.parameter_with_role("new.code")
SUCCESS = CONTRACT.success_code
OLD_PHONE_INCORRECT = CONTRACT.code_named("old-phone-incorrect")
UNDOCUMENTED = max(CONTRACT.codes) + 1

PASSES = "passes"  # the check judged the answer and found it right (it returned None)
NOT_ITS_CASE = "not its case"  # the check left the answer to another (it returned True: schemathesis skips it)


def test_the_spec_gives_the_cases_their_values():
    """The crafted requests start from the spec's examples: each required parameter has one, and a missing-code."""
    assert CONTRACT.required_parameters and all(p.example for p in CONTRACT.required_parameters)
    assert all(p.name in EXAMPLE_QUERY and p.missing_code is not None for p in CONTRACT.required_parameters)
    assert len({OLD_PHONE.missing_code, NEW_PHONE.missing_code, NEW_CODE.missing_code, SUCCESS}) == 4
    assert UNDOCUMENTED not in CONTRACT.codes
    assert {p.name for p in BOTH} == {NEW_PHONE.name, NEW_CODE.name}


# -- requests and answers, made by hand ------------------------------------------------------------------------


def without(*names: str, **values: str) -> dict[str, str]:
    """The spec's example query without the named parameters, with values replacing others."""
    return {k: v for k, v in {**EXAMPLE_QUERY, **values}.items() if k not in names}


def generated(
    query: dict[str, str],
    mode: GenerationMode = GenerationMode.NEGATIVE,
    scenario: CoverageScenario | None = None,
    method: str | None = None,
    token: str | None = TOKEN,
) -> schemathesis.Case:
    """A case of the spec's operation as schemathesis would generate it: its data, its mode, and its phase (the
    coverage phase's scenario when one is given, else the fuzzing phase)."""
    if scenario is not None:
        phase = PhaseInfo.coverage(scenario, f"crafted {scenario.value}")
    else:
        phase = PhaseInfo(name=TestPhase.FUZZING, data=build_phase_data(TestPhase.FUZZING, f"crafted {mode.value}"))
    meta = CaseMetadata(generation=GenerationInfo(time=0.0, mode=mode), components={}, phase=phase)
    headers = {CONTRACT.token_header: token} if token is not None else {}
    return OPERATION.Case(method=method, query=query, headers=headers, _meta=meta)


def positive(query: dict[str, str]) -> schemathesis.Case:
    return generated(query, GenerationMode.POSITIVE)


def envelope(code, **fields) -> dict:
    message = CONTRACT.codes[code].message if code in CONTRACT.codes else "crafted"
    return {"code": code, "msg": message, "data": None, "extMsg": None, **fields}


@dataclass(frozen=True)
class Reply:
    """What the target answers: a JSON envelope (a dict) or raw bytes."""

    body: dict | bytes
    status: int = 200
    content_type: str = "application/json"
    location: str | None = None
    path: str | None = None  # the request went to this path instead of the case's


def answer(case: schemathesis.Case, reply: Reply) -> schemathesis.Response:
    """The reply to the request the case makes, that request prepared as the generated layer prepares it."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL)
    if reply.path is not None:
        kwargs["url"] = BASE_URL + reply.path
    prepared = requests.Request(**{k: v for k, v in kwargs.items() if k in ("method", "url", "headers", "params")})
    headers = {"content-type": [reply.content_type]}
    if reply.location is not None:
        headers["location"] = [reply.location]
    body = reply.body
    return schemathesis.Response(
        status_code=reply.status,
        headers=headers,
        content=body if isinstance(body, bytes) else json.dumps(body).encode(),
        request=prepared.prepare(),
        elapsed=0.01,
        verify=True,
    )


@dataclass(frozen=True)
class Fails:
    """The failure a check must raise: its rule and expected words exactly, the beginning of what it says came
    (the rest quotes the body), and its further lines."""

    rule: str
    actual: str
    expected: str = ""
    more: tuple[str, ...] = ()


def judgement(check: Callable, case: schemathesis.Case, reply: Reply) -> str | Failure:
    """PASSES, NOT_ITS_CASE, or the failure the check raised (named for the check)."""
    try:
        result = check(None, answer(case, reply), case)  # none of the checks reads schemathesis' context
    except CheckFailed as exc:
        assert exc.failure.check == check.__name__, exc.failure
        return exc.failure
    assert result in (None, True), result
    return PASSES if result is None else NOT_ITS_CASE


def assert_judged(found: str | Failure, expected: str | Fails) -> None:
    """PASSES and NOT_ITS_CASE exactly; a failure by its fields."""
    if not isinstance(expected, Fails):
        assert found == expected
        return
    assert isinstance(found, Failure), found
    assert found.rule == expected.rule, found
    assert found.actual.startswith(expected.actual), found
    assert not expected.expected or found.expected == expected.expected, found
    assert found.more[: len(expected.more)] == expected.more, found


def describe(code) -> str:
    return CONTRACT.describe(code)


# -- envelope_conforms_to_spec ---------------------------------------------------------------------------------

EXAMPLE = positive(EXAMPLE_QUERY)
ENVELOPE_RULE = "every answer is the envelope the spec defines"


def broken(actual: str) -> Fails:
    return Fails(ENVELOPE_RULE, actual=actual)


STRING_CODE = str(NEW_PHONE.missing_code)
CUT_JSON = f'{{"code": {OLD_PHONE_INCORRECT}, "msg": "cut'


@pytest.mark.parametrize(
    ("case", "reply", "expected"),
    [
        pytest.param(EXAMPLE, Reply(envelope(OLD_PHONE_INCORRECT)), PASSES, id="documented-code"),
        pytest.param(EXAMPLE, Reply(envelope(SUCCESS, data={})), PASSES, id="success-with-a-data-object"),
        pytest.param(
            EXAMPLE,
            Reply(envelope(STRING_CODE)),
            broken(
                f'code "{STRING_CODE}" is not a documented code; the envelope breaks the spec\'s schema: '
                f"code: '{STRING_CODE}' is not of type 'integer'"
            ),
            id="code-as-a-string",
        ),
        pytest.param(
            EXAMPLE,
            Reply(envelope(float(NEW_PHONE.missing_code))),
            broken(f"code {float(NEW_PHONE.missing_code)} is not a documented code"),
            id="code-as-a-float",
        ),
        pytest.param(EXAMPLE, Reply(envelope(True)), broken("code true is not a documented code"), id="code-true"),
        pytest.param(
            EXAMPLE,
            Reply(envelope(UNDOCUMENTED)),
            broken(f"code {UNDOCUMENTED} is not a documented code"),
            id="undocumented-code",
        ),
        pytest.param(
            EXAMPLE,
            Reply({"msg": "no code", "data": None, "extMsg": None}),
            broken("the envelope breaks the spec's schema: (root): 'code' is a required property"),
            id="no-code",
        ),
        pytest.param(
            EXAMPLE,
            Reply(envelope(OLD_PHONE_INCORRECT, msg=5)),
            broken("the envelope breaks the spec's schema: msg: 5 is not of type 'string'"),
            id="msg-not-a-string",
        ),
        pytest.param(
            EXAMPLE,
            Reply(envelope(OLD_PHONE_INCORRECT, data=[])),
            broken("the envelope breaks the spec's schema: data: [] is not of type 'object', 'null'"),
            id="data-a-list",
        ),
        pytest.param(
            EXAMPLE,
            Reply(b"<html>500 Internal Server Error</html>", status=500, content_type="text/html"),
            broken(
                "HTTP 500: every outcome must be HTTP 200 with the envelope in the body; "
                "body: '<html>500 Internal Server Error</html>'"
            ),
            id="html-500",
        ),
        pytest.param(
            EXAMPLE,
            Reply(envelope(OLD_PHONE_INCORRECT), content_type="text/html"),
            broken("Content-Type 'text/html': expected application/json"),
            id="envelope-as-text-html",
        ),
        pytest.param(
            EXAMPLE,
            Reply(CUT_JSON.encode()),
            broken(f"the body is not JSON: {CUT_JSON!r}"),
            id="truncated-json",
        ),
        pytest.param(
            EXAMPLE,
            Reply(b"", status=302, location="https://elsewhere.example/login"),
            broken("HTTP 302, a redirect to 'https://elsewhere.example/login'"),
            id="redirect",
        ),
        pytest.param(
            generated(EXAMPLE_QUERY, scenario=CoverageScenario.UNSPECIFIED_HTTP_METHOD, method="GET"),
            Reply(b"Method Not Allowed", status=405, content_type="text/plain"),
            NOT_ITS_CASE,  # a request malformed on purpose: undeclared_method_is_never_served judges it
            id="another-method-probe",
        ),
    ],
)
def test_envelope_conforms_to_spec(case, reply, expected):
    assert_judged(judgement(checks.envelope_conforms_to_spec, case, reply), expected)


# -- missing_parameter_gets_its_code and blank_parameter_gets_its_code ------------------------------------------

NO_NEW_PHONE = generated(without(NEW_PHONE.name), scenario=CoverageScenario.MISSING_PARAMETER)
NO_NEW_PHONE_NOR_CODE = generated(without(NEW_PHONE.name, NEW_CODE.name))
BLANK_NEW_PHONE = generated(without(**{NEW_PHONE.name: ""}))
SPACES_NEW_PHONE = generated(without(**{NEW_PHONE.name: " \t"}))
ITS_CODE = f"its missing-code {describe(NEW_PHONE.missing_code)}"
# in the spec's order, as the check names them
BOTH = [p for p in CONTRACT.required_parameters if p in (NEW_PHONE, NEW_CODE)]


def lacking(names: str, expected: str, actual: str, sent: str) -> Fails:
    return Fails(
        f"the request sent lacks or blanks required parameter{'s' if ', ' in names else ''} {names}",
        actual=actual,
        expected=expected,
        more=(f"sent:     {sent}",),
    )


@pytest.mark.parametrize(
    ("case", "reply", "expected"),
    [
        pytest.param(NO_NEW_PHONE, Reply(envelope(NEW_PHONE.missing_code)), PASSES, id="absent-gets-its-code"),
        pytest.param(
            NO_NEW_PHONE,
            Reply(envelope(NEW_CODE.missing_code)),
            lacking(NEW_PHONE.name, ITS_CODE, describe(NEW_CODE.missing_code), f"{NEW_PHONE.name} absent"),
            id="absent-gets-another-parameters-code",
        ),
        pytest.param(
            NO_NEW_PHONE,
            Reply(envelope(STRING_CODE)),
            lacking(NEW_PHONE.name, ITS_CODE, f'"{STRING_CODE}" (not a documented code)', f"{NEW_PHONE.name} absent"),
            id="absent-gets-its-code-as-a-string",
        ),
        pytest.param(
            NO_NEW_PHONE,
            Reply(envelope(SUCCESS)),
            lacking(NEW_PHONE.name, ITS_CODE, describe(SUCCESS), f"{NEW_PHONE.name} absent"),
            id="absent-gets-success",
        ),
        pytest.param(NO_NEW_PHONE_NOR_CODE, Reply(envelope(NEW_PHONE.missing_code)), PASSES, id="two-absent-one"),
        pytest.param(NO_NEW_PHONE_NOR_CODE, Reply(envelope(NEW_CODE.missing_code)), PASSES, id="two-absent-other"),
        pytest.param(
            NO_NEW_PHONE_NOR_CODE,
            Reply(envelope(OLD_PHONE.missing_code)),
            lacking(
                ", ".join(p.name for p in BOTH),
                "one of their missing-codes " + " or ".join(describe(c) for c in sorted(p.missing_code for p in BOTH)),
                describe(OLD_PHONE.missing_code),
                "; ".join(f"{p.name} absent" for p in BOTH),
            ),
            id="two-absent-get-a-third-code",
        ),
        pytest.param(BLANK_NEW_PHONE, Reply(envelope(NEW_CODE.missing_code)), NOT_ITS_CASE, id="blank-only"),
        pytest.param(
            generated(without(NEW_PHONE.name), token=None),
            Reply(envelope(CONTRACT.code_named("token-verification-failed"))),
            NOT_ITS_CASE,  # the token is judged first: the hand-written token cases cover that
            id="no-token",
        ),
        pytest.param(EXAMPLE, Reply(envelope(NEW_PHONE.missing_code)), NOT_ITS_CASE, id="nothing-lacking"),
        pytest.param(NO_NEW_PHONE, Reply(b"<html>busy</html>"), NOT_ITS_CASE, id="not-an-envelope"),
        pytest.param(
            NO_NEW_PHONE, Reply(envelope(SUCCESS), path="/v2/other"), NOT_ITS_CASE, id="another-operations-path"
        ),
    ],
)
def test_missing_parameter_gets_its_code(case, reply, expected):
    assert_judged(judgement(checks.missing_parameter_gets_its_code, case, reply), expected)


@pytest.mark.parametrize(
    ("case", "reply", "expected"),
    [
        pytest.param(BLANK_NEW_PHONE, Reply(envelope(NEW_PHONE.missing_code)), PASSES, id="empty-gets-its-code"),
        pytest.param(SPACES_NEW_PHONE, Reply(envelope(NEW_PHONE.missing_code)), PASSES, id="spaces-get-its-code"),
        pytest.param(
            SPACES_NEW_PHONE,
            Reply(envelope(NEW_CODE.missing_code)),
            lacking(NEW_PHONE.name, ITS_CODE, describe(NEW_CODE.missing_code), f"{NEW_PHONE.name}=' \\t'"),
            id="spaces-get-another-parameters-code",
        ),
        pytest.param(
            BLANK_NEW_PHONE,
            Reply(envelope(OLD_PHONE_INCORRECT)),
            lacking(NEW_PHONE.name, ITS_CODE, describe(OLD_PHONE_INCORRECT), f"{NEW_PHONE.name}=''"),
            id="empty-judged-as-a-value",
        ),
        pytest.param(
            generated(without(**{OLD_PHONE.name: "", NEW_PHONE.name: "\u00a0"})),
            Reply(envelope(NEW_PHONE.missing_code)),
            PASSES,  # a no-break space is whitespace to some servers only: its code is accepted too
            id="whitespace-to-some-servers-may-get-its-code",
        ),
        pytest.param(
            generated(without(**{OLD_PHONE.name: "", NEW_PHONE.name: "\u00a0"})),
            Reply(envelope(OLD_PHONE_INCORRECT)),
            Fails(
                f"the request sent lacks or blanks required parameter {OLD_PHONE.name}",
                actual=describe(OLD_PHONE_INCORRECT),
                more=(
                    f"sent:     {OLD_PHONE.name}=''; {NEW_PHONE.name}='\\xa0'",
                    f"({NEW_PHONE.name}: whitespace to some servers only, so its code is accepted too)",
                ),
            ),
            id="whitespace-to-some-servers-said-so",
        ),
        pytest.param(
            generated(without(**{OLD_PHONE.name: "", NEW_PHONE.name: "\u00a0", NEW_CODE.name: "\u3000"})),
            Reply(envelope(OLD_PHONE_INCORRECT)),
            Fails(
                f"the request sent lacks or blanks required parameter {OLD_PHONE.name}",
                actual=describe(OLD_PHONE_INCORRECT),
                more=(
                    f"sent:     {OLD_PHONE.name}=''; "
                    + "; ".join(f"{p.name}={chr(0xA0) if p is NEW_PHONE else chr(0x3000)!r}" for p in BOTH),
                    f"({', '.join(p.name for p in BOTH)}: whitespace to some servers only, so their codes are accepted "
                    "too)",
                ),
            ),
            id="whitespace-to-some-servers-said-so-of-two",
        ),
        pytest.param(
            BLANK_NEW_PHONE, Reply(envelope(OLD_PHONE_INCORRECT), path="/elsewhere"), NOT_ITS_CASE, id="other-path"
        ),
        pytest.param(NO_NEW_PHONE, Reply(envelope(NEW_CODE.missing_code)), NOT_ITS_CASE, id="absent"),
    ],
)
def test_blank_parameter_gets_its_code(case, reply, expected):
    assert_judged(judgement(checks.blank_parameter_gets_its_code, case, reply), expected)


# -- negative_case_never_succeeds and positive_case_never_gets_missing_code --------------------------------------

ACCEPTED = "the target accepted it, and may have changed the account's phone"


def succeeded(label: str) -> Fails:
    return Fails(
        f"a {label} never gets success: the spec rejects the request",
        actual=f"{describe(SUCCESS)}: {ACCEPTED}",
        expected=f"any documented code but {SUCCESS}",
    )


@pytest.mark.parametrize(
    ("case", "reply", "expected"),
    [
        pytest.param(NO_NEW_PHONE, Reply(envelope(NEW_PHONE.missing_code)), PASSES, id="refused"),
        pytest.param(NO_NEW_PHONE, Reply(envelope(OLD_PHONE_INCORRECT)), PASSES, id="refused-for-another-reason"),
        pytest.param(
            NO_NEW_PHONE,
            Reply(envelope(SUCCESS)),
            succeeded("negative case of the coverage phase (crafted missing_parameter)"),
            id="succeeds",
        ),
        pytest.param(
            generated(without(**{NEW_PHONE.name: "x" * 40})),
            Reply(envelope(SUCCESS)),
            succeeded("negative case of the fuzzing phase (crafted negative)"),
            id="fuzzed-and-succeeds",
        ),
        pytest.param(EXAMPLE, Reply(envelope(SUCCESS)), NOT_ITS_CASE, id="positive"),
    ],
)
def test_negative_case_never_succeeds(case, reply, expected):
    assert_judged(judgement(checks.negative_case_never_succeeds, case, reply), expected)


def got_missing_code(sent: str) -> Fails:
    return Fails(
        "a positive case of the fuzzing phase (crafted positive) sent every required parameter, none blank: it "
        "never gets a missing-code",
        actual=f"{describe(NEW_PHONE.missing_code)}, the code for {NEW_PHONE.name} absent or blank",
        expected="no code of a missing or blank parameter",
        more=(f"sent:     {NEW_PHONE.name}={sent}",),
    )


@pytest.mark.parametrize(
    ("case", "reply", "expected"),
    [
        pytest.param(EXAMPLE, Reply(envelope(OLD_PHONE_INCORRECT)), PASSES, id="business-code"),
        pytest.param(EXAMPLE, Reply(envelope(SUCCESS)), PASSES, id="success"),
        pytest.param(
            EXAMPLE,
            Reply(envelope(NEW_PHONE.missing_code)),
            got_missing_code(repr(EXAMPLE_QUERY[NEW_PHONE.name])),
            id="gets-a-missing-code",
        ),
        pytest.param(
            positive(without(**{NEW_PHONE.name: TOKEN})),
            Reply(envelope(NEW_PHONE.missing_code)),
            got_missing_code("'<token>'"),  # the request's token, wherever it went, is masked
            id="gets-a-missing-code-masked",
        ),
        pytest.param(NO_NEW_PHONE, Reply(envelope(NEW_PHONE.missing_code)), NOT_ITS_CASE, id="negative"),
        pytest.param(
            generated(EXAMPLE_QUERY), Reply(envelope(NEW_PHONE.missing_code)), NOT_ITS_CASE, id="negative-sends-all"
        ),
        pytest.param(
            positive(without(NEW_PHONE.name)), Reply(envelope(NEW_PHONE.missing_code)), NOT_ITS_CASE, id="lacking"
        ),
    ],
)
def test_positive_case_never_gets_missing_code(case, reply, expected):
    assert_judged(judgement(checks.positive_case_never_gets_missing_code, case, reply), expected)


# -- undeclared_method_is_never_served --------------------------------------------------------------------------


def probe(method: str) -> schemathesis.Case:
    return generated(EXAMPLE_QUERY, scenario=CoverageScenario.UNSPECIFIED_HTTP_METHOD, method=method)


REFUSE = "refused (HTTP 405 with an Allow header, as RFC 9110 says), never run as the operation"


def served(method: str, code: int, changed: str = "") -> Fails:
    return Fails(
        f"{method} {CONTRACT.path} was served as the operation ({CONTRACT.method} is the only method the spec "
        "declares)",
        actual=f"HTTP 200 with {describe(code)}{changed}",
        expected=REFUSE,
    )


@pytest.mark.parametrize(
    ("case", "reply", "expected"),
    [
        pytest.param(probe("GET"), Reply({"code": 405, "msg": "Method Not Allowed"}, status=405), PASSES, id="405"),
        pytest.param(probe("TRACE"), Reply(b"<html>405</html>", 405, "text/html"), PASSES, id="405-by-a-gateway"),
        pytest.param(probe("POST"), Reply(envelope(UNDOCUMENTED)), PASSES, id="no-documented-code"),
        pytest.param(
            probe("GET"),
            Reply(envelope(SUCCESS)),
            served("GET", SUCCESS, ": the target may have changed the account's phone"),
            id="served-with-success",
        ),
        pytest.param(
            probe("POST"),
            Reply(envelope(OLD_PHONE_INCORRECT)),
            served("POST", OLD_PHONE_INCORRECT),
            id="served-with-a-documented-code",
        ),
        pytest.param(EXAMPLE, Reply(envelope(SUCCESS)), NOT_ITS_CASE, id="the-declared-method"),
        pytest.param(probe(CONTRACT.method), Reply(envelope(SUCCESS)), NOT_ITS_CASE, id="probe-of-the-declared-method"),
        pytest.param(
            generated(EXAMPLE_QUERY, method="GET"), Reply(envelope(SUCCESS)), NOT_ITS_CASE, id="not-the-method-probe"
        ),
        pytest.param(probe("GET"), Reply(envelope(SUCCESS), path="/v2/other"), NOT_ITS_CASE, id="another-path"),
    ],
)
def test_undeclared_method_is_never_served(case, reply, expected):
    assert_judged(judgement(checks.undeclared_method_is_never_served, case, reply), expected)


# -- malformed_request_never_breaks_the_server --------------------------------------------------------------------


def content_type_probe() -> schemathesis.Case:
    return generated(EXAMPLE_QUERY, scenario=CoverageScenario.MALFORMED_CONTENT_TYPE)


def server_error(scenario: str, status: int) -> Fails:
    return Fails(
        f"a request malformed on purpose ({scenario}) never gets a server error",
        actual=f"HTTP {status}",
        expected="any refusal but a server error (a 4xx, or HTTP 200 with the envelope)",
    )


@pytest.mark.parametrize(
    ("case", "reply", "expected"),
    [
        pytest.param(content_type_probe(), Reply(b"bad", 415, "text/plain"), PASSES, id="refused-415"),
        pytest.param(content_type_probe(), Reply(envelope(OLD_PHONE_INCORRECT)), PASSES, id="answered-the-envelope"),
        pytest.param(
            content_type_probe(),
            Reply(b"<html>500</html>", 500, "text/html"),
            server_error("malformed content type", 500),
            id="content-type-probe-gets-500",
        ),
        pytest.param(
            probe("QUERY"),
            Reply(b"<html>500</html>", 500, "text/html"),
            server_error("unspecified http method", 500),
            id="another-method-gets-500",
        ),
        pytest.param(probe("QUERY"), Reply(b"no", 501, "text/plain"), PASSES, id="unknown-method-501"),
        pytest.param(probe("GET"), Reply(b"<html>502</html>", 502, "text/html"), PASSES, id="a-gateways-502"),
        pytest.param(probe("GET"), Reply(b"<html>503</html>", 503, "text/html"), PASSES, id="a-gateways-503"),
        pytest.param(probe("GET"), Reply(b"<html>504</html>", 504, "text/html"), PASSES, id="a-gateways-504"),
        pytest.param(probe("GET"), Reply(b"closed", 499, "text/plain"), PASSES, id="a-4xx-499"),
        pytest.param(
            probe("GET"),
            Reply(b"<html>505</html>", 505, "text/html"),
            server_error("unspecified http method", 505),
            id="505",
        ),
        pytest.param(EXAMPLE, Reply(b"<html>500</html>", 500, "text/html"), NOT_ITS_CASE, id="the-operations-shape"),
    ],
)
def test_malformed_request_never_breaks_the_server(case, reply, expected):
    assert_judged(judgement(checks.malformed_request_never_breaks_the_server, case, reply), expected)


# -- registration, and the contract a case is judged by -----------------------------------------------------------

CUSTOM_CHECKS = (
    checks.envelope_conforms_to_spec,
    checks.missing_parameter_gets_its_code,
    checks.blank_parameter_gets_its_code,
    checks.negative_case_never_succeeds,
    checks.positive_case_never_gets_missing_code,
    checks.undeclared_method_is_never_served,
    checks.malformed_request_never_breaks_the_server,
)


def test_every_custom_check_is_registered_with_schemathesis():
    """Importing the module registers each check (schemathesis.toml and `st run` name them)."""
    from schemathesis.checks import CHECKS

    assert {check.__name__ for check in CUSTOM_CHECKS} <= set(CHECKS.get_all_names())


def test_a_case_is_judged_by_the_contract_of_the_spec_schemathesis_loaded(tmp_path):
    """The spec file schemathesis loaded (a file URL), its operation there (not the primary one); a location that
    is no file: the default spec."""
    document = yaml.safe_load(spec.DEFAULT_SPEC.read_text(encoding="utf-8"))
    document["info"]["version"] = "another-copy"
    document["paths"]["/v2/other"] = {"get": {"operationId": "other", "responses": {"200": {"description": "ok"}}}}
    copy = tmp_path / "openapi.yaml"
    copy.write_text(yaml.safe_dump(document), encoding="utf-8")
    schema = schemathesis.openapi.from_path(copy, config=schemathesis.Config())
    primary = checks.operation_of_case(schema[CONTRACT.path][CONTRACT.method].Case())
    assert primary.version == "another-copy" and primary.primary
    other = checks.operation_of_case(schema["/v2/other"]["GET"].Case())
    assert (other.version, other.path, other.primary) == ("another-copy", "/v2/other", False)
    schema.location = str(copy)  # a plain path
    assert checks.operation_of_case(schema[CONTRACT.path][CONTRACT.method].Case()).version == "another-copy"
    schema.location = str(tmp_path / "gone.yaml")
    assert checks.operation_of_case(schema[CONTRACT.path][CONTRACT.method].Case()).version == CONTRACT.version


def test_a_required_header_parameter_is_read_from_the_headers():
    """sent_values reads a header parameter from the request's headers (the spec's parameters are all in the query;
    another operation's may not be)."""
    header = dataclasses.replace(NEW_CODE, location="header")
    contract = dataclasses.replace(
        CONTRACT, parameters=tuple(header if p is NEW_CODE else p for p in CONTRACT.parameters)
    )
    sent = answer(generated(without(NEW_CODE.name)), Reply(envelope(SUCCESS)))
    assert checks.sent_values(contract, sent)[NEW_CODE.name] == []
    sent.request.headers[NEW_CODE.name] = "123456"
    assert checks.sent_values(contract, sent)[NEW_CODE.name] == ["123456"]
    assert checks.sent_values(contract, sent)[NEW_PHONE.name] == [EXAMPLE_QUERY[NEW_PHONE.name]]


def test_a_case_label_leaves_out_schemathesis_own_description():
    meta = CaseMetadata(
        generation=GenerationInfo(time=0.0, mode=GenerationMode.NEGATIVE),
        components={},
        phase=PhaseInfo(name=TestPhase.FUZZING, data=build_phase_data(TestPhase.FUZZING, "Negative test case")),
    )
    case = OPERATION.Case(query=EXAMPLE_QUERY, headers={CONTRACT.token_header: TOKEN}, _meta=meta)
    assert checks._case_label(case) == "negative case of the fuzzing phase"
    assert checks._case_label(generated(EXAMPLE_QUERY)) == "negative case of the fuzzing phase (crafted negative)"
