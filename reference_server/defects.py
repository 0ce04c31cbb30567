"""Deliberate breaks of the contract the reference server can be started with (`--defect NAME`, the stand-in's too),
to see what a BROKEN run looks like before pointing the suite at a real deployment. Each is a mixin put before
SetPhoneService, overriding one step. The self-tests' catalogue (tests/support/catalogue) holds these and many more."""

from __future__ import annotations

from .app import MISSING_NEW_PHONE, MISSING_NEW_PHONE_CODE, OLD_CODE_FAILED, SetPhoneService


class WrongNewCodeAccepted(SetPhoneService):
    """Accept any code for the new phone."""

    def verify_new_code(self, call):
        return None


class WrongNewCodeIs5168(SetPhoneService):
    """Answer 5168 instead of 5169 when the new phone's code is wrong."""

    def verify_new_code(self, call):
        return OLD_CODE_FAILED if super().verify_new_code(call) else None


class MissingNewPhoneIs5167(SetPhoneService):
    """Answer 5167 when newPhone is missing."""

    REQUIRED_PARAMS = tuple(
        (name, MISSING_NEW_PHONE_CODE if code == MISSING_NEW_PHONE else code)
        for name, code in SetPhoneService.REQUIRED_PARAMS
    )


class SuccessChangesNothing(SetPhoneService):
    """Answer 200 to a valid change without changing the phone."""

    def change_phone(self, call):
        pass


class CodeAsString(SetPhoneService):
    """Send the envelope's code as a JSON string ("5032")."""

    def envelope(self, code):
        body = super().envelope(code)
        body["code"] = str(body["code"])
        return body


# --defect NAME: what each name breaks (the class's docstring says how)
BY_NAME: dict[str, type[SetPhoneService]] = {
    "wrong-new-code-accepted": WrongNewCodeAccepted,
    "wrong-new-code-is-5168": WrongNewCodeIs5168,
    "missing-new-phone-is-5167": MissingNewPhoneIs5167,
    "success-changes-nothing": SuccessChangesNothing,
    "code-as-string": CodeAsString,
}
