"""The sending stack's one small interface (send one request; send one several times at once), and its bottom layer.
The layers, each its own module, built once per run by contract_suite.engine.stack.build_stack:

1. TransportSender (here): the bounded transport; records each exchange in the running case's evidence and counts
   the answers into the ledger and the coverage tally; stops the run after failures in a row.
2. GatewayWaits (engine/gateway.py): a gateway's refusal (429, 502, 503, 504 without the envelope) waited out.
3. TokenRenewal (engine/token_renewal.py): the valid token refused: re-checked, fetched again when it expired.
4. RefusedCodes (engine/refused_codes.py): an SMS code the run held valid refused: fetched again, sent again.

Cases, the account's keeper and the re-checks before blame send through the top (`Stack.top`); the preflight and
the re-checks of the environment through its network part (`Stack.network`), below the token and the codes.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

from contract_suite.engine.exchange import Answer, OperationRequest
from contract_suite.http.transport import RequestCapReached, TransportClosed
from contract_suite.outcomes import CannotJudge

if TYPE_CHECKING:
    from contract_suite.engine.run import Run

FAILURES_BEFORE_STOP = 3  # transport failures (timeouts, stalls, resets) in a row that stop the run


class Sender(Protocol):
    """What every layer of the stack is: RequestCapReached when the run's cap is spent, CannotJudge once the run
    stopped (or when this answer stops it)."""

    def send(self, request: OperationRequest) -> Answer: ...

    def send_at_once(self, request: OperationRequest, times: int) -> list[Answer]:
        """The same request sent `times` times at one moment, each on a connection of its own."""
        ...


class TransportSender:
    """The bottom of the stack: the run's bounded transport."""

    def __init__(self, run: Run):
        self.run = run
        self.failures_in_a_row = 0
        self._lock = threading.Lock()

    def send(self, request: OperationRequest) -> Answer:
        return self._one(request, turn_taken=False)

    def send_at_once(self, request: OperationRequest, times: int) -> list[Answer]:
        """Each from a thread of its own, the threads released together (a barrier) once the transport gave them
        their turns as one burst. Each is counted against the rate limit and the cap: RequestCapReached (nothing
        sent) when fewer than `times` requests are left."""
        try:
            self.run.transport.wait_turn(times)
        except TransportClosed:
            raise CannotJudge(f"cannot judge: {self.run.stopped}") from None
        start = threading.Barrier(times)
        answers: list[Answer | None] = [None] * times
        raised: list[BaseException] = []

        def one(index: int) -> None:
            try:
                start.wait()
                answers[index] = self._one(request, turn_taken=True)
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

    def _one(self, request: OperationRequest, turn_taken: bool) -> Answer:
        run, ledger = self.run, self.run.ledger
        try:
            answer = Answer(request, run.transport.send(request.wire(), turn_taken))
        except TransportClosed:
            raise CannotJudge(f"cannot judge: {run.stopped}") from None
        except RequestCapReached:
            raise
        with self._lock:
            if ledger.case is not None:
                ledger.case.exchanges.append(answer)
            if answer.failure is None:
                self.failures_in_a_row = 0
                ledger.answers += 1
                # the endpoint speaking, rightly or wrongly: a URL that serves it is the right one
                ledger.envelopes += answer.from_endpoint
                if request.of_the_operation:  # other methods (the generated layer's probes) do not count
                    run.coverage.saw(answer.code, request.operation)
                return answer
            if answer.failure.kind != "local":
                self.failures_in_a_row += 1
            in_a_row = self.failures_in_a_row
        if in_a_row >= FAILURES_BEFORE_STOP:
            raise run.stop(
                f"the target {run.base_url} gave no whole answer to {in_a_row} requests in a row "
                f"(last: {run.secrets.mask(answer.failure.detail)}); check that it is up and answering, or give it "
                f"longer with --request-timeout (now {run.settings.request_timeout:g} s)"
            )
        return answer
