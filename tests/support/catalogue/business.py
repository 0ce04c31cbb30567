"""Broken servers: defects of the business rules."""

from __future__ import annotations

from reference_server import app as ref
from reference_server.app import SetPhoneService
from reference_server.defects import WrongNewCodeAccepted, WrongNewCodeIs5168  # also --defect NAMEs
from tests.support.catalogue.correct import CodesVerifiedFirst
from tests.support.catalogue.kinds import (
    BUSINESS,
    ROBUST,
    STATE,
    STATIC_CODES,
    SUCCESS,
    Broken,
    got,
    shown,
    wanted,
)

# --- defects of the business rules ------------------------------------------------------------


class OldPhoneIncorrectIs5168(SetPhoneService):
    """Answer 5168 (verification failed) instead of 5174 when the original phone is not the account's."""

    def check_original_phone(self, call):
        return ref.OLD_CODE_FAILED if super().check_original_phone(call) else None


class OtherAccountsPhoneAcceptedAsOriginal(SetPhoneService):
    """Accept another account's number as the original phone (5174 only for nobody's number)."""

    def check_original_phone(self, call):
        p = call.params
        if self.phone_holder(call, p["oldInternationalCode"], p["oldPhone"]) is None:
            return ref.OLD_PHONE_INCORRECT
        return None


class WrongOldCodeIs5169(SetPhoneService):
    """Answer 5169 instead of 5168 when the original phone's code is wrong."""

    def verify_old_code(self, call):
        return ref.NEW_CODE_FAILED if super().verify_old_code(call) else None


class WrongOldCodeAccepted(SetPhoneService):
    """Accept any code for the original phone."""

    def verify_old_code(self, call):
        return None


class WrongNewCodeIs5168CodesFirst(CodesVerifiedFirst, WrongNewCodeIs5168):
    """Answer 5168 for a wrong new-phone code, verifying both codes before the numbers (5175, 5176 after them)."""


class TestCodeAcceptedForNewPhone(SetPhoneService):
    """Accept the test code 000000 as any new phone's SMS code, a backdoor left on."""

    def verify_new_code(self, call):
        return None if call.params["newPhoneCode"] == "000000" else super().verify_new_code(call)


class RegisteredCheckedBeforeCancellation(SetPhoneService):
    """Check registration before cancellation, so a number in cancellation gets 5176, not 5175."""

    CHECKS = tuple(reversed(SetPhoneService.CHECKS))


class CancellingPhoneIsFree(SetPhoneService):
    """Treat a number in 7-day cancellation as free, purging its account at once."""

    def purge_gone_accounts(self, call):
        call.db.execute("DELETE FROM users WHERE deletion_requested_at IS NOT NULL")


class RegisteredNewPhoneIs5175(SetPhoneService):
    """Answer 5175 (in cancellation) instead of 5176 when the new phone is registered."""

    def check_new_phone_registered(self, call):
        return ref.NEW_PHONE_CANCELLING if super().check_new_phone_registered(call) else None


class RegisteredNewPhoneTaken(SetPhoneService):
    """Give a registered new number to the account, taking it from the account holding it."""

    def check_new_phone_registered(self, call):
        return None

    def update_phone(self, call):
        p = call.params
        call.db.execute(
            "DELETE FROM users WHERE international_code = ? AND phone = ? AND id != ?",
            (p["newInternationalCode"], p["newPhone"], call.user_id),
        )
        super().update_phone(call)


BROKEN = [
    # business rules: each code answered with another code, and with success
    Broken(
        OldPhoneIncorrectIs5168,
        {
            BUSINESS + "test_original_phone_not_the_accounts": (
                wanted("old-phone-incorrect"),
                got("old-phone-verification-failed"),
            ),
            SUCCESS: (wanted("old-phone-incorrect"), got("old-phone-verification-failed")),
        },
    ),
    Broken(
        OtherAccountsPhoneAcceptedAsOriginal,
        {
            BUSINESS + "test_original_phone_not_the_accounts": (wanted("old-phone-incorrect"), got("success")),
        },
        sole=True,
    ),
    Broken(
        WrongOldCodeIs5169,
        {
            BUSINESS + "test_wrong_original_phone_code": (
                wanted("old-phone-verification-failed"),
                got("new-phone-verification-failed"),
            ),
        },
    ),
    Broken(
        WrongOldCodeAccepted,
        {
            BUSINESS + "test_wrong_original_phone_code": (wanted("old-phone-verification-failed"), got("success")),
        },
    ),
    # with static codes the refused original-phone code is not "never accepted": the run asks the target once
    # whether the code is checked before the 5175 it answered (a wrong one there is refused), so it passed
    Broken(
        WrongNewCodeIs5168CodesFirst,
        {
            BUSINESS + "test_wrong_new_phone_code": (
                wanted("new-phone-verification-failed"),
                got("old-phone-verification-failed"),
            ),
        },
        profile=STATIC_CODES,
        label="WrongNewCodeIs5168CodesFirstStaticCodes",
    ),
    Broken(
        WrongNewCodeIs5168,
        {
            BUSINESS + "test_wrong_new_phone_code": (
                wanted("new-phone-verification-failed"),
                got("old-phone-verification-failed"),
            ),
            # the original phone's valid code is a wrong code for the new phone too
            STATE + "test_code_verifies_only_its_own_number[original-phones-code-as-new-phones]": (
                wanted("new-phone-verification-failed"),
                got("old-phone-verification-failed"),
            ),
        },
    ),
    Broken(
        TestCodeAcceptedForNewPhone,
        {
            BUSINESS + "test_wrong_new_phone_code": (wanted("new-phone-verification-failed"), got("success")),
        },
        sole=True,
    ),
    Broken(
        WrongNewCodeAccepted,
        {
            BUSINESS + "test_wrong_new_phone_code": (wanted("new-phone-verification-failed"), got("success")),
            # with no code check left, a new phone under an unusual international code is taken too
            ROBUST + "test_unusual_value[newInternationalCode-long]": (
                f"newInternationalCode = {shown('long')}",
                got("success"),
                "the suite moved the test account back",
            ),
            # ...and so is one holding control characters, a number no SMS code can be asked for: the suite cannot
            # move the account back, says how to by hand, and stops; the contract is broken all the same (exit 1)
            ROBUST + "test_unusual_value[newInternationalCode-control-characters]": (
                got("success"),
                "THE TEST ACCOUNT MAY NOW HOLD",
                "no SMS code can be asked for",
            ),
        },
        says="then the run stopped, sending nothing more:",
    ),
    Broken(
        RegisteredCheckedBeforeCancellation,
        {
            BUSINESS + "test_new_phone_in_cancellation": (
                wanted("new-phone-in-cancellation"),
                got("new-phone-registered"),
            ),
        },
        sole=True,
    ),
    Broken(
        CancellingPhoneIsFree,
        {
            BUSINESS + "test_new_phone_in_cancellation": (wanted("new-phone-in-cancellation"), got("success")),
        },
        sole=True,
    ),
    Broken(
        RegisteredNewPhoneIs5175,
        {
            BUSINESS + "test_new_phone_registered": (wanted("new-phone-registered"), got("new-phone-in-cancellation")),
        },
    ),
    Broken(
        RegisteredNewPhoneTaken,
        {
            BUSINESS + "test_new_phone_registered": (wanted("new-phone-registered"), got("success")),
        },
    ),
]
