"""Unit tests of contract_suite/engine/judging.py: what breaks the envelope, and the failure an answer is."""

from __future__ import annotations

import json

import pytest

from contract_suite.engine.exchange import Answer
from contract_suite.engine.judging import (
    describe_answer,
    envelope_problem,
    is_documented,
    judge,
    nested_too_deep,
    quote_body,
)
from contract_suite.http.transport import Response
from contract_suite.secrets import Secrets
from tests.support.engine_fakes import ACCOUNT, CONTRACT, FREE, answer, lost, move

pytestmark = pytest.mark.selftest

SUCCESS = CONTRACT.success_code
INCORRECT = CONTRACT.code_named("old-phone-incorrect")
REQUEST = move(ACCOUNT, "482913", FREE, "2")


def shaped(status=200, content_type="application/json", body=None, headers=(), truncated=False) -> Answer:
    body = json.dumps({"code": INCORRECT, "msg": "m", "data": None, "extMsg": None}).encode() if body is None else body
    response = Response(
        REQUEST.wire(),
        status=status,
        headers=[("Content-Type", content_type), *headers],
        body=body,
        truncated=truncated,
    )
    return Answer(REQUEST, response)


def secrets() -> Secrets:
    made = Secrets()
    made.add("482913", "sms-code")
    return made


def test_a_documented_code_in_a_valid_envelope_has_no_problem():
    assert envelope_problem(shaped(), Secrets()) is None
    assert envelope_problem(shaped(content_type="application/json; charset=utf-8"), Secrets()) is None


@pytest.mark.parametrize(
    ("made", "said"),
    [
        (shaped(status=302, headers=[("Location", "/login?code=482913")]), "HTTP 302, a redirect to '/login?code=<"),
        (shaped(status=500), "HTTP 500: every outcome must be HTTP 200 with the envelope in the body"),
        (shaped(content_type="text/html"), "Content-Type 'text/html': expected application/json"),
        (shaped(truncated=True), "the body is over"),
        (shaped(body=b"<html>"), "the body is not JSON: '<html>'"),
        (shaped(body=b'{"code": 99999, "msg": "m", "data": null, "extMsg": null}'), "code 99999 is not a documented"),
        (shaped(body=f'{{"code": {INCORRECT}}}'.encode()), "the envelope breaks the spec's schema"),
    ],
    ids=["redirect", "status", "content-type", "too-large", "not-json", "undocumented", "schema"],
)
def test_each_way_to_break_the_envelope_is_named(made, said):
    problem = envelope_problem(made, secrets())
    assert problem is not None and said in problem and "482913" not in problem


def test_a_lost_answer_is_its_transports_words():
    assert envelope_problem(lost(REQUEST), Secrets()) == "closed"


def test_the_expected_code_passes_and_another_fails_saying_both():
    assert judge(shaped(), {INCORRECT}, "rule", Secrets()) is None
    failure = judge(answer(REQUEST, SUCCESS), {INCORRECT}, "rule 482913", secrets())
    assert failure.rule == "rule <sms-code>" and failure.expected == CONTRACT.describe(INCORRECT)
    assert failure.actual.startswith(CONTRACT.describe(SUCCESS) + ", server msg ")
    assert failure.expected_codes == (INCORRECT,) and "482913" not in failure.reproduce
    assert failure.reproduce.startswith("curl -sS -X PUT ") and "OLD_PHONE_CODE" in failure.masked


def test_a_broken_envelope_fails_even_with_the_expected_code():
    failure = judge(shaped(status=500), {INCORRECT}, "rule", Secrets())
    assert failure is not None and failure.actual.startswith("HTTP 500")


def test_any_error_code_is_said_as_such():
    errors = set(CONTRACT.codes) - {SUCCESS}
    failure = judge(answer(REQUEST, SUCCESS), errors, "rule", Secrets())
    assert failure.expected.startswith(f"any documented code but {SUCCESS} (one of ")
    assert failure.expected_codes == ()


