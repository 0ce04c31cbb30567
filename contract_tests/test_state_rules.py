"""Rules of state that no one request can show: a code verifies only its own number, the international code is part
of the number in every check, and one pair of codes changes the phone once even when the change is sent several
times at the same moment. Each case is marked with its rule (`state_rule`), which the coverage table reports; the
plugin runs them after every other case, since each builds on what those judge."""

import pytest

from contract_suite.engine.evidence import failures_text


@pytest.mark.state_rule("code-bound-to-its-number")
@pytest.mark.parametrize(
    ("side", "expected"),
    [
        pytest.param(
            "new",
            "new-phone-verification-failed",
            id="original-phones-code-as-new-phones",
            marks=pytest.mark.exercises("new-phone-verification-failed"),
        ),
        pytest.param(
            "old",
            "old-phone-verification-failed",
            id="new-phones-code-as-original-phones",
            marks=pytest.mark.exercises("old-phone-verification-failed"),
        ),
    ],
)
def test_code_verifies_only_its_own_number(target, operation, side, expected):
    account, free = target.phone("account"), target.phone("free")
    # both valid when the request leaves (fetched anew where codes go stale on this target): the refusal is the rule's
    codes = {"old": target.fresh_code(account), "new": target.fresh_code(free)}
    if codes["old"] == codes["new"]:
        pytest.skip(
            f"not applicable: the valid SMS codes of {account} and {free} are the same code, so neither can stand "
            "for the other (give the numbers different [codes] static values)"
        )
    other = "old" if side == "new" else "new"
    params = target.change(account, free, **{f"{side}__code": codes[other]})
    answer = target.call(params, target.token("valid"))
    sent_to, sent_as = (account, free) if side == "new" else (free, account)
    target.expect(
        answer,
        operation.code_named(expected),
        f"the valid SMS code {sent_to} received, sent as the code of {sent_as}: a code verifies only its own number",
    )


@pytest.mark.destructive
@pytest.mark.state_rule("international-code-in-every-check")
@pytest.mark.exercises("success")
@pytest.mark.parametrize("role", ["registered", "cancelling"], ids=["registered-digits", "cancelling-digits"])
def test_same_digits_under_another_international_code_are_free(target, operation, role):
    target.require_destructive()
    target.require_fresh_codes()
    account, taken = target.phone("account"), target.phone(role)
    elsewhere = target.elsewhere(taken)  # another country's number: nobody's, whoever holds the digits at home
    success = operation.success_code

    answer = target.call(target.change(account, elsewhere), target.token("valid"), changes_account=True)
    moved = answer.code == success
    if moved:
        target.codes.consumed(account, elsewhere)
    failures = target.check(
        answer,
        success,
        f"new phone {elsewhere} has the digits of the {role} number {taken} under another international code: "
        "it is another number, free, and the account may move to it",
    )
    if moved:
        _, _, restore_failure = target.restore(elsewhere)
        failures += [restore_failure] if restore_failure else []
    if failures:
        pytest.fail(failures_text(failures), pytrace=False)


@pytest.mark.destructive
@pytest.mark.state_rule("one-change-per-pair-of-codes")
@pytest.mark.exercises("success")
def test_one_pair_of_codes_changes_the_phone_once(target, operation, contract_settings):
    target.require_destructive()
    target.require_fresh_codes()
    times = contract_settings.concurrent_changes
    account, free = target.phone("account"), target.phone("free")
    # Once one of them made the change, each other one carries several faults at once, whatever order the server
    # checks in: its codes are used, its original phone is no longer the account's, its new phone is the account's
    # own now. Any of their codes is right; another success is not.
    after_the_change = {
        operation.code_named(name)
        for name in (
            "old-phone-verification-failed",
            "new-phone-verification-failed",
            "old-phone-incorrect",
            "new-phone-registered",
        )
    }
    answers = target.call_at_once(target.change(account, free), target.token("valid"), times)
    failures = target.check_at_once(
        answers,
        after_the_change,
        f"the same valid change from {account} to {free} sent {times} times at one moment: one pair of SMS codes "
        "changes the phone once",
    )
    if failures:
        pytest.fail(failures_text(failures), pytrace=False)
