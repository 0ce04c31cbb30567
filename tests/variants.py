"""The catalogue of servers the contract suite is run against: the reference app plus one
small named defect each, and the verdict the suite must reach on it (tests/test_variants.py)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from werkzeug.wrappers import Response

from contract_suite import spec
from contract_suite.generation import UNUSUAL_VALUES
from reference_server import app as ref, codes
from reference_server.app import SetPhoneService
from suite_runner import case_of

# Test ids of the hand-written contract cases, as pytest names them from the project root.
BUSINESS = "contract_tests/test_business_rules.py::"
REQUIRED = "contract_tests/test_required_fields.py::"
TOKEN = "contract_tests/test_token.py::"
ROBUST = "contract_tests/test_robustness.py::"
SUCCESS = "contract_tests/test_success.py::test_change_is_made_and_restored"

_CONTRACT = spec.load(spec.DEFAULT_SPEC)


def code_of(name: str) -> int:
    """A documented code, by its x-business-codes name."""
    return _CONTRACT.code_named(name)


def shown(kind: str) -> str:
    """How a robustness case's rule shows the unusual value of this kind (contract_suite.generation)."""
    value = UNUSUAL_VALUES[kind]
    return repr(value) if len(value) <= 40 else f"{value[:12]!r}... ({len(value)} characters)"


def wanted(name: str) -> str:
    """The suite's line naming the code a case expected, by the code's x-business-codes name."""
    return f"expected: {_CONTRACT.code_named(name)}"


def got(name: str) -> str:
    """The suite's line naming the documented code the server answered instead."""
    return f"actual:   {_CONTRACT.code_named(name)}"


@dataclass(frozen=True)
class Variant:
    """The reference server with one defect mixed in (a SetPhoneService subclass overriding one step)."""

    defect: type[SetPhoneService]

    @property
    def name(self) -> str:
        return self.defect.__name__

    def __post_init__(self) -> None:
        doc = (self.defect.__doc__ or "").strip()
        if not doc or "\n" in doc:
            raise ValueError(f"{self.name}: a defect needs a one-line docstring saying what it changes")


@dataclass(frozen=True)
class Broken(Variant):
    """A server the suite must fail on: each test id in `fails` fails, its message holding every fragment.

    `sole`: no other hand-written case fails on it, so the one case in `fails` is necessary.
    `exit_code`: 1 (the contract is broken); 2 where the broken server also leaves the test account where the
    suite cannot move it back, which stops the run (the failures named in `fails` still come first).
    """

    fails: Mapping[str, tuple[str, ...]]
    sole: bool = False
    exit_code: int = 1

    @property
    def cases(self) -> set[str]:
        """The hand-written cases (test functions, parametrizations folded) named in `fails`."""
        return {case_of(test_id) for test_id in self.fails}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.sole and len(self.cases) != 1:
            raise ValueError(f"{self.name}: sole=True needs `fails` to name one case, got {sorted(self.cases)}")


@dataclass(frozen=True)
class Correct(Variant):
    """A server that keeps the contract in a way the reference does not: the suite must pass, skipping nothing."""


@dataclass(frozen=True)
class Escape(Variant):
    """A contract break the suite does not catch yet, and the gap in the suite that lets it through.

    Its self-test xfails while the suite passes on it and fails once a case catches it: then move it to BROKEN.
    """

    gap: str


# --- defects of the envelope -------------------------------------------------------------


class CodeAsString(SetPhoneService):
    """Send the envelope's code as a JSON string ("5032")."""

    def envelope(self, code):
        body = super().envelope(code)
        body["code"] = str(body["code"])
        return body


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


# --- defects of the required parameters ----------------------------------------------------


def _missing_codes(**changed: int) -> tuple[tuple[str, int], ...]:
    """The reference's (parameter, missing-code) pairs with the codes of some parameters changed."""
    return tuple((name, changed.get(name, code)) for name, code in SetPhoneService.REQUIRED_PARAMS)


class MissingNewPhoneIs5167(SetPhoneService):
    """Answer 5167 when newPhone is missing."""

    REQUIRED_PARAMS = _missing_codes(newPhone=ref.MISSING_NEW_PHONE_CODE)


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


# --- defects of the token -------------------------------------------------------------------


def _first_account(call) -> int:
    return call.db.execute("SELECT min(id) FROM users").fetchone()[0]


class NoTokenPassesAuth(SetPhoneService):
    """Let a request without a token past authentication (as nobody's)."""

    def authenticate(self, call):
        if call.token is None:
            return None
        return super().authenticate(call)


