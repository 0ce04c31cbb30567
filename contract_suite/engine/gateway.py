"""A layer of the sending stack: a gateway refusing to forward (rate limit, maintenance, upstream down) is waited
out. The same request is sent again, waiting as its Retry-After asks, or BACKOFF_SECONDS, at most GATEWAY_RETRIES
times; the rate is halved each time it repeats. A wait asked for past LONGEST_WAIT_SECONDS is not waited: the run
stops. A request that may change the account is not sent again after a 502 or 504, which a gateway gives once it
forwarded the request (sent again, a change could be made twice)."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable

from contract_suite.engine.exchange import Answer, OperationRequest
from contract_suite.engine.run import Run
from contract_suite.engine.sending import Sender

GATEWAY_STATUSES = (429, 502, 503, 504)
FORWARDED = (502, 504)  # a gateway answers these after it forwarded the request
GATEWAY_RETRIES = 2
BACKOFF_SECONDS = (1.0, 2.0)
LONGEST_WAIT_SECONDS = 30.0
SLOWEST_RATE = 0.5  # requests a second: the rate is never lowered past this
START_RATE = 10.0  # requests a second assumed when a run without a rate limit is refused for its pace


def retry_after(answer: Answer) -> float | None:
    """The seconds a Retry-After header asks for (a number, or an HTTP date), or None."""
    value = (answer.header("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0) if when is not None else None


def refused_by_gateway(answer: Answer) -> bool:
    """A 429, 502, 503 or 504 whose body is not the envelope: a gateway (or the platform's front) speaking."""
    return answer.failure is None and answer.status in GATEWAY_STATUSES and not answer.from_endpoint


def whole(answer: Answer) -> bool:
    """Whether an answer came whole and is not a gateway's refusal."""
    return answer.failure is None and not refused_by_gateway(answer)


class GatewayWaits:
    def __init__(self, run: Run, inner: Sender, sleep: Callable[[float], None] = time.sleep):
        self.run = run
        self.inner = inner
        self._sleep = sleep

    def send(self, request: OperationRequest) -> Answer:
        answer = self.inner.send(request)
        for attempt in range(GATEWAY_RETRIES):
            if not self._sent_again(answer, forwarded_too=not request.changes_account):
                break
            self._wait([answer], attempt)
            answer = self.inner.send(request)
        return answer

    def send_at_once(self, request: OperationRequest, times: int) -> list[Answer]:
        """The answers refused by a gateway (but a 502 or 504: a burst changes the account) are waited out and
        sent again, together."""
        answers = self.inner.send_at_once(request, times)
        for attempt in range(GATEWAY_RETRIES):
            refused = [i for i, answer in enumerate(answers) if self._sent_again(answer, forwarded_too=False)]
            if not refused:
                break
            self._wait([answers[i] for i in refused], attempt)
            for i, again in zip(refused, self.inner.send_at_once(request, len(refused)), strict=True):
                answers[i] = again
        return answers

    @staticmethod
    def _sent_again(answer: Answer, forwarded_too: bool) -> bool:
        return refused_by_gateway(answer) and (forwarded_too or answer.status not in FORWARDED)

    def _wait(self, refused: list[Answer], attempt: int) -> None:
        """Wait as the refusals ask (the longest), counted in the ledger; the rate halved when refused again."""
        waits = [(BACKOFF_SECONDS[attempt] if (asked := retry_after(a)) is None else asked, a.status) for a in refused]
        wait, status = max(waits)
        if wait > LONGEST_WAIT_SECONDS:
            raise self.run.stop(
                f"HTTP {status} with Retry-After: {wait:g} s: the target (or a gateway in front of it) "
                f"asks for a longer wait than the suite gives ({LONGEST_WAIT_SECONDS:g} s); run again later"
            )
        record = self.run.ledger.gateway
        for answer in refused:
            record.refusals[answer.status] += 1
        if sum(record.refusals.values()) > 1:  # refused again: slow the whole run down
            rate = self.run.transport.slow_down(START_RATE, SLOWEST_RATE)
            record.slowed_to = rate if rate != self.run.settings.rate_limit else None
        record.waited += wait
        self._sleep(wait)
