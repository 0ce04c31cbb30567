"""Collection: a case module that builds its tests from the session (the generated layer's), and the node ids of
another operation's generated cases."""

from __future__ import annotations

import pytest

from contract_suite.pytest.items import operation_of
from contract_suite.pytest.keys import SESSION


class CaseModule(pytest.Module):
    """A case module that may build its tests from the session: when it defines `cases_for(session)`, the collector
    calls it with the run's session and adds the tests it returns to the module (the generated layer's tests are
    built by schemathesis from a schema, before any fixture exists). The session is handed over, never looked up."""

    def _getobj(self):
        module = super()._getobj()
        build = getattr(module, "cases_for", None)
        if callable(build):
            for name, test in build(self.config.stash[SESSION]).items():
                setattr(module, name, test)
        return module


def name_generated_operations(items: list[pytest.Item]) -> None:
    """schemathesis names each generated case after its operation (`test_coverage[GET /path]`), but under pytest
    9.2 the node id loses that part: with several operations, their cases share one id (pytest-xdist would run
    one of them, and reports could not tell them apart). A generated case of an operation other than the primary
    one gets the operation in its node id, `test_coverage[getNickname]`; the primary's ids stay as they are."""
    for item in items:
        if getattr(item, "operation_label", None) is None:
            continue  # not a generated case
        operation = operation_of(item)
        node_id = getattr(item, "_id", None)  # pytest 9.2's structured node id; older ones kept the name in it
        if operation.primary or getattr(node_id, "params", "") is not None:
            continue
        item._id = node_id.with_params(operation.label)
