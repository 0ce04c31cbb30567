"""Broken servers: defects of the envelope."""

from __future__ import annotations

from werkzeug.wrappers import Response

from reference_server import app as ref
from reference_server.app import SetPhoneService
from reference_server.defects import CodeAsString  # also --defect NAMEs
from tests.support.catalogue.kinds import (
    BUSINESS,
    REQUIRED,
    STATE,
    SUCCESS,
    TOKEN,
    Broken,
    code_of,
    wanted,
)

# --- defects of the envelope -------------------------------------------------------------


class CodeAsFloat(SetPhoneService):
    """Send the envelope's code as a JSON float (5032.0)."""

    def envelope(self, code):
        body = super().envelope(code)
        body["code"] = float(body["code"])
        return body


class MsgMissing(SetPhoneService):
    """Leave msg out of the envelope."""

    def envelope(self, code):
        body = super().envelope(code)
        del body["msg"]
        return body


class DataAsArray(SetPhoneService):
    """Send data as an empty JSON array instead of null."""

    def envelope(self, code):
        return super().envelope(code) | {"data": []}


class ExtMsgAsNumber(SetPhoneService):
    """Send extMsg as the number 0 instead of null."""

    def envelope(self, code):
        return super().envelope(code) | {"extMsg": 0}


class Http400OnErrors(SetPhoneService):
    """Answer error codes with HTTP 400 instead of 200."""

    def respond(self, envelope, status=200, headers=None):
        if status == 200 and envelope["code"] != ref.SUCCESS:
            status = 400
        return super().respond(envelope, status, headers)


class Http500OnErrors(SetPhoneService):
    """Answer error codes with HTTP 500 instead of 200."""

    def respond(self, envelope, status=200, headers=None):
        if status == 200 and envelope["code"] != ref.SUCCESS:
            status = 500
        return super().respond(envelope, status, headers)


class HtmlErrorPage(SetPhoneService):
    """Answer error codes with an HTML page (HTTP 200) instead of the JSON envelope."""

    def respond(self, envelope, status=200, headers=None):
        if envelope["code"] == ref.SUCCESS:
            return super().respond(envelope, status, headers)
        page = f"<html><body><h1>{envelope['code']}</h1><p>{envelope['msg']}</p></body></html>"
        return Response(page, status=status, headers=headers, content_type="text/html; charset=utf-8")


class TokenFailureIs401(SetPhoneService):
    """Answer the undocumented code 401 instead of 5032 for a missing or unknown token."""

    def authenticate(self, call):
        code = super().authenticate(call)
        return 401 if code == ref.TOKEN_FAILED else code


class SuccessIsCode0(SetPhoneService):
    """Answer success with code 0, as the page's placeholder example shows."""

    def envelope(self, code):
        body = super().envelope(code)
        if code == ref.SUCCESS:
            body["code"] = 0
        return body


BROKEN = [
    # the envelope
    Broken(
        CodeAsString,
        {
            TOKEN + "test_wrong_token": (f"code: '{code_of('token-verification-failed')}' is not of type 'integer'",),
            SUCCESS: ("code: '200' is not of type 'integer'",),
        },
    ),
    Broken(
        CodeAsFloat,
        {
            TOKEN + "test_wrong_token": (f"code: {code_of('token-verification-failed')}.0 is not of type 'integer'",),
            BUSINESS + "test_new_phone_registered": (
                f"code: {code_of('new-phone-registered')}.0 is not of type 'integer'",
            ),
        },
    ),
    Broken(
        MsgMissing,
        {
            TOKEN + "test_no_token": ("'msg' is a required property",),
            SUCCESS: ("'msg' is a required property",),
        },
    ),
    Broken(
        DataAsArray,
        {
            REQUIRED + "test_absent[newPhone]": ("data: [] is not of type 'object', 'null'",),
        },
    ),
    Broken(
        ExtMsgAsNumber,
        {
            BUSINESS + "test_wrong_new_phone_code": ("extMsg: 0 is not of type 'string', 'null'",),
        },
    ),
    Broken(
        Http400OnErrors,
        {
            TOKEN + "test_wrong_token": ("HTTP 400: every outcome must be HTTP 200",),
            REQUIRED + "test_absent[oldPhone]": ("HTTP 400: every outcome must be HTTP 200",),
        },
    ),
    Broken(
        Http500OnErrors,
        {
            BUSINESS + "test_new_phone_in_cancellation": ("HTTP 500: every outcome must be HTTP 200",),
        },
    ),
    Broken(
        HtmlErrorPage,
        {
            TOKEN + "test_orphan_token": ("Content-Type 'text/html; charset=utf-8': expected application/json",),
        },
    ),
    Broken(
        TokenFailureIs401,
        {
            TOKEN + "test_wrong_token": (wanted("token-verification-failed"), "code 401 is not a documented code"),
            TOKEN + "test_no_token": (wanted("token-verification-failed"), "code 401 is not a documented code"),
        },
    ),
    Broken(
        SuccessIsCode0,
        {
            SUCCESS: (wanted("success"), "code 0 is not a documented code"),
            # each rule of state that makes a change is answered so too (and the account is moved back)
            STATE + "test_same_digits_under_another_international_code_are_free[registered-digits]": (
                wanted("success"),
                "code 0 is not a documented code",
                "the account moved although the target answered an error",
            ),
            STATE + "test_one_pair_of_codes_changes_the_phone_once": (
                "actual:   0 of 2 succeeded (answers: 0 x1, 5174 x1)",
            ),
        },
    ),
]
