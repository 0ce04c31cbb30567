"""pytest-xdist's workers, as one object registered by the plugin: each worker hands its part of the verdict (its
coverage table and its run's ledger) to the controller, which merges them as the workers go down."""

from __future__ import annotations

import pytest

from contract_suite.engine.coverage import Coverage
from contract_suite.engine.ledger import Ledger
from contract_suite.reporting import summary


class WorkerResults:
    def __init__(self, coverage: Coverage, verdict: summary.Verdict):
        self.coverage = coverage
        self.verdict = verdict

    @staticmethod
    def hand_over(config: pytest.Config, coverage: Coverage, ledger: Ledger | None) -> bool:
        """On an xdist worker: its coverage and its run's ledger into its output for the controller (True); else
        False."""
        output = getattr(config, "workeroutput", None)
        if output is None:
            return False
        output["contract_coverage"] = coverage.state()
        if ledger is not None:
            output["contract_ledger"] = ledger.as_data()
        return True

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:
        output = getattr(node, "workeroutput", {})
        if output.get("contract_coverage"):
            self.coverage.merge(output["contract_coverage"])
        if output.get("contract_ledger"):
            self.verdict.add_ledger(Ledger.from_data(output["contract_ledger"]))
