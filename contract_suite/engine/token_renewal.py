"""A layer of the sending stack: tokens are free, so a valid token that expires is fetched again, as often as it
expires. When a request carried the valid token and got the token's failure (or "no such user"), the token is probed
(a request with it and wrong codes, changing nothing). The probe passes: the answer was the endpoint's own (and the
same answer is taken as such for the next PROBE_EVERY requests without a probe). The token expired and the profile
has a [tokens] command: a fresh one is fetched and the request sent once more with it, at most once every
PROBE_EVERY requests (a token that dies sooner is no token to judge with). Anything else stops the run (exit 2) with
the line that says why."""

from __future__ import annotations

from contract_suite.engine import preflight
from contract_suite.engine.exchange import Answer, OperationRequest, rewritten
from contract_suite.engine.gateway import whole
from contract_suite.engine.run import Run
from contract_suite.engine.sending import Sender
from contract_suite.target_data.sms_codes import TokenUnavailable, fetch_token

# Requests a probe's finding holds for, and the fewest requests a fetched token must last: bounds what re-checking
# and fetching tokens can cost (a target answering the token's failure to everything, a token dead on arrival).
PROBE_EVERY = 20


class TokenRenewal:
    def __init__(self, run: Run, inner: Sender, command_env: dict[str, str]):
        self.run = run
        self.inner = inner  # the probes go here too: below this layer
        self.command_env = command_env
        self.passed: dict[object, int] = {}  # the codes a probe found to be the endpoint's own: when (requests sent)
        self.fetched_at: int | None = None  # requests sent when the [tokens] command last fetched a token

    def send(self, request: OperationRequest) -> Answer:
        answer = self.inner.send(request)
        if self._carries_valid_token(request) and answer.failure is None:
            fresh = self.renewed(answer)
            if fresh is not None:
                answer = self.inner.send(fresh)
        return answer

    def send_at_once(self, request: OperationRequest, times: int) -> list[Answer]:
        """When every answer came whole and one is the valid token's failure with the token expired, the same burst
        once more with the fresh one."""
        answers = self.inner.send_at_once(request, times)
        if self._carries_valid_token(request) and all(map(whole, answers)):
            fresh = next(filter(None, map(self.renewed, answers)), None)
            if fresh is not None:
                answers = self.inner.send_at_once(fresh, times)
        return answers

    def _carries_valid_token(self, request: OperationRequest) -> bool:
        valid = self.run.tokens.get("valid")
        return valid is not None and request.carries_token and request.token == valid

    def renewed(self, answer: Answer) -> OperationRequest | None:
        """The valid token got the token-failure or no-user code: probe again. The probe passes: None (the answer
        is the endpoint's own). The token expired and a [tokens] command fetched a fresh one that works: the
        request again with it, to send instead. Else CannotJudge (the run stops)."""
        run, operation = self.run, self.run.operation
        failed = operation.code_named("token-verification-failed")
        gone = operation.code_named("user-does-not-exist")
        got, sent = answer.code, run.transport.sent
        if got not in (failed, gone) or sent - self.passed.get(got, -PROBE_EVERY) < PROBE_EVERY:
            return None
        probe = preflight.valid_token_probe(run, self.inner)
        if probe is None or probe.code not in (failed, gone):
            self.passed[got] = sent  # the token still works: the answer was the endpoint's own
            return None
        seen = operation.describe(probe.code)
        if probe.code == gone:
            raise run.stop(
                f"the valid token's user is gone since the run began (a request with it now gets {seen}): "
                "the test account was deleted or put into cancellation; give the token of a live account"
            )
        if not run.settings.profile.token_command:
            raise run.stop(
                f"the valid token expired during the run (accepted at the start, it now gets {seen}); give a "
                "[tokens] command that fetches a fresh one (the suite fetches again each time it expires), or "
                "run again with a fresh token"
            )
        if self.fetched_at is not None and sent - self.fetched_at < PROBE_EVERY:
            raise run.stop(
                f"the valid token expired again during the run ({seen}) {sent - self.fetched_at} request(s) after "
                f"the [tokens] command fetched it; give tokens that last at least {PROBE_EVERY} requests"
            )
        self.fetched_at = sent
        fresh = self._fetch()
        probe = preflight.valid_token_probe(run, self.inner)
        if probe is not None and probe.code in (failed, gone):
            raise run.stop(
                f"the valid token expired during the run ({seen}), and the fresh one the [tokens] command printed "
                f"is rejected too ({operation.describe(probe.code)}); check what the command logs in as"
            )
        return rewritten(answer.request, token=fresh)

    def _fetch(self) -> str:
        """The [tokens] command run again: its token is the run's valid one from now on."""
        run = self.run
        try:
            token = fetch_token(run.settings.profile, self.command_env, run.secrets)
        except TokenUnavailable as exc:
            raise run.stop(
                f"the valid token expired during the run, and the [tokens] command failed to fetch a fresh one: {exc}"
            ) from None
        run.use_token("valid", token)
        return token
