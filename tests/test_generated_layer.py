"""Self-tests of the generated layer (contract_tests/test_generated.py, contract_suite/schemathesis_layer/checks.py,
schemathesis.toml): each custom check catches its defect and says why, the correct server passes,
`st run` judges alike, the token always goes with the cases and the profile's SMS codes never do."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from werkzeug.wrappers import Response

from contract_suite.openapi import lint, spec
from contract_suite.openapi.spec import resolve_refs, validation_errors
from contract_suite.schemathesis_layer import generation
from contract_suite.schemathesis_layer.checks import Presence, presence_of
from reference_server import create_app, start_embedded
from reference_server.app import SetPhoneService
from tests.support.catalogue.methods import OtherMethodsActLikePut
from tests.support.catalogue.required import MissingNewPhoneIs5167
from tests.support.catalogue.robustness import LongValueIsServerError
from tests.support.suite import NO_RATE_LIMIT, PROFILE, Finished, clean_environment, run_pytest, target_args

pytestmark = pytest.mark.selftest

PROJECT_ROOT = spec.PROJECT_ROOT
VALID_TOKEN = tomllib.loads(PROFILE.read_text(encoding="utf-8"))["tokens"]["valid"]
CONTRACT = spec.load(spec.DEFAULT_SPEC)
OLD_PHONE = CONTRACT.parameter_with_role("old.phone")
NEW_PHONE = CONTRACT.parameter_with_role("new.phone")
NEW_CODE = CONTRACT.parameter_with_role("new.code")
RUN_TIMEOUT_SECONDS = 120
EXAMPLE_QUERY = {p.name: p.example for p in CONTRACT.parameters if p.location == "query"}
TEST_ID = "contract_tests/test_generated.py::"


# -- broken servers: the reference app plus one small defect each --


class MissingOldPhoneSucceeds(SetPhoneService):
    """Answer success when oldPhone is missing or blank."""

    def missing_parameter(self, params):
        code = super().missing_parameter(params)
        return CONTRACT.success_code if code == OLD_PHONE.missing_code else code


class NonDigitNewPhoneIsMissing(SetPhoneService):
    """Answer 5166 ("please enter new phone number") when newPhone holds anything but digits."""

    def missing_parameter(self, params):
        code = super().missing_parameter(params)
        if code is None and not params[NEW_PHONE.name].isdigit():
            return NEW_PHONE.missing_code
        return code


class MalformedContentTypeIsServerError(SetPhoneService):
    """Answer HTTP 500 (HTML) to a request whose Content-Type is multipart/form-data, as a body parser that crashes."""

    def dispatch(self, request):
        self.seen.append((dict(request.args), request.headers.get("Authorization")))
        if (request.headers.get("Content-Type") or "").startswith("multipart/"):
            return Response("<html><body>500</body></html>", status=500, content_type="text/html")
        return super().dispatch(request)


class Spy(SetPhoneService):
    """Answer as the reference does; keep every request's query and token in `self.seen`."""

    def dispatch(self, request):
        self.seen.append((request.args.to_dict(flat=False), request.headers.get(self.TOKEN_HEADER)))
        return super().dispatch(request)


def serve(tmp_path: Path, *defects):
    database = tmp_path / "reference.sqlite3"
    app = create_app({"DATABASE": str(database), "DEFECTS": list(defects)})
    app.seen = []
    return app, database, start_embedded(app)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of an `st run`: the suite runs' clean one, without schemathesis' own variables either."""
    env = {k: v for k, v in clean_environment().items() if not k.startswith("SCHEMATHESIS_")}
    return {**env, **extra}


def run_generated(server, database: Path, *args: str, profile: Path = PROFILE) -> Finished:
    """`pytest contract_tests -m generated` against the server, as a QA engineer runs it against a URL."""
    return run_pytest(
        "contract_tests",
        "-m",
        "generated",
        *target_args(server.base_url, str(profile)),
        *NO_RATE_LIMIT,
        "-rA",
        *args,
        env={"REFERENCE_SERVER_DB": str(database)},
        timeout=RUN_TIMEOUT_SECONDS,
    )


def run_st(server, token: str = VALID_TOKEN) -> subprocess.CompletedProcess:
    """The README's `st run` command with the project's schemathesis.toml."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            "schemathesis.toml",
            "run",
            "spec/openapi.yaml",
            "--url",
            server.base_url,
            "--no-color",
        ],
        cwd=PROJECT_ROOT,
        env=clean_env(CONTRACT_TOKEN=token),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
    )


