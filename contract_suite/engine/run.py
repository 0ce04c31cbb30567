"""One run against one target: its transport, secrets, coverage, and whether it can still judge.

Once the run knows it cannot judge the target (unusable target or test data), `stop()` closes the transport:
nothing more is sent, no more SMS codes are asked for, and the run ends with exit 2 and one line saying why.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections import Counter
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from contract_suite.engine.evidence import CaseEvidence, Failure
from contract_suite.engine.judging import envelope_code, looks_like_envelope
from contract_suite.engine.settings import Settings
from contract_suite.http.network import Tls
from contract_suite.http.transport import Answer, Limits, Request, RequestCapReached, Transport, TransportClosed
from contract_suite.openapi.spec import Operation
from contract_suite.outcomes import CannotJudge
from contract_suite.secrets import Secret, Secrets

if TYPE_CHECKING:  # the run counts answers into the coverage table, which reports read above it
    from contract_suite.reporting.coverage import Coverage

FAILURES_BEFORE_STOP = 3  # transport failures (timeouts, stalls, resets) in a row that stop the run
# A gateway refusing to forward (rate limit, maintenance, upstream down): the same request is sent again, waiting
# as its Retry-After asks, or BACKOFF_SECONDS, at most GATEWAY_RETRIES times; the rate is halved each time it
# repeats. A wait asked for past LONGEST_WAIT_SECONDS is not waited: the run stops.
GATEWAY_STATUSES = (429, 502, 503, 504)
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


class Run:
    def __init__(
        self,
        settings: Settings,
        base_url: str,
        secrets: Secrets,
        coverage: Coverage,
        tokens: Mapping[str, Secret] = MappingProxyType({}),
    ):
        self.settings = settings
        self.operation: Operation = settings.operation
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + self.operation.path
        # each operation's URL and method, to count its answers in its own part of the coverage table
        self.operations = {(c.method, self.base_url + c.path): c for c in settings.operations}
        self.secrets = secrets
        self.coverage = coverage
        self.transport = Transport(
            Limits(settings.request_timeout, settings.rate_limit, settings.max_requests),
            Tls(verify=not settings.insecure, ca_bundle=settings.ca_bundle),
            settings.proxies,
        )
        self.stopped: str | None = None
        self.failures_in_a_row = 0
        self.envelopes_seen = 0
        self.answers_seen = 0
        self.preflight_envelope: bool | None = None  # whether the preflight's probe got the envelope (None: not run)
        self.refusals: Counter[int] = Counter()  # gateway refusals waited out, by HTTP status
        self.waited = 0.0  # seconds spent waiting on them
        self.too_large: Counter[int] = Counter()  # generated requests a gateway refused as too large, not judged
        self.tokens: Mapping[str, Secret] = MappingProxyType(dict(tokens))  # by role; read-only, replaced whole
        self.case: CaseEvidence | None = None  # the evidence of the case running now (the plugin's), if any
        self.code_refusals = None  # the SMS codes the target refused (contract_suite.engine.refusals), once cases run
        self.code_source = None  # where the SMS codes come from (counts the codes asked for), once cases run
        self.tokens_fetched = 0  # tokens the [tokens] command printed during the run
        # the test account moved with no request of this run moving it: someone else uses it (the verdict weighs
        # refused fresh SMS codes with that: the other user's fetches void them)
        self.account_changed_by_someone_else = False

    def use_token(self, role: str, token: Secret) -> None:
        """A token fetched during the run (the [tokens] command's) takes the role's place from now on."""
        self.tokens_fetched += 1
        self.tokens = MappingProxyType({**self.tokens, role: token})

    def judged(self, rule: str) -> None:
        """The running case judged this rule (its title in the reports)."""
        if self.case is not None:
            self.case.rules.append(self.secrets.mask(rule))

    def failed(self, *failures: Failure) -> None:
        """The running case found these failures (the reports read them from its evidence); one already recorded
        is not recorded twice."""
        if self.case is not None:
            self.case.failures.extend(f for f in failures if f not in self.case.failures)

    @property
    def token_header(self) -> str:
        return self.settings.profile.token_header or self.operation.token_header

    def token_header_of(self, operation: Operation | None = None) -> str:
        """The header an operation's token goes in: the profile's, else the operation's security scheme's."""
        if operation is None or operation.primary:
            return self.token_header
        return self.settings.profile.token_header or operation.token_header

    def request(
        self,
        params: dict[str, str],
        token: str | None,
        headers: dict[str, str] | None = None,
        operation: Operation | None = None,
    ) -> Request:
        """An operation (default: the primary one) with these query parameters and token (None: no token
        header)."""
        operation = operation or self.operation
        all_headers = dict(headers or {})
        header = self.token_header_of(operation)
        if token is not None and header:
            all_headers[header] = token
        return Request.build(operation.method, self.base_url + operation.path, params, all_headers)

    def stop(self, reason: str) -> CannotJudge:
        """Stop judging this target: close the transport; the exception to raise from where it was found."""
        reason = self.secrets.mask(reason)
        if self.stopped is None:
            self.stopped = reason
            self.transport.close(reason)
        return CannotJudge(f"cannot judge: {self.stopped}")

    def refused_by_gateway(self, answer: Answer) -> bool:
        """A 429, 502, 503 or 504 whose body is not the envelope: a gateway (or the platform's front) speaking."""
        return (
            answer.failure is None
            and answer.status in GATEWAY_STATUSES
            and not looks_like_envelope(answer, self.operation)
        )

    def send_at_once(self, request: Request, times: int) -> list[Answer]:
        """The same request sent `times` times at one moment, each from a thread of its own on a connection of its
        own, the threads released together (a barrier) once the transport gave them their turns as one burst.
        Each is counted against the rate limit and the cap; a gateway's refusal is waited out as send() does (a
        502 or 504 is not sent again). RequestCapReached (nothing sent) when fewer than `times` requests are
        left; CannotJudge once the run stopped."""
        try:
            self.transport.wait_turn(times)
        except TransportClosed:
            raise CannotJudge(f"cannot judge: {self.stopped}") from None
        start = threading.Barrier(times)
        answers: list[Answer | None] = [None] * times
        raised: list[BaseException] = []

        def one(index: int) -> None:
            try:
                start.wait()
                answers[index] = self.send(request, retry_refusals=False, turn_taken=True)
            except BaseException as exc:  # handed to the caller's thread, which raises the first
                raised.append(exc)
                start.abort()  # a sender that never reached the barrier must not leave the others waiting

        senders = [threading.Thread(target=one, args=(i,), name=f"at-once-{i}", daemon=True) for i in range(times)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        if raised:
            raise raised[0]
        return answers

    def send(self, request: Request, retry_refusals: bool = True, turn_taken: bool = False) -> Answer:
        """Send within the run's limits; a gateway's refusal is waited out and the request sent again (bounded,
        each try counted against the rate limit and the cap). retry_refusals=False: not after a 502 or 504, which
        a gateway gives once it forwarded the request (sent again, a change could be made twice).
        RequestCapReached when the cap is spent; CannotJudge once stopped, or when this failure is the last of
        several in a row, or when a gateway asks for a longer wait than the suite gives. turn_taken: its turn
        was taken with others' (send_at_once): the first try goes at once."""
        answer = self._send(request, turn_taken)
        for attempt in range(GATEWAY_RETRIES):
            if not self.refused_by_gateway(answer) or (not retry_refusals and answer.status in (502, 504)):
                break
            asked = retry_after(answer)
            wait = BACKOFF_SECONDS[attempt] if asked is None else asked
            if wait > LONGEST_WAIT_SECONDS:
                raise self.stop(
                    f"HTTP {answer.status} with Retry-After: {wait:g} s: the target (or a gateway in front of it) "
                    f"asks for a longer wait than the suite gives ({LONGEST_WAIT_SECONDS:g} s); run again later"
                )
            self.refusals[answer.status] += 1
            if sum(self.refusals.values()) > 1:  # refused again: slow the whole run down
                self.transport.slow_down(START_RATE, SLOWEST_RATE)
            self.waited += wait
            time.sleep(wait)
            answer = self._send(request)
        return answer

    @property
    def gateway_words(self) -> str | None:
        """What gateways' refusals and limits cost the run, in words (None when there were none)."""
        parts = []
        if self.refusals:
            statuses = ", ".join(f"HTTP {status} x{count}" for status, count in sorted(self.refusals.items()))
            line = f"a gateway refused {sum(self.refusals.values())} request(s) ({statuses}); the suite waited "
            line += f"{self.waited:g} s in all and sent each again"
            if self.transport.rate != self.settings.rate_limit and self.transport.rate:
                line += f", slowing to {self.transport.rate:g} requests/s"
                line += "" if self.stopped else f" (--rate-limit {self.transport.rate:g} fits)"
            parts.append(line)
        if self.too_large:
            statuses = ", ".join(f"HTTP {status} x{count}" for status, count in sorted(self.too_large.items()))
            parts.append(
                f"a gateway refused {sum(self.too_large.values())} generated request(s) as too large ({statuses}): "
                "not judged (set --max-uri-bytes to its limit)"
            )
        return "; ".join(parts) or None

    def _send(self, request: Request, turn_taken: bool = False) -> Answer:
        try:
            answer = self.transport.send(request, turn_taken)
            if self.case is not None:
                self.case.exchanges.append(answer)
        except TransportClosed:
            raise CannotJudge(f"cannot judge: {self.stopped}") from None
        except RequestCapReached:
            raise
        if answer.failure is None:
            self.failures_in_a_row = 0
            self.answers_seen += 1
            operation = self.operations.get((request.method, request.url.split("?", 1)[0]))
            # the endpoint speaking, rightly or wrongly (a JSON object with `code`, or with the envelope's other
            # fields and no `code`: a broken envelope): a URL that serves it is the right one
            if looks_like_envelope(answer, operation or self.operation):
                self.envelopes_seen += 1
            if operation is not None:  # other methods (the coverage phase's probes) do not count
                self.coverage.saw(envelope_code(answer), operation)
            return answer
        if answer.failure.kind != "local":
            self.failures_in_a_row += 1
        if self.failures_in_a_row >= FAILURES_BEFORE_STOP:
            raise self.stop(
                f"the target {self.base_url} gave no whole answer to {self.failures_in_a_row} requests in a row "
                f"(last: {self.secrets.mask(answer.failure.detail)}); check that it is up and answering, or give it "
                f"longer with --request-timeout (now {self.settings.request_timeout:g} s)"
            )
        return answer
