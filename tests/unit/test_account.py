"""Unit tests of contract_suite/engine/account.py: whose number a request names, whether it could move
the account, where the account is."""

from __future__ import annotations

import json
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from contract_suite.engine.account import AccountKeeper
from contract_suite.http.transport import (
    Answer,
    NoAnswer,
    Request,
)
from contract_suite.openapi import spec
from contract_suite.secrets import (
    Secrets,
)
from contract_suite.testdata.profile import Phone

pytestmark = pytest.mark.selftest

CONTRACT = spec.load(spec.DEFAULT_SPEC)
SUCCESS = CONTRACT.success_code
OLD_PHONE_INCORRECT = CONTRACT.code_named("old-phone-incorrect")
NEW_PHONE_REGISTERED = CONTRACT.code_named("new-phone-registered")
UNDOCUMENTED_CODE = max(CONTRACT.codes) + 1


# -- account: whose number a request names, whether it could move the account, where the account is --------------

TOKEN = "Bearer valid-7e1d"
ACCOUNT = Phone("86", "13800000001")
FREE = Phone("86", "13800000002")
ELSEWHERE = Phone("86", "13800000009")


class FakeTarget:
    """Answers the suite's question "from a number to itself" as a target whose account holds `holds`; `success`
    lists the numbers it (wrongly) answers success for, `silent` those it answers with no whole answer."""

    def __init__(self, holds: Phone | None, success=(), silent=()):
        self.holds, self.success, self.silent = holds, set(success), set(silent)
        self.asked: list[Phone] = []
        self.consumed_phones: list[Phone] = []
        self.secrets = Secrets()
        self.token_header = CONTRACT.token_header
        self.operation = CONTRACT
        self.settings = SimpleNamespace(profile=SimpleNamespace(account=ACCOUNT))
        self.tokens = {"valid": TOKEN}  # the run's tokens (the keeper reads the valid one)
        self.refusals = None  # as the environment check: no code source re-fetches refused codes

    def request(self, params, token):
        return Request.build(CONTRACT.method, "http://target.test" + CONTRACT.path, params, {self.token_header: token})

    def send(self, request, retry_refusals=True):
        params = dict(pair.split("=", 1) for pair in urlsplit(request.url).query.split("&"))
        phone = AccountKeeper(self, self, self).phone_in(params, "old")
        self.asked.append(phone)
        if phone in self.silent:
            return Answer(request, failure=NoAnswer("reset", "closed", sent=True))
        code = NEW_PHONE_REGISTERED if phone == self.holds else OLD_PHONE_INCORRECT
        code = SUCCESS if phone in self.success else code
        return Answer(request, status=200, body=json.dumps({"code": code, "msg": "m", "data": None}).encode())

    # the code source
    def code_for_probe(self, phone):
        return "123456"

    def consumed(self, *phones):
        self.consumed_phones += phones


def keeper(target: FakeTarget) -> AccountKeeper:
    return AccountKeeper(target, target, target)


def params(old: Phone, new: Phone) -> dict[str, str]:
    return CONTRACT.change_params(old, "1", new, "2")


def test_the_phone_a_request_names_needs_both_parts():
    keeps = keeper(FakeTarget(ACCOUNT))
    assert keeps.phone_in(params(ACCOUNT, FREE), "old") == ACCOUNT
    assert keeps.phone_in(params(ACCOUNT, FREE), "new") == FREE
    for part in ("international_code", "phone"):
        without = params(ACCOUNT, FREE)
        without[CONTRACT.parameter_with_role(f"new.{part}").name] = ""
        assert keeps.phone_in(without, "new") is None
        del without[CONTRACT.parameter_with_role(f"new.{part}").name]
        assert keeps.phone_in(without, "new") is None


def test_only_the_valid_token_from_the_account_to_another_number_could_move_it():
    target = FakeTarget(ACCOUNT)
    keeps = keeper(target)

    def could(old, new, token=TOKEN):
        query = params(old, new)
        return bool(keeps.could_move(target.request(query, token), query))

    assert could(ACCOUNT, FREE)
    assert could(ACCOUNT, Phone("86", " x "))  # a number of any shape
    assert not could(ACCOUNT, FREE, token="Bearer other")
    assert not could(FREE, ELSEWHERE)
    assert not could(ACCOUNT, ACCOUNT)
    assert not could(ACCOUNT, Phone("86", "  "))
    assert not could(ACCOUNT, Phone("", "13800000002"))
    keeps.question_failed = True
    assert not could(ACCOUNT, FREE)
    target.tokens = {}
    assert not keeper(target).could_move(target.request(params(ACCOUNT, FREE), TOKEN), params(ACCOUNT, FREE))
    target.tokens = {"valid": TOKEN}
    target.settings.profile = SimpleNamespace(account=None)
    assert not keeper(target).could_move(target.request(params(ACCOUNT, FREE), TOKEN), params(ACCOUNT, FREE))
    no_old_phone = {
        k: v for k, v in params(ACCOUNT, FREE).items() if k != CONTRACT.parameter_with_role("old.phone").name
    }
    assert not keeper(target).could_move(target.request(no_old_phone, TOKEN), no_old_phone)  # no account: nothing


def test_asking_reads_registered_as_held_and_incorrect_as_not():
    keeps = keeper(FakeTarget(ACCOUNT, silent=[ELSEWHERE]))
    assert keeps.ask(ACCOUNT)[0] is True and keeps.ask(ACCOUNT)[2] is None
    assert keeps.ask(FREE)[0] is False and keeps.ask(FREE)[2] is None
    holds, answer, wrong = keeps.ask(ELSEWHERE)
    assert holds is None and answer.failure is not None and wrong is None
    other = FakeTarget(ACCOUNT)
    other.send = lambda request: Answer(request, status=200, body=json.dumps({"code": UNDOCUMENTED_CODE}).encode())
    refused = keeper(other)
    assert refused.ask(ACCOUNT)[::2] == (None, None) and not refused.question_failed  # neither answer: no answer


def test_a_question_answered_with_success_fails_once_and_spends_the_codes():
    target = FakeTarget(ACCOUNT, success=[FREE])
    keeps = keeper(target)
    holds, _, wrong = keeps.ask(FREE)
    assert holds is None and keeps.question_failed and target.consumed_phones == [FREE]
    assert set(wrong.expected_codes) == {NEW_PHONE_REGISTERED, OLD_PHONE_INCORRECT}
    assert wrong.rule.startswith(f"asked where the test account is: {FREE} as both original and new phone")
    assert keeps.ask(FREE)[2] is None  # reported once


def test_the_account_is_located_asking_its_own_number_first():
    target = FakeTarget(FREE)
    found = keeper(target).locate([FREE, ELSEWHERE])
    assert found.holds == FREE and found.asked == [ACCOUNT, FREE] and found.denied == [ACCOUNT] and found.wrong == []
    assert target.asked == [ACCOUNT, FREE]  # it stops at the number the account holds


def test_locating_skips_repeats_nothing_and_unprintable_numbers():
    target = FakeTarget(None, success=[ELSEWHERE], silent=[FREE])
    found = keeper(target).locate([None, ACCOUNT, Phone("86", "138\n0"), FREE, ELSEWHERE])
    assert found.holds is None and found.asked == [ACCOUNT, FREE, ELSEWHERE] and found.denied == [ACCOUNT]
    assert len(found.wrong) == 1 and target.asked == [ACCOUNT, FREE, ELSEWHERE]
    held = keeper(FakeTarget(ACCOUNT)).locate([FREE])
    assert held.holds == ACCOUNT and held.asked == [ACCOUNT] and held.denied == []