def outcome_lines(output: str) -> dict[str, str]:
    """Generated test name -> PASSED/FAILED/ERROR/SKIPPED, from the -rA summary."""
    found = re.findall(rf"^(PASSED|FAILED|ERROR|SKIPPED) {re.escape(TEST_ID)}(test_\w+)", output, re.MULTILINE)
    return {name: outcome for outcome, name in found}


def missing_code_message(parameter: spec.Parameter, actual: int) -> re.Pattern:
    """The message of missing_parameter_gets_its_code: the parameter, the code expected, the code that came."""
    return re.compile(
        rf"lacks or blanks required parameter {parameter.name}\n"
        rf"(?:[\s|]+check: .*\n)?"
        rf"[\s|]+expected: its missing-code {parameter.missing_code} .*\n"
        rf"[\s|]+actual:\s+{actual} "
    )


# -- the pytest layer --


def test_missing_new_phone_answered_with_the_new_code_code_fails_naming_both_codes(tmp_path):
    app, database, server = serve(tmp_path, MissingNewPhoneIs5167)
    with server:
        result = run_generated(server, database)
    output = result.stdout
    assert result.returncode == 1, output[-3000:]
    outcomes = outcome_lines(output)
    # the coverage phase always sends the request without newPhone; the spec's example is fine
    assert outcomes["test_coverage"] == "FAILED" and outcomes["test_examples"] == "PASSED", output[-3000:]
    assert "ERROR" not in outcomes.values(), output[-3000:]
    assert "check:    missing_parameter_gets_its_code" in output
    assert missing_code_message(NEW_PHONE, NEW_CODE.missing_code).search(output), output[-3000:]
    assert VALID_TOKEN not in output + result.stderr


def test_correct_server_passes_and_every_case_carries_the_token(tmp_path):
    app, database, server = serve(tmp_path, Spy)
    with server:
        result = run_generated(server, database)
    assert result.returncode == 0, result.stdout[-3000:]
    assert outcome_lines(result.stdout) == {
        "test_examples": "PASSED",
        "test_coverage": "PASSED",
        "test_fuzzing": "PASSED",
    }
    assert len(app.seen) > 30, "the generated layer sent fewer requests than its default budget"
    # (the run's preflight probe, which checks the target answers at all, sends neither token nor parameter)
    without_token = [query for query, token in app.seen if token != VALID_TOKEN and query]
    # the token is a fixed parameter: negative data never drops or mangles it; only the coverage
    # phase's one deliberate "Missing `Authorization`" case leaves it out (answered 5032)
    assert len(without_token) <= 1, without_token
    assert "documented-code coverage" in result.stdout and VALID_TOKEN not in result.stdout


def test_negative_case_that_succeeds_fails(tmp_path):
    app, database, server = serve(tmp_path, MissingOldPhoneSucceeds)
    with server:
        result = run_generated(server, database, "-k", "coverage")
    output = result.stdout
    assert result.returncode == 1, output[-3000:]
    assert outcome_lines(output) == {"test_coverage": "FAILED"}, output[-3000:]
    assert "check:    negative_case_never_succeeds" in output
    assert re.search(
        rf"a negative case of the coverage phase \(Missing `{OLD_PHONE.name}`.*\) never gets success.*\n"
        rf"(?:  .*\n)*?  actual:\s+{CONTRACT.success_code} ",
        output,
    ), output[-3000:]
    assert missing_code_message(OLD_PHONE, CONTRACT.success_code).search(output), output[-3000:]


