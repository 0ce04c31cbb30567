"""The example JSON-body operation (POST setEmail, examples/setEmail-operation.yaml, imported from
examples/knife4j-setEmail.md) beside setPhone: a spec holding both, the reference server serving both, and a
defect of setEmail's. Not the contract: the self-tests' proof that an operation with a JSON body is judged as a
query one is."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from contract_suite.openapi import spec
from reference_server.app import SUCCESS, TOKEN_FAILED, USER_NOT_FOUND, SetPhoneService

EXAMPLE = spec.PROJECT_ROOT / "examples" / "setEmail-operation.yaml"
OPERATION = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
EMAIL_PATH = next(iter(OPERATION))
CODES = {int(code): entry for code, entry in OPERATION[EMAIL_PATH]["post"]["x-business-codes"].items()}
_BY_NAME = {entry["name"]: code for code, entry in CODES.items()}  # the example's codes, read from it
MISSING_EMAIL, MISSING_EMAIL_CODE, MISSING_DEVICE_ID, EMAIL_CODE_FAILED, EMAIL_REGISTERED = (
    _BY_NAME[name]
    for name in (
        "missing-new-email",
        "missing-email-code",
        "missing-device-id",
        "email-verification-failed",
        "new-email-registered",
    )
)
VALID_EMAIL_CODE = "246810"  # the example's code: the only one the reference server takes
REGISTERED_EMAIL = "taken@example.com"


def spec_with_email(folder: Path) -> Path:
    """spec/openapi.yaml plus the example's POST setEmail, written into folder."""
    doc = yaml.safe_load(spec.DEFAULT_SPEC.read_text(encoding="utf-8"))
    doc["paths"].update(OPERATION)
    path = folder / "openapi-with-setEmail.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


class ServesEmail(SetPhoneService):
    """The reference app, plus POST setEmail on the same tokens: the token, then each required property absent
    or blank (in the body's order), then the email code and whether the address is taken."""

    def dispatch(self, request):
        if request.path != EMAIL_PATH:
            return super().dispatch(request)
        if request.method != "POST":
            body = {"code": 405, "msg": "Method Not Allowed", "data": None, "extMsg": None}
            return self.respond(body, status=405, headers={"Allow": "POST"})
        code = self.set_email(request)
        return self.respond({"code": code, "msg": CODES[code]["message"], "data": None, "extMsg": None})

    def set_email(self, request) -> int:
        db = self.connect()
        try:
            token = self.read_token(request)
            owner = None if token is None else self.token_owner(db, token)
            if owner is None:
                return TOKEN_FAILED
            if not self.user_exists(db, owner, self.now()):
                return USER_NOT_FOUND
        finally:
            db.close()
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        code = self.email_missing(body)
        if code is not None:
            return code
        if body["emailCode"] != VALID_EMAIL_CODE:
            return EMAIL_CODE_FAILED
        return EMAIL_REGISTERED if body["email"] == REGISTERED_EMAIL else SUCCESS

    def email_missing(self, body: dict) -> int | None:
        device = body.get("device")
        for value, code in (
            (body.get("email"), MISSING_EMAIL),
            (body.get("emailCode"), MISSING_EMAIL_CODE),
            (device.get("deviceId") if isinstance(device, dict) else None, MISSING_DEVICE_ID),
        ):
            if not isinstance(value, str) or self.is_blank(value):
                return code
        return None


class MissingDeviceIdSaysEmailCode:
    """setEmail answers 5302 (email code) when device.deviceId is missing or blank."""

    def email_missing(self, body):
        code = super().email_missing(body)
        return MISSING_EMAIL_CODE if code == MISSING_DEVICE_ID else code
