"""Masking, as one object registered by the plugin: every test and collection report, every INTERNALERROR, and the
log records (installed at configure, removed at unconfigure) go through the run's secrets before pytest renders
them."""

from __future__ import annotations

import pytest

from contract_suite.secrets import MaskingRecordFactory, Secrets, remove_log_masking


class ReportMasking:
    def __init__(self, secrets: Secrets, log_masking: MaskingRecordFactory):
        self.secrets = secrets
        self.log_masking = log_masking

    def mask(self, report: pytest.TestReport | pytest.CollectReport) -> None:
        """The report's text, its captured sections and its user properties, masked in place."""
        secrets = self.secrets
        longrepr = report.longrepr
        if isinstance(longrepr, tuple) and len(longrepr) == 3:
            report.longrepr = (longrepr[0], longrepr[1], secrets.mask(str(longrepr[2])))
        elif longrepr is not None:
            text = str(longrepr)
            masked = secrets.mask(text)
            if masked != text or isinstance(longrepr, str):
                report.longrepr = masked
        report.sections = [(title, secrets.mask(content)) for title, content in report.sections]
        if isinstance(report, pytest.TestReport):
            report.user_properties = [(k, secrets.mask_any(v)) for k, v in report.user_properties]

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector):
        made = yield
        self.mask(made)
        return made

    @pytest.hookimpl(tryfirst=True)
    def pytest_internalerror(self, excrepr, excinfo) -> None:
        """An INTERNALERROR's traceback (its locals too, with --showlocals) goes through the mask before anyone
        prints it: the terminal, the stderr fallback and the JUnit XML all render the same object, made to render
        masked."""
        masked = self.secrets.mask(str(excrepr)).split("\n")

        def toterminal(tw) -> None:
            for line in masked:
                tw.line(line)

        excrepr.toterminal = toterminal  # the instance's own: str(excrepr) and every writer use it

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        remove_log_masking(self.log_masking)
