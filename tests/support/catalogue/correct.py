"""Correct servers: the contract allows what each does differently from the reference."""

from __future__ import annotations

import json
import time
import uuid

from reference_server import app as ref
from reference_server.app import SetPhoneService
from tests.support.catalogue.kinds import (
    Correct,
)

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

    CHECKS = (
        "verify_old_code",
        "verify_new_code",
        "check_original_phone",
        "check_new_phone_cancelling",
        "check_new_phone_registered",
    )


class IndependentChecksReversed(SetPhoneService):
    """Run the business checks in reverse, cancellation still before registration (cancelling is registered)."""

    CHECKS = (
        "verify_new_code",
        "verify_old_code",
        "check_new_phone_cancelling",
        "check_new_phone_registered",
        "check_original_phone",
    )


class NewPhoneCheckedFirst(SetPhoneService):
    """Check the new phone (cancellation, then registration) before the original phone and the codes."""

    CHECKS = (
        "check_new_phone_cancelling",
        "check_new_phone_registered",
        "check_original_phone",
        "verify_old_code",
        "verify_new_code",
    )


class SlowAnswers(SetPhoneService):
    """Take 0.2 s over every answer, well within the request timeout."""

    DELAY_SECONDS = 0.2

    def handle(self, request):
        time.sleep(self.DELAY_SECONDS)
        return super().handle(request)


class ParametersCheckedBeforeToken(SetPhoneService):
    """Answer a missing parameter's code before looking at the token."""

    def handle(self, request):
        code = self.missing_parameter(self.read_params(request))
        return super().handle(request) if code is None else code


CORRECT = [
    Correct(SlowAnswers),  # first: the longest run starts first
    Correct(CharsetInContentType),
    Correct(ExtraEnvelopeField),
    Correct(ExtraKeysInData),
    Correct(ChineseMessages),
    Correct(NoDataOrExtMsgOnErrors),
    Correct(CodesVerifiedFirst),
    Correct(IndependentChecksReversed),
    # the same change sent at once: the ones after the first find its new phone registered (to this account)
    Correct(NewPhoneCheckedFirst),
    Correct(ParametersCheckedBeforeToken),  # the page gives no order of checks
]
