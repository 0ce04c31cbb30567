"""Blame only what reproduces: before a case blames the contract for a wrong answer that the run's own test data or
someone else could have caused, it is re-checked. A wrong answer about the account's state (5174, 5176) is sent
again with fresh SMS codes (the second answer is the case's); a refused valid code was already sent again by the
sending stack (contract_suite.engine.refused_codes), and the failure says each try and names the code it hinges on, for
the verdict to weigh at the end of the run."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

from contract_suite.engine.account import AccountKeeper
from contract_suite.engine.environment import EnvironmentRecheck
from contract_suite.engine.evidence import Failure
from contract_suite.engine.exchange import Answer, Resent
from contract_suite.engine.gateway import whole
from contract_suite.engine.judging import judge
from contract_suite.engine.refused_codes import RefusedCodes
from contract_suite.engine.reproduce import reproduction
from contract_suite.engine.run import Run
from contract_suite.http.transport import RequestCapReached
from contract_suite.outcomes import NotApplicable
from contract_suite.target_data.sms_codes import CodeBudgetSpent, CodeSourceBroken, CodeUnavailable

REPRODUCE_TRIES = 2  # sends again of a wrong answer about the account's state before it is blamed
STATE_CODE_NAMES = ("old-phone-incorrect", "new-phone-registered")  # answers about where the account is


class BeforeBlame:
    def __init__(
        self, run: Run, sender: RefusedCodes, environment: EnvironmentRecheck, account: AccountKeeper | None = None
    ):
        self.run = run
        self.sender = sender  # the top of the run's sending stack, the owner of fresh codes for a request sent again
        self.account = account  # asked where the account is before a wrong answer about it is sent again
        self.environment = environment
        self.operation = run.operation
        self.secrets = run.secrets

    def judge_one(self, answer: Answer, expected: set[int], rule: str) -> tuple[Answer, Failure | None]:
        """The primary operation's answer judged, re-checked first when it is wrong in a way the test data or
        someone else may have caused: the answer the case judges, and its failure (None: it holds)."""
        failure = judge(answer, expected, rule, self.secrets)
        if failure is None:
            return answer, None
        if self._refused_code_it_did_not_need(answer):
            answer, failure = self._with_codes_that_pass(answer, expected, rule)
            if failure is None:
                return answer, None
        resent = answer.resent
        if resent is not None and resent.one_code_two_checks:
            why = (
                f"not judgeable on this target: the request names {resent.phone} on both sides with one SMS code, "
                "and a check spends the code on this target, so one code cannot pass both checks (a second code "
                "for the number voids the first)"
            )
            self.run.coverage.note(f"{rule}: {why}")
            raise NotApplicable(why)
        if answer.code in self._state_codes - expected:  # also after fresh codes: the account may be away
            answer, failure = self._reproduced(answer, expected, rule)
            resent = answer.resent or resent  # the later tries' own codes may have been refused
        if failure is not None:
            failure = self._with_code_refusal(answer, expected, failure, resent)
        return answer, failure

    def judge_burst(
        self, answers: list[Answer], others: set[int], rule: str
    ) -> tuple[list[Answer], list[Failure], int]:
        """One change sent several times at once: exactly one answer may be success, each other one a valid
        envelope carrying one of `others`. A burst with no success whose answers all speak of the account's state
        is sent once more with fresh codes first. The answers judged, their failures, and how many succeeded."""
        success = self.operation.success_code
        resent = answers[0].resent
        codes = [answer.code for answer in answers]
        again = ""
        if resent is None and success not in codes and set(codes) <= self._state_codes:
            # none succeeded, each told the account or a number is elsewhere: once more before blame
            burst = self.sender.send_at_once(self.sender.again_with_fresh_codes(answers[0]), len(answers))
            if all(map(whole, burst)):
                tally = ", ".join(f"{code} x{n}" for code, n in sorted(Counter(map(json.dumps, codes)).items()))
                again = f"sent again at once with fresh SMS codes after {tally}: the same wrong answers came"
                answers, codes = burst, [answer.code for answer in burst]
                if codes.count(success) == 1:
                    self.run.ledger.codes.unreproduced += 1
        won = codes.count(success)
        found = _once_each([judge(a, {success, *others}, rule, self.secrets) for a in answers])
        if won != 1:
            shown = reproduction(answers[0].request, self.secrets)
            tally = ", ".join(f"{code} x{count}" for code, count in sorted(Counter(map(json.dumps, codes)).items()))
            found.insert(
                0,
                Failure(
                    self.secrets.mask(rule),
                    expected=f"exactly one {self.operation.describe(success)}; each other one "
                    + " or ".join(self.operation.describe(code) for code in sorted(others)),
                    actual=f"{won} of {len(answers)} succeeded (answers: {tally})",
                    **shown.failure_fields(),
                    more=(
                        f"(the same request sent {len(answers)} times at one moment, each on its own connection)",
                        *((again,) if again else ()),
                    ),
                    expected_codes=(success,),
                ),
            )
        resent = resent or answers[0].resent
        suspect = self.sender.suspect(answers[0], {success}, resent) if won == 0 and found else None
        if suspect:
            found[0] = replace(found[0], suspect=suspect)
        return answers, found, won

    def _refused_code_it_did_not_need(self, answer: Answer) -> bool:
        """A request sent with whatever codes the run held (its answer was not meant to need them), whose wrong
        answer refuses one of them: it may be the stale code's doing, not the target's."""
        held = dict(answer.held_codes)
        return (
            not answer.request.codes_must_pass
            and answer.resent is None
            and self.sender.refused_side(answer, held) is not None
        )

    def _with_codes_that_pass(self, answer: Answer, expected: set[int], rule: str) -> tuple[Answer, Failure | None]:
        """The request sent once more, its refused codes fetched afresh (the one place such a request spends an
        SMS code): the second answer is the case's."""
        held = dict(answer.held_codes)
        side = self.sender.refused_side(answer, held)
        try:
            fresh = self.sender.with_fresh_codes(answer.request, {side: held[side]})
            again = self.sender.send(replace(fresh, codes_must_pass=True))
        except CodeBudgetSpent:
            raise  # the case is not judged (the toolkit says so)
        except (RequestCapReached, CodeSourceBroken, CodeUnavailable):
            return answer, judge(answer, expected, rule, self.secrets)
        if not whole(again):
            return answer, judge(answer, expected, rule, self.secrets)
        self.environment.endpoint_spoke(again)
        failure = judge(again, expected, rule, self.secrets)
        if failure is not None and again.code == answer.code:
            failure = failure.also(
                f"sent again after {self.operation.describe(answer.code)} to the SMS code held for a number: the same "
                "wrong answer came"
            )
        return again, failure

    @property
    def _state_codes(self) -> set[int]:
        """Answers that depend on where the account is and which numbers are taken: someone else may cause them."""
        return {self.operation.code_named(n) for n in STATE_CODE_NAMES}

    def _reproduced(self, answer: Answer, expected: set[int], rule: str) -> tuple[Answer, Failure | None]:
        """A wrong answer that depends on the account's state, sent again once with fresh codes before blame: the
        second answer is the case's. Right the second time: someone else's doing (counted for the verdict)."""
        first, second = answer.code, answer
        for _ in range(REPRODUCE_TRIES):  # the other user's change may outlast one try: at most two
            try:
                if self.account is not None and self._from_the_account(second):
                    self.account.confirm_out_of_step()  # the account away from its number: someone else's (stops)
                again = self.sender.again_with_fresh_codes(second)  # the last one sent: its codes
                sent = self.sender.send(replace(again, changes_account=True))
            except (RequestCapReached, CodeSourceBroken):
                break
            if not whole(sent):
                break
            self.environment.endpoint_spoke(sent)
            second = sent
            if second.code != first:
                break
        if second is answer:
            return answer, judge(answer, expected, rule, self.secrets)
        failure = judge(second, expected, rule, self.secrets)
        then = second.code
        if failure is None or then != first:
            self.run.ledger.codes.unreproduced += 1  # the state that answer told of did not last: someone else's
        if failure is None:
            return second, None
        said = "the same wrong answer came" if then == first else f"answered {self.operation.describe(then)}"
        return second, failure.also(f"sent again with fresh SMS codes after {self.operation.describe(first)}: {said}")

    def _from_the_account(self, answer: Answer) -> bool:
        """Whether the answered request named the test account's own number as the original phone."""
        return answer.request.side("old").phone == self.account.account

    def _with_code_refusal(
        self, answer: Answer, expected: set[int], failure: Failure, resent: Resent | None
    ) -> Failure:
        """A wrong answer that refused an SMS code the run held valid: says each try when the request was sent
        again with fresh codes, and names the code it hinges on (the verdict weighs it at the end of the run)."""
        if resent is not None:
            first = resent.first.code
            failure = failure.also(
                f"sent {resent.sends} times: first with the SMS code held for {resent.phone}, answered "
                f"{self.operation.describe(first) if first is not None else 'no envelope'}; then each time with "
                "codes fetched a moment before"
            )
        suspect = self.sender.suspect(answer, expected, resent)
        return replace(failure, suspect=suspect) if suspect else failure


def _once_each(failures: list[Failure | None]) -> list[Failure]:
    """The answers' failures, each wrong answer once: the same failure of several answers of a burst is one block
    saying how many answers it was."""
    counts = Counter((f.rule, f.expected, f.actual) for f in failures if f)
    kept: dict[tuple[str, str, str], Failure] = {}
    for failure in filter(None, failures):
        key = (failure.rule, failure.expected, failure.actual)
        if key not in kept:
            times = counts[key]
            kept[key] = failure.also(f"(the same for {times} of the {len(failures)} answers)") if times > 1 else failure
    return list(kept.values())
