"""Unit tests of contract_suite/engine/run.py: the requests a run builds, its stop, a token fetched during it, and its
ledger settled with what the transport and the code source counted."""

from __future__ import annotations

import dataclasses

import pytest

from contract_suite.engine.coverage import Coverage
from contract_suite.engine.evidence import CaseEvidence
from contract_suite.engine.run import Run
from contract_suite.http.transport import TransportClosed
from contract_suite.secrets import Secret, Secrets
from contract_suite.target_data.profile import Profile
from tests.support.engine_fakes import ACCOUNT, BASE_URL, CONTRACT, FREE, TOKEN, settings_for
from tests.support.operations import OTHER

pytestmark = pytest.mark.selftest


def run_of(profile=None, codes=None, **settings) -> Run:
    made = settings_for(profile or Profile(account=ACCOUNT, phones={"free": FREE}), **settings)
    return Run(made, BASE_URL + "/", Secrets(), Coverage(CONTRACT), {"valid": TOKEN}, codes)


def test_a_request_goes_to_the_operation_with_its_token_in_the_right_header():
    run = run_of()
    request = run.request({"a": "1"}, TOKEN)
    assert run.base_url == BASE_URL and request.base_url == BASE_URL and request.operation is CONTRACT
    assert request.token_header == CONTRACT.token_header and request.wire().headers[CONTRACT.token_header] == TOKEN
    assert not request.changes_account and run.request({}, None, changes_account=True).changes_account
    other = dataclasses.replace(OTHER, token_header="X-Other")
    assert run.request({}, TOKEN, operation=other).token_header == "X-Other"
    profiled = run_of(Profile(token_header="X-Profile"))
    assert profiled.request({}, TOKEN, other).token_header == "X-Profile" and profiled.token_header == "X-Profile"


def test_a_stop_keeps_its_first_reason_masked_and_closes_the_transport():
    run = run_of()
    run.secrets.add("482913", "sms-code")
    raised = run.stop("code 482913 refused")
    assert str(raised) == "cannot judge: code <sms-code> refused" and run.stopped == "code <sms-code> refused"
    run.stop("a second reason")
    assert run.stopped == "code <sms-code> refused"
    with pytest.raises(TransportClosed):
        run.transport.wait_turn()


def test_a_token_fetched_during_the_run_takes_its_roles_place():
    run = run_of()
    tokens = run.tokens
    run.use_token("valid", Secret("Bearer fresh", "valid-token"))
    assert run.tokens["valid"] == "Bearer fresh" and tokens["valid"] == TOKEN and run.ledger.tokens_fetched == 1


def test_a_rule_a_case_judged_is_noted_masked():
    run = run_of()
    run.secrets.add("482913", "sms-code")
    run.ledger.case = CaseEvidence("a", "setPhone")
    run.note_rule("the code 482913")
    assert run.ledger.case.rules == ["the code <sms-code>"]


class Codes:
    asked, codes_go_stale, asked_by_number = 3, True, {"86-1": 2, "86-2": 1}
    past_budget_asked, throttled, waited = 1, 2, 1.23456

    class limits:
        budget = 5


def test_the_settled_ledger_says_what_was_sent_asked_and_whether_the_cap_was_spent():
    run = run_of(codes=Codes(), max_requests=2)
    run.transport.wait_turn(2)
    ledger = run.settled_ledger()
    assert (ledger.sent, ledger.cap_reached, ledger.codes.asked, ledger.codes.codes_go_stale) == (2, True, 3, True)
    assert ledger.codes.asked_by_number == {"86-1": 2, "86-2": 1} and ledger.codes.budget == 5
    assert (ledger.codes.past_budget, ledger.codes.throttled, ledger.codes.waited) == (1, 2, 1.235)  # ms
    assert ledger.codes.source == "static"  # a profile with no [codes] command or function asks for no SMS code
    with_command = Profile(account=ACCOUNT, code_command="./sms {international_code} {phone}")
    assert run_of(with_command).settled_ledger().codes.source == "command"
    assert not run_of().settled_ledger().cap_reached