class AnyTokenAccepted(SetPhoneService):
    """Accept any token, or none, as the first account's."""

    def authenticate(self, call):
        call.user_id = _first_account(call)
        return None


class UnknownTokenAccepted(SetPhoneService):
    """Accept a token the platform never issued as the first account's."""

    def authenticate(self, call):
        if call.token is not None and self.token_owner(call.db, call.token) is None:
            call.user_id = _first_account(call)
            return None
        return super().authenticate(call)


class OrphanTokenIs5032(SetPhoneService):
    """Answer 5032 instead of 5033 when the token verifies but its user is gone."""

    def authenticate(self, call):
        code = super().authenticate(call)
        return ref.TOKEN_FAILED if code == ref.USER_NOT_FOUND else code


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


class WrongNewCodeIs5168(SetPhoneService):
    """Answer 5168 instead of 5169 when the new phone's code is wrong."""

    def verify_new_code(self, call):
        return ref.OLD_CODE_FAILED if super().verify_new_code(call) else None


class WrongNewCodeAccepted(SetPhoneService):
    """Accept any code for the new phone."""

    def verify_new_code(self, call):
        return None


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


# --- defects of the change itself ---------------------------------------------------------------


class SuccessChangesNothing(SetPhoneService):
    """Answer 200 to a valid change without changing the phone."""

    def change_phone(self, call):
        pass


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


# --- breaks that once escaped the suite, and an order of checks the page allows -------------------


class ParametersCheckedBeforeToken(SetPhoneService):
    """Answer a missing parameter's code before looking at the token."""

    def handle(self, request):
        code = self.missing_parameter(self.read_params(request))
        return super().handle(request) if code is None else code


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


# --- defects met by values far outside the usual shape (contract_tests/test_robustness.py) ------------


class LongValueIsServerError(SetPhoneService):
    """Answer a value longer than its 64-character storage column with an HTTP 500 HTML error page."""

    COLUMN_SIZE = 64

    def dispatch(self, request):
        if any(value is not None and len(value) > self.COLUMN_SIZE for value in self.read_params(request).values()):
            page = "<!doctype html><title>500 Internal Server Error</title><h1>value too long for column</h1>"
            return Response(page, status=500, content_type="text/html; charset=utf-8")
        return super().dispatch(request)


class NonAsciiIsServerError(SetPhoneService):
    """Answer a value holding a character outside ASCII with HTTP 500 and a plain-text error (an ASCII-only codec)."""

    def dispatch(self, request):
        try:
            for value in self.read_params(request).values():
                (value or "").encode("ascii")
        except UnicodeEncodeError:
            return Response("Internal Server Error", status=500, content_type="text/plain")
        return super().dispatch(request)


UNDOCUMENTED_FORMAT_ERROR = 4001


class NonDigitIsUndocumentedCode(SetPhoneService):
    """Answer a value holding anything but ASCII digits with the undocumented code 4001 (parameter format error)."""

    def missing_parameter(self, params):
        code = super().missing_parameter(params)
        if code is None and not all(value.isascii() and value.isdigit() for value in params.values()):
            return UNDOCUMENTED_FORMAT_ERROR
        return code


# --- correct variations: the contract allows them ------------------------------------------------


class CharsetInContentType(SetPhoneService):
    """Send Content-Type application/json;charset=UTF-8."""

    def content_type(self):
        return "application/json;charset=UTF-8"


class ExtraEnvelopeField(SetPhoneService):
    """Add an undocumented field (traceId) to every envelope."""

    def envelope(self, code):
        return super().envelope(code) | {"traceId": uuid.uuid4().hex}


class ExtraKeysInData(SetPhoneService):
    """Answer success with an object of undocumented keys in data."""

    def envelope(self, code):
        body = super().envelope(code)
        if code == ref.SUCCESS:
            body["data"] = {"changed": True, "serverTime": int(time.time())}
        return body


