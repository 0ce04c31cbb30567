"""Broken servers that once escaped the suite, each now caught by a case of its own."""

from __future__ import annotations

from reference_server import app as ref
from reference_server import codes
from reference_server.app import SetPhoneService
from tests.support.catalogue.kinds import (
    BUSINESS,
    REQUIRED,
    SUCCESS,
    Broken,
    got,
    wanted,
)

# --- breaks that once escaped the suite, and an order of checks the page allows -------------------


class MagicOldCodeAccepted(SetPhoneService):
    """Accept 000000 as the original phone's code, a test back door left in."""

    def verify_old_code(self, call):
        return None if call.params["oldPhoneCode"] == "000000" else super().verify_old_code(call)


class OtherAccountsPhoneIs5175(SetPhoneService):
    """Answer 5175 when the new phone is another account's (5176 only for the account's own)."""

    def check_new_phone_registered(self, call):
        p = call.params
        holder = self.phone_holder(call, p["newInternationalCode"], p["newPhone"])
        if holder is not None and holder["id"] != call.user_id:
            return ref.NEW_PHONE_CANCELLING
        return super().check_new_phone_registered(call)


class OwnPhoneAsNewIsSuccess(SetPhoneService):
    """Answer 200, changing nothing, when the new phone is the account's own (5176 only for another account's)."""

    def check_new_phone_registered(self, call):
        p = call.params
        holder = self.phone_holder(call, p["newInternationalCode"], p["newPhone"])
        return ref.NEW_PHONE_REGISTERED if holder is not None and holder["id"] != call.user_id else None


class OwnPhoneAsNewIsCancelling(SetPhoneService):
    """Answer 5175 (in cancellation) instead of 5176 when the new phone is the account's own."""

    def check_new_phone_cancelling(self, call):
        p = call.params
        holder = self.phone_holder(call, p["newInternationalCode"], p["newPhone"])
        if holder is not None and holder["id"] == call.user_id:
            return ref.NEW_PHONE_CANCELLING
        return super().check_new_phone_cancelling(call)


class CodesReusable(SetPhoneService):
    """Leave both SMS codes valid after a successful change."""

    def consume_codes(self, call):
        pass


class EarlierCodeAccepted(SetPhoneService):
    """Accept any unused, unexpired code issued to the number, not only the last one."""

    def verify_code(self, call, international_code, phone, code):
        row = call.db.execute(
            "SELECT 1 FROM sms_codes WHERE international_code = ? AND phone = ? AND code = ?"
            " AND used_at IS NULL AND issued_at > ?",
            (international_code, phone, code, call.now - codes.LIFETIME_SECONDS),
        ).fetchone()
        return row is not None


class OriginalPhoneIgnoresInternationalCode(SetPhoneService):
    """Compare the original phone with the account's without its international code."""

    def check_original_phone(self, call):
        row = call.db.execute("SELECT phone FROM users WHERE id = ?", (call.user_id,)).fetchone()
        return None if row is not None and row["phone"] == call.params["oldPhone"] else ref.OLD_PHONE_INCORRECT


class TabIsPresent(SetPhoneService):
    """Treat a value of tabs as given: only spaces count as blank."""

    def is_blank(self, value):
        return value is None or not value.strip(" ")


BROKEN = [
    # once escapes, now each caught by a case of its own
    Broken(
        MagicOldCodeAccepted,
        {
            BUSINESS + "test_wrong_original_phone_code": (wanted("old-phone-verification-failed"), got("success")),
        },
        sole=True,
    ),
    Broken(
        OtherAccountsPhoneIs5175,
        {
            BUSINESS + "test_new_phone_registered": (wanted("new-phone-registered"), got("new-phone-in-cancellation")),
        },
        sole=True,
    ),
    Broken(
        OwnPhoneAsNewIsSuccess,
        {
            BUSINESS + "test_new_phone_is_the_accounts_own": (wanted("new-phone-registered"), got("success")),
            # the suite asks the same question (the account's own number as new phone) to learn where the account
            # is, before the first case that uses it: that answer is a contract failure too
            BUSINESS + "test_wrong_original_phone_code": (
                "before this case, asked where the test account is",
                got("success"),
            ),
        },
    ),
    Broken(
        OwnPhoneAsNewIsCancelling,
        {
            BUSINESS + "test_new_phone_is_the_accounts_own": (
                wanted("new-phone-registered"),
                got("new-phone-in-cancellation"),
            ),
        },
        sole=True,
    ),
    Broken(
        CodesReusable,
        {
            SUCCESS: ("was used: it must not verify again", wanted("old-phone-verification-failed"), got("success")),
        },
        sole=True,
    ),
    Broken(
        EarlierCodeAccepted,
        {
            BUSINESS + "test_earlier_code_is_void": (wanted("old-phone-verification-failed"), got("success")),
        },
        sole=True,
    ),
    Broken(
        OriginalPhoneIgnoresInternationalCode,
        {
            BUSINESS + "test_original_phone_with_another_international_code": (
                wanted("old-phone-incorrect"),
                got("success"),
            ),
        },
        sole=True,
    ),
    Broken(
        TabIsPresent,
        {
            REQUIRED + "test_blank[oldPhone-tab]": (wanted("missing-old-phone"), got("old-phone-incorrect")),
        },
        sole=True,
    ),
]