def test_documented_means_an_integer_the_spec_lists():
    assert is_documented(CONTRACT, INCORRECT)
    assert not is_documented(CONTRACT, str(INCORRECT)) and not is_documented(CONTRACT, True)
    assert not is_documented(CONTRACT, 1)


def test_an_answer_is_described_in_one_masked_line():
    assert describe_answer(shaped(body=b"x" * 500), Secrets()).startswith("HTTP 200 application/json: 'xxx")
    assert "(500 bytes in all)" in describe_answer(shaped(body=b"x" * 500), Secrets())
    moved = shaped(status=301, headers=[("Location", "https://elsewhere/482913")])
    assert "to 'https://elsewhere/<sms-code>'" in describe_answer(moved, secrets())
    assert describe_answer(lost(REQUEST), Secrets()) == "closed"
    assert describe_answer(shaped(body=b""), Secrets()).endswith("(empty body)")


def test_json_nested_past_the_limit_is_no_envelope():
    assert nested_too_deep(b"[" * (nested_too_deep.limit + 1))
    assert not nested_too_deep(b"[" * nested_too_deep.limit)
    assert not nested_too_deep(b'{"code": [[1]]}') and not nested_too_deep(b"") and not nested_too_deep(b"x[[[[")


@pytest.mark.parametrize(("status", "redirect"), [(300, True), (399, True), (299, False), (400, False)])
def test_a_redirect_is_any_3xx(status, redirect):
    problem = envelope_problem(shaped(status=status, headers=[("Location", "/x")]), Secrets())
    assert ("a redirect to '/x'" in problem) is redirect and (
        f"HTTP {status}: every outcome" in problem
    ) is not redirect


def test_a_quote_is_two_hundred_bytes_and_a_line_a_hundred_and_twenty():
    assert quote_body(shaped(body=b"x" * 200), Secrets()) == repr("x" * 200)
    assert quote_body(shaped(body=b"x" * 201), Secrets()) == repr("x" * 200) + " ... (201 bytes in all)"
    assert describe_answer(shaped(body=b"x" * 120), Secrets()) == "HTTP 200 application/json: " + repr("x" * 120)
    assert describe_answer(shaped(body=b"x" * 121), Secrets()).endswith(repr("x" * 120) + " ... (121 bytes in all)")
    with_charset = shaped(content_type="application/json; charset=utf-8", body=b"{}")
    assert describe_answer(with_charset, Secrets()) == "HTTP 200 application/json: '{}'"


def test_the_servers_message_is_quoted_as_it_reads():
    body = json.dumps({"code": SUCCESS, "msg": "修改成功", "data": None, "extMsg": None}, ensure_ascii=False)
    failure = judge(shaped(body=body.encode()), {INCORRECT}, "rule", Secrets())
    assert failure.actual.endswith('server msg "修改成功"')


def test_an_envelope_without_a_code_is_not_called_an_undocumented_code():
    assert "is not a documented code" not in envelope_problem(shaped(body=b'{"msg": "m", "data": null}'), Secrets())
    documented = f'{{"code": {INCORRECT}, "msg": 1}}'.encode()
    assert "is not a documented code" not in envelope_problem(shaped(body=documented), Secrets())


@pytest.mark.parametrize(
    ("body", "deep"),
    [
        (b"[" * 201, True),
        (b"[" * 200, False),
        (b"{" * 201, True),
        (b"[]" * 300, False),
        (b"{}" * 300, False),
        (b"[" * 199 + b"][" + b"[" * 2, True),  # 199, 198, 199, 200, 201
        (b"x" + b"[" * 201, False),  # not JSON that opens with a bracket
        (b" " * (1 << 19) + b"[" * 201, True),  # within the first MiB (the transport's cap on a body)
    ],
)
def test_json_nested_past_two_hundred_levels_is_no_envelope(body, deep):
    assert nested_too_deep(body) is deep
