"""Unit tests of contract_suite/engine/refusals.py: a valid SMS code the target refused is sent again with fresh
codes, and the tries after a refused fresh code wait a random, growing moment (out of step with another run)."""

from __future__ import annotations

import json
import random

import pytest

from contract_suite.engine.refusals import KEPT_REQUESTS, RETRY_PAUSE_SECONDS, TRIES, CodeRefusals
from contract_suite.http.transport import Answer, Request
from contract_suite.openapi import spec
from contract_suite.testdata.profile import Phone
from contract_suite.testdata.sms_codes import CodeSourceBroken, CodeUnavailable

pytestmark = pytest.mark.selftest

CONTRACT = spec.load(spec.DEFAULT_SPEC)
ACCOUNT, FREE = Phone("86", "13800000001"), Phone("86", "13800000002")
OLD_REFUSED = CONTRACT.code_named("old-phone-verification-failed")


class FakeCodes:
    """A [codes] command: each fetch gives a new code, the one before it void."""

    can_refresh = True
    fresh_each_use = False

    def __init__(self):
        self.current: dict[str, str] = {ACCOUNT.key: "100000", FREE.key: "200000"}
        self.fetched = 0

    def held(self, phone: Phone) -> str:
        return self.current[phone.key]

    def refresh(self, phone: Phone) -> str:
        self.fetched += 1
        self.current[phone.key] = str(int(self.current[phone.key]) + 1)
        return self.current[phone.key]


def account_move(codes: FakeCodes) -> Request:
    role = {p.role: p.name for p in CONTRACT.parameters if p.role}
    params = {
        role["old.international_code"]: ACCOUNT.international_code,
        role["old.phone"]: ACCOUNT.phone,
        role["old.code"]: codes.held(ACCOUNT),
        role["new.international_code"]: FREE.international_code,
        role["new.phone"]: FREE.phone,
        role["new.code"]: codes.held(FREE),
    }
    return Request.build(CONTRACT.method, "http://target.test" + CONTRACT.path, params, {})


def target_refusing(times: int):
    """Answers the old number's verification failure to the first `times` requests, then success."""
    sent: list[Request] = []

    def send(request: Request) -> Answer:
        sent.append(request)
        code = OLD_REFUSED if len(sent) <= times else CONTRACT.success_code
        return Answer(request, status=200, body=json.dumps({"code": code, "msg": "m", "data": None}).encode())

    return send, sent


class WindowsDrawn(random.Random):
    """Notes each window a pause is drawn from, and draws its middle."""

    def __init__(self, windows: list[tuple[float, float]]):
        super().__init__()
        self.windows = windows

    def uniform(self, a: float, b: float) -> float:
        self.windows.append((a, b))
        return (a + b) / 2


def test_a_refused_held_code_is_sent_again_at_once_with_a_fresh_one():
    """The held code may simply have expired: the first try again waits for nothing."""
    codes, pauses = FakeCodes(), []
    refusals = CodeRefusals(CONTRACT, codes, pause=pauses.append)
    send, sent = target_refusing(1)
    answer = refusals.send(account_move(codes), send)
    assert json.loads(answer.body)["code"] == CONTRACT.success_code
    assert len(sent) == 2 and pauses == []
    assert "100001" in sent[1].url and codes.fresh_each_use
    assert refusals.source_accepted  # the fresh code passed: the source's codes are this target's
    state = refusals.state()
    assert (state["refused"], state["refetched"], state["voided_between_fetch_and_use"]) == (1, 2, 0)


def test_each_try_after_a_refused_fresh_code_waits_a_random_growing_moment():
    """Fresh codes refused again (another run's fetches void them): before each further try a random pause,
    drawn from a window that doubles; every try is still sent, and the last answer is the case's."""
    codes, pauses, windows = FakeCodes(), [], []
    refusals = CodeRefusals(CONTRACT, codes, pause=pauses.append, chance=WindowsDrawn(windows))
    refusals.source_accepted = True  # the target accepted a code from the source before
    send, sent = target_refusing(TRIES)
    answer = refusals.send(account_move(codes), send)
    assert len(sent) == TRIES and json.loads(answer.body)["code"] == OLD_REFUSED
    assert refusals.state()["refused"] == TRIES  # each try's refusal counted once
    assert windows == [(0, RETRY_PAUSE_SECONDS * 2**k) for k in range(TRIES - 2)]
    assert pauses == [high / 2 for _, high in windows]
    resent = refusals.resent(answer)
    assert resent is not None and resent.refused_again and resent.sends == TRIES


def test_two_runs_draw_different_pauses():
    """The pauses are what takes two runs of one suite out of step: each run draws its own."""
    first, second = [], []
    for pauses in (first, second):
        codes = FakeCodes()
        send, _ = target_refusing(TRIES)
        refusals = CodeRefusals(CONTRACT, codes, pause=pauses.append)
        refusals.source_accepted = True
        refusals.send(account_move(codes), send)
    assert first != second


