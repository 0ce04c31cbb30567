"""Success: the account's phone really changes, proven from outside, and is put back."""

import pytest

from contract_suite.evidence import Failure, failures_text
from contract_suite.judging import envelope_code
from contract_suite.run import NotJudged


@pytest.mark.destructive
@pytest.mark.exercises("success", "old-phone-incorrect", "old-phone-verification-failed")
def test_change_is_made_and_restored(target, contract):
    target.require_destructive()
    if not (target.codes.can_refresh or target.codes.reusable):
        raise NotJudged(
            "needs fresh SMS codes (a successful change uses them, and the restore needs new ones): add "
            "[codes] command, or [codes] reusable = true when the static codes stay valid"
        )
    token = target.token("valid")
    account, free = target.phone("account"), target.phone("free")
    success, incorrect = contract.success_code, contract.code_named("old-phone-incorrect")

    answer = target.call(target.change(account, free), token, changes_account=True)  # lost: Target.call restores
    target.codes.consumed(account, free)
    target.expect(answer, success, f"valid request moving the account from {account} to {free}")

    failures = []
    back = None
    try:
        # The old number is no longer the account's: as the original phone it is now incorrect.
        proof = target.call(target.change(account, account), token)
        failures += target.check(
            proof, incorrect, f"after the change, original phone {account} must no longer be the account's"
        )
    finally:
        restore = target.change(free, account)
        back = target.call(restore, token, changes_account=True)  # lost: Target.call finds where the account is
        target.codes.consumed(account, free)
        if envelope_code(back) != success:
            failures.append(restore_failed(target, contract, back, account, free))
            target.run.failed(failures[-1])
    if envelope_code(back) == success:
        proof = target.call(target.change(free, free), token)
        failures += target.check(
            proof, incorrect, f"after the restore, original phone {free} must no longer be the account's"
        )
        if target.codes.reusable:
            target.coverage.note(
                "a code is used once: [codes] reusable = true says this target's static codes "
                "stay valid, so the used code was not sent again"
            )
        else:
            # A code is used once: the one the account's number received for the restore is spent.
            used = restore[contract.parameter_with_role("new.code").name]
            reuse = target.call(target.change(account, free, old__code=used), token)
            failures += target.check(
                reuse,
                contract.code_named("old-phone-verification-failed"),
                f"the SMS code {account} received for the restore was used: it must not verify again",
            )
    if failures:
        pytest.fail(failures_text(failures), pytrace=False)


def restore_failed(target, contract, back, account, free) -> Failure:
    """What went wrong moving the account back: the suite asks the target where the account is, says it, and stops
    the run when the account is not on its number (with the line that moves it back by hand)."""
    code = envelope_code(back)
    answered = contract.describe(code) if code is not None else back.failure.detail if back.failure else "not JSON"
    answered = target.secrets.mask(answered)
    lead = f"RESTORE FAILED: moving the test account back from {free} to {account} answered {answered}"
    where = target.keeper.locate([free])
    if where.holds == account:
        return Failure(lead, more=(f"Asked, the account holds {account}: it is where the profile says.",))
    said = f"asked, the account holds {where.holds}" if where.holds else "asked, it answers to neither number"
    by_hand = target.keeper.by_hand(free, said)
    target.run.stop(f"{lead}; {by_hand.line}")
    return Failure(lead, more=tuple(by_hand.text.splitlines()))
