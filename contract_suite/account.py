"""The test account's state on the target: where it is, asked from outside, and putting it back.

The one place, besides the success case itself, that sends requests meant to change the account: the repair
after a target wrongly reports success or changes the account on an error answer, and after an answer was lost.
Each says in words what state the account is in and, when it cannot fix it, how to fix it by hand.

Where the account is, is asked with a request from a number to itself (it changes nothing): the number the
account holds is registered, its own included ("new phone already registered"); any other number is not the
account's ("original phone incorrect"). That question is a case too: answered with success, it breaks the contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contract_suite.evidence import Failure
from contract_suite.judging import envelope_code, judge, reproduction
from contract_suite.profile import Phone
from contract_suite.run import CannotJudge, Run
from contract_suite.sms_codes import CodeSource, CodeSourceBroken, CodeUnavailable
from contract_suite.transport import Answer, Request, RequestCapReached

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


class AccountKeeper:
    def __init__(self, run: Run, codes: CodeSource):
        self.run = run
        self.codes = codes
        self.contract = run.contract
        self.profile = run.settings.profile
        self.checked = False
        self.question_failed = False  # the target answered "where is the account?" with success (reported once)

    @property
    def account(self) -> Phone | None:
        return self.profile.account

    @property
    def token(self) -> str | None:
        return self.run.tokens.get("valid")

    def change_request(self, old: Phone, old_code: str, new: Phone, new_code: str) -> Request:
        return self.run.request(self.contract.change_request(old, old_code, new, new_code), self.token)

    def phone_in(self, request_params: dict[str, str], side: str) -> Phone | None:
        ic = request_params.get(self.contract.parameter_with_role(f"{side}.international_code").name)
        number = request_params.get(self.contract.parameter_with_role(f"{side}.phone").name)
        return Phone(ic, number) if ic and number else None

    # -- where is the account? --

    def ask(self, phone: Phone) -> tuple[bool | None, Answer, Failure | None]:
        """Does the account hold phone? (True, False, or None: the answer says neither), the answer, and the
        failure message when the target answered the question with success."""
        code = self.codes.code_for_probe(phone)
        answer = self.run.send(self.change_request(phone, code, phone, code))
        got = envelope_code(answer)
        if answer.failure is None and got == self.contract.code_named("old-phone-incorrect"):
            return False, answer, None
        if answer.failure is None and got == self.contract.code_named("new-phone-registered"):
            return True, answer, None
        if answer.failure is None and got == self.contract.success_code:
            self.codes.consumed(phone)  # the target said success: were the codes valid, they are spent
            rule = (
                f"asked where the test account is: {phone} as both original and new phone (a number the account "
                "holds is registered, its own included; any other is not the account's)"
            )
            incorrect = self.contract.code_named("old-phone-incorrect")
            expected = {self.contract.code_named("new-phone-registered"), incorrect}
            first, self.question_failed = not self.question_failed, True
            return None, answer, judge(answer, self.contract, expected, rule, self.run.secrets) if first else None
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
        is not on the profile's number, instead of blaming the contract for every case. The question's failure,
        when the target answered it against the contract."""
        if self.checked or self.account is None or self.token is None:
            return None
        self.checked = True
        try:
            found, _, wrong = self.state()
        except CodeUnavailable:
            return None  # no code for the account: its cases skip, naming the key to add
        if found == MOVED:
            raise self.run.stop(self.out_of_step(during_run=False))
        return wrong

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
        told = self.contract.describe(self.contract.code_named("old-phone-incorrect"))
        if during_run:
            return (
                f"the test account no longer holds {account}: the target answers {told} to a request from it, and "
                "no case of this run moved it (someone else did, or another run on the same account); move it back "
                f"to {account}, or set [account] in the profile to the number it holds now"
            )
        return (
            f"the test account does not hold {account}: the target answers {told} to a request from it. "
            f"Set [account] in the profile to the number it holds now, or move it back to {account} "
            "(an interrupted run prints the line that does it)"
        )

    # -- after a case's answer --

    def could_move(self, request: Request, params: dict[str, str]) -> bool:
        """Whether a request could have moved the account: the valid token, the account's number as original
        phone, and another number (of any shape) as new phone. Whatever its faults, a broken target may act on it."""
        account = self.account
        if account is None or self.token is None or request.headers.get(self.run.token_header) != self.token:
            return False
        if self.question_failed:
            return False  # the target answers "where is the account?" with success: asking again tells nothing
        new = self.phone_in(params, "new")
        return self.phone_in(params, "old") == account and new is not None and new != account and new.phone.strip()

    def after_error_answer(self, params: dict[str, str]) -> Repair:
        """An error answer must change nothing: ask whether the account is still on its number. When it is (or the
        target will not say), a Repair with no words saying so in `where`; else what happened, the account moved
        back where the suite may."""
        found, _, wrong = self.state()
        if found != MOVED:
            said = f"the test account still holds {self.account}" if found == IN_STEP else "the target would not say"
            return Repair(True, "", wrong=[wrong] if wrong else [], where=f"asked where the account is: {said}")
        new = self.phone_in(params, "new")
        where = self.locate([new])
        repair = self._put_back(where, new, "the account moved although the target answered an error")
        repair.wrong = [*([wrong] if wrong else []), *where.wrong]
        return repair

    def after_unexpected_success(self, params: dict[str, str]) -> Repair:
        """The target reported success to a request that should have failed: ask where the account is, then
        say so, moving it back where the suite may."""
        account = self.account
        old, new = self.phone_in(params, "old"), self.phone_in(params, "new")
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

    def after_lost_answer(self, params: dict[str, str]) -> Repair:
        """The answer to a request that could change the account was lost: find out where the account is, and
        put it back."""
        account = self.account
        old, new = self.phone_in(params, "old"), self.phone_in(params, "new")
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

    # -- putting it back --

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
        done, words = self.move_back(moved_to)
        if where.holds:
            lead = f"{what_happened}: the account moved to {moved_to} (asked: {asked})"
        else:
            told = [f"{phone}: not the account's" for phone in where.denied]
            told += [f"{phone}: no clear answer" for phone in where.asked if phone not in where.denied]
            if moved_to not in where.asked:
                told.append(f"{moved_to}: cannot be asked (no SMS code reaches a number with control characters)")
            lead = f"{what_happened}, so the account may have moved to {moved_to} ({'; '.join(told)})"
        if done:
            return Repair(True, f"{lead}; {words}")
        return Repair(False, f"{lead}; {words.text}", stop=f"{lead}; {words.line}")

    def move_back(self, moved_to: Phone):
        """Move the account from moved_to back to its own number with fresh codes: (True, what happened), or
        (False, the by-hand words)."""
        account = self.account
        if not self.run.settings.destructive_allowed:
            return False, self.by_hand(
                moved_to, f"the suite changes nothing on {self.run.base_url} without --allow-destructive"
            )
        self.codes.consumed(account, moved_to)  # the codes the change was sent with are spent
        try:
            request = self.change_request(
                moved_to, self.codes.code_for(moved_to), account, self.codes.code_for(account)
            )
            back = self.run.send(request, retry_refusals=False)
        except (CodeUnavailable, CodeSourceBroken, RequestCapReached, CannotJudge) as exc:
            return False, self.by_hand(moved_to, f"cannot move it back: {self.run.secrets.mask(str(exc))}")
        got = envelope_code(back)
        if got == self.contract.success_code:
            self.codes.consumed(account, moved_to)
            return True, f"the suite moved the test account back from {moved_to} to {account}"
        what = self.run.secrets.mask(back.failure.detail) if back.failure else self.contract.describe(got)
        try:  # a repair that failed: where is the account now?
            where = self.locate([moved_to])
        except (CodeUnavailable, CodeSourceBroken, RequestCapReached, CannotJudge):
            where = Whereabouts(None)
        if where.holds == account:
            self.codes.consumed(account, moved_to)  # it moved back, whatever the answer said: its codes are spent
            return True, f"moving it back answered {what}, but the account holds {account} again"
        now = f"; asked, the account holds {where.holds}" if where.holds else ""
        return False, self.by_hand(moved_to, f"moving it back answered {what}{now}")

    def by_hand(self, moved_to: Phone, why: str) -> ByHand:
        account = self.account
        placeholder = "<fresh-code>"  # shown as a shell variable to fill in
        request = self.change_request(moved_to, placeholder, account, placeholder)
        shown = self.run.secrets.copy()
        shown.add(placeholder, "sms-code")
        command, note_text = reproduction(request, shown)
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


@dataclass(frozen=True)
class ByHand:
    """How to move the account back by hand: several lines for a failure, one for the verdict."""

    text: str
    line: str