def test_no_pause_while_the_target_never_accepted_a_code_from_the_source():
    """A [codes] command that reads another system's codes: nobody to fall out of step with, so the tries go at
    once (the verdict then says the source's codes were all refused)."""
    codes, pauses = FakeCodes(), []
    send, sent = target_refusing(TRIES)
    CodeRefusals(CONTRACT, codes, pause=pauses.append).send(account_move(codes), send)
    assert len(sent) == TRIES and pauses == []


def test_the_tries_are_read_once_and_only_for_the_answer_they_belong_to():
    """A case reads the tries of the answer it judges, once; an answer the run never sent again has none, and
    the tries of answers nobody reads (the account's questions) are not kept without end."""
    codes = FakeCodes()
    refusals = CodeRefusals(CONTRACT, codes, pause=lambda _: None)
    unread = []
    for _ in range(40):
        send, _ = target_refusing(1)
        unread.append(refusals.send(account_move(codes), send))
    send, _ = target_refusing(0)
    plain = refusals.send(account_move(codes), send)
    assert refusals.resent(plain) is None
    last = unread[-1]
    assert refusals.resent(last) is not None and refusals.resent(last) is None
    assert refusals.resent(unread[0]) is None  # long forgotten
    assert refusals.resent(unread[-KEPT_REQUESTS]) is not None  # the last KEPT_REQUESTS are kept


def test_a_burst_refused_is_sent_again_and_its_tries_are_read_from_its_first_answer():
    """The same request sent several times at once, every answer refusing the held code: the burst is sent again
    with fresh codes, and the case reads the tries from the first answer of the last burst."""
    codes = FakeCodes()
    refusals = CodeRefusals(CONTRACT, codes, pause=lambda _: None)
    single, sent = target_refusing(3)
    answers = refusals.send_burst(account_move(codes), lambda request: [single(request) for _ in range(3)])
    assert len(sent) == 6 and len(answers) == 3
    resent = refusals.resent(answers[0])
    assert resent is not None and resent.sends == 2 and not resent.refused_again


class BrokenSource(FakeCodes):
    """A [codes] command that fails when asked again (`failure`), once (then it would work)."""

    def __init__(self, failure: Exception):
        super().__init__()
        self.failure: Exception | None = failure

    def refresh(self, phone: Phone) -> str:
        failure, self.failure = self.failure, None
        if failure is not None:
            raise failure
        return super().refresh(phone)


@pytest.mark.parametrize("failure", [CodeUnavailable("no code"), CodeSourceBroken("the command failed")])
def test_no_fresh_code_the_case_judges_the_answer_it_has(failure):
    """The source cannot give a fresh code: no try again (another SMS, another failure), the first answer is the
    case's and nothing says it was sent again."""
    codes = BrokenSource(failure)
    refusals = CodeRefusals(CONTRACT, codes, pause=lambda _: None)
    send, sent = target_refusing(1)
    answer = refusals.send(account_move(codes), send)
    assert len(sent) == 1 and json.loads(answer.body)["code"] == OLD_REFUSED
    assert refusals.resent(answer) is None


class StaticCodes(FakeCodes):
    """[codes] static: no fresh code can be had."""

    can_refresh = False


def test_a_refused_static_code_is_counted_for_the_verdict_and_not_sent_again():
    codes = StaticCodes()
    refusals = CodeRefusals(CONTRACT, codes, pause=lambda _: None)
    for _ in range(2):
        send, sent = target_refusing(1)
        refusals.send(account_move(codes), send)
        assert len(sent) == 1
    state = refusals.state()
    assert state["refused"] == 2
    assert state["static"][ACCOUNT.key] == {"refusals": 2, "accepted": False, "refused_after_accepted": False}


def test_sent_again_with_fresh_codes_even_after_the_run_fetched_newer_ones():
    """A wrong answer about the account is sent again with fresh codes; a question about the account asked in
    between fetched a newer code for the account's number. The request sent again carries codes valid now on
    both sides, not the ones it was first sent with (those were refused, and the failure blamed on the target)."""
    codes = FakeCodes()
    refusals = CodeRefusals(CONTRACT, codes, pause=lambda _: None)
    send, _ = target_refusing(0)
    first = account_move(codes)
    refusals.send(first, send)
    codes.refresh(ACCOUNT)  # the account's question: a code of its own for the account's number
    again = refusals.again_with_fresh_codes(first)
    assert refusals.held(again) == {"old": ACCOUNT, "new": FREE}
    assert codes.held(ACCOUNT) in again.url and codes.held(FREE) in again.url


def test_once_codes_are_fetched_for_each_use_a_refused_one_that_passes_again_was_voided_by_someone_else():
    """Codes fetched a moment before each use: one refused, and a fresher one passing right after, is someone else
    asking for codes for the same number (the verdict weighs it); the try again waits a random moment first."""
    codes, pauses = FakeCodes(), []
    codes.fresh_each_use = True
    refusals = CodeRefusals(CONTRACT, codes, pause=pauses.append)
    refusals.source_accepted = True  # as when a fresh code first passed where a held one was refused
    send, sent = target_refusing(1)
    refusals.send(account_move(codes), send)
    assert len(sent) == 2 and len(pauses) == 1
    assert refusals.state()["voided_between_fetch_and_use"] == 1
