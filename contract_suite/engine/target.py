"""What the hand-written cases use: the target's test data (tokens, phones, codes), one-fault requests, and
sending and judging them. Missing data skips the case naming the profile key; an unusable target or test data
is an error of the case (CannotJudge), never a contract failure."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from typing import NoReturn

import pytest

from contract_suite.engine.account import AccountKeeper
from contract_suite.engine.environment import EnvironmentCheck
from contract_suite.engine.evidence import Failure, failures_text
from contract_suite.engine.judging import envelope_code, judge, reproduction
from contract_suite.engine.refusals import Resent
from contract_suite.engine.run import Run
from contract_suite.http.transport import Answer, RequestCapReached
from contract_suite.openapi.spec import Operation
from contract_suite.outcomes import CannotJudge, NotJudged
from contract_suite.testdata.profile import ENV_OVERRIDES, Phone
from contract_suite.testdata.sms_codes import CodeSource, CodeSourceBroken, CodeUnavailable, code_source_failed

ABSENT = None  # a parameter or token given as ABSENT is left out of the request
WRONG_CODES = ("000000", "111111")
REPRODUCE_TRIES = 2  # sends again of a wrong answer about the account's state before it is blamed
# International codes the suite puts a number's digits under to make another number of them (the first that is not
# the number's own): mainland China's and Hong Kong's, both well-formed for any platform serving either.
OTHER_INTERNATIONAL_CODES = ("852", "86")


class Target:
    def __init__(self, run: Run, codes: CodeSource, account: AccountKeeper, environment: EnvironmentCheck):
        self.run = run
        self.codes = codes
        self.account = account
        self.environment = environment
        self.refusals = environment.refusals
        self.contract = run.contract
        self.profile = run.settings.profile
        self.secrets = run.secrets
        self.coverage = run.coverage

    def __repr__(self) -> str:  # nothing secret in a traceback's locals
        return f"Target({self.run.base_url!r}, profile={self.profile.source!r})"

    @property
    def base_url(self) -> str:
        return self.run.base_url

    @property
    def token_header(self) -> str:
        return self.run.token_header

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
        if phone == self.profile.account:
            self._account_in_step()
        try:
            return self.codes.code_for(phone)
        except CodeUnavailable as exc:
            raise NotJudged(f"needs an SMS code: {exc}", needs=exc.needs) from None
        except CodeSourceBroken as exc:
            raise self.run.stop(code_source_failed(exc)) from None

    def _account_in_step(self) -> None:
        """Before the first case that uses the account, the keeper checks it is on its number (once a run)."""
        wrong = self.account.ensure_in_step()
        if wrong:  # the question is a case too: its wrong answer fails the case that needed it asked
            self._fail([wrong])

    def newer_code(self, phone: Phone) -> str:
        """Have a new code sent to phone; the code before it is then void."""
        if self.codes.reusable:
            pytest.skip("not applicable: [codes] reusable = true says the static codes stay valid")
        try:
            return self.codes.refresh(phone)
        except CodeUnavailable as exc:
            raise NotJudged(f"needs a newer SMS code: {exc}", needs=exc.needs) from None
        except CodeSourceBroken as exc:
            raise self.run.stop(code_source_failed(exc)) from None

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
        old_code = override.pop("old__code") if "old__code" in override else self.code(old)
        new_code = override.pop("new__code") if "new__code" in override else self.code(new)
        params = self.contract.change_params(old, old_code, new, new_code)
        for role, value in override.items():
            params[self.contract.parameter_with_role(role.replace("__", ".")).name] = value
        return params

    def valid_request(self, contract: Operation | None = None) -> dict[str, str | None]:
        """A fully valid request. The primary operation: the account's phone to the free phone. Another
        operation: its parameters' spec examples (sent with the valid token)."""
        if contract is None or contract.primary:
            return self.change(self.phone("account"), self.phone("free"))
        lacking = [p.name for p in contract.required_parameters if p.example is None]
        if lacking:
            pytest.skip(
                f"needs values for {contract.label}: add an `example` to its parameter(s) "
                f"{', '.join(lacking)} in the spec"
            )
        return self.example_request(contract)

    def example_request(self, contract: Operation | None = None) -> dict[str, str | None]:
        """The spec's example values: used only where the profile has no data and the fault is the token
        (and for operations other than the primary one, which have no profile data)."""
        return {p.name: _text(p.example) for p in (contract or self.contract).parameters if p.example is not None}

    # -- sending and judging --

    def call(
        self,
        params: dict[str, str | None],
        token: str | None,
        changes_account: bool = False,
        contract: Operation | None = None,
    ) -> Answer:
        """Send to an operation (default: the primary one); a case whose answer is lost is an error of the case.
        An answer that may not be the endpoint's (no envelope; the valid token refused) is checked against the
        environment first: when the environment changed, the run stops (exit 2) instead of blaming the contract.
        A lost answer to a request meant to change the account (changes_account) may have moved it: the account's
        keeper finds out and puts it back, or stops the run saying how to do it by hand."""
        query = {k: v for k, v in params.items() if v is not ABSENT}
        request = self.run.request(query, token, contract=contract)
        try:
            answer = self.environment.send(request, retry_refusals=not changes_account)
        except RequestCapReached as exc:
            raise NotJudged(f"not judged: {exc}", needs="a higher --max-requests") from None
        if answer.failure is None and not (changes_account and self.run.refused_by_gateway(answer)):
            self.environment.endpoint_spoke(answer)  # CannotJudge when the environment changed
            return answer
        detail = answer.failure.detail if answer.failure else f"the gateway answered HTTP {answer.status}"
        message = f"cannot judge this case: {self.secrets.mask(detail)}"
        if changes_account and (answer.failure is None or answer.failure.lost_answer):
            could = "the request was sent and could have changed the account"
            self._fail(self.account.after_lost(query, message, could))
        raise CannotJudge(message)

    def call_at_once(self, params: dict[str, str | None], token: str, times: int) -> list[Answer]:
        """Send the same change `times` times at one moment (each on its own connection, released together), all
        meant to change the account. The answers, each the endpoint's (as call() makes sure of one's). An answer
        that did not come whole, or a gateway's refusal, leaves the case unjudged: the keeper finds where the
        account is and puts it back first (any one of them may have made the change)."""
        query = {k: v for k, v in params.items() if v is not ABSENT}
        try:
            answers = self.environment.send_at_once(self.run.request(query, token), times, self._whole)
        except RequestCapReached as exc:
            raise NotJudged(f"not judged: {exc}", needs="a higher --max-requests") from None
        lost = next((answer for answer in answers if not self._whole(answer)), None)
        if lost is None:
            for answer in answers:
                self.environment.endpoint_spoke(answer)  # CannotJudge when the environment changed
            return answers
        detail = lost.failure.detail if lost.failure else f"the gateway answered HTTP {lost.status}"
        message = f"cannot judge this case: {self.secrets.mask(detail)} (one of {times} requests sent at once)"
        self._fail(self.account.after_lost(query, message, f"any of the {times} could have changed the account"))

    def _whole(self, answer: Answer) -> bool:
        """Whether an answer came whole and is not a gateway's refusal."""
        return answer.failure is None and not self.run.refused_by_gateway(answer)

    def _fail(self, failures: list[Failure]) -> NoReturn:
        """The running case fails with these failures (recorded in its evidence)."""
        self.run.failed(*failures)
        pytest.fail(failures_text(failures), pytrace=False)

    def check_at_once(self, answers: list[Answer], others: set[int], rule: str) -> list[Failure]:
        """The failures of one valid change sent several times at once (call_at_once), recorded in the case's
        evidence: exactly one answer may be success, each other one a valid envelope carrying one of `others`.
        Then the keeper looks after the test account (moved back after a success; asked after, when none), and
        what became of it is said in the failures."""
        success = self.contract.success_code
        self.coverage.exercised({success})
        self.run.judged(rule)
        resent = self.refusals.resent(answers[0])
        codes = [envelope_code(answer) for answer in answers]
        again = ""
        if resent is None and success not in codes and set(codes) <= self._state_codes:
            # none succeeded, each told the account or a number is elsewhere: once more before blame
            burst = self.environment.send_at_once(
                self.refusals.again_with_fresh_codes(answers[0].request), len(answers), self._whole
            )
            if all(map(self._whole, burst)):
                tally = ", ".join(f"{code} x{n}" for code, n in sorted(Counter(map(json.dumps, codes)).items()))
                again = f"sent again at once with fresh SMS codes after {tally}: the same wrong answers came"
                answers, codes = burst, [envelope_code(answer) for answer in burst]
                if codes.count(success) == 1:
                    self.refusals.unreproduced += 1
        won = codes.count(success)
        found = [f for f in (judge(a, self.contract, {success, *others}, rule, self.secrets) for a in answers) if f]
        if won != 1:
            command, masked = reproduction(answers[0].request, self.secrets)
            tally = ", ".join(f"{code} x{count}" for code, count in sorted(Counter(map(json.dumps, codes)).items()))
            found.insert(
                0,
                Failure(
                    self.secrets.mask(rule),
                    expected=f"exactly one {self.contract.describe(success)}; each other one "
                    + " or ".join(self.contract.describe(code) for code in sorted(others)),
                    actual=f"{won} of {len(answers)} succeeded (answers: {tally})",
                    reproduce=command,
                    masked=masked,
                    more=(
                        f"(the same request sent {len(answers)} times at one moment, each on its own connection)",
                        *((again,) if again else ()),
                    ),
                    expected_codes=(success,),
                ),
            )
        resent = resent or self.refusals.resent(answers[0])
        suspect = self.refusals.suspect(answers[0], {success}, resent) if won == 0 and found else ""
        if suspect:
            found[0] = replace(found[0], suspect=suspect)
        try:
            found = self.account.after_burst(answers, found, won)
        finally:
            self.run.failed(*found)
        return found

    def check(
        self,
        answer: Answer,
        expected: set[int] | int,
        rule: str,
        contract: Operation | None = None,
        *,
        counts_as_judged: bool = True,
    ) -> list[Failure]:
        """The failures of this answer (none when it is a valid envelope carrying one of the expected codes of the
        operation, default the primary one), recorded in the case's evidence. counts_as_judged=False: the case
        aims at no code in particular (any of many will do), so the coverage table does not count the expected
        codes as judged by it.

        Then the test account: after a success the case did not expect, the suite asks where the account is and
        moves it back where it may; after an error answer to a request that could have moved it, it asks whether
        the account is still on its number (an error answer changes nothing)."""
        expected = {expected} if isinstance(expected, int) else set(expected)
        if counts_as_judged:
            self.coverage.exercised(expected, contract)
        self.run.judged(rule)
        failure = judge(answer, contract or self.contract, expected, rule, self.secrets)
        primary = contract is None or contract.primary  # the test account and its phone belong to the primary one
        if failure is not None and primary:
            resent = self.refusals.resent(answer)
            if resent is None and envelope_code(answer) in self._state_codes - expected:
                answer, failure = self._reproduced(answer, expected, rule)
                resent = self.refusals.resent(answer)  # the second try's own codes may have been refused
            if failure is not None:
                failure = self._with_code_refusal(answer, expected, failure, resent)
        found = self.account.after_answer(answer, expected, failure, rule) if primary else [failure] if failure else []
        self.run.failed(*found)
        return found

    @property
    def _state_codes(self) -> set[int]:
        """Answers that depend on where the account is and which numbers are taken: someone else may cause them."""
        return {self.contract.code_named(n) for n in ("old-phone-incorrect", "new-phone-registered")}

    def _reproduced(self, answer: Answer, expected: set[int], rule: str) -> tuple[Answer, Failure | None]:
        """A wrong answer that depends on the account's state, sent again once with fresh codes before blame: the
        second answer is the case's. Right the second time: someone else's doing (counted for the verdict)."""
        first, second = envelope_code(answer), answer
        for _ in range(REPRODUCE_TRIES):  # the other user's change may outlast one try: at most two
            try:
                again = self.refusals.again_with_fresh_codes(second.request)  # the last one sent: its codes
                sent = self.environment.send(again, retry_refusals=False)
            except (RequestCapReached, CodeSourceBroken):
                break
            if not self._whole(sent):
                break
            self.environment.endpoint_spoke(sent)
            second = sent
            if envelope_code(second) != first:
                break
        if second is answer:
            return answer, judge(answer, self.contract, expected, rule, self.secrets)
        failure = judge(second, self.contract, expected, rule, self.secrets)
        then = envelope_code(second)
        if failure is None or then != first:
            self.refusals.unreproduced += 1  # the state that answer told of did not last: someone else's doing
        if failure is None:
            return second, None
        said = "the same wrong answer came" if then == first else f"answered {self.contract.describe(then)}"
        return second, failure.also(f"sent again with fresh SMS codes after {self.contract.describe(first)}: {said}")

    def _with_code_refusal(
        self, answer: Answer, expected: set[int], failure: Failure, resent: Resent | None
    ) -> Failure:
        """A wrong answer that refused an SMS code the run held valid: says each try when the request was sent
        again with fresh codes, and names the code it hinges on (the verdict weighs it at the end of the run)."""
        if resent is not None:
            first = envelope_code(resent.first)
            failure = failure.also(
                f"sent {resent.sends} times: first with the SMS code held for {resent.phone}, answered "
                f"{self.contract.describe(first) if first is not None else 'no envelope'}; then each time with "
                "codes fetched a moment before"
            )
        suspect = self.refusals.suspect(answer, expected, resent)
        return replace(failure, suspect=suspect) if suspect else failure

    def expect(
        self,
        answer: Answer,
        expected: set[int] | int,
        rule: str,
        contract: Operation | None = None,
        *,
        counts_as_judged: bool = True,
    ) -> None:
        """Fail naming the rule unless the answer is a valid envelope carrying one of the expected codes."""
        failures = self.check(answer, expected, rule, contract, counts_as_judged=counts_as_judged)
        if failures:
            pytest.fail(failures_text(failures), pytrace=False)

    def require_destructive(self) -> None:
        if not self.run.settings.destructive_allowed:
            pytest.skip(
                f"changes the test account's phone on {self.base_url} (and restores it): "
                "pass --allow-destructive to run it"
            )


def _text(example) -> str:
    """A spec example as a query value: strings as they are, numbers and booleans as JSON writes them."""
    if isinstance(example, str):
        return example
    return json.dumps(example)


__all__ = ["ABSENT", "Target"]
