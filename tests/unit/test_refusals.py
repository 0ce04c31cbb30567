"""Unit tests of contract_suite/engine/refusals.py: a valid SMS code the target refused is sent again with fresh
codes, and the tries after a refused fresh code wait a random, growing moment (out of step with another run)."""

from __future__ import annotations

import json
import random

import pytest

from contract_suite.engine.refusals import RETRY_PAUSE_SECONDS, TRIES, CodeRefusals
from contract_suite.http.transport import Answer, Request
from contract_suite.openapi import spec
from contract_suite.testdata.profile import Phone

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


def change_request(codes: FakeCodes) -> Request:
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
    answer = refusals.send(change_request(codes), send)
    assert json.loads(answer.body)["code"] == CONTRACT.success_code
    assert len(sent) == 2 and pauses == []
    assert "100001" in sent[1].url and codes.fresh_each_use


def test_each_try_after_a_refused_fresh_code_waits_a_random_growing_moment():
    """Fresh codes refused again (another run's fetches void them): before each further try a random pause,
    drawn from a window that doubles; every try is still sent, and the last answer is the case's."""
    codes, pauses, windows = FakeCodes(), [], []
    refusals = CodeRefusals(CONTRACT, codes, pause=pauses.append, chance=WindowsDrawn(windows))
    send, sent = target_refusing(TRIES)
    answer = refusals.send(change_request(codes), send)
    assert len(sent) == TRIES and json.loads(answer.body)["code"] == OLD_REFUSED
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
        CodeRefusals(CONTRACT, codes, pause=pauses.append).send(change_request(codes), send)
    assert first != second
