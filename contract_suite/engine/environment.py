"""Before a case blames the contract for an answer that may not be the endpoint's (no envelope), the environment is
checked again with the preflight's probe. The probe fails too: the environment changed (the run stops with exit 2
and one line naming what changed); it passes: the answer was the endpoint's own, and the case judges it. (A refused
valid token is re-checked by the sending stack: contract_suite.engine.token_renewal.)

A re-check costs a request, so each HTTP status is re-checked until one passes: after that, the same kind of answer
is the endpoint's without asking again.
"""

from __future__ import annotations

from contract_suite.engine.exchange import Answer
from contract_suite.engine.gateway import SLOWEST_RATE, START_RATE
from contract_suite.engine.judging import describe_answer
from contract_suite.engine.run import Run
from contract_suite.engine.sending import Sender


class EnvironmentRecheck:
    """The environment's re-checks of one run, its probes sent through `network` (the stack below the token)."""

    def __init__(self, run: Run, network: Sender):
        self.run = run
        self.network = network
        self.passed: set[int | None] = set()  # the HTTP statuses a re-check found to be the endpoint's own answer

    def endpoint_spoke(self, answer: Answer) -> None:
        """Return when the answer is the endpoint's (an envelope, however broken; or a kind of answer a re-check
        already found to be its own). Else probe again; CannotJudge (the run stops) when the environment changed."""
        if answer.failure is not None or answer.from_endpoint:
            return  # a transport failure is an error of the case already; an envelope is the endpoint speaking
        if answer.status in self.passed:
            return
        probe = self.network.send(self.run.request({}, None))  # no token, no parameter: changes nothing
        # the preflight's rule (HTTP 200 serves the endpoint), unless its probe got the envelope then: a 200 page
        # where the envelope was is a change (a maintenance page)
        unchanged = probe.status == 200 and self.run.preflight_envelope is not True
        if probe.from_endpoint or unchanged:
            self.passed.add(answer.status)
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
                f"waiting {self.run.ledger.gateway.waited:g} s; {self._slower()}"
            )
        if probe.status in (502, 504):
            return (
                f"the service behind {url} went down during the run: its gateway answers {seen}; check that the "
                "service is up, then run again"
            )
        if probe.status == 503:
            return (
                f"the target {url} went down or into maintenance during the run (or a gateway's rate limit "
                f"refuses it): {seen}, still after waiting {self.run.ledger.gateway.waited:g} s; run again when it "
                f"is up, or {self._slower()}"
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
