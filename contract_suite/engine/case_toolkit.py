"""The hand-written cases' toolkit (the `target` fixture): the target's test data (tokens, phones, codes), one-fault
requests, and sending and judging them, one change sent several times at once included. Missing data skips the case
naming the profile key; an unusable target or test data is an error of the case (CannotJudge), never a contract
failure."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import NoReturn

from contract_suite.engine.account import AccountKeeper
from contract_suite.engine.before_blame import BeforeBlame
from contract_suite.engine.environment import EnvironmentRecheck
from contract_suite.engine.evidence import Failure
from contract_suite.engine.exchange import Answer, OperationRequest, change_values
from contract_suite.engine.gateway import refused_by_gateway, whole
from contract_suite.engine.judging import judge
from contract_suite.engine.run import Run
from contract_suite.engine.stack import Stack
from contract_suite.http.transport import RequestCapReached
from contract_suite.openapi.spec import BODY, Operation
from contract_suite.outcomes import CannotJudge, CaseFailed, NotApplicable, NotJudged
from contract_suite.target_data.profile import ENV_OVERRIDES, Phone
from contract_suite.target_data.sms_codes import (
    BUDGET_NEEDS,
    CodeBudgetSpent,
    CodeSourceBroken,
    CodeUnavailable,
    code_source_failed,
)

ABSENT = None  # a parameter or token given as ABSENT is left out of the request
WRONG_CODES = ("000000", "111111")
# International codes the suite puts a number's digits under to make another number of them (the first that is not
# the number's own): mainland China's and Hong Kong's, both well-formed for any platform serving either.
OTHER_INTERNATIONAL_CODES = ("852", "86")


class CaseToolkit:
    def __init__(self, run: Run, stack: Stack):
        self.run = run
        self.codes = run.codes
        self.sender = stack.top
        self.environment = EnvironmentRecheck(run, stack.network)
        self.account = AccountKeeper(run, stack.top)
        self.before_blame = BeforeBlame(run, stack.top, self.environment, self.account)
        self.operation = run.operation
        self.profile = run.settings.profile
        self.secrets = run.secrets
        self.coverage = run.coverage

    def __repr__(self) -> str:  # nothing secret in a traceback's locals
        return f"CaseToolkit({self.run.base_url!r}, profile={self.profile.source!r})"

    @property
    def base_url(self) -> str:
        return self.run.base_url

    # -- test data, each missing piece a skip that names the profile key to add --

    def token(self, role: str) -> str:
        value = self.run.tokens.get(role)
        if not value:
            also = " or [tokens] command" if role == "valid" else ""
            raise NotJudged(
                f"needs a token: add [tokens] {role}{also} to the profile (or set {ENV_OVERRIDES[role]})",
                needs=f"[tokens] {role}",
            )
        return value

    def phone(self, role: str) -> Phone:
        if role == "account":
            if self.profile.account is None:
                raise NotJudged(
                    "needs the test account's phone: add [account] international_code and phone to the profile",
                    needs="[account]",
                )
            return self.profile.account
        found = self.profile.phones.get(role)
        if found is None:
            raise NotJudged(
                f"needs a phone: add [phones] {role} = {{ international_code = ..., phone = ... }} to the profile",
                needs=f"[phones] {role}",
            )
        return found

    def code(self, phone: Phone) -> str:
        """The SMS code the run holds for phone (asked for when it holds none): a request whose answer needs it to
        pass gets a fresh one from the sending stack only if the target refuses it."""
        if phone == self.profile.account:
            self._account_in_step()
        return self._asked(self.codes.code_for, phone, "an SMS code")

    def fresh_code(self, phone: Phone) -> str:
        """A code valid when the request leaves, for a case that sends it where the target's own refusal is the
        answer it expects (so a refusal cannot be told from a stale code): the held one, or, where codes go stale
        on this target, a newly fetched one."""
        if not (self.codes.codes_go_stale and self.codes.can_refresh):
            return self.code(phone)
        return self._asked(self.codes.refresh, phone, "a fresh SMS code")

    def _asked(self, fetch: Callable[[Phone], str], phone: Phone, what: str) -> str:
        """A code from the source: a skip naming what is missing, or the run stopped when the source failed."""
        try:
            return fetch(phone)
        except CodeUnavailable as exc:
            raise self._not_judged(f"needs {what}: {exc}", exc.needs) from None
        except CodeSourceBroken as exc:
            raise self.run.stop(code_source_failed(exc)) from None

    def _ask_at_once(self, phones: list[Phone]) -> None:
        """Codes for two numbers neither held: asked for at once (a slow SMS source costs one wait, not two); what
        goes wrong is said by code() after."""
        if self.profile.account in phones:
            self._account_in_step()  # the keeper's question first: it may fetch the account's code itself
        if sum(self.codes.held(phone) is None for phone in set(phones)) > 1:
            try:
                self.codes.codes_for(phones)
            except (CodeUnavailable, CodeSourceBroken):
                pass

    def _not_judged(self, message: str, needs: str | None) -> NotJudged:
        if needs == BUDGET_NEEDS:
            self.run.ledger.codes.budget_stopped += 1
        return NotJudged(message, needs=needs)

    def _account_in_step(self) -> None:
        """Before the first case that uses the account, the keeper checks it is on its number (once a run)."""
        with self.codes.past_budget():
            wrong = self.account.ensure_in_step()
        if wrong:  # the question is a case too: its wrong answer fails the case that needed it asked
            self.fail([wrong])

    def newer_code(self, phone: Phone) -> str:
        """Have a new code sent to phone; the code before it is then void."""
        if self.codes.reusable:
            raise NotApplicable("not applicable: [codes] reusable = true says the static codes stay valid")
        return self._asked(self.codes.refresh, phone, "a newer SMS code")

    def elsewhere(self, phone: Phone) -> Phone:
        """The same digits under another international code: another number (852, or 86 for a number of 852)."""
        return Phone(next(ic for ic in OTHER_INTERNATIONAL_CODES if ic != phone.international_code), phone.phone)

    def require_fresh_codes(self) -> None:
        """A case that changes the account on purpose needs new codes to move it back (its own are spent):
        NotJudged, naming the keys, without a [codes] command or reusable static codes."""
        if not (self.codes.can_refresh or self.codes.reusable):
            raise NotJudged(
                "needs fresh SMS codes (a successful change uses them, and the restore needs new ones): add "
                "[codes] command, or [codes] reusable = true when the static codes stay valid",
                needs="a [codes] command (or [codes] reusable = true)",
            )

    def wrong_code(self, phone: Phone) -> str:
        """A well-formed code that is not the valid one (and tells nothing about it)."""
        if phone == self.profile.account:
            self._account_in_step()
        valid = self.codes.held(phone) or self.code(phone)  # not fetched anew when one is held: it costs an SMS
        return next(c for c in WRONG_CODES if c != valid)

    def change(self, old: Phone, new: Phone, **override: str | None) -> dict[str, str | None]:
        """A request moving the account from old to new with valid codes, then the overrides (by role)."""
        # a side whose code is overridden gets none fetched: fetching sends a new SMS, voiding older codes
        needed = [phone for side, phone in (("old", old), ("new", new)) if f"{side}__code" not in override]
        self._ask_at_once(needed)
        old_code = override.pop("old__code") if "old__code" in override else self.code(old)
        new_code = override.pop("new__code") if "new__code" in override else self.code(new)
        params = change_values(self.operation, old, old_code, new, new_code)
        for role, value in override.items():
            params[self.operation.parameter_with_role(role.replace("__", ".")).name] = value
        return params

    def valid_request(self, operation: Operation | None = None) -> dict[str, str | None]:
        """A fully valid request. The primary operation: the account's phone to the free phone. Another
        operation: its parameters' spec examples (sent with the valid token)."""
        if operation is None or operation.primary:
            return self.change(self.phone("account"), self.phone("free"))
        # a body object is sent with its properties: its own example is not needed
        lacking = [
            p.name
            for p in operation.required_parameters
            if p.example is None and not (p.location == BODY and p.schema.get("type") == "object")
        ]
        if lacking:
            raise NotApplicable(
                f"needs values for {operation.label}: add an `example` to its parameter(s) "
                f"{', '.join(lacking)} in the spec"
            )
        return self.example_request(operation)

    def example_request(self, operation: Operation | None = None) -> dict[str, str | None]:
        """The spec's example values: used only where the profile has no data and the fault is the token
        (and for operations other than the primary one, which have no profile data)."""
        return {
            p.name: p.example if p.location == BODY else _text(p.example)
            for p in (operation or self.operation).parameters
            if p.example is not None
        }

    # -- sending and judging --

    def call(
        self,
        params: dict[str, str | None],
        token: str | None,
        changes_account: bool = False,
        operation: Operation | None = None,
        *,
        codes_must_pass: bool | None = None,
    ) -> Answer:
        """Send to an operation (default: the primary one); a case whose answer is lost is an error of the case.
        An answer that may not be the endpoint's (no envelope; the valid token refused) is checked against the
        environment first: when the environment changed, the run stops (exit 2) instead of blaming the contract.
        A lost answer to a request meant to change the account (changes_account) may have moved it: the account's
        keeper finds out and puts it back, or stops the run saying how to do it by hand.
        codes_must_pass: whether the answer needs the request's SMS codes to pass the target's checks (a held code
        refused is then fetched again before the answer is the case's); by default, when the request is the
        primary operation's, with the valid token and every required parameter given (a request with a missing or
        blank parameter, or a wrong token, is answered before any code is checked)."""
        request = self.run.request(_given(params), token, operation, changes_account=changes_account)
        must_pass = self._needs_codes_that_pass(request) if codes_must_pass is None else codes_must_pass
        request = replace(request, codes_must_pass=must_pass)
        try:
            answer = self.sender.send(request)
        except RequestCapReached as exc:
            raise NotJudged(f"not judged: {exc}", needs="a higher --max-requests") from None
        except CodeBudgetSpent as exc:
            raise self._not_judged(f"not judged: {exc}", exc.needs) from None
        if answer.failure is None and not (changes_account and refused_by_gateway(answer)):
            self.environment.endpoint_spoke(answer)  # CannotJudge when the environment changed
            return answer
        detail = answer.failure.detail if answer.failure else f"the gateway answered HTTP {answer.status}"
        message = f"cannot judge this case: {self.secrets.mask(detail)}"
        if changes_account and (answer.failure is None or answer.failure.lost_answer):
            could = "the request was sent and could have changed the account"
            with self.codes.past_budget():
                found = self.account.after_lost(request, message, could)
            self.fail(found)
        raise CannotJudge(message)

    def _needs_codes_that_pass(self, request: OperationRequest) -> bool:
        """The plan's default: the primary operation's request with the valid token and every required parameter
        given, not blank (its answer may come after the code checks)."""
        operation = request.operation
        if not operation.primary or request.token is None or request.token != self.run.tokens.get("valid"):
            return False
        return all((request.value(p.name) or "").strip() for p in operation.required_parameters)

    def restore(self, moved_to: Phone):
        """The keeper moves the account back from moved_to (after a case's own successful change); codes for it
        are fetched past the SMS budget. (done, words, failure) as AccountKeeper.restore."""
        with self.codes.past_budget():
            return self.account.restore(moved_to)

    def fail(self, failures: list[Failure]) -> NoReturn:
        """The running case fails with these failures (recorded in its evidence)."""
        self.run.ledger.failed(*failures)
        raise CaseFailed(failures)

    def check(
        self,
        answer: Answer,
        expected: set[int] | int,
        rule: str,
        operation: Operation | None = None,
        *,
        counts_as_judged: bool = True,
    ) -> list[Failure]:
        """The failures of this answer (none when it is a valid envelope carrying one of the expected codes of the
        operation, default the primary one), recorded in the case's evidence; counts_as_judged=False: the case aims
        at no code in particular, so the coverage table does not count them. Then the keeper looks after the account
        (contract_suite.engine.account.AccountKeeper.after_answer)."""
        expected = {expected} if isinstance(expected, int) else set(expected)
        if counts_as_judged:
            self.coverage.exercised(expected, operation)
        self.run.note_rule(rule)
        primary = operation is None or operation.primary  # the test account and its phone belong to the primary one
        spent = None
        if primary:  # a wrong answer the run's own test data or someone else may have caused: re-checked first
            try:
                answer, failure = self.before_blame.judge_one(answer, expected, rule)
            except CodeBudgetSpent as exc:  # the account is still looked after, then the case is not judged
                spent, failure = exc, None
        else:
            failure = judge(answer, expected, rule, self.secrets)
        if primary:
            with self.codes.past_budget():
                found = self.account.after_answer(answer, expected, failure, rule)
        else:
            found = [failure] if failure else []
        if spent is not None and not found:
            raise self._not_judged(f"not judged: {spent}", spent.needs)
        self.run.ledger.failed(*found)
        return found

    def expect(
        self,
        answer: Answer,
        expected: set[int] | int,
        rule: str,
        operation: Operation | None = None,
        *,
        counts_as_judged: bool = True,
    ) -> None:
        """Fail naming the rule unless the answer is a valid envelope carrying one of the expected codes."""
        failures = self.check(answer, expected, rule, operation, counts_as_judged=counts_as_judged)
        if failures:
            raise CaseFailed(failures)

    # -- one change sent several times at the same moment (the rule of state "one pair of codes changes the phone
    # once") --

    def call_at_once(self, params: dict[str, str | None], token: str, times: int) -> list[Answer]:
        """Send the same change `times` times at one moment (each on its own connection, released together), all
        meant to change the account. The answers, each the endpoint's (as call() makes sure of one's). An answer
        that did not come whole, or a gateway's refusal, leaves the case unjudged: the keeper finds where the
        account is and puts it back first (any one of them may have made the change)."""
        request = self.run.request(_given(params), token, changes_account=True)
        try:
            answers = self.sender.send_at_once(request, times)
        except RequestCapReached as exc:
            raise NotJudged(f"not judged: {exc}", needs="a higher --max-requests") from None
        except CodeBudgetSpent as exc:
            raise self._not_judged(f"not judged: {exc}", exc.needs) from None
        lost = next((answer for answer in answers if not whole(answer)), None)
        if lost is None:
            for answer in answers:
                self.environment.endpoint_spoke(answer)  # CannotJudge when the environment changed
            return answers
        detail = lost.failure.detail if lost.failure else f"the gateway answered HTTP {lost.status}"
        message = f"cannot judge this case: {self.secrets.mask(detail)} (one of {times} requests sent at once)"
        with self.codes.past_budget():
            found = self.account.after_lost(request, message, f"any of the {times} could have changed the account")
        self.fail(found)

    def check_at_once(self, answers: list[Answer], others: set[int], rule: str) -> list[Failure]:
        """The failures of one valid change sent several times at once (call_at_once), recorded in the case's
        evidence: exactly one answer may be success, each other one a valid envelope carrying one of `others`.
        Then the keeper looks after the test account (moved back after a success; asked after, when none), and
        what became of it is said in the failures."""
        self.coverage.exercised({self.operation.success_code})
        self.run.note_rule(rule)
        with self.codes.past_budget():  # a burst that may have moved the account: its re-check is a repair too
            answers, found, won = self.before_blame.judge_burst(answers, others, rule)
            try:
                found = self.account.after_burst(answers, found, won)
            finally:
                self.run.ledger.failed(*found)
        return found

    def require_destructive(self) -> None:
        if not self.run.settings.destructive_allowed:
            raise NotApplicable(
                f"changes the test account's phone on {self.base_url} (and restores it): "
                "pass --allow-destructive to run it"
            )


def _given(params: dict[str, object]) -> dict[str, object]:
    """The values a request carries: those not ABSENT, nor under an absent object ("device" absent leaves out
    "device.deviceId")."""
    absent = [name for name, value in params.items() if value is ABSENT]
    return {
        name: value
        for name, value in params.items()
        if value is not ABSENT and not any(name.startswith(f"{gone}.") for gone in absent)
    }


def _text(example) -> str:
    """A spec example as a query value: strings as they are, numbers and booleans as JSON writes them."""
    if isinstance(example, str):
        return example
    return json.dumps(example)


__all__ = ["ABSENT", "CaseToolkit"]
