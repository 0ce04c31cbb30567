"""Broken servers: defects of the change itself."""

from __future__ import annotations

from reference_server import app as ref
from reference_server.app import SetPhoneService
from reference_server.defects import SuccessChangesNothing  # also --defect NAMEs
from tests.support.catalogue.kinds import (
    STATE,
    SUCCESS,
    Broken,
    got,
    wanted,
)

# --- defects of the change itself ---------------------------------------------------------------


class ReplacedPhoneStillAccepted(SetPhoneService):
    """Change the phone but keep accepting the replaced number as the account's original phone."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.replaced: dict[int, set[tuple[str, str]]] = {}

    def update_phone(self, call):
        row = call.db.execute("SELECT international_code, phone FROM users WHERE id = ?", (call.user_id,)).fetchone()
        self.replaced.setdefault(call.user_id, set()).add((row["international_code"], row["phone"]))
        super().update_phone(call)

    def check_original_phone(self, call):
        p = call.params
        if (p["oldInternationalCode"], p["oldPhone"]) in self.replaced.get(call.user_id, set()):
            return None
        return super().check_original_phone(call)


class NobodysPhoneAcceptedAsOriginal(SetPhoneService):
    """Accept a number nobody holds as the original phone (5174 only for another account's)."""

    def check_original_phone(self, call):
        p = call.params
        holder = self.phone_holder(call, p["oldInternationalCode"], p["oldPhone"])
        if holder is not None and holder["id"] != call.user_id:
            return ref.OLD_PHONE_INCORRECT
        return None


class FormerNumberRefused(SetPhoneService):
    """Answer 5176 (registered) to a change back to a number the account held before, though nobody holds it now."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.former: dict[int, set[tuple[str, str]]] = {}

    def update_phone(self, call):
        row = call.db.execute("SELECT international_code, phone FROM users WHERE id = ?", (call.user_id,)).fetchone()
        self.former.setdefault(call.user_id, set()).add((row["international_code"], row["phone"]))
        super().update_phone(call)

    def check_new_phone_registered(self, call):
        p = call.params
        if (p["newInternationalCode"], p["newPhone"]) in self.former.get(call.user_id, set()):
            return ref.NEW_PHONE_REGISTERED
        return super().check_new_phone_registered(call)


BROKEN = [
    # the change itself
    Broken(
        SuccessChangesNothing,
        {
            SUCCESS: ("after the change, original phone", wanted("old-phone-incorrect"), got("new-phone-registered")),
            # the rules of state that make a change see it too: moving back from a number never held is refused
            STATE + "test_same_digits_under_another_international_code_are_free[registered-digits]": (
                "RESTORE FAILED: moving the test account back from 852-13800000003 to 86-13800000001 answered 5174",
                "Asked, the account holds 86-13800000001",
            ),
            # ...and a change that spends no code succeeds as often as it is sent
            STATE + "test_one_pair_of_codes_changes_the_phone_once": ("actual:   2 of 2 succeeded",),
        },
    ),
    Broken(
        ReplacedPhoneStillAccepted,
        {
            SUCCESS: ("after the change, original phone", wanted("old-phone-incorrect"), got("success")),
        },
        sole=True,
    ),
    # the restore refused: the suite asks where the account is, says so, and stops with the line to run by hand
    Broken(
        FormerNumberRefused,
        {
            SUCCESS: (
                "RESTORE FAILED: moving the test account back from 86-13800000002 to 86-13800000001 answered 5176",
                "asked, the account holds 86-13800000002",
                "Set it back to 86-13800000001 by hand",
            ),
        },
        sole=True,
        says="then the run stopped, sending nothing more: RESTORE FAILED",
    ),
    Broken(
        NobodysPhoneAcceptedAsOriginal,
        {
            SUCCESS: ("after the change, original phone", wanted("old-phone-incorrect"), got("success")),
        },
    ),
]
