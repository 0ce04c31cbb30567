"""What the plugin reads off a collected case: the operation it is about, the documented codes it exercises (its
`exercises` marks), and the rule of state it judges (its `state_rule` mark)."""

from __future__ import annotations

import pytest

from contract_suite.openapi import spec
from contract_suite.pytest.keys import SESSION


def operation_of(item: pytest.Item) -> spec.Operation:
    """The operation a case is about: its `operation` mark's, or the generated case's (schemathesis names it
    `METHOD path`), else the primary one."""
    settings = item.config.stash[SESSION].settings
    mark = item.get_closest_marker("operation")
    generated = getattr(item, "operation_label", None)
    for operation in settings.operations:
        if (
            mark is not None and operation.label == mark.args[0]
        ) or generated == f"{operation.method} {operation.path}":
            return operation
    return settings.operation


def exercised_by(item: pytest.Item, operation: spec.Operation) -> set[int]:
    """The documented codes a case exercises, by its `exercises` marks (names or numbers)."""
    codes: set[int] = set()
    for mark in item.iter_markers("exercises"):
        for value in mark.args:
            codes.add(operation.code_named(value) if isinstance(value, str) else value)
    return codes


def state_rule_of(item: pytest.Item) -> str | None:
    """The rule of state a case judges (its `state_rule` mark), or None."""
    mark = item.get_closest_marker("state_rule")
    return mark.args[0] if mark is not None else None
