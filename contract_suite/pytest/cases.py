"""What the case files (contract_tests/) import to parametrize their cases from the session: the primary operation,
the operations the generic cases run for, and one parameter set per operation."""

from __future__ import annotations

import pytest

from contract_suite.openapi import spec
from contract_suite.pytest.keys import SESSION


def primary_operation(config: pytest.Config) -> spec.Operation:
    """The spec's primary operation (setPhone), for pytest_generate_tests in case modules."""
    return config.stash[SESSION].settings.operation


def operations_of(config: pytest.Config) -> tuple[spec.Operation, ...]:
    """The operations the generic cases run for (they carry x-business-codes), the primary first; for
    pytest_generate_tests in case modules."""
    return config.stash[SESSION].settings.operations_with_codes


def operation_param(operation: spec.Operation, *values, part: str | None = None, marks=()):
    """A parameter set of a generic case for one operation. Its id: the primary operation's ids are as they
    were before there were several (`newPhone`, or none at all); another operation's start with its operationId
    (`getNickname-appId`, `getNickname`). The `operation` mark tells the plugin which operation's codes the case
    exercises."""
    if operation.primary:
        case_id = pytest.HIDDEN_PARAM if part is None else part
    else:
        case_id = operation.label if part is None else f"{operation.label}-{part}"
    return pytest.param(*values, id=case_id, marks=[*marks, pytest.mark.operation(operation.label)])
