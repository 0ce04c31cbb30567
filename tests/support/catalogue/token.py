"""Broken servers: defects of the token."""

from __future__ import annotations

from reference_server import app as ref
from reference_server.app import SetPhoneService
from tests.support.catalogue.kinds import (
    TOKEN,
    Broken,
    got,
    wanted,
)

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


BROKEN = [
    # the token
    Broken(
        NoTokenPassesAuth,
        {
            TOKEN + "test_no_token": (wanted("token-verification-failed"), got("old-phone-incorrect")),
        },
        sole=True,
    ),
    Broken(
        AnyTokenAccepted,
        {
            TOKEN + "test_wrong_token": (wanted("token-verification-failed"), got("success")),
            TOKEN + "test_no_token": (wanted("token-verification-failed"), got("success")),
            TOKEN + "test_orphan_token": (wanted("user-does-not-exist"), got("success")),
        },
    ),
    Broken(
        UnknownTokenAccepted,
        {
            TOKEN + "test_wrong_token": (wanted("token-verification-failed"), got("success")),
        },
        sole=True,
    ),
    Broken(
        OrphanTokenIs5032,
        {
            TOKEN + "test_orphan_token": (wanted("user-does-not-exist"), got("token-verification-failed")),
        },
        sole=True,
    ),
]
