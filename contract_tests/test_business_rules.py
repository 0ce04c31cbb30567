"""Business rules: a fully valid request with one business fault gets that fault's documented code."""

import pytest

from contract_suite.target_data.profile import Phone


@pytest.mark.exercises("old-phone-incorrect")
def test_original_phone_not_the_accounts(target, operation):
    other = target.phone("registered")  # another account's number, with a valid code for it
    params = target.change(other, target.phone("free"))
    answer = target.call(params, target.token("valid"))
    target.expect(answer, operation.code_named("old-phone-incorrect"), f"original phone {other} is not the account's")


@pytest.mark.exercises("old-phone-verification-failed")
def test_wrong_original_phone_code(target, operation):
    account = target.phone("account")
    params = target.change(account, target.phone("free"), old__code=target.wrong_code(account))
    answer = target.call(params, target.token("valid"))
    target.expect(
        answer, operation.code_named("old-phone-verification-failed"), "wrong SMS code for the original phone"
    )


@pytest.mark.exercises("new-phone-verification-failed")
def test_wrong_new_phone_code(target, operation):
    free = target.phone("free")
    params = target.change(target.phone("account"), free, new__code=target.wrong_code(free))
    answer = target.call(params, target.token("valid"))
    target.expect(answer, operation.code_named("new-phone-verification-failed"), "wrong SMS code for the new phone")


@pytest.mark.exercises("new-phone-in-cancellation")
def test_new_phone_in_cancellation(target, operation):
    cancelling = target.phone("cancelling")
    params = target.change(target.phone("account"), cancelling)
    answer = target.call(params, target.token("valid"))
    target.expect(
        answer, operation.code_named("new-phone-in-cancellation"), f"new phone {cancelling} is in 7-day cancellation"
    )


@pytest.mark.exercises("new-phone-registered")
def test_new_phone_registered(target, operation):
    registered = target.phone("registered")
    params = target.change(target.phone("account"), registered)
    answer = target.call(params, target.token("valid"))
    target.expect(answer, operation.code_named("new-phone-registered"), f"new phone {registered} is another account's")


@pytest.mark.exercises("old-phone-incorrect")
def test_original_phone_with_another_international_code(target, operation):
    account = target.phone("account")
    elsewhere = Phone(next(ic for ic in ("852", "86") if ic != account.international_code), account.phone)
    params = target.change(elsewhere, target.phone("free"))  # the account's number, another country's code
    answer = target.call(params, target.token("valid"))
    target.expect(
        answer, operation.code_named("old-phone-incorrect"), f"original phone {elsewhere}: the account holds {account}"
    )


@pytest.mark.exercises("old-phone-verification-failed")
def test_earlier_code_is_void(target, operation):
    account = target.phone("account")
    earlier = target.code(account)
    target.newer_code(account)  # the last code sent is the one that counts
    params = target.change(account, target.phone("free"), old__code=earlier)
    answer = target.call(params, target.token("valid"))
    target.expect(
        answer,
        operation.code_named("old-phone-verification-failed"),
        "an SMS code sent before the last one for the original phone",
    )


@pytest.mark.exercises("new-phone-registered")
def test_new_phone_is_the_accounts_own(target, operation):
    account = target.phone("account")
    params = target.change(account, account)
    answer = target.call(params, target.token("valid"))
    target.expect(
        answer,
        operation.code_named("new-phone-registered"),
        f"new phone {account} is the account's own (registered, this one included)",
    )