CHINESE = {
    ref.SUCCESS: "修改用户手机号成功",
    ref.TOKEN_FAILED: "Token校验失败",
    ref.USER_NOT_FOUND: "用户不存在",
    ref.MISSING_OLD_INTERNATIONAL_CODE: "请输入原手机号国际区号",
    ref.MISSING_OLD_PHONE: "请输入原手机号",
    ref.MISSING_OLD_PHONE_CODE: "请输入原手机号收到的验证码",
    ref.MISSING_NEW_INTERNATIONAL_CODE: "请输入新手机号国际区号",
    ref.MISSING_NEW_PHONE: "请输入新手机号",
    ref.MISSING_NEW_PHONE_CODE: "请输入新手机号收到的验证码",
    ref.OLD_CODE_FAILED: "原手机号验证失败",
    ref.NEW_CODE_FAILED: "新手机号验证失败",
    ref.CHANGE_FAILED: "修改用户手机号失败",
    ref.OLD_PHONE_INCORRECT: "原手机号不正确",
    ref.NEW_PHONE_CANCELLING: "新手机号处于7天注销状态，不能作为更换手机号",
    ref.NEW_PHONE_REGISTERED: "新手机号已被注册",
}


class ChineseMessages(SetPhoneService):
    """Word every msg in Chinese, sent as raw UTF-8."""

    def message(self, code):
        return CHINESE.get(code, "")

    def serialize(self, envelope):
        return json.dumps(envelope, ensure_ascii=False).encode("utf-8")


class NoDataOrExtMsgOnErrors(SetPhoneService):
    """Leave data and extMsg out of error envelopes, as the platform's token failure does."""

    def envelope(self, code):
        body = super().envelope(code)
        if code != ref.SUCCESS:
            del body["data"], body["extMsg"]
        return body


class CodesVerifiedFirst(SetPhoneService):
    """Verify both SMS codes before checking the numbers."""

    CHECKS = ("verify_old_code", "verify_new_code", "check_original_phone", "check_new_phone_cancelling", "check_new_phone_registered")


class IndependentChecksReversed(SetPhoneService):
    """Run the business checks in reverse, but cancellation still before registration (a number in cancellation is registered too)."""

    CHECKS = ("verify_new_code", "verify_old_code", "check_new_phone_cancelling", "check_new_phone_registered", "check_original_phone")


class SlowAnswers(SetPhoneService):
    """Take 0.2 s over every answer, well within the request timeout."""

    DELAY_SECONDS = 0.2

    def handle(self, request):
        time.sleep(self.DELAY_SECONDS)
        return super().handle(request)


# --- the catalogue ------------------------------------------------------------------------------

