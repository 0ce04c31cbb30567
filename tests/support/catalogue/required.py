"""Broken servers: defects of the required parameters."""

from __future__ import annotations

from reference_server import app as ref
from reference_server.app import SetPhoneService
from reference_server.defects import MissingNewPhoneIs5167  # also --defect NAMEs
from tests.support.catalogue.kinds import (
    REQUIRED,
    Broken,
    got,
    wanted,
)

# --- defects of the required parameters ----------------------------------------------------


def _missing_codes(**changed: int) -> tuple[tuple[str, int], ...]:
    """The reference's (parameter, missing-code) pairs with the codes of some parameters changed."""
    return tuple((name, changed.get(name, code)) for name, code in SetPhoneService.REQUIRED_PARAMS)


class OldAndNewPhoneMissingCodesSwapped(SetPhoneService):
    """Answer 5166 for a missing oldPhone and 5163 for a missing newPhone."""

    REQUIRED_PARAMS = _missing_codes(oldPhone=ref.MISSING_NEW_PHONE, newPhone=ref.MISSING_OLD_PHONE)


class MissingNewPhoneCodeIs5169(SetPhoneService):
    """Answer 5169 (verification failed), a business-rule code, when newPhoneCode is missing."""

    REQUIRED_PARAMS = _missing_codes(newPhoneCode=ref.NEW_CODE_FAILED)


class MissingOldInternationalCodeIs86(SetPhoneService):
    """Take a missing oldInternationalCode to be "86" instead of answering 5162."""

    def read_params(self, request):
        params = super().read_params(request)
        if params["oldInternationalCode"] is None:
            params["oldInternationalCode"] = "86"
        return params


class BlankIsPresent(SetPhoneService):
    """Treat a blank value ("" or spaces) as given: only an absent parameter is missing."""

    def is_blank(self, value):
        return value is None


class SpacesArePresent(SetPhoneService):
    """Treat a value of only spaces as given: only an absent or empty parameter is missing."""

    def is_blank(self, value):
        return not value


class SeveralMissingAre5162(SetPhoneService):
    """Answer 5162 whenever two or more parameters are missing, whichever they are."""

    def missing_parameter(self, params):
        missing = [name for name, _ in self.REQUIRED_PARAMS if self.is_blank(params.get(name))]
        if len(missing) > 1:
            return ref.MISSING_OLD_INTERNATIONAL_CODE
        return super().missing_parameter(params)


BROKEN = [
    # required parameters
    Broken(
        MissingNewPhoneIs5167,
        {
            REQUIRED + "test_absent[newPhone]": (wanted("missing-new-phone"), got("missing-new-phone-code")),
            REQUIRED + "test_blank[newPhone-spaces]": (wanted("missing-new-phone"), got("missing-new-phone-code")),
        },
    ),
    Broken(
        OldAndNewPhoneMissingCodesSwapped,
        {
            REQUIRED + "test_absent[oldPhone]": (wanted("missing-old-phone"), got("missing-new-phone")),
            REQUIRED + "test_absent[newPhone]": (wanted("missing-new-phone"), got("missing-old-phone")),
        },
    ),
    Broken(
        MissingNewPhoneCodeIs5169,
        {
            REQUIRED + "test_absent[newPhoneCode]": (
                wanted("missing-new-phone-code"),
                got("new-phone-verification-failed"),
            ),
        },
    ),
    Broken(
        MissingOldInternationalCodeIs86,
        {
            REQUIRED + "test_absent[oldInternationalCode]": (wanted("missing-old-international-code"), got("success")),
        },
        sole=True,
    ),
    Broken(
        BlankIsPresent,
        {
            REQUIRED + "test_blank[oldPhone-empty]": (wanted("missing-old-phone"), got("old-phone-incorrect")),
            REQUIRED + "test_blank[newPhoneCode-spaces]": (
                wanted("missing-new-phone-code"),
                got("new-phone-verification-failed"),
            ),
        },
        sole=True,
    ),
    Broken(
        SpacesArePresent,
        {
            REQUIRED + "test_blank[oldPhoneCode-spaces]": (
                wanted("missing-old-phone-code"),
                got("old-phone-verification-failed"),
            ),
        },
        sole=True,
    ),
    Broken(
        SeveralMissingAre5162,
        {
            REQUIRED + "test_several_absent[oldPhone+newPhone]": (
                wanted("missing-old-phone"),
                got("missing-old-international-code"),
            ),
        },
        sole=True,
    ),
]
