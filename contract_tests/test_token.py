"""Token: a fully valid request whose one fault is its token gets the token's code.

Generic: each case runs for every operation whose x-business-codes name the codes it exercises (the primary
operation's ids are `test_wrong_token` and so on; another operation's `test_wrong_token[getNickname]`)."""

import pytest

from contract_suite.engine.case_toolkit import ABSENT
from contract_suite.outcomes import NotApplicable, NotJudged
from contract_suite.pytest.cases import operation_param, operations_of


def pytest_generate_tests(metafunc):
    if "operation" in metafunc.fixturenames:
        names = [name for mark in metafunc.definition.iter_markers("exercises") for name in mark.args]
        metafunc.parametrize(
            "operation",
            [operation_param(op, op) for op in operations_of(metafunc.config) if op.names_codes(*names)],
        )


def _request(target, operation):
    """A fully valid request where the profile allows, else the spec's example values (the fault is the token)."""
    try:
        return target.valid_request(operation)
    except (NotApplicable, NotJudged):
        return target.example_request(operation)


@pytest.mark.exercises("token-verification-failed")
def test_wrong_token(target, operation):
    answer = target.call(_request(target, operation), "Bearer not-a-token-the-platform-issued", operation=operation)
    target.expect(
        answer, operation.code_named("token-verification-failed"), "a token the platform did not issue", operation
    )


@pytest.mark.inferred
@pytest.mark.exercises("token-verification-failed")
def test_no_token(target, operation):
    answer = target.call(_request(target, operation), ABSENT, operation=operation)
    target.expect(
        answer,
        operation.code_named("token-verification-failed"),
        f"no {target.run.token_header_of(operation)} header",
        operation,
    )


@pytest.mark.exercises("user-does-not-exist")
def test_orphan_token(target, operation):
    token = target.token("orphan")
    answer = target.call(_request(target, operation), token, operation=operation)
    target.expect(
        answer, operation.code_named("user-does-not-exist"), "a token that verifies but whose user is gone", operation
    )