def test_positive_case_that_gets_a_missing_code_fails(tmp_path):
    app, database, server = serve(tmp_path, NonDigitNewPhoneIsMissing)
    with server:
        result = run_generated(server, database, "-k", "fuzzing")
    output = result.stdout
    assert result.returncode == 1, output[-3000:]
    assert outcome_lines(output) == {"test_fuzzing": "FAILED"}, output[-3000:]
    assert "check:    positive_case_never_gets_missing_code" in output
    assert re.search(
        rf"a positive case of the fuzzing phase .*sent every required parameter, none blank: it never gets a "
        rf"missing-code\n(?:  .*\n)*?  actual:\s+{NEW_PHONE.missing_code} "
        rf".*the code for {NEW_PHONE.name} absent or blank",
        output,
    ), output[-3000:]


def test_other_methods_served_as_put_fail_naming_the_method(tmp_path):
    # schemathesis' unsupported_method is off (schemathesis.toml): the custom check alone must catch it
    app, database, server = serve(tmp_path, OtherMethodsActLikePut)
    with server:
        result = run_generated(server, database, "-k", "coverage")
    output = result.stdout
    assert result.returncode == 1, output[-3000:]
    assert outcome_lines(output) == {"test_coverage": "FAILED"}, output[-3000:]
    assert "check:    undeclared_method_is_never_served" in output
    assert "Wrong response to undeclared method" not in output  # ST204's words: that check is off
    assert re.search(
        rf"[A-Z]+ {re.escape(CONTRACT.path)} was served as the operation \(PUT is the only method "
        rf"the spec declares\)\n(?:  .*\n)*?  actual:\s+HTTP 200 with \d+ ",
        output,
    ), output[-3000:]


def test_profile_sms_codes_are_never_sent(tmp_path):
    # A profile whose static SMS codes are the very values the spec's examples carry: the examples
    # and coverage phases would send them, the fuzzing phase may draw them.
    code_parameters = [p for p in CONTRACT.parameters if (p.role or "").endswith(".code")]
    assert {p.role for p in code_parameters} == {"old.code", "new.code"}, "no SMS-code parameter: nothing to look for"
    codes = {p.example for p in code_parameters}
    assert codes and all(codes), f"the SMS-code parameters carry no example to look for: {codes}"
    static = ", ".join(f'"86-1390000000{i}" = "{code}"' for i, code in enumerate(sorted(codes)))
    text = PROFILE.read_text(encoding="utf-8")
    assert "[codes]\n" in text, "the profile has no [codes] table to put the static codes in"
    profile = tmp_path / "profile.toml"
    profile.write_text(text.replace("[codes]\n", f"[codes]\nstatic = {{ {static} }}\n"), encoding="utf-8")
    app, database, server = serve(tmp_path, Spy)
    with server:
        result = run_generated(server, database, profile=profile)
    assert result.returncode == 0, result.stdout[-3000:]
    sent = [value for query, _ in app.seen for values in query.values() for value in values]
    assert sent, "the generated layer sent nothing at all"
    assert codes.isdisjoint(sent)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([], Presence.LACKING, id="absent"),
        pytest.param([""], Presence.LACKING, id="empty"),
        pytest.param([" \t"], Presence.LACKING, id="ascii-whitespace"),
        pytest.param(["\u00a0"], Presence.UNCLEAR, id="no-break-space"),
        pytest.param(["", "86"], Presence.UNCLEAR, id="repeated-blank-then-value"),
        pytest.param([" 86 "], Presence.SENT, id="padded-value"),
        pytest.param(["86", "1"], Presence.SENT, id="repeated-values"),
    ],
)
def test_what_counts_as_a_missing_parameter(values, expected):
    assert presence_of(values) is expected


