"""Parallel runs (pytest-xdist): the cases that share the test account and its SMS codes run on one worker,
one at a time; only the modules listed here spread over the workers."""

from __future__ import annotations

import pytest

# Modules whose cases neither use the test account nor its SMS codes, so they may run anywhere at any time.
# Every other case runs on one worker, one at a time: a new module is serialized until it is listed here.
PARALLEL_SAFE_MODULES = ("contract_tests/test_spec_lint.py", "contract_tests/test_generated.py")
ACCOUNT_SCOPE = "contract_tests (cases sharing the test account)"


def scope_of(nodeid: str, by_file: bool = False) -> str:
    """All account cases form one scope; each other case is a scope of its own (by_file: each other file)."""
    path = nodeid.split("::", 1)[0]
    if path.startswith("contract_tests/") and not path.endswith(PARALLEL_SAFE_MODULES):
        return ACCOUNT_SCOPE
    return path if by_file else nodeid


def make_scheduler(config: pytest.Config, log):
    """pytest-xdist's load-scope scheduler with the scopes above, for `--dist load` (the default of -n) and
    `--dist loadfile`; None when the user chose another mode.
    (xdist_group would do it, but pytest-xdist cannot tag node ids under pytest 9.2.)"""
    dist = config.getoption("dist")
    if dist not in ("load", "loadfile"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class AccountScopeScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid, by_file=dist == "loadfile")

    return AccountScopeScheduling(config, log)
