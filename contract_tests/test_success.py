"""Success: the account's phone really changes, proven from outside, and is put back."""

import pytest

from contract_suite.engine.evidence import failures_text
from contract_suite.outcomes import NotApplicable


@pytest.mark.destructive
@pytest.mark.exercises("success", "old-phone-incorrect", "old-phone-verification-failed")
def test_change_is_made_and_restored(target, operation):
    target.require_destructive()
    target.require_fresh_codes()
    token = target.token("valid")
    account, free = target.phone("account"), target.phone("free")
    success, incorrect = operation.success_code, operation.code_named("old-phone-incorrect")

    answer = target.call(target.change(account, free), token, changes_account=True)  # lost: call() restores
    target.codes.consumed(account, free)
    target.expect(answer, success, f"valid request moving the account from {account} to {free}")

    failures = []
    try:
        # The old number is no longer the account's: as the original phone it is now incorrect.
        failures += _proof(target, account, incorrect, f"after the change, original phone {account}")
    finally:
        restore, _, restore_failure = target.restore(free)  # a lost answer: the keeper finds the account
        restored = restore_failure is None
        failures += [restore_failure] if restore_failure else []
    if restored:
        failures += _proof(target, free, incorrect, f"after the restore, original phone {free}")
        if target.codes.reusable:
            target.coverage.note(
                "a code is used once: [codes] reusable = true says this target's static codes "
                "stay valid, so the used code was not sent again"
            )
        else:
            # A code is used once: the one the account's number received for the restore is spent.
            used = restore.side("new").code
            reuse = target.call(target.change(account, free, old__code=used), token)
            failures += target.check(
                reuse,
                operation.code_named("old-phone-verification-failed"),
                f"the SMS code {account} received for the restore was used: it must not verify again",
            )
    if failures:
        pytest.fail(failures_text(failures), pytrace=False)


def _proof(target, phone, incorrect, when):
    """The number, as both original and new phone, is no longer the account's (5174). Where one code cannot pass
    two checks on this target, the proof is not judgeable, said in the coverage notes; the case judges the rest."""
    try:
        proof = target.call(target.change(phone, phone), target.token("valid"))
        return target.check(proof, incorrect, f"{when} must no longer be the account's")
    except NotApplicable as exc:
        target.coverage.note(f"{when}: {exc.msg}")
        return []
