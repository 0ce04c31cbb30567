"""The test account's state on the target: checking it is where the profile says, and putting it back.

The one place, besides the success case itself, that sends requests meant to change the account: the repair
after a target wrongly reports success, and the check after an answer was lost. Each says in words what state
the account is in and, when it cannot fix it, how to fix it by hand.
"""

from __future__ import annotations

from contract_suite.codes import CodeSource, CodeSourceBroken, CodeUnavailable
from contract_suite.profile import Phone
from contract_suite.run import CannotJudge, Run
from contract_suite.transport import Answer, Request, RequestCapReached
from contract_suite.verdict import envelope_code, reproduce_lines

IN_STEP, MOVED, UNKNOWN = "in step", "moved", "unknown"


class AccountKeeper:
    def __init__(self, run: Run, codes: CodeSource):
        self.run = run
        self.codes = codes
        self.contract = run.contract
        self.profile = run.settings.profile
        self.checked = False

    @property
    def account(self) -> Phone | None:
        return self.profile.account

    @property
    def token(self) -> str | None:
        return self.profile.tokens.get("valid")

    def change_request(self, old: Phone, old_code: str, new: Phone, new_code: str) -> Request:
        return self.run.request(self.contract.change_request(old, old_code, new, new_code), self.token)

    def phone_in(self, request_params: dict[str, str], side: str) -> Phone | None:
        ic = request_params.get(self.contract.parameter_with_role(f"{side}.international_code").name)
        number = request_params.get(self.contract.parameter_with_role(f"{side}.phone").name)
        return Phone(ic, number) if ic and number else None

    # -- is the account where the profile says? --

    def state(self) -> tuple[str, Answer | None]:
        """Ask the target, without changing anything: the account's own number as both original and new phone,
        with its valid code. In step: "new phone already registered" (its own); not the account's: "original
        phone incorrect". Any other answer says nothing either way."""
        account = self.account
        code = self.codes.code_for(account)
        answer = self.run.send(self.change_request(account, code, account, code))
        if answer.failure is not None:
            return UNKNOWN, answer
        got = envelope_code(answer)
        if got == self.contract.code_named("old-phone-incorrect"):
            return MOVED, answer
        if got == self.contract.success_code:
            self.codes.consumed(account)  # the target said success: the code is spent, the account unmoved
        return IN_STEP, answer

    def ensure_in_step(self) -> None:
        """Once per run, before the first case that uses the account: stop the run (exit 2) when the account
        is not on the profile's number, instead of blaming the contract for every case."""
        if self.checked or self.account is None or self.token is None:
            return
        self.checked = True
        try:
            found, _ = self.state()
        except CodeUnavailable:
            return  # no code for the account: its cases skip, naming the key to add
        if found == MOVED:
            raise self.run.stop(self.out_of_step())

    def confirm_out_of_step(self) -> None:
        """A case that sent the account's own number as original phone was told it is not the account's: ask
        again; when the account has moved, stop the run (stale test data), else the case's failure stands."""
        if self.account is None:
            return
        found, _ = self.state()
        if found == MOVED:
            raise self.run.stop(self.out_of_step())

    def out_of_step(self) -> str:
        account = self.account
        return (
            f"the test account does not hold {account}: the target answers "
            f"{self.contract.describe(self.contract.code_named('old-phone-incorrect'))} to a request from it. "
            f"Set [account] in the profile to the number it holds now, or move it back to {account} "
            "(an interrupted run prints the line that does it)"
        )

    # -- putting it back --

    def move_back(self, moved_to: Phone) -> tuple[bool, str]:
        """Move the account from moved_to back to its own number with fresh codes: (done, what happened)."""
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
            back = self.run.send(request)
        except (CodeUnavailable, CodeSourceBroken, RequestCapReached, CannotJudge) as exc:
            return False, self.by_hand(moved_to, f"cannot move it back: {self.run.secrets.mask(str(exc))}")
        got = envelope_code(back)
        if got == self.contract.success_code:
            self.codes.consumed(account, moved_to)
            return True, f"the suite moved the test account back from {moved_to} to {account}"
        what = self.run.secrets.mask(back.failure.detail) if back.failure else self.contract.describe(got)
        return False, self.by_hand(moved_to, f"moving it back answered {what}")

    def by_hand(self, moved_to: Phone, why: str) -> str:
        account = self.account
        placeholder = "<fresh-code>"  # shown as a shell variable to fill in
        request = self.change_request(moved_to, placeholder, account, placeholder)
        shown = self.run.secrets.copy()
        shown.add(placeholder, "sms-code")
        lines = "\n".join(reproduce_lines(request, shown))
        return (
            f"THE TEST ACCOUNT MAY NOW HOLD {moved_to}; {why}. Set it back to {account} by hand, with fresh "
            f"SMS codes for both numbers:\n{lines}"
        )

    def repair_after_unexpected_success(self, sent: Request, params: dict[str, str]) -> tuple[bool, str]:
        """The target reported success to a request that should have failed: the account may have moved.
        (done or nothing to do, what to say)."""
        account = self.account
        old, moved_to = self.phone_in(params, "old"), self.phone_in(params, "new")
        self.codes.consumed(*[p for p in (old, moved_to) if p is not None])  # a success spends its codes
        if account is None or moved_to is None:
            return False, "the target reported success: check the test account's phone by hand"
        if moved_to == account:
            return True, f"the target reported success; the account should still hold {account}"
        done, what = self.move_back(moved_to)
        return done, f"the target reported success, so the account may have moved to {moved_to}: {what}"

    def after_lost_answer(self, params: dict[str, str]) -> tuple[bool, str]:
        """The answer to a request that could change the account was lost: find out where the account is, and
        put it back. (the account is where the profile says, what to say)"""
        account = self.account
        old, new = self.phone_in(params, "old"), self.phone_in(params, "new")
        other = new if new != account else old  # where the account may be now (a restore: where it was)
        if account is None or other is None or other == account:
            return True, "the request could not move the account"
        try:
            found, _ = self.state()
        except (CodeUnavailable, CodeSourceBroken, RequestCapReached, CannotJudge) as exc:
            return False, self.by_hand(other, f"the suite cannot tell: {self.run.secrets.mask(str(exc))}")
        if found == IN_STEP:
            return True, f"the test account holds {account}, as it should"
        if found == UNKNOWN:
            return False, self.by_hand(other, "the target does not answer, so the suite cannot tell")
        done, what = self.move_back(other)
        return done, f"the test account is not on {account}: {what}"