def test_spec_schema_and_checks_agree_on_what_is_blank():
    """A value the parameters' schemas reject is one the checks count as lacking, and the other way round:
    generated positive data never sends a blank value and negative data does, judged as missing."""
    doc = spec.load_document(spec.DEFAULT_SPEC)
    (path_item,) = doc["paths"].values()
    samples = [*lint.BLANK_SAMPLES, "\u00a0", "\u3000", "\x1c", " 86 ", "0", "\x00", "手机"]
    params = resolve_refs(doc, path_item["put"]["parameters"])
    assert params, "the operation has no parameters: nothing to compare"
    for param in params:
        rejected = {value for value in samples if validation_errors(param["schema"], value)}
        lacking = {value for value in samples if presence_of([value]) is Presence.LACKING}
        assert rejected == lacking == set(lint.BLANK_SAMPLES), param["name"]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("手" * 3000, id="non-ascii"),  # 9 bytes each once encoded
        pytest.param("9" * 9000, id="digits"),
        pytest.param(" " * 9000, id="blank"),  # stays blank: cut, it is still the fault it was
        pytest.param("\u3000" * 3000, id="blank-to-some-servers"),
    ],
)
def test_a_long_generated_value_is_cut_to_the_budget_and_stays_long(value):
    query = {**EXAMPLE_QUERY, NEW_PHONE.name: value}
    shaped = generation.fit_query(query, 8000)
    assert generation.query_bytes(shaped) <= 8000
    assert generation.query_bytes(shaped) > 8000 - len(quote_plus(value[0]))  # as long as the budget lets it
    assert shaped[NEW_PHONE.name] == value[: len(shaped[NEW_PHONE.name])]
    assert presence_of([shaped[NEW_PHONE.name]]) is presence_of([value])
    assert {k: v for k, v in shaped.items() if k != NEW_PHONE.name} == {
        k: v for k, v in query.items() if k != NEW_PHONE.name
    }


def test_several_long_values_are_cut_together():
    long = {name: "9" * 5000 for name in list(EXAMPLE_QUERY)[:3]}
    shaped = generation.fit_query({**EXAMPLE_QUERY, **long}, 8000)
    assert 7990 < generation.query_bytes(shaped) <= 8000


def test_a_query_that_cannot_fit_is_left_as_it_is():
    query = {**EXAMPLE_QUERY, NEW_PHONE.name: "9" * 500}
    # each value cut to its first character would still not fit: such a case is not sent at all
    assert generation.fit_query(query, 10) == query


def test_the_request_line_is_measured_as_nginx_reads_it():
    # nginx 1.22 answers 8192 bytes of request line (CRLF included) and refuses 8193 with its own 414
    url = "http://127.0.0.1:8080/v2/enduser/enduserapi/setPhone?x=%E6%89%8B"
    assert generation.request_line_bytes("PUT", url) == len(
        b"PUT /v2/enduser/enduserapi/setPhone?x=%E6%89%8B HTTP/1.1\r\n"
    )


def test_fuzzing_sends_unusual_values_and_the_correct_server_passes(tmp_path):
    app, database, server = serve(tmp_path, Spy)
    with server:
        result = run_generated(server, database, "-k", "fuzzing")
    assert result.returncode == 0, result.stdout[-3000:]
    sent = [value for query, _ in app.seen for values in query.values() for value in values]
    kinds = {
        "long": [v for v in sent if len(v) > 200],
        "non-ascii": [v for v in sent if any(ord(c) > 127 for c in v)],
        "control": [v for v in sent if any(ord(c) < 32 or ord(c) == 127 for c in v.strip(" \t\n\r\f\v"))],
        "syntax": [v for v in sent if any(s in v for s in ("'", '"', "<", ">"))],
    }
    assert all(kinds.values()), {kind: len(values) for kind, values in kinds.items()}


