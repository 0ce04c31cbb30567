"""Before a case blames the contract for an answer that may not be the endpoint's, the environment is checked
again with the preflight's matching probe. The probe fails too: the environment changed (the run stops with exit
2 and one line naming what changed); it passes: the answer was the endpoint's own, and the case judges it.

A re-check costs a request, so each kind of cause (and HTTP status) is re-checked until one passes: after that,
the same kind of answer is the endpoint's without asking again.
"""

from __future__ import annotations

from collections.abc import Callable

from contract_suite.engine import preflight
from contract_suite.engine.judging import describe_answer, envelope_code, looks_like_envelope
from contract_suite.engine.refusals import CodeRefusals
from contract_suite.engine.run import SLOWEST_RATE, START_RATE, Run
from contract_suite.http.transport import Answer, Request
from contract_suite.secrets import Secret

NOT_THE_ENDPOINT, TOKEN_REJECTED = "not the endpoint", "token rejected"


class EnvironmentCheck:
    """The re-checks of one run. refresh_token: fetches a fresh valid token ([tokens] command), or None."""

    def __init__(self, run: Run, refresh_token: Callable[[], Secret] | None, refusals: CodeRefusals | None = None):
        self.run = run
        self.refusals = refusals
        self.operation = run.operation
        self.refresh_token = refresh_token
        self.refreshed = False  # a token is fetched again once per run, no more
        self.passed: set[tuple[str, object]] = set()  # the kinds of cause a re-check found to be the endpoint's

    def _due(self, key: tuple[str, object]) -> bool:
        return key not in self.passed

    def endpoint_spoke(self, answer: Answer) -> None:
        """Return when the answer is the endpoint's (an envelope, however broken; or a kind of answer a re-check
        already found to be its own). Else probe again; CannotJudge (the run stops) when the environment changed."""
        if answer.failure is not None or looks_like_envelope(answer, self.operation):
            return  # a transport failure is an error of the case already; an envelope is the endpoint speaking
        key = (NOT_THE_ENDPOINT, answer.status)
        if not self._due(key):
            return
        probe = self.run.send(self.run.request({}, None))  # no token, no parameter: changes nothing
        # the preflight's rule (HTTP 200 serves the endpoint), unless its probe got the envelope then: a 200 page
        # where the envelope was is a change (a maintenance page)
        unchanged = probe.status == 200 and self.run.preflight_envelope is not True
        if looks_like_envelope(probe, self.operation) or unchanged:
            self.passed.add(key)
            return
        raise self.run.stop(self._changed(answer, probe))

    def _changed(self, answer: Answer, probe: Answer) -> str:
        secrets = self.run.secrets
        url = self.run.base_url
        seen = describe_answer(probe, secrets)
        first = describe_answer(answer, secrets)
        if probe.failure is not None:
            return f"the target {url} stopped answering during the run ({seen}, after {first}); check that it is up"
        if probe.status == 429:
            return (
                f"the target {url} (or a gateway in front of it) rate-limits the run: {seen}, still after "
                f"waiting {self.run.waited:g} s; {self._slower()}"
            )
        if probe.status in (502, 504):
            return (
                f"the service behind {url} went down during the run: its gateway answers {seen}; check that the "
                "service is up, then run again"
            )
        if probe.status == 503:
            return (
                f"the target {url} went down or into maintenance during the run (or a gateway's rate limit "
                f"refuses it): {seen}, still after waiting {self.run.waited:g} s; run again when it is up, or "
                f"{self._slower()}"
            )
        return (
            f"the target {url} stopped serving the endpoint during the run: a request with no token now gets "
            f"{seen} (a case got {first}); it went down, into maintenance, or moved"
        )

    def _slower(self) -> str:
        """The --rate-limit that may fit the gateway's limit: half the pace the run was refused at."""
        rate = self.run.transport.rate or START_RATE
        slower = max(rate / 2, SLOWEST_RATE)
        return f"run with a lower --rate-limit (refused at {rate:g} requests/s: try --rate-limit {slower:g})"

    # -- the one "send, and send again once with a fresh token" of the hand-written cases, the account's
    # questions and repairs, and the generated layer --

    def send(self, request: Request, retry_refusals: bool = True) -> Answer:
        """Send within the run's limits; when the request carried the valid token and the answer is the token's
        failure, re-check the token (token_accepted) and, when it expired and a fresh one was fetched, send the
        request once more with it: its answer is the one returned. A valid SMS code refused: once more with a
        fresh code (contract_suite.engine.refusals), when the run has a code source."""
        if self.refusals is None:
            return self._send(request, retry_refusals)
        return self.refusals.send(request, lambda sent: self._send(sent, retry_refusals))

    def _send(self, request: Request, retry_refusals: bool) -> Answer:
        answer = self.run.send(request, retry_refusals=retry_refusals)
        if self._carries_valid_token(request) and answer.failure is None:
            again = self.token_accepted(answer)
            if again is not None:
                answer = self.run.send(again, retry_refusals=retry_refusals)
        return answer

    def send_at_once(self, request: Request, times: int, whole: Callable[[Answer], bool]) -> list[Answer]:
        """The same request sent `times` times at one moment (Run.send_at_once); when every answer came `whole`
        and one is the valid token's failure with the token expired, the same burst once more with the fresh
        one."""

        def burst(sent: Request) -> list[Answer]:
            answers = self.run.send_at_once(sent, times)
            if self._carries_valid_token(sent) and all(map(whole, answers)):
                fresh = next(filter(None, map(self.token_accepted, answers)), None)
                if fresh is not None:
                    answers = self.run.send_at_once(fresh, times)
            return answers

        if self.refusals is None:
            return burst(request)
        return self.refusals.send_burst(request, burst)

    def _carries_valid_token(self, request: Request) -> bool:
        valid = self.run.tokens.get("valid")
        return valid is not None and valid in request.headers.values()

    def token_accepted(self, answer: Answer) -> Request | None:
        """The valid token got the token-failure or no-user code: probe again. The probe passes: None (the answer
        is the endpoint's own). The token expired and a [tokens] command fetched a fresh one that works: the
        request again with it, to send instead. Else CannotJudge (the run stops)."""
        failed = self.operation.code_named("token-verification-failed")
        gone = self.operation.code_named("user-does-not-exist")
        got = envelope_code(answer)
        key = (TOKEN_REJECTED, got)
        if got not in (failed, gone) or not self._due(key):
            return None
        probe = preflight.valid_token_probe(self.run)
        if probe is None or envelope_code(probe) not in (failed, gone):
            self.passed.add(key)  # the token still works: the answer was the endpoint's own
            return None
        seen = self.operation.describe(envelope_code(probe))
        if envelope_code(probe) == gone:
            raise self.run.stop(
                f"the valid token's user is gone since the run began (a request with it now gets {seen}): "
                "the test account was deleted or put into cancellation; give the token of a live account"
            )
        if self.refresh_token is None:
            raise self.run.stop(
                f"the valid token expired during the run (accepted at the start, it now gets {seen}); give a "
                "[tokens] command that fetches a fresh one (the suite fetches again once when it expires), or "
                "run again with a fresh token"
            )
        if self.refreshed:
            raise self.run.stop(
                f"the valid token expired again during the run ({seen}) after the [tokens] command fetched a "
                "fresh one; the suite fetches once per run: give tokens that live longer than a run"
            )
        self.refreshed = True
        fresh = self.refresh_token()  # CannotJudge, naming the command's failure, when it fails
        probe = preflight.valid_token_probe(self.run)
        if probe is not None and envelope_code(probe) in (failed, gone):
            raise self.run.stop(
                f"the valid token expired during the run ({seen}), and the fresh one the [tokens] command printed "
                f"is rejected too ({self.operation.describe(envelope_code(probe))}); check what the command logs in as"
            )
        header = self.run.token_header.lower()
        request = answer.request
        headers = {k: (fresh if k.lower() == header else v) for k, v in request.headers.items()}
        return Request(request.method, request.url, headers, request.body)
