"""Token: a fully valid request whose one fault is its token gets the token's code."""

import pytest

from contract_suite.target import ABSENT


def _request(target):
    """A fully valid request where the profile allows, else the spec's example values (the fault is the token)."""
    try:
        return target.valid_request()
    except pytest.skip.Exception:
        return target.example_request()


@pytest.mark.exercises("token-verification-failed")
def test_wrong_token(target, contract):
    answer = target.call(_request(target), "Bearer not-a-token-the-platform-issued")
    target.expect(answer, contract.code_named("token-verification-failed"), "a token the platform did not issue")


@pytest.mark.inferred
@pytest.mark.exercises("token-verification-failed")
def test_no_token(target, contract):
    answer = target.call(_request(target), ABSENT)
    target.expect(answer, contract.code_named("token-verification-failed"), f"no {target.token_header} header")


@pytest.mark.exercises("user-does-not-exist")
def test_orphan_token(target, contract):
    token = target.token("orphan")
    answer = target.call(_request(target), token)
    target.expect(answer, contract.code_named("user-does-not-exist"), "a token that verifies but whose user is gone")