def test_long_value_answered_with_an_html_500_fails_the_fuzzing(tmp_path):
    app, database, server = serve(tmp_path, LongValueIsServerError)
    with server:
        result = run_generated(server, database, "-k", "fuzzing")
    output = result.stdout
    assert result.returncode == 1, output[-3000:]
    assert outcome_lines(output) == {"test_fuzzing": "FAILED"}, output[-3000:]
    assert "check:    envelope_conforms_to_spec" in output
    assert re.search(
        r"every answer is the envelope the spec defines\n(?:  .*\n)*?  actual:\s+HTTP 500: every outcome must be "
        r"HTTP 200 .*body: '<!doctype html>",
        output,
    ), output[-3000:]


def test_a_server_error_to_a_malformed_content_type_fails_and_sends_nothing_outside_the_transport(tmp_path):
    """schemathesis' not_a_server_error would send a control request of its own past the run's bounds: it is off,
    and the suite's own check judges the probe; the server saw exactly the requests the run counted."""
    app, database, server = serve(tmp_path, MalformedContentTypeIsServerError)
    with server:
        result = run_generated(server, database, "-k", "coverage")
    output = result.stdout
    assert result.returncode == 1, output[-3000:]
    assert outcome_lines(output) == {"test_coverage": "FAILED"}, output[-3000:]
    assert "check:    malformed_request_never_breaks_the_server" in output, output[-3000:]
    assert re.search(r"a request malformed on purpose \(.*content type.*\) never gets a server error", output)
    sent = re.search(r"^the run sent (\d+) request\(s\) to ", output, re.MULTILINE)
    assert sent, output[-3000:]
    assert int(sent.group(1)) == len(app.seen), f"the server saw {len(app.seen)}: a request went outside the run"


# -- st run, with the same checks loaded through schemathesis.toml's hooks --


def test_st_run_passes_the_correct_server(tmp_path):
    app, database, server = serve(tmp_path)
    with server:
        result = run_st(server)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout


def test_st_run_fails_the_defect_naming_both_codes(tmp_path):
    app, database, server = serve(tmp_path, MissingNewPhoneIs5167)
    with server:
        result = run_st(server)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert "check:    missing_parameter_gets_its_code" in result.stdout
    assert missing_code_message(NEW_PHONE, NEW_CODE.missing_code).search(result.stdout), result.stdout[-3000:]
    assert VALID_TOKEN not in result.stdout + result.stderr


def test_st_run_refuses_to_start_without_a_token(tmp_path):
    app, database, server = serve(tmp_path)
    with server:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                "schemathesis.toml",
                "run",
                "spec/openapi.yaml",
                "--url",
                server.base_url,
                "--no-color",
            ],
            cwd=PROJECT_ROOT,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SECONDS,
        )
    assert result.returncode != 0
    assert "Missing environment variable: `CONTRACT_TOKEN`" in result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("curl") is None, reason="the reproduce line is a curl command; curl is not installed")
def test_a_generated_failures_reproduce_line_reproduces_it_in_bash(tmp_path):
    """The generated layer's reproduce line, pasted into bash with its variable set, gets the same wrong answer (the
    suite's own curl line: the token as ${CONTRACT_TOKEN}, never schemathesis' "[Filtered]")."""
    app, database, server = serve(tmp_path, MissingNewPhoneIs5167)
    with server:
        result = run_generated(server, database, "-k", "coverage")
        output = result.stdout
        assert result.returncode == 1, output[-3000:]
        found = re.search(r"^  reproduce: (curl .*)$", output, re.MULTILINE)
        actual = re.search(r"^  actual:\s+(\d+) ", output, re.MULTILINE)
        assert found and actual, output[-3000:]
        assert "[Filtered]" not in output and "${CONTRACT_TOKEN:?" in found.group(1)
        replayed = subprocess.run(
            ["bash", "-c", found.group(1)],
            env={"PATH": os.environ.get("PATH", ""), "CONTRACT_TOKEN": VALID_TOKEN},
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["code"] == int(actual.group(1)), replayed.stdout
