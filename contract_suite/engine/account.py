"""The test account's state on the target, its one owner: when to ask where it is, asking, moving it back, the line
that moves it back by hand, and what a case reports of it.

The one place, besides the cases that change the account on purpose, that sends requests meant to change it: the
restore after those cases, and the repair after a target wrongly reports success, changes the account on an error
answer, or an answer was lost. Each says in words what state the account is in and, when it cannot fix it, how to
fix it by hand.

Where the account is, is asked with a request from a number to itself (it changes nothing): the number the
account holds is registered, its own included ("new phone already registered"); any other number is not the
account's ("original phone incorrect"). That question is a case too: answered with success, it breaks the contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from contract_suite.engine.evidence import SOMEONE_ELSE, SOURCE, Failure, Suspect
from contract_suite.engine.exchange import Answer, OperationRequest, change_values
from contract_suite.engine.gateway import refused_by_gateway
from contract_suite.engine.judging import judge
from contract_suite.engine.refused_codes import RefusedCodes
from contract_suite.engine.reproduce import reproduction
from contract_suite.engine.run import Run
from contract_suite.http.transport import RequestCapReached
from contract_suite.outcomes import CannotJudge, NotJudged
from contract_suite.target_data.profile import Phone
from contract_suite.target_data.sms_codes import CodeSourceBroken, CodeUnavailable, code_source_failed

IN_STEP, MOVED, UNKNOWN = "in step", "moved", "unknown"


@dataclass
class Whereabouts:
    """What the target said of where the account is."""

    holds: Phone | None  # the number it answered to; None: none of those asked, or it would not say
    asked: list[Phone] = field(default_factory=list)
    denied: list[Phone] = field(default_factory=list)  # the numbers it said the account does not hold
    wrong: list[Failure] = field(default_factory=list)  # questions the target answered against the contract


@dataclass
class Repair:
    """What the suite did about an account a target may have moved, and what to say."""

    done: bool  # the account is where the profile says (it never moved, or the suite moved it back)
    words: str  # for the case's failure message (may be several lines)
    stop: str | None = None  # one line: the run must stop, the account is not where it should be
    wrong: list[Failure] = field(default_factory=list)  # contract failures found on the way
    where: str = ""  # when the account did not move: what asking said of where it is (words is then empty)
    someone_else: bool = False  # a change no request of this run made: the case's answer may be its doing


@dataclass
class MovedBack:
    """What became of one move of the account back to its own number."""

    done: bool  # the account holds its own number again
    words: str  # what happened (done), else the lines that move it back by hand
    line: str = ""  # not done: the one line that moves it back by hand, for the verdict
    request: OperationRequest | None = None  # the request sent, when one was
    answer: Answer | None = None  # its answer
    answered: str = ""  # when it was not success: what it answered, in words (masked)


@dataclass(frozen=True)
class ByHand:
    """How to move the account back by hand: several lines for a failure, one for the verdict."""

    text: str
    line: str


class AccountKeeper:
    def __init__(self, run: Run, sender: RefusedCodes):
        self.run = run
        self.codes = run.codes
        self.sender = sender  # the top of the run's sending stack, the owner of fresh codes for a request sent again
        self.operation = run.operation
        self.profile = run.settings.profile
        self.checked = False
        self.question_failed = False  # the target answered "where is the account?" with success (reported once)

    @property
    def account(self) -> Phone | None:
        return self.profile.account

    @property
    def token(self) -> str | None:
        return self.run.tokens.get("valid")

    def move_request(
        self, old: Phone, old_code: str, new: Phone, new_code: str, changes_account: bool = False
    ) -> OperationRequest:
        """The primary operation's request moving the account from old to new, with the valid token."""
        values = change_values(self.operation, old, old_code, new, new_code)
        return self.run.request(values, self.token, changes_account=changes_account)

    # -- where is the account? --

    def ask(self, phone: Phone) -> tuple[bool | None, Answer, Failure | None]:
        """Does the account hold phone? (True, False, or None: the answer says neither), the answer, and the
        failure message when the target answered the question with success."""
        code = self.codes.code_for_probe(phone)
        answer = self.sender.send(self.move_request(phone, code, phone, code))  # a refused valid code: again
        got = answer.code
        if answer.failure is None and got == self.operation.code_named("old-phone-incorrect"):
            return False, answer, None
        if answer.failure is None and got == self.operation.code_named("new-phone-registered"):
            return True, answer, None
        if answer.failure is None and got == self.operation.success_code:
            self.codes.consumed(phone)  # the target said success: were the codes valid, they are spent
            rule = (
                f"asked where the test account is: {phone} as both original and new phone (a number the account "
                "holds is registered, its own included; any other is not the account's)"
            )
            incorrect = self.operation.code_named("old-phone-incorrect")
            expected = {self.operation.code_named("new-phone-registered"), incorrect}
            first, self.question_failed = not self.question_failed, True
            return None, answer, judge(answer, expected, rule, self.run.secrets) if first else None
        return None, answer, None

    def state(self) -> tuple[str, Answer | None, Failure | None]:
        """Is the account on the profile's number: IN_STEP, MOVED or UNKNOWN; the answer; a contract failure."""
        holds, answer, wrong = self.ask(self.account)
        return {True: IN_STEP, False: MOVED, None: UNKNOWN}[holds], answer, wrong

    def locate(self, candidates: list[Phone]) -> Whereabouts:
        """Ask the account's own number, then each candidate, until the target says which one it holds."""
        found = Whereabouts(None)
        for phone in dict.fromkeys([self.account, *candidates]):
            if phone is None or any(not c.isprintable() for c in phone.key):
                continue  # a number holding control characters: no SMS could reach it, so no code to ask with
            found.asked.append(phone)
            holds, _, wrong = self.ask(phone)
            if wrong:
                found.wrong.append(wrong)
            if holds is False:
                found.denied.append(phone)
            if holds:
                found.holds = phone
                break
        return found

    def ensure_in_step(self) -> Failure | None:
        """Once per run, before the first case that uses the account: stop the run (exit 2) when the account
        is not on the profile's number, instead of blaming the contract for every case. The question's failure
        (for the case that needed it asked), when the target answered it against the contract."""
        if self.checked or self.account is None or self.token is None:
            return None
        self.checked = True
        try:
            found, _, wrong = self.state()
        except CodeUnavailable:
            return None  # no code for the account: its cases skip, naming the key to add
        except CodeSourceBroken as exc:
            raise self.run.stop(code_source_failed(exc)) from None
        except RequestCapReached as exc:
            raise NotJudged(str(exc), needs="a higher --max-requests") from None
        if found == MOVED:
            raise self.run.stop(self.out_of_step(during_run=False))
        return replace(wrong, rule=f"before this case, {wrong.rule}") if wrong else None

    def confirm_out_of_step(self) -> None:
        """A case that sent the account's own number as original phone was told it is not the account's: ask
        again; when the account has moved, stop the run (no case of this run moved it: each that could was
        followed by a check), else the case's failure stands."""
        if self.account is None:
            return
        found, _, _ = self.state()
        if found == MOVED:
            raise self.run.stop(self.out_of_step(during_run=self.checked))

    def out_of_step(self, during_run: bool) -> str:
        account = self.account
        told = self.operation.describe(self.operation.code_named("old-phone-incorrect"))
        if during_run:
            return self.changed_by_someone_else(
                f"it no longer holds {account} (the target answers {told} to a request from it), and no request of "
                f"this run moved it; once the other user is done, move it back to {account}"
            )
        return (
            f"the test account does not hold {account}: the target answers {told} to a request from it. "
            f"Set [account] in the profile to the number it holds now, or move it back to {account} "
            "(an interrupted run prints the line that does it)"
        )

    # -- after a case's answers: when to ask, and what the case then reports --

    def could_move(self, request: OperationRequest) -> bool:
        """Whether a request could have moved the account: the valid token, the account's number as original
        phone, and another number (of any shape) as new phone. Whatever its faults, a broken target may act on it."""
        account = self.account
        if account is None or self.token is None or not request.carries_token or request.token != self.token:
            return False
        if self.question_failed:
            return False  # the target answers "where is the account?" with success: asking again tells nothing
        new = request.side("new").phone
        return request.side("old").phone == account and new is not None and new != account and new.phone.strip()

    def after_answer(self, answer: Answer, expected: set[int], failure: Failure | None, rule: str) -> list[Failure]:
        """The case's failures (its own `failure` among them) once the test account was looked after: after a
        success the case did not expect, asked where it is and moved back where the suite may; after an error
        answer to a request that could have moved it, asked whether it is still on its number."""
        got = answer.code
        incorrect, success = self.operation.code_named("old-phone-incorrect"), self.operation.success_code
        if (
            failure is not None
            and got == incorrect
            and incorrect not in expected
            and answer.request.side("old").phone == self.account
        ):
            self.confirm_out_of_step()  # stops the run when someone else moved the account
        if got == success and success not in expected:
            repair = self._repair_after(answer, success=True)
        elif answer.failure is None and got != success and self.could_move(answer.request):
            repair = self._repair_after(answer, success=False)
        else:
            return [failure] if failure else []
        if repair.words and got != success and failure is None and not repair.someone_else:  # an error moved it
            failure = Failure(
                self.run.secrets.mask(
                    f"{rule}: the target answered {self.operation.describe(got)}, an error, yet the test account "
                    "moved (an error answer must change nothing)"
                ),
                **reproduction(answer.request, self.run.secrets).failure_fields(),
            )
        return self.failures(repair, [failure] if failure else [])

    def after_burst(self, answers: list[Answer], found: list[Failure], won: int) -> list[Failure]:
        """The failures of one change sent several times at once, once the account was looked after: after a
        success, moved back with fresh codes (restore()); with none, asked whether it moved all the same (an error
        answer changes nothing), and moved back where the suite may."""
        request = answers[0].request
        if won:
            old, new = request.side("old").phone, request.side("new").phone
            self.codes.consumed(old, new)
            _, _, restore_failure = self.restore(new)
            if restore_failure is None:
                return [f.also(f"the suite moved the test account back from {new} to {old}") for f in found]
            return [*found, restore_failure]
        if found and self.could_move(request):
            # a burst's 5174 may be its partner's doing (the partner moved the account first): not someone else's
            return self.failures(self._repair_after(answers[0], success=False, alone=False), found)
        return found

    def after_lost(self, request: OperationRequest, message: str, could: str) -> list[Failure]:
        """An answer lost to a request that could have moved the account: find where it is and put it back. The
        contract failures found on the way (the case fails with them); else CannotJudge: the case cannot be judged,
        and the run stops when the account could not be put back."""
        repair = self.after_lost_answer(request)
        message += f"; {could}: {repair.words}"
        if not repair.done:  # the account may be away: nothing more is sent, the verdict says how to put it back
            stopped = self.run.stop(f"{message.splitlines()[0]}; {repair.stop or repair.words}")
            if not repair.wrong:
                raise stopped
        if repair.wrong:
            return [*repair.wrong[:-1], repair.wrong[-1].also(f"({message})")]
        raise CannotJudge(message)

    def failures(self, repair: Repair, found: list[Failure]) -> list[Failure]:
        """The one place where what the suite did about the account becomes the case's failures: the first says
        where the account is (moved, and what the suite did; or still on its number), then the questions the
        target answered against the contract. The run stops when the account is not where it should be."""
        if repair.someone_else:
            if not found:
                raise self.run.stop(repair.stop)  # the case cannot be judged: its state was someone else's
            # the case's wrong answer may be the other user's doing: the verdict weighs it (exit 2 if it is all)
            found = [replace(f, suspect=SOMEONE_ELSE) for f in found]
        if repair.stop:
            self.run.stop(repair.stop)
        said = (repair.words or repair.where).splitlines()
        return ([found[0].also(*said)] if found else []) + found[1:] + repair.wrong

    def _repair_after(self, answer: Answer, success: bool, alone: bool = True) -> Repair:
        """after_unexpected_success or after_error_answer; when the account cannot be asked after, say so."""
        request = answer.request
        try:
            if success:
                return self.after_unexpected_success(request)
            return self.after_error_answer(answer, answer.code if alone else None)
        except (RequestCapReached, CodeSourceBroken) as exc:
            cannot = f"the suite cannot ask where the test account is: {self.run.secrets.mask(str(exc))}"
            if not success:  # an error answer: nothing says the account moved
                return Repair(True, "", where=cannot)
            words = self.by_hand(request.side("new").phone, cannot)
            return Repair(False, words.text, stop=words.line)

    def after_error_answer(self, answer: Answer, answered: object = None) -> Repair:
        """An error answer must change nothing: ask whether the account is still on its number. When it is (or the
        target will not say), a Repair with no words saying so in `where`. When it moved to the request's new
        phone, the suite blames only what reproduces: it moves the account back, sends the request once more with
        fresh SMS codes and asks again. A move no request of the run could have made (the account on neither its
        number nor the new phone, or a move that does not happen again) is someone else's: the run stops."""
        request = answer.request
        held = dict(answer.held_codes)  # the codes it carried that the run held valid (a success may spend them)
        found, _, wrong = self.state()
        if found != MOVED:
            said = f"the test account still holds {self.account}" if found == IN_STEP else "the target would not say"
            return Repair(True, "", wrong=[wrong] if wrong else [], where=f"asked where the account is: {said}")
        new = request.side("new").phone
        where = self.locate([new])
        questions = [*([wrong] if wrong else []), *where.wrong]
        if where.holds is None and new in where.denied:
            return self._someone_else(
                f"it no longer holds {self.account} and does not hold {new} (the new phone of the request the "
                "target answered with an error), and no request of this run moved it",
                questions,
            )
        if answered == self.operation.code_named("old-phone-incorrect") and request.side("old").phone == self.account:
            return self._someone_else(  # the target said the account was not on its number when this came
                f"it no longer held {self.account} when a request from it came (the target answered "
                f"{self.operation.describe(answered)}), and no request of this run moved it",
                questions,
            )
        if where.holds == self.account:
            return self._someone_else(
                f"it was away from {self.account} after a request the target answered with an error and back on it "
                "a moment later, and no request of this run moved it",
                questions,
            )
        what_happened = "the account moved although the target answered an error"
        if where.holds != new or new is None:
            repair = self._put_back(where, new, what_happened)
        else:
            repair = self._reproduce(request, held, new, f"{what_happened}: the account moved to {new}")
        repair.wrong = questions + repair.wrong
        return repair

    def _reproduce(self, request: OperationRequest, held: dict[str, Phone], new: Phone, lead: str) -> Repair:
        """The account moved to `new` after an error answer: move it back, send the request once more with fresh
        codes where it carried valid ones, and ask again. Moved again: reproduced (the case's failure stands).
        Not moved: someone else's doing (the run stops, exit 2)."""
        asked = f"{lead} (asked: {self.account} and {new})"
        moved = self._move_back(new)
        if not moved.done:
            return Repair(False, f"{asked}; {moved.words}", stop=f"{asked}; {moved.line}")
        try:
            again = replace(self.sender.with_fresh_codes(request, held), changes_account=True)
        except (CodeUnavailable, CodeSourceBroken):
            return Repair(True, f"{asked}; {moved.words} (not sent again: no fresh SMS code to send it with)")
        try:
            answer = self.sender.send(again)
            found, _, _ = self.state()
        except (RequestCapReached, CodeSourceBroken, CannotJudge) as exc:
            cannot = f"not sent again: {self.run.secrets.mask(str(exc))}"
            return Repair(True, f"{asked}; {moved.words} ({cannot})")
        got = answer.code
        answered = self.operation.describe(got) if got is not None else "no envelope"
        if found != MOVED:
            return self._someone_else(
                f"it moved to {new} after a request the target answered with an error, and not when the suite "
                f"sent the same request again with fresh SMS codes ({answered}): something else changes the account",
                [],
            )
        where = self.locate([new])
        if where.holds != new:
            return self._someone_else(
                f"it no longer holds {self.account} and, sent again, the request did not move it to {new}", where.wrong
            )
        back = self._move_back(new)
        words = f"{asked}; {moved.words}; sent again with fresh SMS codes ({answered}), it moved again (reproduced)"
        if back.done:
            return Repair(True, f"{words}; {back.words}", wrong=where.wrong)
        return Repair(False, f"{words}; {back.words}", stop=f"{words}; {back.line}", wrong=where.wrong)

    def _someone_else(self, detail: str, wrong: list[Failure]) -> Repair:
        """The test account was changed by someone else: the run stops (exit 2), saying so."""
        line = self.changed_by_someone_else(detail)
        return Repair(False, line, stop=line, wrong=wrong, someone_else=True)

    def changed_by_someone_else(self, detail: str) -> str:
        """The line that says so (the run notes that someone else uses the account)."""
        self.run.ledger.account_moved_by_someone_else = True
        return (
            f"the test account was changed by someone else during the run: {detail}; another run or a person is "
            "using the account (give each pipeline its own account, or run them one after another)"
        )

    def after_unexpected_success(self, request: OperationRequest) -> Repair:
        """The target reported success to a request that should have failed: ask where the account is, then
        say so, moving it back where the suite may."""
        account = self.account
        old, new = request.side("old").phone, request.side("new").phone
        self.codes.consumed(*[p for p in (old, new) if p is not None])  # a success spends its codes
        if account is None or new is None:
            return Repair(False, "the target reported success: check the test account's phone by hand")
        if new == account:
            return Repair(True, f"the target reported success; the account should still hold {account}")
        where = self.locate([new])
        if where.holds == account:
            return Repair(
                True,
                f"the target reported success, but nothing changed: the account still holds {account} "
                f"(and {new} is not the account's)",
                wrong=where.wrong,
            )
        repair = self._put_back(where, new, "the target reported success")
        repair.wrong = where.wrong
        return repair

    def after_lost_answer(self, request: OperationRequest) -> Repair:
        """The answer to a request that could change the account was lost: find out where the account is, and
        put it back."""
        account = self.account
        old, new = request.side("old").phone, request.side("new").phone
        other = new if new != account else old  # where the account may be now (a restore: where it was)
        if account is None or other is None or other == account:
            return Repair(True, "the request could not move the account")
        try:
            where = self.locate([other])
        except (CodeSourceBroken, RequestCapReached, CannotJudge) as exc:
            return self._by_hand(other, f"the suite cannot tell: {self.run.secrets.mask(str(exc))}")
        if where.holds == account:
            return Repair(True, f"the test account holds {account}, as it should", wrong=where.wrong)
        repair = self._put_back(where, other, "the answer was lost")
        repair.wrong = where.wrong
        return repair

    # -- putting it back: one move-back procedure, for the restore after a case's change and for every repair --

    def restore(self, moved_to: Phone) -> tuple[OperationRequest | None, Answer | None, Failure | None]:
        """Move the test account back to its number from moved_to, where a case moved it on purpose: the request,
        its answer, and when it failed, the failure (recorded), saying where the account is; the run stops, with
        the line that moves it back by hand, when it is not on its number. A lost answer: CannotJudge when the
        account is home all the same, else the run stops."""
        account = self.account
        moved = self._move_back(moved_to)
        if moved.answer is None or moved.answer.failure is not None or refused_by_gateway(moved.answer):
            why = moved.answered or "it could not be sent"
            message = f"cannot judge this case: moving the test account back from {moved_to} to {account}: {why}"
            if moved.done:
                raise CannotJudge(f"{message}; {moved.words}")
            raise self.run.stop(f"{message}; {moved.line}")
        if moved.answer.code == self.operation.success_code:
            return moved.request, moved.answer, None
        lead = f"RESTORE FAILED: moving the test account back from {moved_to} to {account} answered {moved.answered}"
        if moved.done:  # back home without the suite's restore: the change did not happen, or someone moved it
            failure = Failure(
                lead,
                more=(
                    f"Asked, the account holds {account}: it is where the profile says, although the target reported "
                    f"the change to {moved_to}: the change did not happen, or someone else moved it back",
                ),
                suspect=SOMEONE_ELSE,
            )
        else:
            self.run.stop(f"{lead}; {moved.line}")
            # refused for its codes, fetched a moment before: the codes' source may be shared with someone else
            got = moved.answer.code
            refused = {
                self.operation.code_named(n): p
                for n, p in (("old-phone-verification-failed", moved_to), ("new-phone-verification-failed", account))
            }
            suspect = Suspect(SOURCE, refused[got].key) if got in refused and self.codes.can_refresh else None
            failure = Failure(lead, more=tuple(moved.words.splitlines()), suspect=suspect)
        self.run.ledger.failed(failure)
        return moved.request, moved.answer, failure

    def _put_back(self, where: Whereabouts, suspect: Phone | None, what_happened: str) -> Repair:
        account = self.account
        asked = " and ".join(str(p) for p in where.asked) or "nothing (no number to ask with)"
        moved_to = where.holds
        if moved_to is None and suspect is not None and suspect not in where.denied and suspect != account:
            moved_to = suspect  # the target would not say (its answers to the question are no answer): try
        if moved_to is None or moved_to == account:
            return self._by_hand(
                suspect or account,
                f"{what_happened}, and the account answers to none of the numbers the suite asked ({asked})",
            )
        moved = self._move_back(moved_to)
        if where.holds:
            lead = f"{what_happened}: the account moved to {moved_to} (asked: {asked})"
        else:
            told = [f"{phone}: not the account's" for phone in where.denied]
            told += [f"{phone}: no clear answer" for phone in where.asked if phone not in where.denied]
            if moved_to not in where.asked:
                told.append(f"{moved_to}: cannot be asked (no SMS code reaches a number with control characters)")
            lead = f"{what_happened}, so the account may have moved to {moved_to} ({'; '.join(told)})"
        if moved.done:
            return Repair(True, f"{lead}; {moved.words}")
        return Repair(False, f"{lead}; {moved.words}", stop=f"{lead}; {moved.line}")

    def _move_back(self, moved_to: Phone) -> MovedBack:
        """Move the account from moved_to back to its own number with fresh codes; when that does not answer
        success, ask where it is."""
        account = self.account
        if not self.run.settings.destructive_allowed:
            words = self.by_hand(
                moved_to, f"the suite changes nothing on {self.run.base_url} without --allow-destructive"
            )
            return MovedBack(False, words.text, words.line)
        self.codes.consumed(account, moved_to)  # the codes the change was sent with are spent
        try:
            request = self.move_request(
                moved_to, self.codes.code_for(moved_to), account, self.codes.code_for(account), changes_account=True
            )
            back = self.sender.send(request)
        except (CodeUnavailable, CodeSourceBroken, RequestCapReached, CannotJudge) as exc:
            words = self.by_hand(moved_to, f"cannot move it back: {self.run.secrets.mask(str(exc))}")
            return MovedBack(False, words.text, words.line)
        got = back.code
        if got == self.operation.success_code:
            self.codes.consumed(account, moved_to)
            return MovedBack(
                True, f"the suite moved the test account back from {moved_to} to {account}", "", request, back
            )
        if back.failure is not None:
            what = self.run.secrets.mask(back.failure.detail)
        else:
            what = self.run.secrets.mask(self.operation.describe(got) if got is not None else f"HTTP {back.status}")
        try:  # a move back that failed: where is the account now?
            where = self.locate([moved_to])
        except (CodeUnavailable, CodeSourceBroken, RequestCapReached, CannotJudge):
            where = Whereabouts(None)
        if where.holds == account:
            self.codes.consumed(account, moved_to)  # it moved back, whatever the answer said: its codes are spent
            return MovedBack(
                True, f"moving it back answered {what}, but the account holds {account} again", "", request, back, what
            )
        now = f"asked, the account holds {where.holds}" if where.holds else "asked, it answers to neither number"
        words = self.by_hand(moved_to, f"moving it back answered {what}; {now}")
        return MovedBack(False, words.text, words.line, request, back, what)

    def by_hand(self, moved_to: Phone, why: str) -> ByHand:
        account = self.account
        placeholder = "<fresh-code>"  # shown as a shell variable to fill in
        request = self.move_request(moved_to, placeholder, account, placeholder)
        shown = self.run.secrets.copy()
        shown.add(placeholder, "sms-code")
        again = reproduction(request, shown)
        command, note_text = again.command, again.masked
        lead = (
            f"THE TEST ACCOUNT MAY NOW HOLD {moved_to}; {why}. Set it back to {account} by hand, with fresh "
            "SMS codes for both numbers"
        )
        return ByHand(
            text=f"{lead}:\n  {command}" + (f"\n  {note_text}" if note_text else ""),
            line=f"{lead}: {command}" + (f" {note_text}" if note_text else ""),
        )

    def _by_hand(self, moved_to: Phone, why: str) -> Repair:
        words = self.by_hand(moved_to, why)
        return Repair(False, words.text, stop=words.line)
