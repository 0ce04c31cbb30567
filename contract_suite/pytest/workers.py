"""pytest-xdist's workers, as one object registered by the plugin: each worker hands its part of the verdict (its
coverage table and its run's state) to the controller, which merges them as the workers go down."""

from __future__ import annotations

import pytest

from contract_suite.reporting import summary
from contract_suite.reporting.coverage import Coverage


class WorkerResults:
    def __init__(self, coverage: Coverage, verdict: summary.Verdict):
        self.coverage = coverage
        self.verdict = verdict

    @staticmethod
    def hand_over(config: pytest.Config, coverage: Coverage, run) -> bool:
        """On an xdist worker: its coverage and run state into its output for the controller (True); else False."""
        output = getattr(config, "workeroutput", None)
        if output is None:
            return False
        output["contract_coverage"] = coverage.state()
        output["contract_run"] = summary.run_state(run)
        return True

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:
        output = getattr(node, "workeroutput", {})
        if output.get("contract_coverage"):
            self.coverage.merge(output["contract_coverage"])
        if output.get("contract_run"):
            self.verdict.add_run(output["contract_run"])
