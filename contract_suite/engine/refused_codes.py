"""A layer of the sending stack: SMS codes the target refused although the run held them valid. Blame only what
reproduces.

A request that carried a code the run holds as valid for a number, answered with that number's verification
failure, is sent once more with a code fetched a moment before: its answer is the case's. When the fresh code is
refused too, each further try waits a random, growing moment first (once the target has accepted a code from the
source): another run fetching codes for the same numbers voids the codes this run fetched, and two runs of one
suite move in step until one of them waits. Once a fresh code passes where the held one was refused, codes on this
target are short-lived or spent by a check, and the code source hands out a fresh code for every use from then on.
What the refusals say of the source (the [codes] command or a static code) goes into the run's ledger: a refusal
nothing in the run can tell from a source that feeds another system is "cannot judge", not "broken".

The one owner of fresh codes put into a request that was sent before (`with_fresh_codes`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import replace

from contract_suite.engine.evidence import SOURCE, STATIC, Suspect
from contract_suite.engine.exchange import SIDES, Answer, OperationRequest, Resent, rewritten
from contract_suite.engine.run import Run
from contract_suite.engine.sending import Sender
from contract_suite.http.transport import RequestCapReached
from contract_suite.target_data.profile import Phone
from contract_suite.target_data.sms_codes import WRONG_PROBE_CODE, CodeBudgetSpent, CodeSourceBroken, CodeUnavailable

REFUSAL_NAMES = {"old": "old-phone-verification-failed", "new": "new-phone-verification-failed"}
# Expected codes of cases whose one fault is a missing parameter or the token: their answers say nothing of a code.
NOT_ABOUT_CODES = ("token-verification-failed", "user-does-not-exist")
TRIES = 4  # sends in all of a request whose valid codes the target refuses: the first, then with fresh codes
# Fresh codes refused (in as many requests) while the target never accepted one from the source: the run stops,
# naming the source, rather than spend more SMS codes (a source that feeds another system is found within a few)
UNEXPLAINED_REFUSALS = 2
# After a fresh code was refused, the next try waits a random moment of up to this, doubled for each try after:
# long enough to fall out of step with another run's fetches (a fetch and a send take tens of milliseconds).
RETRY_PAUSE_SECONDS = 0.2


class RefusedCodes:
    def __init__(
        self,
        run: Run,
        inner: Sender,
        pause: Callable[[float], None] = time.sleep,
        chance: random.Random | None = None,
    ):
        self.run = run
        self.inner = inner
        self.operation = run.operation
        self.codes = run.codes
        self.record = run.ledger.codes
        self._pause = pause  # waits before a try after a fresh code was refused (RETRY_PAUSE_SECONDS)
        self._chance = chance or random.Random()
        operation = self.operation
        # static codes: an answer that may have passed a side's code, by (number, side); the sides already asked
        self._passed_maybe: dict[tuple[str, str], Answer] = {}
        self._asked_order: set[tuple[str, str]] = set()
        missing = {p.missing_code for p in operation.required_parameters if p.missing_code is not None}
        self._not_about_codes = missing | {
            operation.code_named(name) for name in NOT_ABOUT_CODES if operation.names_codes(name)
        }

    # -- reading a request --

    def held(self, request: OperationRequest) -> dict[str, Phone]:
        """The sides of a request (old, new) whose code is the one the run holds as valid for the side's number."""
        if self.codes is None or not request.operation.primary:  # (another method on the path has no sides)
            return {}
        found = {}
        for side in SIDES:
            carried = request.side(side)
            if carried.phone is not None and carried.code and carried.code == self.codes.held(carried.phone):
                found[side] = carried.phone
        return found

    def refused_side(self, answer: Answer, held: dict[str, Phone]) -> str | None:
        """The side whose held code the answer refuses (that number's verification failure), or None."""
        if answer.failure is not None:
            return None
        return next((s for s in held if answer.code == self.operation.code_named(REFUSAL_NAMES[s])), None)

    # -- sending --

    def send(self, request: OperationRequest) -> Answer:
        """Send; when the answer refuses a held code and the source can give others, fetch fresh codes for the
        request's numbers and send it again (at most TRIES sends in all): the last answer is returned."""
        return self._send(request, None)[0]

    def send_at_once(self, request: OperationRequest, times: int) -> list[Answer]:
        """The same for a burst of one request sent several times at once: only a burst with no success says
        anything of the codes (once one made the change, the others may fairly be refused)."""
        return self._send(request, times)

    def _through(self, request: OperationRequest, times: int | None, held: dict[str, Phone]) -> list[Answer]:
        answers = [self.inner.send(request)] if times is None else self.inner.send_at_once(request, times)
        return [replace(answer, held_codes=held) for answer in answers] if held else answers

    def _send(self, request: OperationRequest, times: int | None) -> list[Answer]:
        held = self.held(request)
        answers = self._through(request, times, held)
        if not held:
            return answers
        self._seen(answers, held)
        side = self._refused(answers, held)
        if side is None:
            return answers
        first = answers[0]
        self.record.refused += 1
        if not self.codes.can_refresh:
            record = self.record.static_of(held[side].key)
            record.times_refused += 1
            record.refused_after_accepted |= record.accepted
            return answers
        if not request.codes_must_pass:  # the answer is judged as it is; a wrong one is sent again before blame
            return answers
        if self.record.one_code_cannot_pass_two_checks and _one_number_on_both_sides(request, held[side]):
            # seen before on this target: no fresh code can make such a request pass (it would spend one for nothing)
            answers[0] = replace(first, resent=Resent(held[side], first, True, 1, one_code_two_checks=True))
            return answers
        refused_fresh, sends, one_code_two_checks = False, 1, False
        for _ in range(TRIES - 1):
            # Out of step with whoever voids the codes: a random moment, longer each try.
            if refused_fresh:
                self._pause(self._chance.uniform(0, RETRY_PAUSE_SECONDS * 2 ** (sends - 2)))
            try:
                again = self.with_fresh_codes(request, {side: held[side]})
            except CodeBudgetSpent:
                raise
            except (CodeUnavailable, CodeSourceBroken):
                break  # the case judges the answer it has; a broken source stops the run at its next use
            request, held = again, self.held(again)
            answers, sends = self._through(again, times, held), sends + 1
            self._seen(answers, held)
            now = self._refused(answers, held)
            if now is None:  # a fresh code passed where the held one was refused: codes go stale on this target
                self.codes.codes_go_stale = True
                self.record.source_accepted = True  # ...and the source's codes are this target's
                self.record.voided_between_fetch_and_use += refused_fresh
                break
            self.record.refused += 1
            if now != side:  # the fresh code passed; the other number's held code did not: fetch that one too
                side = now
                continue
            if self.codes.codes_go_stale and _one_number_on_both_sides(request, held[side]):
                # one fresh code for the number on both sides, refused at one of its two checks, where codes go
                # stale: a check spends the code, and no one code can pass two (fetching another voids the first)
                one_code_two_checks = self.record.one_code_cannot_pass_two_checks = True
                break
            refused_fresh = True
            if not self.record.source_accepted and self._unexplained(request, side):
                break
        if answers and sends > 1:
            refused = self._refused(answers, held) is not None
            resent = Resent(held[side], first, refused, sends, one_code_two_checks=one_code_two_checks)
            answers[0] = replace(answers[0], resent=resent)
        return answers

    def _unexplained(self, request: OperationRequest, side: str) -> bool:
        """A fresh code refused while no code of the source ever passed: no more tries for this request. Where it is
        the test account's own number as the original phone (no correct target refuses that number's fresh code
        there), it is counted; at UNEXPLAINED_REFUSALS the run stops, naming the source (it most likely feeds
        another system), before it spends more SMS codes. A refusal for another number may be the target's wrong
        answer about that number, and is judged as such."""
        phone = request.side(side).phone
        if side == "old" and phone == self.run.settings.profile.account:
            self.record.unexplained_refusals += 1
            if self.record.unexplained_refusals >= UNEXPLAINED_REFUSALS:
                self.run.stop(source_feeds_another_system(self.record.source, phone.key))
        return True

    def _refused(self, answers: list[Answer], held: dict[str, Phone]) -> str | None:
        """The side whose held code a burst of answers (or one) refuses, when none of them is success."""
        if any(answer.code == self.operation.success_code for answer in answers):
            return None
        return next(filter(None, (self.refused_side(a, held) for a in answers)), None)

    def _seen(self, answers: list[Answer], held: dict[str, Phone]) -> None:
        """A success to a request carrying held codes: the target accepted them. With static codes, the first
        other business answer that refuses no held side is kept for each side's number: it may have come after
        that code's check (`_static_code_passed` finds out, when the code is blamed)."""
        if not self.codes.can_refresh:
            for answer in answers:
                if answer.failure is None and self._is_business(answer) and answer.code not in self._not_about_codes:
                    for side, phone in held.items():
                        if answer.code != self.operation.code_named(REFUSAL_NAMES[side]):
                            self._passed_maybe.setdefault((phone.key, side), answer)
        if not any(a.failure is None and a.code == self.operation.success_code for a in answers):
            return
        if self.codes.can_refresh:
            self.record.source_accepted = True
        else:
            for phone in held.values():
                self.record.static_of(phone.key).accepted = True

    # -- fresh codes into a request sent before --

    def with_fresh_codes(self, request: OperationRequest, held: dict[str, Phone]) -> OperationRequest:
        """The same request with a fresh code for each number of `held` (the sides whose held code it carried; the
        refused one alone, when the stack sends it again): a static code while it stays valid, CodeUnavailable once
        it does not. One code a number, put on each side that names it. The codes replaced are the ones the request
        carries: the run may hold newer ones since (a question about the account fetched one)."""
        fresh: dict[str, str] = {}
        for phone in {phone.key: phone for phone in held.values()}.values():  # one fresh code per number
            code = self._fresh_code(phone)
            for side, on_side in held.items():
                if on_side == phone:
                    fresh[request.side(side).code] = code
        return rewritten(request, codes=fresh)

    def _fresh_code(self, phone: Phone) -> str:
        if not self.codes.can_refresh:
            return self.codes.code_for(phone)
        self.record.refetched += 1
        return self.codes.refresh(phone)

    def again_with_fresh_codes(self, answer: Answer) -> OperationRequest:
        """The answered request once more, with fresh codes where it carried valid ones when it was sent (a wrong
        answer that depends on the state of the account or the numbers is reproduced before blame)."""
        if not answer.held_codes:
            return answer.request
        try:
            return self.with_fresh_codes(answer.request, dict(answer.held_codes))
        except CodeBudgetSpent:
            raise
        except (CodeUnavailable, CodeSourceBroken):
            return answer.request

    # -- what a case's judgement says --

    def suspect(self, answer: Answer, expected: set[int], resent: Resent | None) -> Suspect | None:
        """For a case whose answer is wrong: the code source it hinges on (SOURCE for a fresh code from the command
        refused again; STATIC for a static code refused by a business case), or None when the wrong answer is the
        target's whatever the codes."""
        if resent is not None:
            return Suspect(SOURCE, resent.phone.key) if resent.refused_again else None
        if self.codes is None or self.codes.can_refresh or expected & self._not_about_codes:
            return None
        held = self.held(answer.request)
        side = self.refused_side(answer, held)
        if side is None or self._static_code_passed(held[side], side):
            return None
        return Suspect(STATIC, held[side].key)

    def _is_business(self, answer: Answer) -> bool:
        """A documented code other than success and the sides' refusals: an answer about the numbers."""
        code = answer.code
        if not isinstance(code, int) or isinstance(code, bool) or code not in self.operation.codes:
            return False
        refusals = {self.operation.code_named(name) for name in REFUSAL_NAMES.values()}
        return code != self.operation.success_code and code not in refusals

    def _static_code_passed(self, phone: Phone, side: str) -> bool:
        """Whether an earlier answer shows the target accepted the static code of phone on this side: that request
        sent once more with a wrong code there (no SMS spent) is refused for it, so the target checks the code before
        the answer it gave, and the static code passed that check. Asked once a number; remembered in the ledger."""
        record = self.record.static_of(phone.key)
        if record.accepted:
            return True
        key = (phone.key, side)
        earlier = self._passed_maybe.get(key)
        if earlier is None or key in self._asked_order:
            return False
        self._asked_order.add(key)
        carried = earlier.request.side(side).code
        wrong = next(code for code in (WRONG_PROBE_CODE, "111111") if code != carried)
        try:
            again = self.inner.send(rewritten(earlier.request, codes={carried: wrong}))
        except RequestCapReached:
            return False
        if again.failure is None and again.code == self.operation.code_named(REFUSAL_NAMES[side]):
            record.accepted = True
            record.passed_by_order = True
        return record.accepted


def _one_number_on_both_sides(request: OperationRequest, phone: Phone) -> bool:
    return request.side("old").phone == phone == request.side("new").phone


def source_feeds_another_system(source: str, number: str) -> str:
    """Why the run cannot judge when the target refuses every code of the [codes] source, fresh ones too."""
    return (
        f"the target refused every SMS code the [codes] {source} gave for {number}, fresh ones too: check that the "
        f"{source} reads this target's codes (the same database or environment); if it does, the target rejects "
        "valid codes"
    )
