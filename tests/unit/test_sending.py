"""Unit tests of contract_suite/engine/sending.py: the bottom of the sending stack counts each answer into the
ledger and the coverage tally, keeps it as the running case's evidence, stops the run after failures in a row, and
sends a burst at one moment."""

from __future__ import annotations

import dataclasses
import json
import threading

import pytest

from contract_suite.engine.evidence import CaseEvidence
from contract_suite.engine.sending import FAILURES_BEFORE_STOP, TransportSender
from contract_suite.http.transport import NoAnswer, RequestCapReached, Response, TransportClosed
from contract_suite.outcomes import CannotJudge
from tests.support.engine_fakes import ACCOUNT, CONTRACT, FREE, INCORRECT, fake_run, move

pytestmark = pytest.mark.selftest

REQUEST = move(ACCOUNT, "1", FREE, "2")
ENVELOPE = json.dumps({"code": INCORRECT, "msg": "m", "data": None, "extMsg": None}).encode()


class FakeTransport:
    """Answers each request with `replies` in turn (a body, or a NoAnswer); notes the turns taken."""

    def __init__(self, *replies):
        self.replies = list(replies)
        self.turns: list[int] = []
        self.sent_at_once: list[bool] = []
        self.closed = None
        self._lock = threading.Lock()

    def send(self, wire, turn_taken=False):
        with self._lock:
            self.sent_at_once.append(turn_taken)
            reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, NoAnswer):
            return Response(wire, failure=reply)
        return Response(wire, status=200, headers=[("Content-Type", "application/json")], body=reply)

    def wait_turn(self, count=1):
        if isinstance(self.replies[0], TransportClosed):
            raise self.replies[0]
        self.turns.append(count)

    def close(self, reason):
        self.closed = reason


def sender(*replies):
    run = fake_run()
    run.transport = FakeTransport(*replies)
    return TransportSender(run), run


def test_an_answer_is_counted_kept_as_evidence_and_its_code_tallied():
    bottom, run = sender(ENVELOPE, b"<html>")
    run.ledger.case = CaseEvidence("case", CONTRACT.label)
    first, second = bottom.send(REQUEST), bottom.send(REQUEST)
    assert first.code == INCORRECT and first.request is REQUEST and first.response.request.url == REQUEST.wire().url
    assert (run.ledger.answers, run.ledger.envelopes) == (2, 1)
    assert list(run.ledger.case.exchanges) == [first, second]
    assert run.coverage.seen == {str(INCORRECT): 1}


def test_another_method_on_the_path_is_not_tallied():
    bottom, run = sender(ENVELOPE)
    bottom.send(dataclasses.replace(REQUEST, method="DELETE"))
    assert run.coverage.seen == {} and run.ledger.answers == 1


def test_failures_in_a_row_stop_the_run_and_a_whole_answer_starts_the_count_again():
    lost = NoAnswer("timeout", "timed out after 2 s", sent=True)
    bottom, run = sender(lost, lost, ENVELOPE, *[lost] * FAILURES_BEFORE_STOP)
    for _ in range(2 + 1 + FAILURES_BEFORE_STOP - 1):
        bottom.send(REQUEST)
    assert run.stopped is None
    with pytest.raises(CannotJudge, match=f"no whole answer to {FAILURES_BEFORE_STOP} requests in a row"):
        bottom.send(REQUEST)
    assert "--request-timeout (now 2 s)" in run.stopped and run.transport.closed == run.stopped


def test_a_request_that_cannot_be_sent_is_no_failure_of_the_target():
    local = NoAnswer("local", "the request cannot be sent (ValueError)", sent=False)
    bottom, run = sender(local)
    for _ in range(FAILURES_BEFORE_STOP + 1):
        assert bottom.send(REQUEST).failure == local
    assert run.stopped is None


def test_a_closed_transport_is_cannot_judge_and_a_spent_cap_passes_through():
    bottom, run = sender(TransportClosed("gone"))
    run.stop("the target went away")
    with pytest.raises(CannotJudge, match="the target went away"):
        bottom.send(REQUEST)
    bottom, _ = sender(RequestCapReached("the run's request cap (3) for this target is spent"))
    with pytest.raises(RequestCapReached):
        bottom.send(REQUEST)


def test_a_burst_takes_its_turns_together_and_goes_at_once():
    bottom, run = sender(ENVELOPE)
    answers = bottom.send_at_once(REQUEST, 3)
    assert len(answers) == 3 and all(a.code == INCORRECT for a in answers)
    assert run.transport.turns == [3] and run.transport.sent_at_once == [True] * 3
    assert run.ledger.answers == 3


def test_a_burst_on_a_closed_transport_sends_nothing():
    bottom, run = sender(TransportClosed("gone"))
    run.stop("gone")
    with pytest.raises(CannotJudge):
        bottom.send_at_once(REQUEST, 2)
    assert run.transport.sent_at_once == []


def test_a_burst_raises_what_one_of_its_senders_raised():
    bottom, _ = sender(RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        bottom.send_at_once(REQUEST, 2)


def test_the_third_failure_in_a_row_from_the_start_stops_the_run_and_each_send_waits_its_turn():
    lost = NoAnswer("reset", "closed", sent=True)
    bottom, run = sender(lost)
    bottom.send(REQUEST)
    bottom.send(REQUEST)
    assert run.stopped is None
    with pytest.raises(CannotJudge, match="no whole answer to 3 requests in a row"):
        bottom.send(REQUEST)
    assert run.transport.sent_at_once == [False, False, False]  # one at a time: each takes its turn of the pace
