"""Unit tests of contract_suite/engine/gateway.py: a gateway's refusal waited out and the request sent again, a
change not sent again once a gateway forwarded it, the run slowed down, and a wait too long stopping the run."""

from __future__ import annotations

import dataclasses
import email.utils
import time

import pytest

from contract_suite.engine.gateway import (
    BACKOFF_SECONDS,
    GATEWAY_RETRIES,
    SLOWEST_RATE,
    START_RATE,
    GatewayWaits,
    refused_by_gateway,
    retry_after,
    whole,
)
from contract_suite.outcomes import CannotJudge
from tests.support.engine_fakes import (
    ACCOUNT,
    FREE,
    INCORRECT,
    OLD_REFUSED,
    ScriptedSender,
    answer,
    fake_run,
    lost,
    move,
)

pytestmark = pytest.mark.selftest

REQUEST = move(ACCOUNT, "1", FREE, "2")


def refusal(request, status=503, retry=None):
    got = answer(request, body=b"<html>busy</html>", status=status)
    if retry is not None:
        got.response.headers.append(("Retry-After", retry))
    return got


def waits(replies, changes_account=False, rate=None):
    """The layer over a sender answering `replies` in turn; the waits it slept."""
    replies = list(replies)
    inner = ScriptedSender(lambda request: replies.pop(0)(request))
    run = fake_run(rate_limit=rate)
    slept = []
    layer = GatewayWaits(run, inner, sleep=slept.append)
    request = dataclasses.replace(REQUEST, changes_account=changes_account)
    return layer, inner, slept, run, request


def test_a_refusal_is_waited_out_and_the_request_sent_again():
    layer, inner, slept, run, request = waits([refusal, refusal, lambda r: answer(r, INCORRECT)])
    got = layer.send(request)
    assert got.code == INCORRECT and len(inner.sent) == 3 and slept == list(BACKOFF_SECONDS)
    assert run.ledger.gateway.refusals == {503: 2} and run.ledger.gateway.waited == sum(BACKOFF_SECONDS)


def test_at_most_so_many_tries_then_the_refusal_is_the_answer():
    layer, inner, _, _, request = waits([refusal] * (GATEWAY_RETRIES + 2))
    assert refused_by_gateway(layer.send(request)) and len(inner.sent) == GATEWAY_RETRIES + 1


def test_retry_after_is_obeyed_and_a_wait_too_long_stops_the_run():
    layer, _, slept, _, request = waits([lambda r: refusal(r, 429, "3"), lambda r: answer(r, INCORRECT)])
    layer.send(request)
    assert slept == [3.0]
    layer, inner, slept, run, request = waits([lambda r: refusal(r, 429, "31")])  # past the 30 s it waits
    with pytest.raises(CannotJudge, match="asks for a longer wait than the suite gives"):
        layer.send(request)
    assert slept == [] and run.stopped


def test_a_change_is_not_sent_again_after_a_gateway_forwarded_it():
    for status in (502, 504):
        layer, inner, slept, _, request = waits([lambda r, s=status: refusal(r, s)], changes_account=True)
        assert layer.send(request).status == status and len(inner.sent) == 1 and slept == []
    layer, inner, _, _, request = waits([refusal, lambda r: answer(r, 0)], changes_account=True)
    layer.send(request)
    assert len(inner.sent) == 2  # a 503: the gateway did not forward it


def test_refused_again_the_run_slows_down_and_the_ledger_says_to_what():
    layer, _, _, run, request = waits([refusal, refusal, lambda r: answer(r, INCORRECT)])
    layer.send(request)
    assert run.transport.rate == START_RATE and run.ledger.gateway.slowed_to == START_RATE
    layer, _, _, run, request = waits([refusal] * 3, rate=1.0)
    layer.send(request)
    assert run.transport.rate == SLOWEST_RATE and run.ledger.gateway.slowed_to == SLOWEST_RATE


def test_a_burst_sends_its_refused_answers_again_together():
    replies = [refusal, lambda r: answer(r, 0), lambda r: answer(r, OLD_REFUSED)]
    layer, inner, slept, _, request = waits(replies)
    got = layer.send_at_once(request, 2)
    assert [a.code for a in got] == [OLD_REFUSED, 0] and inner.bursts == [2, 1] and slept == [BACKOFF_SECONDS[0]]
    forwarded = [lambda r: refusal(r, 502), lambda r: answer(r, 0)]
    layer, inner, _, _, request = waits(forwarded)
    assert layer.send_at_once(request, 2)[0].status == 502 and inner.bursts == [2]


def test_an_envelope_under_a_gateway_status_is_the_endpoint_not_a_gateway():
    assert not refused_by_gateway(answer(REQUEST, INCORRECT, status=503))
    assert refused_by_gateway(refusal(REQUEST, 429)) and not refused_by_gateway(refusal(REQUEST, 500))
    assert not refused_by_gateway(lost(REQUEST)) and not whole(lost(REQUEST)) and not whole(refusal(REQUEST))
    assert whole(answer(REQUEST, INCORRECT))


def test_retry_after_reads_seconds_and_dates():
    at = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert retry_after(refusal(REQUEST, retry="7")) == 7.0
    assert 55 <= retry_after(refusal(REQUEST, retry=at)) <= 60
    assert retry_after(refusal(REQUEST, retry=email.utils.formatdate(time.time() - 60, usegmt=True))) == 0.0
    assert retry_after(refusal(REQUEST, retry="soon")) is None and retry_after(refusal(REQUEST)) is None


def test_the_documented_pace_one_then_two_seconds_halving_to_half_a_request_a_second():
    """README: a refusal is waited out 1 s, then 2 s (or as Retry-After asks, up to 30 s); refusals that repeat
    halve the run's rate, from 10 requests/s without a limit, down to 0.5."""
    for status in (429, 502, 503, 504):
        assert refused_by_gateway(refusal(REQUEST, status))
    for status in (500, 501, 505, 200):
        assert not refused_by_gateway(refusal(REQUEST, status))
    layer, _, slept, run, request = waits([refusal, refusal, lambda r: answer(r, INCORRECT)])
    layer.send(request)
    assert slept == [1.0, 2.0] and run.transport.rate == 10.0
    layer, _, slept, run, request = waits([lambda r: refusal(r, 429, "30"), lambda r: answer(r, INCORRECT)])
    layer.send(request)
    assert slept == [30.0] and run.stopped is None  # 30 s is waited; past it the run stops
    layer, _, _, run, request = waits([refusal] * 3, rate=0.8)
    layer.send(request)
    assert run.transport.rate == 0.5


def test_one_refusal_alone_does_not_slow_the_run():
    layer, _, slept, run, request = waits([refusal, lambda r: answer(r, INCORRECT)], rate=4.0)
    layer.send(request)
    assert slept == [1.0] and run.transport.rate == 4.0 and run.ledger.gateway.slowed_to is None
