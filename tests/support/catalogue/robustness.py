"""Broken servers met by values far outside the usual shape (contract_tests/test_robustness.py)."""

from __future__ import annotations

from werkzeug.wrappers import Response

from reference_server.app import SetPhoneService
from tests.support.catalogue.kinds import (
    ROBUST,
    Broken,
    shown,
)

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


BROKEN = [
    # values far outside the usual shape
    Broken(
        LongValueIsServerError,
        {
            ROBUST + "test_unusual_value[oldPhone-long]": (
                f"oldPhone = {shown('long')}",
                "HTTP 500: every outcome must be HTTP 200",
                "body: '<!doctype html><title>500 Internal Server Error",
            ),
        },
        sole=True,
    ),
    Broken(
        NonAsciiIsServerError,
        {
            ROBUST + "test_unusual_value[newPhone-non-ascii]": (
                f"newPhone = {shown('non-ascii')}",
                "HTTP 500: every outcome must be HTTP 200",
                "body: 'Internal Server Error'",
            ),
            ROBUST + "test_unusual_value[oldPhoneCode-fullwidth-digits]": ("HTTP 500: every outcome must be HTTP 200",),
        },
        sole=True,
    ),
    Broken(
        NonDigitIsUndocumentedCode,
        {
            ROBUST + "test_unusual_value[newInternationalCode-markup]": (
                f"newInternationalCode = {shown('markup')}",
                f"code {UNDOCUMENTED_FORMAT_ERROR} is not a documented code",
            ),
        },
        sole=True,
    ),
]
