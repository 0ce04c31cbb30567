"""Unit tests of contract_suite/engine/preflight.py: before any case, one line saying why the run cannot judge the
target, or nothing."""

from __future__ import annotations

import pytest

from contract_suite.engine.exchange import Answer
from contract_suite.engine.preflight import target_problem, valid_token_probe
from contract_suite.http.transport import NoAnswer, Response
from contract_suite.target_data.profile import Profile
from tests.support.engine_fakes import ACCOUNT, CONTRACT, FREE, ScriptedSender, answer, fake_run

pytestmark = pytest.mark.selftest

REJECTED = CONTRACT.code_named("token-verification-failed")
GONE = CONTRACT.code_named("user-does-not-exist")
PAGE = b"<html>not here</html>"


def target(first, with_token=lambda r: answer(r, CONTRACT.code_named("old-phone-verification-failed"))):
    """Answers the probe without a token with `first`, the one with the valid token with `with_token`."""
    return ScriptedSender(lambda request: with_token(request) if request.token else first(request))


def problem(network, run=None):
    run = run or fake_run()
    return target_problem(run, network), run


def test_a_target_that_speaks_the_api_and_accepts_the_token_has_no_problem():
    network = target(lambda r: answer(r, REJECTED))
    found, run = problem(network)
    assert found is None and run.preflight_envelope is True and len(network.sent) == 2
    token_probe = network.sent[1]
    assert token_probe.side("old").code == token_probe.side("new").code == "000000"
    assert token_probe.side("new").phone == FREE  # wrong codes, the free phone: sends no SMS, changes nothing


def test_a_200_page_is_left_to_the_cases():
    found, run = problem(target(lambda r: answer(r, body=PAGE)))
    assert found is None and run.preflight_envelope is False


@pytest.mark.parametrize(
    ("first", "said"),
    [
        (lambda r: answer(r, body=PAGE, status=404), "this URL does not serve the endpoint PUT"),
        (lambda r: answer(r, body=PAGE, status=302), "the URL redirects, and the suite follows no redirect"),
        (lambda r: answer(r, body=PAGE, status=503), "is unavailable; try again when it is up"),
        (
            lambda r: Answer(r, Response(r.wire(), failure=NoAnswer("timeout", "timed out after 2 s", True))),
            "no answer: timed out after 2 s (set --request-timeout to wait longer)",
        ),
        (lambda r: Answer(r, Response(r.wire(), failure=NoAnswer("connect", "connection refused", False))), ""),
    ],
    ids=["404", "redirect", "503", "timeout", "refused"],
)
def test_a_url_that_does_not_serve_the_endpoint_is_one_line(first, said):
    found, _ = problem(target(first))
    assert found is not None and said in found


def test_a_documented_code_under_another_status_is_the_endpoint():
    found, _ = problem(target(lambda r: answer(r, REJECTED, status=401)))
    assert found is None


def test_a_rejected_token_says_how_to_fix_it():
    found, _ = problem(target(lambda r: answer(r, REJECTED), with_token=lambda r: answer(r, REJECTED)))
    assert found.startswith(f"the valid token is rejected ({CONTRACT.describe(REJECTED)}): expired?")
    assert 'does it need its "Bearer " prefix?' not in found  # the token has one
    run = fake_run()
    run.tokens = {"valid": "no-prefix"}
    found, _ = problem(target(lambda r: answer(r, REJECTED), with_token=lambda r: answer(r, REJECTED)), run)
    assert 'does it need its "Bearer " prefix?' in found


def test_a_token_whose_user_is_gone_says_so():
    found, _ = problem(target(lambda r: answer(r, REJECTED), with_token=lambda r: answer(r, GONE)))
    assert "the valid token's user does not exist" in found


def test_no_valid_token_no_token_probe():
    run = fake_run()
    run.tokens = {}
    network = target(lambda r: answer(r, REJECTED))
    assert target_problem(run, network) is None and len(network.sent) == 1
    assert valid_token_probe(run, network) is None


@pytest.mark.parametrize(
    ("status", "said"),
    [
        (300, "the URL redirects"),
        (399, "the URL redirects"),
        (299, "does not serve the endpoint"),
        (400, "does not serve the endpoint"),
        (502, "is unavailable"),
        (503, "is unavailable"),
        (504, "is unavailable"),
        (501, "does not serve the endpoint"),
    ],
)
def test_redirects_and_unavailable_statuses_by_their_edges(status, said):
    found, _ = problem(target(lambda r: answer(r, body=PAGE, status=status)))
    assert said in found


def test_without_the_account_or_a_free_phone_the_token_probe_sends_the_specs_examples():
    for profile in (Profile(account=ACCOUNT), Profile(phones={"free": FREE})):
        run = fake_run(profile=profile)
        network = target(lambda r: answer(r, REJECTED))
        valid_token_probe(run, network)
        sent = network.sent[0]
        assert dict(sent.values) == {p.name: p.example for p in CONTRACT.parameters}
