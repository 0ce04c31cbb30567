"""Where the run keeps its state on pytest's config (stash keys), and the names of the user properties the
plugin gives each test report (report plugins and self-tests read them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    pass

SESSION = pytest.StashKey["ContractSession"]()  # on the config: the one session object (contract_suite.pytest.session)
EVIDENCE = pytest.StashKey["CaseEvidence"]()  # on an item: what the case found (contract_suite.engine.evidence)
RAN = pytest.StashKey[bool]()  # on an item: pytest made a report of it (it was not left out by a stop)
CANNOT_JUDGE = ("contract-verdict", "cannot judge")  # a report's user property: an error of the run, not the contract
EXCHANGE = "contract-exchange"  # a report's user property: one request and its answer, masked (for report plugins)
CODES = "contract-codes"  # a report's user property: the documented codes the case exercises, e.g. "5032 5033"
RULE = "contract-rule"  # a report's user property: a rule the case judged, in words (its title in reports)
OPERATION = "contract-operation"  # a report's user property: the operation of a case not about the primary one