BROKEN = [
    # the envelope
    Broken(CodeAsString, {
        TOKEN + "test_wrong_token": (f"code: '{code_of('token-verification-failed')}' is not of type 'integer'",),
        SUCCESS: ("code: '200' is not of type 'integer'",),
    }),
    Broken(CodeAsFloat, {
        TOKEN + "test_wrong_token": (f"code: {code_of('token-verification-failed')}.0 is not of type 'integer'",),
        BUSINESS + "test_new_phone_registered": (f"code: {code_of('new-phone-registered')}.0 is not of type 'integer'",),
    }),
    Broken(MsgMissing, {
        TOKEN + "test_no_token": ("'msg' is a required property",),
        SUCCESS: ("'msg' is a required property",),
    }),
    Broken(DataAsArray, {
        REQUIRED + "test_absent[newPhone]": ("data: [] is not of type 'object', 'null'",),
    }),
    Broken(ExtMsgAsNumber, {
        BUSINESS + "test_wrong_new_phone_code": ("extMsg: 0 is not of type 'string', 'null'",),
    }),
    Broken(Http400OnErrors, {
        TOKEN + "test_wrong_token": ("HTTP 400: every outcome must be HTTP 200",),
        REQUIRED + "test_absent[oldPhone]": ("HTTP 400: every outcome must be HTTP 200",),
    }),
    Broken(Http500OnErrors, {
        BUSINESS + "test_new_phone_in_cancellation": ("HTTP 500: every outcome must be HTTP 200",),
    }),
    Broken(HtmlErrorPage, {
        TOKEN + "test_orphan_token": ("Content-Type 'text/html; charset=utf-8': expected application/json",),
    }),
    Broken(TokenFailureIs401, {
        TOKEN + "test_wrong_token": (wanted("token-verification-failed"), "code 401 is not a documented code"),
        TOKEN + "test_no_token": (wanted("token-verification-failed"), "code 401 is not a documented code"),
    }),
    Broken(SuccessIsCode0, {
        SUCCESS: (wanted("success"), "code 0 is not a documented code"),
    }, sole=True),
    # required parameters
    Broken(MissingNewPhoneIs5167, {
        REQUIRED + "test_absent[newPhone]": (wanted("missing-new-phone"), got("missing-new-phone-code")),
        REQUIRED + "test_blank[newPhone-spaces]": (wanted("missing-new-phone"), got("missing-new-phone-code")),
    }),
    Broken(OldAndNewPhoneMissingCodesSwapped, {
        REQUIRED + "test_absent[oldPhone]": (wanted("missing-old-phone"), got("missing-new-phone")),
        REQUIRED + "test_absent[newPhone]": (wanted("missing-new-phone"), got("missing-old-phone")),
    }),
    Broken(MissingNewPhoneCodeIs5169, {
        REQUIRED + "test_absent[newPhoneCode]": (wanted("missing-new-phone-code"), got("new-phone-verification-failed")),
    }),
    Broken(MissingOldInternationalCodeIs86, {
        REQUIRED + "test_absent[oldInternationalCode]": (wanted("missing-old-international-code"), got("success")),
    }, sole=True),
    Broken(BlankIsPresent, {
        REQUIRED + "test_blank[oldPhone-empty]": (wanted("missing-old-phone"), got("old-phone-incorrect")),
        REQUIRED + "test_blank[newPhoneCode-spaces]": (wanted("missing-new-phone-code"), got("new-phone-verification-failed")),
    }, sole=True),
    Broken(SpacesArePresent, {
        REQUIRED + "test_blank[oldPhoneCode-spaces]": (wanted("missing-old-phone-code"), got("old-phone-verification-failed")),
    }, sole=True),
    Broken(SeveralMissingAre5162, {
        REQUIRED + "test_several_absent[oldPhone+newPhone]": (wanted("missing-old-phone"), got("missing-old-international-code")),
    }, sole=True),
    # the token
    Broken(NoTokenPassesAuth, {
        TOKEN + "test_no_token": (wanted("token-verification-failed"), got("old-phone-incorrect")),
    }, sole=True),
    Broken(AnyTokenAccepted, {
        TOKEN + "test_wrong_token": (wanted("token-verification-failed"), got("success")),
        TOKEN + "test_no_token": (wanted("token-verification-failed"), got("success")),
        TOKEN + "test_orphan_token": (wanted("user-does-not-exist"), got("success")),
    }),
    Broken(UnknownTokenAccepted, {
        TOKEN + "test_wrong_token": (wanted("token-verification-failed"), got("success")),
    }, sole=True),
    Broken(OrphanTokenIs5032, {
        TOKEN + "test_orphan_token": (wanted("user-does-not-exist"), got("token-verification-failed")),
    }, sole=True),
    # business rules: each code answered with another code, and with success
    Broken(OldPhoneIncorrectIs5168, {
        BUSINESS + "test_original_phone_not_the_accounts": (wanted("old-phone-incorrect"), got("old-phone-verification-failed")),
        SUCCESS: (wanted("old-phone-incorrect"), got("old-phone-verification-failed")),
    }),
    Broken(OtherAccountsPhoneAcceptedAsOriginal, {
        BUSINESS + "test_original_phone_not_the_accounts": (wanted("old-phone-incorrect"), got("success")),
    }, sole=True),
    Broken(WrongOldCodeIs5169, {
        BUSINESS + "test_wrong_original_phone_code": (wanted("old-phone-verification-failed"), got("new-phone-verification-failed")),
    }),
    Broken(WrongOldCodeAccepted, {
        BUSINESS + "test_wrong_original_phone_code": (wanted("old-phone-verification-failed"), got("success")),
    }),
    Broken(WrongNewCodeIs5168, {
        BUSINESS + "test_wrong_new_phone_code": (wanted("new-phone-verification-failed"), got("old-phone-verification-failed")),
    }, sole=True),
    Broken(WrongNewCodeAccepted, {
        BUSINESS + "test_wrong_new_phone_code": (wanted("new-phone-verification-failed"), got("success")),
        # with no code check left, a new phone under an unusual international code is taken too
        ROBUST + "test_unusual_value[newInternationalCode-long]": (
            f"newInternationalCode = {shown('long')}", got("success"), "the suite moved the test account back",
        ),
        # ...and so is one holding control characters, a number no SMS code can be asked for: the suite cannot
        # move the account back, says how to by hand, and stops (exit 2)
        ROBUST + "test_unusual_value[newInternationalCode-control-characters]": (
            got("success"), "THE TEST ACCOUNT MAY NOW HOLD", "no SMS code can be asked for",
        ),
    }, exit_code=2),
    Broken(RegisteredCheckedBeforeCancellation, {
        BUSINESS + "test_new_phone_in_cancellation": (wanted("new-phone-in-cancellation"), got("new-phone-registered")),
    }, sole=True),
    Broken(CancellingPhoneIsFree, {
        BUSINESS + "test_new_phone_in_cancellation": (wanted("new-phone-in-cancellation"), got("success")),
    }, sole=True),
    Broken(RegisteredNewPhoneIs5175, {
        BUSINESS + "test_new_phone_registered": (wanted("new-phone-registered"), got("new-phone-in-cancellation")),
    }),
    Broken(RegisteredNewPhoneTaken, {
        BUSINESS + "test_new_phone_registered": (wanted("new-phone-registered"), got("success")),
    }),
    # the change itself
    Broken(SuccessChangesNothing, {
        SUCCESS: ("after the change, original phone", wanted("old-phone-incorrect"), got("new-phone-registered")),
    }, sole=True),
    Broken(ReplacedPhoneStillAccepted, {
        SUCCESS: ("after the change, original phone", wanted("old-phone-incorrect"), got("success")),
    }, sole=True),
    Broken(NobodysPhoneAcceptedAsOriginal, {
        SUCCESS: ("after the change, original phone", wanted("old-phone-incorrect"), got("success")),
    }),
    # once escapes, now each caught by a case of its own
    Broken(MagicOldCodeAccepted, {
        BUSINESS + "test_wrong_original_phone_code": (wanted("old-phone-verification-failed"), got("success")),
    }, sole=True),
    Broken(OtherAccountsPhoneIs5175, {
        BUSINESS + "test_new_phone_registered": (wanted("new-phone-registered"), got("new-phone-in-cancellation")),
    }, sole=True),
    Broken(OwnPhoneAsNewIsSuccess, {
        BUSINESS + "test_new_phone_is_the_accounts_own": (wanted("new-phone-registered"), got("success")),
    }, sole=True),
    Broken(CodesReusable, {
        SUCCESS: ("was used: it must not verify again", wanted("old-phone-verification-failed"), got("success")),
    }, sole=True),
    Broken(EarlierCodeAccepted, {
        BUSINESS + "test_earlier_code_is_void": (wanted("old-phone-verification-failed"), got("success")),
    }, sole=True),
    Broken(OriginalPhoneIgnoresInternationalCode, {
        BUSINESS + "test_original_phone_with_another_international_code": (wanted("old-phone-incorrect"), got("success")),
    }, sole=True),
    Broken(TabIsPresent, {
        REQUIRED + "test_blank[oldPhone-tab]": (wanted("missing-old-phone"), got("old-phone-incorrect")),
    }, sole=True),
    # values far outside the usual shape
    Broken(LongValueIsServerError, {
        ROBUST + "test_unusual_value[oldPhone-long]": (
            f"oldPhone = {shown('long')}", "HTTP 500: every outcome must be HTTP 200",
            "body: '<!doctype html><title>500 Internal Server Error",
        ),
    }, sole=True),
    Broken(NonAsciiIsServerError, {
        ROBUST + "test_unusual_value[newPhone-non-ascii]": (
            f"newPhone = {shown('non-ascii')}", "HTTP 500: every outcome must be HTTP 200",
            "body: 'Internal Server Error'",
        ),
        ROBUST + "test_unusual_value[oldPhoneCode-fullwidth-digits]": ("HTTP 500: every outcome must be HTTP 200",),
    }, sole=True),
    Broken(NonDigitIsUndocumentedCode, {
        ROBUST + "test_unusual_value[newInternationalCode-markup]": (
            f"newInternationalCode = {shown('markup')}",
            f"code {UNDOCUMENTED_FORMAT_ERROR} is not a documented code",
        ),
    }, sole=True),
]

# Contract breaks the suite does not catch yet: each a gap to close (none known now).
ESCAPES: list[Escape] = []

CORRECT = [
    Correct(SlowAnswers),  # first: the longest run starts first
    Correct(CharsetInContentType),
    Correct(ExtraEnvelopeField),
    Correct(ExtraKeysInData),
    Correct(ChineseMessages),
    Correct(NoDataOrExtMsgOnErrors),
    Correct(CodesVerifiedFirst),
    Correct(IndependentChecksReversed),
    Correct(ParametersCheckedBeforeToken),  # the page gives no order of checks
]


def sole_catchers(broken: list[Broken] = BROKEN) -> dict[str, list[str]]:
    """Each hand-written case to the broken variants that only it catches, as the catalogue states."""
    mapping: dict[str, list[str]] = {}
    for variant in broken:
        if variant.sole:
            (case,) = variant.cases
            mapping.setdefault(case, []).append(variant.name)
    return mapping


SOLE_CATCHERS = sole_catchers()
