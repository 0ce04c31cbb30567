"""One run against one target: its transport, secrets, coverage, and whether it can still judge.

Once the run knows it cannot judge the target (unusable target or test data), `stop()` closes the transport:
nothing more is sent, no more SMS codes are asked for, and the run ends with exit 2 and one line saying why.
"""

from __future__ import annotations

from collections import deque

import pytest

from contract_suite.coverage import Coverage
from contract_suite.secrets import Secrets
from contract_suite.settings import Settings
from contract_suite.spec import Contract
from contract_suite.transport import Answer, Limits, Request, RequestCapReached, Tls, Transport, TransportClosed
from contract_suite.verdict import envelope_code, speaks_envelope

EVIDENCE_KEPT = 8  # the last exchanges of the current case, kept as evidence for reports
FAILURES_BEFORE_STOP = 3  # transport failures (timeouts, stalls, resets) in a row that stop the run
EXIT_CANNOT_JUDGE = pytest.ExitCode.INTERRUPTED  # 2


class CannotJudge(pytest.skip.Exception):
    """This case (or the run) cannot be judged: the target or the test data is unusable.

    A skip to hypothesis (so the generated layer stops at once, without shrinking); the plugin reports it as
    an error (E) of the case, never as a contract failure.
    """


class Run:
    def __init__(self, settings: Settings, base_url: str, secrets: Secrets, coverage: Coverage):
        self.settings = settings
        self.contract: Contract = settings.contract
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + self.contract.path
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
        self.recent: deque[Answer] = deque(maxlen=EVIDENCE_KEPT)  # the plugin empties it before each case
        self.rules: list[str] = []  # the rules the current case judged, in words (for report titles)

    @property
    def token_header(self) -> str:
        return self.settings.profile.token_header or self.contract.token_header

    def token_header_of(self, contract: Contract | None = None) -> str:
        """The header an operation's token goes in: the profile's, else the operation's security scheme's."""
        if contract is None or contract.primary:
            return self.token_header
        return self.settings.profile.token_header or contract.token_header

    def request(
        self,
        params: dict[str, str],
        token: str | None,
        headers: dict[str, str] | None = None,
        contract: Contract | None = None,
    ) -> Request:
        """An operation (default: the primary one) with these query parameters and token (None: no token
        header)."""
        contract = contract or self.contract
        all_headers = dict(headers or {})
        header = self.token_header_of(contract)
        if token is not None and header:
            all_headers[header] = token
        return Request.build(contract.method, self.base_url + contract.path, params, all_headers)

    def stop(self, reason: str) -> CannotJudge:
        """Stop judging this target: close the transport; the exception to raise from where it was found."""
        reason = self.secrets.mask(reason)
        if self.stopped is None:
            self.stopped = reason
            self.transport.close(reason)
        return CannotJudge(f"cannot judge: {self.stopped}")

    def send(self, request: Request) -> Answer:
        """Send within the run's limits. RequestCapReached when the cap is spent; CannotJudge once stopped, or
        when this failure is the last of several in a row."""
        try:
            answer = self.transport.send(request)
            self.recent.append(answer)
        except TransportClosed:
            raise CannotJudge(f"cannot judge: {self.stopped}") from None
        except RequestCapReached:
            raise
        if answer.failure is None:
            self.failures_in_a_row = 0
            self.answers_seen += 1
            if speaks_envelope(answer):
                self.envelopes_seen += 1
            operation = self.operations.get((request.method, request.url.split("?", 1)[0]))
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
