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
from contract_suite.target_data.profile import Phone
from contract_suite.target_data.sms_codes import CodeSourceBroken, CodeUnavailable

REFUSAL_NAMES = {"old": "old-phone-verification-failed", "new": "new-phone-verification-failed"}
# Expected codes of cases whose one fault is a missing parameter or the token: their answers say nothing of a code.
NOT_ABOUT_CODES = ("token-verification-failed", "user-does-not-exist")
TRIES = 4  # sends in all of a request whose valid codes the target refuses: the first, then with fresh codes
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
        fetched_for_this_use = self.codes is not None and self.codes.fresh_each_use  # fetched a moment before
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
        refused_fresh, sends = fetched_for_this_use, 1
        for _ in range(TRIES - 1):
            # Out of step with whoever voids the codes: a random moment, longer each try. Only once the target
            # accepted a code from this source: a source that feeds another system has no one to wait for.
            if refused_fresh and self.record.source_accepted:
                self._pause(self._chance.uniform(0, RETRY_PAUSE_SECONDS * 2 ** (sends - 2)))
            try:
                again = self.with_fresh_codes(request, held, refused_side=side)
            except (CodeUnavailable, CodeSourceBroken):
                break  # the case judges the answer it has; a broken source stops the run at its next use
            request, held = again, self.held(again)
            answers, sends = self._through(again, times, held), sends + 1
            self._seen(answers, held)
            now = self._refused(answers, held)
            if now is None:  # a fresh code passed where the held one was refused: codes go stale on this target
                self.codes.fresh_each_use = True
                self.record.source_accepted = True  # ...and the source's codes are this target's
                self.record.voided_between_fetch_and_use += refused_fresh
                break
            side, refused_fresh = now, True
            self.record.refused += 1
        if answers and sends > 1:
            refused = self._refused(answers, held) is not None
            answers[0] = replace(answers[0], resent=Resent(held[side], first, refused, sends))
        return answers

    def _refused(self, answers: list[Answer], held: dict[str, Phone]) -> str | None:
        """The side whose held code a burst of answers (or one) refuses, when none of them is success."""
        if any(answer.code == self.operation.success_code for answer in answers):
            return None
        return next(filter(None, (self.refused_side(a, held) for a in answers)), None)

    def _seen(self, answers: list[Answer], held: dict[str, Phone]) -> None:
        """A success to a request carrying held codes: the target accepted them."""
        if not any(a.failure is None and a.code == self.operation.success_code for a in answers):
            return
        if self.codes.can_refresh:
            self.record.source_accepted = True
        else:
            for phone in held.values():
                self.record.static_of(phone.key).accepted = True

    # -- fresh codes into a request sent before --

    def with_fresh_codes(
        self, request: OperationRequest, held: dict[str, Phone], refused_side: str | None = None
    ) -> OperationRequest:
        """The same request with a fresh code for each of its numbers whose held code it carried (a static code
        while it stays valid; CodeUnavailable once it does not); the refused side's number last, so that its code
        is the freshest when the request leaves (where someone else asks for codes for the same number, each code
        fetched voids the one before). The codes replaced are the ones the request carries: the run may hold newer
        ones since (a question about the account fetched one)."""
        ordered = sorted(held.items(), key=lambda item: item[0] == refused_side)
        fresh: dict[str, str] = {}
        for phone in {phone.key: phone for _, phone in ordered}.values():  # one fresh code per number
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
        return Suspect(STATIC, held[side].key) if side is not None else None
