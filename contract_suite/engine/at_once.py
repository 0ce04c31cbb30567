"""One change sent several times at the same moment (the rule of state "one pair of codes changes the phone once"):
sending the burst through the target, and judging its answers."""

from __future__ import annotations

from contract_suite.engine.evidence import Failure
from contract_suite.engine.exchange import Answer
from contract_suite.engine.gateway import whole
from contract_suite.engine.target import ABSENT, Target
from contract_suite.http.transport import RequestCapReached
from contract_suite.outcomes import NotJudged


def call_at_once(target: Target, params: dict[str, str | None], token: str, times: int) -> list[Answer]:
    """Send the same change `times` times at one moment (each on its own connection, released together), all
    meant to change the account. The answers, each the endpoint's (as call() makes sure of one's). An answer
    that did not come whole, or a gateway's refusal, leaves the case unjudged: the keeper finds where the
    account is and puts it back first (any one of them may have made the change)."""
    values = {k: v for k, v in params.items() if v is not ABSENT}
    request = target.run.request(values, token, changes_account=True)
    try:
        answers = target.sender.send_at_once(request, times)
    except RequestCapReached as exc:
        raise NotJudged(f"not judged: {exc}", needs="a higher --max-requests") from None
    lost = next((answer for answer in answers if not whole(answer)), None)
    if lost is None:
        for answer in answers:
            target.environment.endpoint_spoke(answer)  # CannotJudge when the environment changed
        return answers
    detail = lost.failure.detail if lost.failure else f"the gateway answered HTTP {lost.status}"
    message = f"cannot judge this case: {target.secrets.mask(detail)} (one of {times} requests sent at once)"
    target.fail(target.account.after_lost(request, message, f"any of the {times} could have changed the account"))


def check_at_once(target: Target, answers: list[Answer], others: set[int], rule: str) -> list[Failure]:
    """The failures of one valid change sent several times at once (call_at_once), recorded in the case's
    evidence: exactly one answer may be success, each other one a valid envelope carrying one of `others`.
    Then the keeper looks after the test account (moved back after a success; asked after, when none), and
    what became of it is said in the failures."""
    target.coverage.exercised({target.operation.success_code})
    target.run.judged(rule)
    answers, found, won = target.before_blame.judge_burst(answers, others, rule)
    try:
        found = target.account.after_burst(answers, found, won)
    finally:
        target.run.ledger.failed(*found)
    return found
