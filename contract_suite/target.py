"""The target under test and the data the cases have for it: tokens, phones, codes, one-fault requests."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from contract_suite.client import ABSENT, Client, Exchange, RequestCapReached, Secrets, judge
from contract_suite.coverage import Coverage
from contract_suite.profile import CodeSource, CodeUnavailable, Phone, Profile
from contract_suite.spec import Contract

WRONG_CODES = ("000000", "111111")
TIMEOUTS_BEFORE_ABORT = 3


@dataclass
class Target:
    base_url: str
    embedded: bool
    contract: Contract
    profile: Profile
    client: Client
    codes: CodeSource
    secrets: Secrets
    coverage: Coverage
    allow_destructive: bool
    timeouts_in_a_row: int = 0

    # -- test data, each missing piece a skip that names the profile key to add --

    def token(self, role: str) -> str:
        value = self.profile.tokens.get(role)
        if not value:
            env = {"valid": "CONTRACT_TOKEN", "orphan": "CONTRACT_ORPHAN_TOKEN"}[role]
            pytest.skip(f"needs a token: add [tokens] {role} to the profile (or set {env})")
        return value

    def phone(self, role: str) -> Phone:
        if role == "account":
            if self.profile.account is None:
                pytest.skip("needs the test account's phone: add [account] international_code and phone to the profile")
            return self.profile.account
        found = self.profile.phones.get(role)
        if found is None:
            pytest.skip(f"needs a phone: add [phones] {role} = {{ international_code = ..., phone = ... }} to the profile")
        return found

    def code(self, phone: Phone) -> str:
        try:
            return self.codes.code_for(phone)
        except CodeUnavailable as exc:
            pytest.skip(f"needs an SMS code: {exc}")

    def newer_code(self, phone: Phone) -> str:
        """Have a new code sent to phone; the code before it is then void."""
        try:
            return self.codes.refresh(phone)
        except CodeUnavailable as exc:
            pytest.skip(f"needs a newer SMS code: {exc}")

    def wrong_code(self, phone: Phone) -> str:
        """A well-formed code that is not the valid one (and tells nothing about it)."""
        valid = self.code(phone)
        return next(c for c in WRONG_CODES if c != valid)

    def change(self, old: Phone, new: Phone, **override: str | None) -> dict[str, str | None]:
        """A request moving the account from old to new with valid codes, then the overrides (by role)."""
        # a side whose code is overridden gets none fetched: fetching sends a new SMS, voiding older codes
        old_code = override.pop("old__code") if "old__code" in override else self.code(old)
        new_code = override.pop("new__code") if "new__code" in override else self.code(new)
        params = self.contract.change_request(old, old_code, new, new_code)
        for role, value in override.items():
            params[self.contract.parameter_with_role(role.replace("__", ".")).name] = value
        return params

    def valid_request(self) -> dict[str, str | None]:
        """A fully valid request: the account's phone to the free phone."""
        return self.change(self.phone("account"), self.phone("free"))

    def example_request(self) -> dict[str, str | None]:
        """The spec's example values: used only where the profile has no data and the fault is the token."""
        return {p.name: p.example for p in self.contract.parameters}

    # -- sending and judging --

    def call(self, params: dict[str, str | None], token: str | None) -> Exchange:
        try:
            exchange = self.client.send(params, token)
        except RequestCapReached as exc:
            pytest.skip(str(exc))
        self.note_timeout(exchange.error is not None and exchange.error.startswith("timed out"))
        self.coverage.saw(exchange.code if exchange.is_json else None)
        return exchange

    def note_timeout(self, timed_out: bool) -> None:
        """Stop the run once the target has hung on several requests in a row: every case would wait as long."""
        self.timeouts_in_a_row = self.timeouts_in_a_row + 1 if timed_out else 0
        if self.timeouts_in_a_row >= TIMEOUTS_BEFORE_ABORT:
            pytest.exit(
                f"the target {self.base_url} timed out after {self.client.timeout:g} s on {self.timeouts_in_a_row} "
                "requests in a row: stopping the run", returncode=pytest.ExitCode.INTERRUPTED,
            )

    def check(self, exchange: Exchange, expected: set[int] | int, rule: str) -> str | None:
        """The failure message unless the answer is a valid envelope carrying one of the expected codes."""
        expected = {expected} if isinstance(expected, int) else set(expected)
        self.coverage.exercised(expected)
        failure = judge(exchange, self.contract, expected, rule, self.secrets)
        if failure and exchange.code == self.contract.success_code and self.contract.success_code not in expected:
            failure += "\n" + self.repair_after_unexpected_success(exchange)
        return failure

    def expect(self, exchange: Exchange, expected: set[int] | int, rule: str) -> None:
        """Fail naming the rule unless the answer is a valid envelope carrying one of the expected codes."""
        failure = self.check(exchange, expected, rule)
        if failure:
            pytest.fail(failure, pytrace=False)

    def repair_after_unexpected_success(self, exchange: Exchange) -> str:
        """The target said success to a faulty request: the account may have moved; move it back."""
        account = self.profile.account
        old, moved_to = self._phone_in(exchange.params, "old"), self._phone_in(exchange.params, "new")
        # a success spends the codes it was sent: later cases need fresh ones
        self.codes.consumed(*[p for p in (old, moved_to) if p is not None])
        if account is None or moved_to is None:
            return "  the target reported success: check the test account's phone by hand"
        if moved_to == account:
            return f"  the target reported success; the account should still hold {account}"
        # The change applies to the token's user, the test account, whatever original phone was sent
        # (even one left out and defaulted): take fresh codes for both of its numbers.
        self.codes.consumed(account, moved_to)
        try:
            params = self.contract.change_request(moved_to, self.codes.code_for(moved_to), account, self.codes.code_for(account))
            back = self.client.send(params, self.profile.tokens.get("valid"))
        except (CodeUnavailable, RequestCapReached) as exc:
            return f"  the target reported success, so the account may now hold {moved_to}; cannot move it back ({exc}): set it to {account} by hand"
        self.codes.consumed(account, moved_to)
        if back.code == self.contract.success_code:
            return f"  the target reported success, so the suite moved the account back from {moved_to} to {account}"
        return (
            f"  the target reported success and moving the account back from {moved_to} to {account} failed "
            f"({self.contract.describe(back.code) if back.is_json else back.error or 'not JSON'}): set it to {account} by hand"
        )

    def _phone_in(self, params: dict[str, str], side: str) -> Phone | None:
        ic = params.get(self.contract.parameter_with_role(f"{side}.international_code").name)
        number = params.get(self.contract.parameter_with_role(f"{side}.phone").name)
        return Phone(ic, number) if ic and number else None

    def require_destructive(self) -> None:
        if not (self.embedded or self.allow_destructive):
            pytest.skip(f"changes the test account's phone on {self.base_url} (and restores it): pass --allow-destructive to run it")


__all__ = ["ABSENT", "Target"]
